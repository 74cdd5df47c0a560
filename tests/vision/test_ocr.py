"""The ocr stage on real media: text rendered into photos and plain frames, read by tesseract."""

from __future__ import annotations

import pytest

from aima import evidence
from aima.errors import ConfigError
from aima.models.factory import load_model
from aima.models.ocr import OcrUnavailable, TesseractOCR
from aima.pipeline.runner import run_media_stage
from aima.pipeline.sources import SourceFile
from aima.report.ocr import section
from aima.settings import Settings
from aima.stages.ingest import ingest_file
from aima.stages.ocr import STAGE as OCR
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case
from tests.vision.textgen import make_text_video, photo, plain, text_frame


@pytest.fixture
def stores(tmp_path):
    with open_stores(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


@pytest.fixture(scope="module")
def models():
    return {"ocr": load_model("ocr", Settings())}.get


def ingest(stores, path, case="ocr"):
    case = get_or_create_case(stores.metadata, case)
    outcome = ingest_file(stores, stores.settings, str(case.id),
                          SourceFile(uri=str(path), name=path.name))
    assert outcome.status == "done", outcome
    return str(case.id), outcome.media_id


def read(stores, media_id, models):
    assert run_media_stage(stores, "preprocess", media_id).status == "done"
    return run_media_stage(stores, OCR, media_id, models=models)


def roughly_at(found, drawn) -> bool:
    """Whether a box found covers most of the box where text was drawn, and not much more (a
    word touching something as bright or dark as its letters may take a bit of it in)."""
    width = min(found[0] + found[2], drawn[0] + drawn[2]) - max(found[0], drawn[0])
    height = min(found[1] + found[3], drawn[1] + drawn[3]) - max(found[1], drawn[1])
    covered = max(width, 0) * max(height, 0) / (drawn[2] * drawn[3])
    return covered > 0.8 and found[2] * found[3] < 2.5 * drawn[2] * drawn[3]


def test_text_over_a_photo_is_read_line_by_line_with_boxes_where_it_was_drawn(stores, tmp_path,
                                                                              models):
    image, placed = text_frame(photo("coffee"), [
        ("HARBOUR GATE 7", "sans", 40, "caption"),
        ("Invoice 4417 paid", "serif-bold", 28, "sign"),
    ])
    image.save(tmp_path / "harbour.jpg", quality=92)
    case_id, media_id = ingest(stores, tmp_path / "harbour.jpg")

    outcome = read(stores, media_id, models)

    assert (outcome.status, outcome.detail) == ("done", "2 lines of text")
    (frame,) = stores.documents.get(case_id, "ocr", media_id)["frames"]
    assert (frame["frame"], frame["timestamp_s"], frame["width"]) == ("image", None, 600)
    assert [line["text"] for line in frame["lines"]] == [p.text for p in placed]
    for line, drawn in zip(frame["lines"], placed, strict=True):
        assert roughly_at(line["box"], drawn.box), (line["box"], drawn.box)
        assert line["confidence"] > 0.8
        assert [w["text"] for w in line["words"]] == drawn.text.split()
        x, y, width, height = line["box"]
        assert all(x <= w["box"][0] and w["box"][0] + w["box"][2] <= x + width
                   and y <= w["box"][1] and w["box"][1] + w["box"][3] <= y + height
                   for w in line["words"])
    ids = [evidence.parse(line["id"]) for line in frame["lines"]]
    assert [(i.kind, i.media_id, i.parts) for i in ids] == [
        ("ocr", media_id, ("image", "0")), ("ocr", media_id, ("image", "1"))]


def test_text_in_video_keyframes_is_read_with_its_time_and_reported(stores, tmp_path, models):
    first, placed_first = text_frame(photo("chelsea", (640, 426)), [
        ("Exit only after 22:00", "aileron", 34, "caption")], top=330)
    second, placed_second = text_frame(plain((640, 426)), [
        ("North Quay Warehouse", "serif-bold", 30, "ink"),
        ("Camera 3 level 2", "sans", 22, "ink")])
    make_text_video(tmp_path / "quay.mp4", [first, second])
    case_id, media_id = ingest(stores, tmp_path / "quay.mp4")

    outcome = read(stores, media_id, models)

    assert (outcome.status, outcome.detail) == ("done", "3 lines of text in 2 of 2 frames")
    frames = stores.documents.get(case_id, "ocr", media_id)["frames"]
    assert [(f["frame"], f["keyframe"]) for f in frames] == [
        (0, evidence.keyframe_id(media_id, 0)), (1, evidence.keyframe_id(media_id, 1))]
    assert frames[0]["timestamp_s"] == 0.0 and frames[1]["timestamp_s"] == pytest.approx(1.0,
                                                                                        abs=0.15)
    assert [[line["text"] for line in f["lines"]] for f in frames] == [
        [p.text for p in placed_first], [p.text for p in placed_second]]
    for line, drawn in zip(frames[1]["lines"], placed_second, strict=True):
        assert roughly_at(line["box"], drawn.box), (line["box"], drawn.box)

    report = section(stores, case_id)

    (item,) = report["media"]
    assert item["text"] == "Exit only after 22:00\nNorth Quay Warehouse\nCamera 3 level 2"
    assert report["counts"] == {"media": 1, "frames": 2, "frames_with_text": 2, "lines": 3}
    assert [e["id"] for e in report["evidence"]] == [
        evidence.ocr_id(media_id, 0, 0), evidence.ocr_id(media_id, 1, 0),
        evidence.ocr_id(media_id, 1, 1)]
    cited = report["evidence"][1]
    assert (cited["kind"], cited["media_id"], cited["frame"], cited["text"]) == (
        "ocr", media_id, 1, "North Quay Warehouse")
    assert cited["timestamp_s"] == frames[1]["timestamp_s"] and len(cited["box"]) == 4
    assert item["lines"][1]["locator"] == {"media_id": media_id,
                                           "timestamp_s": frames[1]["timestamp_s"],
                                           "box": cited["box"]}


@pytest.mark.parametrize("name", ["chelsea", "coins"])  # tesseract reads "(@00080" in coins
def test_a_photo_without_text_gives_no_text(stores, tmp_path, models, name):
    photo(name).save(tmp_path / f"{name}.png")
    case_id, media_id = ingest(stores, tmp_path / f"{name}.png")

    outcome = read(stores, media_id, models)

    assert (outcome.status, outcome.detail) == ("done", "no text")
    assert stores.documents.get(case_id, "ocr", media_id)["frames"][0]["lines"] == []
    assert section(stores, case_id)["evidence"] == []


def test_switched_off_the_stage_is_skipped_with_the_reason(tmp_path):
    image, _ = text_frame(plain((320, 200)), [("Switched off", "sans", 30, "ink")])
    image.save(tmp_path / "off.png")
    with open_stores(Settings(data_dir=tmp_path / "data", ocr_enabled=False)) as stores:
        case_id, media_id = ingest(stores, tmp_path / "off.png")
        assert run_media_stage(stores, "preprocess", media_id).status == "done"
        # No tesseract is needed to skip: a model whose binary is missing is never asked.
        outcome = run_media_stage(stores, OCR, media_id,
                                  models={"ocr": TesseractOCR(command="/nonexistent")}.get)

        assert (outcome.status, outcome.detail) == (
            "skipped", "text recognition switched off (AIMA_OCR_ENABLED=false)")
        assert stores.documents.get(case_id, "ocr", media_id) is None


def test_a_video_without_keyframes_is_skipped(stores, tmp_path, models):
    make_text_video(tmp_path / "raw.mp4", [plain((160, 90))])
    _, media_id = ingest(stores, tmp_path / "raw.mp4")

    outcome = run_media_stage(stores, OCR, media_id, models=models)  # preprocess has not run

    assert (outcome.status, outcome.detail) == ("skipped", "no keyframes")


def test_a_missing_tesseract_says_how_to_install_it():
    with pytest.raises(OcrUnavailable, match="apt-get install tesseract-ocr tesseract-ocr-eng"):
        TesseractOCR(command="/nonexistent/tesseract").model_id


def test_a_language_without_its_data_names_the_setting_and_the_package():
    with pytest.raises(ConfigError) as raised:
        TesseractOCR("eng+zzz").model_id
    assert raised.value.setting == "AIMA_OCR_LANGUAGES"
    assert "'zzz'" in raised.value.problem and "tesseract-ocr-zzz" in raised.value.problem


def test_the_model_id_names_the_tesseract_version_and_languages(models):
    assert models("ocr").model_id.startswith("tesseract-5.")
    assert models("ocr").model_id.endswith("-eng")
