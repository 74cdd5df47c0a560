"""The faces stage on real photos and videos: boxes where the faces are, crops, embeddings."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from aima import evidence
from aima.pipeline.runner import run_media_stage
from aima.pipeline.sources import SourceFile
from aima.settings import Settings
from aima.stages.faces import FACE, STAGE as FACES
from aima.stages.ingest import ingest_file
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case
from tests.vision import facegen
from tests.vision.facegen import iou


@pytest.fixture
def stores(tmp_path):
    with open_stores(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


def analyse(stores, path, case="faces"):
    """Ingest, preprocess and run the faces stage; returns (case id, media id, outcome, doc)."""
    case_id = str(get_or_create_case(stores.metadata, case).id)
    source = SourceFile(uri=str(path), name=path.name)
    ingested = ingest_file(stores, stores.settings, case_id, source)
    assert ingested.status == "done", ingested
    media_id = ingested.media_id
    assert run_media_stage(stores, "preprocess", media_id).status == "done"
    outcome = run_media_stage(stores, FACES, media_id, models={"faces": facegen.face_model()}.get)
    return case_id, media_id, outcome, stores.documents.get(case_id, "faces", media_id)


def test_faces_in_a_photo_are_found_where_they_are_with_crops_and_embeddings(stores, tmp_path):
    placed = facegen.write_photo(tmp_path / "two.jpg", [("astronaut", 140, (40, 60)),
                                                        (31, 130, (420, 200))])
    case_id, media_id, outcome, document = analyse(stores, tmp_path / "two.jpg")

    assert (outcome.status, outcome.detail) == ("done", "2 faces (2 embedded)")
    faces = document["faces"]
    assert [f["id"] for f in faces] == [evidence.face_id(media_id, evidence.IMAGE_FRAME, n)
                                        for n in range(2)]
    for truth, found in zip(placed, faces, strict=True):  # sorted top to bottom
        assert iou(truth.box, tuple(found["box"])) > 0.4, (truth, found["box"])
        assert found["embedded"] and found["quality"]["score"] >= 0.3
        assert len(found["landmarks"]) == 5 and found["timestamp_s"] is None
        x, y, w, h = found["box"]
        nose = found["landmarks"][4]
        assert x < nose[0] < x + w and y < nose[1] < y + h
        with stores.objects.open(found["crop_key"]) as stream:
            crop = Image.open(stream)
            crop.load()
        assert crop.format == "JPEG" and max(crop.size) <= 160
    assert document["frames"] == [{"frame": "image", "timestamp_s": None, "width": 640,
                                   "height": 400, "faces": 2}]
    stored = stores.vectors.fetch(FACE, document["model_id"], case_id, 128)
    assert sorted(e.ref for e in stored) == [f["id"] for f in faces]
    assert {e.id for e in stored} == {f"{media_id}:image:0", f"{media_id}:image:1"}


def test_faces_composited_into_a_video_are_found_at_their_times(stores, tmp_path):
    placed = facegen.write_video(tmp_path / "clip.mp4", [
        ("rocket", []),
        ("horse", [(1, 120, (420, 120))]),
        ("grass", [(45, 110, (60, 40)), ("astronaut", 130, (330, 180))]),
    ])
    case_id, media_id, outcome, document = analyse(stores, tmp_path / "clip.mp4")

    assert outcome.status == "done" and outcome.data["faces"] == 3
    for truth in placed:
        matches = [f for f in document["faces"] if iou(truth.box, tuple(f["box"])) > 0.4]
        assert matches, (truth, document["faces"])
        for found in matches:  # seen only while it is shown
            assert truth.start_s - 0.01 <= found["timestamp_s"] < truth.end_s
            assert found["id"] == evidence.face_id(media_id, found["frame"], found["n"])
            assert found["crop_key"].endswith(f"faces/{media_id}/{found['frame']}-{found['n']}.jpg")
    first = [f for f in document["faces"] if f["timestamp_s"] < 2.0]
    assert first == []  # the opening scene has no face


def test_a_face_free_photo_gives_no_faces_and_no_error(stores, tmp_path):
    facegen.background("coffee", (600, 400)).save(tmp_path / "coffee.png")
    case_id, media_id, outcome, document = analyse(stores, tmp_path / "coffee.png")

    assert (outcome.status, outcome.detail, outcome.data) == (
        "done", "no faces", {"faces": 0, "embedded": 0})
    assert document["faces"] == [] and document["frames"][0]["faces"] == 0
    assert stores.vectors.fetch(FACE, document["model_id"], case_id, 128) == []


def test_a_tiny_image_gives_a_result_not_a_failure(stores, tmp_path):
    Image.new("RGB", (3, 2), (200, 150, 100)).save(tmp_path / "tiny.png")
    _, _, outcome, document = analyse(stores, tmp_path / "tiny.png")

    assert (outcome.status, outcome.detail) == ("done", "no faces")
    assert document["frames"] == [{"frame": "image", "timestamp_s": None, "width": 3,
                                   "height": 2, "faces": 0}]


def test_a_blurred_face_is_kept_as_a_detection_but_not_embedded(stores, tmp_path):
    picture, _ = facegen.compose([("astronaut", 160, (200, 100))])
    blurred = picture.filter(ImageFilter.GaussianBlur(3))
    blurred.save(tmp_path / "blurred.png")
    case_id, _, outcome, document = analyse(stores, tmp_path / "blurred.png")

    (face,) = document["faces"]
    assert (face["embedded"], outcome.detail) == (False, "1 faces (0 embedded)")
    assert face["quality"]["sharpness"] < 0.3 <= face["quality"]["size"]
    assert face["not_embedded_reason"].startswith("quality") and face["crop_key"]
    assert stores.vectors.fetch(FACE, document["model_id"], case_id, 128) == []


def test_the_same_face_embeds_close_and_different_faces_far():
    model = facegen.face_model()
    pictures = [facegen.face(identity, 150, variant) for identity in ("astronaut", 7)
                for variant in (0, 1)]
    vectors = []
    for picture in pictures:
        canvas = Image.new("RGB", (300, 300), (110, 110, 110))
        canvas.paste(picture, (75, 75))
        (found,) = model.detect(np.asarray(canvas))
        vectors.append(model.embed([found.chip])[0])
    same = [np.linalg.norm(vectors[0] - vectors[1]), np.linalg.norm(vectors[2] - vectors[3])]
    apart = np.linalg.norm(vectors[0] - vectors[2])
    assert max(same) < 0.35 and apart > 0.6, (same, apart)
