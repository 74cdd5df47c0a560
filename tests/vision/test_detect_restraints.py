"""The restraint detector and the detect-restraints stage with a tiny random OWLv2: real
preprocessing, batching and post-processing (boxes in each frame's pixels), evidence ids, the link
to an overlapping face, the skip without a model, and the report's signals (detector, vlm, both).
Random weights make the scores meaningless, so the threshold is 0 and the tests assert on shapes,
boxes, ids and links, never on what is detected."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image
from skimage import data

from aima.errors import ConfigError
from aima.models.detector import RESTRAINT_QUERIES, RestraintDetector
from aima.models.factory import load_model
from aima.pipeline.runner import run_media_stage
from aima.pipeline.sources import SourceFile
from aima.report.restraints import section
from aima.settings import Settings
from aima.stages.detect_restraints import STAGE as DETECT
from aima.stages.ingest import ingest_file
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case
from tests.mediagen import make_cut_video
from tests.vision.tiny_owl import tiny_owl_dir
from tests.vision.tiny_vlm import one_torch_thread  # noqa: F401

LABELS = set(RESTRAINT_QUERIES)


@pytest.fixture
def stores(tmp_path):
    with open_stores(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


@pytest.fixture
def case_files(stores, tmp_path):
    """A case with a photo and a two-scene video, ingested and preprocessed."""
    Image.fromarray(data.astronaut()).resize((256, 192)).save(tmp_path / "photo.jpg")
    make_cut_video(tmp_path / "scenes.mp4", [1.0, 1.0])
    case = get_or_create_case(stores.metadata, "restraints")
    ids = {}
    for name in ("photo.jpg", "scenes.mp4"):
        outcome = ingest_file(stores, stores.settings, str(case.id),
                              SourceFile(uri=str(tmp_path / name), name=name))
        ids[name] = outcome.media_id
        assert run_media_stage(stores, "preprocess", outcome.media_id).status == "done"
    return str(case.id), ids["photo.jpg"], ids["scenes.mp4"]


def _inside(box, width, height):
    x, y, w, h = box
    return w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= width + 0.1 and y + h <= height + 0.1


def test_without_a_detector_the_stage_is_skipped_and_says_why(stores, case_files):
    case_id, photo, video = case_files
    none = load_model("detector", stores.settings)  # embedded profile, nothing configured

    outcomes = [run_media_stage(stores, DETECT, m, models={"detector": none}.get)
                for m in (photo, video)]

    assert [(o.status, o.detail) for o in outcomes] == [
        ("skipped", "no restraint detector configured")] * 2
    assert section(stores, case_id)["observations"] == []
    with pytest.raises(ConfigError, match="AIMA_RESTRAINT_DETECTOR_MODEL"):
        load_model("detector", Settings(restraint_detector_model="google/owlv2-base-patch16"))
    with pytest.raises(ConfigError, match="HF_HUB_OFFLINE"):
        load_model("detector", Settings(model_profile="gpu"))


def test_boxes_are_in_each_frames_pixels_and_batching_changes_nothing():
    model = load_model("detector", Settings(restraint_detector_model=str(tiny_owl_dir()),
                                            restraint_detector_threshold=0.0,
                                            restraint_detector_batch_size=2))
    photo = Image.fromarray(data.astronaut())
    images = [photo.resize((200, 100)), photo.resize((90, 150)), photo.resize((64, 64))]

    batched = model.detect(images)

    assert [len(found) > 0 for found in batched] == [True] * 3
    for image, found in zip(images, batched):
        assert len(found) <= model.max_per_frame
        assert all(d.label in LABELS and d.score >= 0.0 for d in found)
        assert all(_inside(d.box, image.width, image.height) for d in found)
    assert _same(batched, [model.detect([image])[0] for image in images])
    # Every box is one of the model's own boxes, scaled by the padded square's side (OWLv2 pads
    # the wide picture to a square: its boxes are relative to that square) and clipped.
    expected = _raw_boxes(model, images[0])
    for detection in batched[0]:
        assert any(max(abs(a - b) for a, b in zip(detection.box, box)) < 0.2
                   for box in expected[detection.label]), detection


def _same(left, right):
    return all(len(a) == len(b) and all(
        x.label == y.label and max(abs(p - q) for p, q in zip(x.box, y.box)) < 0.2
        for x, y in zip(a, b)) for a, b in zip(left, right))


def _raw_boxes(model, image):
    """Every (label, box) the raw model predicts for ``image``, scaled by its longest side and
    clipped to it."""
    inputs = model._processor(text=[list(RESTRAINT_QUERIES.values())], images=[image],
                              return_tensors="pt")
    with torch.no_grad():
        outputs = model._model(**inputs)
    side = max(image.size)
    boxes = {label: [] for label in RESTRAINT_QUERIES}
    for cx, cy, w, h in outputs.pred_boxes[0].tolist():
        x0, x1 = [min(max(v * side, 0), image.width) for v in (cx - w / 2, cx + w / 2)]
        y0, y1 = [min(max(v * side, 0), image.height) for v in (cy - h / 2, cy + h / 2)]
        for label in boxes:
            boxes[label].append((x0, y0, x1 - x0, y1 - y0))
    return boxes


def test_detections_get_evidence_ids_a_face_link_and_signals_in_the_report(stores, case_files):
    case_id, photo, video = case_files
    detector = RestraintDetector(str(tiny_owl_dir()), threshold=0.0, batch_size=2,
                                 max_per_frame=3)
    models = {"detector": detector}.get

    outcomes = [run_media_stage(stores, DETECT, m, models=models) for m in (photo, video)]

    assert [o.status for o in outcomes] == ["done", "done"]
    document = stores.documents.get(case_id, "detect-restraints", video)
    assert [(f["frame"], f["detections"]) for f in document["frames"]] == [(0, 3), (1, 3)]
    assert [d["id"] for d in document["detections"]] == [
        f"det:{video}:{frame}:{n}" for frame in (0, 1) for n in range(3)]
    assert {d["keyframe"] for d in document["detections"]} == {f"kf:{video}:0", f"kf:{video}:1"}
    sizes = {f["frame"]: (f["width"], f["height"]) for f in document["frames"]}
    assert all(_inside(d["box"], *sizes[d["frame"]]) for d in document["detections"])
    assert document["requires_human_review"] and len(document["review_reasons"]) == 6
    assert run_media_stage(stores, DETECT, video, models=models).reused

    # A face where the photo's first detection is: the detection is linked to it.
    first = stores.documents.get(case_id, "detect-restraints", photo)["detections"][0]
    assert first["id"] == f"det:{photo}:image:0" and first["face"] is None
    faces = [{"id": f"face:{photo}:image:0", "frame": "image", "box": first["box"]},
             {"id": f"face:{photo}:7:0", "frame": 7, "box": first["box"]}]
    stores.documents.put(case_id, "faces", photo, {"faces": faces}, media_id=photo)
    again = run_media_stage(stores, DETECT, photo, models=models)
    assert not again.reused  # the faces are part of the key
    linked = stores.documents.get(case_id, "detect-restraints", photo)["detections"][0]
    assert (linked["face"], linked["face_overlap"]) == (f"face:{photo}:image:0", 1.0)

    # The describe analysis of the photo names one detected type and one the detector missed.
    detected = [d["label"] for d in
                stores.documents.get(case_id, "detect-restraints", photo)["detections"]]
    agreed, missed = detected[0], sorted(LABELS - set(detected))[0]
    stores.documents.put(case_id, "describe", photo, {"frames": [{
        "id": f"vlm:{photo}:image", "frame": "image", "timestamp_s": None, "keyframe": None,
        "restraints": [_indicator(1, agreed), _indicator(2, missed)]}]}, media_id=photo)

    report = section(stores, case_id)

    observations = {(o["media_id"], o["type"]): o for o in report["observations"]}
    assert observations[(photo, agreed)]["support"] == "both"
    assert observations[(photo, agreed)]["signals"] == ["detector", "vlm"]
    assert observations[(photo, agreed)]["confidence"] == "higher"
    assert f"vlm:{photo}:image" in observations[(photo, agreed)]["evidence"]
    assert f"det:{photo}:image:0" in observations[(photo, agreed)]["evidence"]
    assert observations[(photo, agreed)]["faces"] == [f"face:{photo}:image:0"]
    assert (observations[(photo, missed)]["support"], observations[(photo, missed)]["score"]) == (
        "vlm", None)
    assert {o["support"] for key, o in observations.items()
            if key[0] == video} == {"detector"}
    assert all(o["requires_human_review"] and "not a verdict" in o["reason"]
               for o in observations.values())
    assert report["summary"]["detections"] == 9 and report["summary"]["observations_both"] == 1
    assert {e["kind"] for e in report["evidence"]} == {"detection"}
    assert report["requires_human_review"] is True
    assert json.loads(json.dumps(report)) == report


def _indicator(person, label):
    restraint = label not in ("gag", "blindfold")
    return {"person": person, "position": "centre",
            "restraints": [{"type": label, "where": "wrists behind"}] if restraint else [],
            "gagged": label == "gag", "blindfolded": label == "blindfold", "signals": ["vlm"]}
