"""The describe stage on real media and embedded stores: skipped without a model, keyframe and
image analyses with evidence ids, reuse, the case context, unparsed frames, the report section."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from skimage import data

from aima.evidence import parse as parse_evidence
from aima.models.factory import load_model
from aima.pipeline.ledger import StageLedger
from aima.pipeline.runner import run_media_stage
from aima.pipeline.sources import SourceFile
from aima.report.describe import section
from aima.settings import Settings
from aima.stages.base import Computed, StageContext
from aima.stages.describe import STAGE as DESCRIBE
from aima.stages.ingest import ingest_file
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case, set_case_context
from tests.mediagen import make_cut_video
from tests.vision.test_describe_answers import KITCHEN
from tests.vision.tiny_vlm import one_torch_thread, tiny_vlm_dir  # noqa: F401


@pytest.fixture
def stores(tmp_path):
    with open_stores(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


@pytest.fixture
def case_files(stores, tmp_path):
    """A case with a photo and a two-scene video, ingested and preprocessed."""
    Image.fromarray(data.astronaut()).save(tmp_path / "astronaut.jpg", quality=90)
    make_cut_video(tmp_path / "scenes.mp4", [1.0, 1.0])
    case = get_or_create_case(stores.metadata, "describe")
    ids = {}
    for name in ("astronaut.jpg", "scenes.mp4"):
        outcome = ingest_file(stores, stores.settings, str(case.id),
                              SourceFile(uri=str(tmp_path / name), name=name))
        ids[name] = outcome.media_id
        assert run_media_stage(stores, "preprocess", outcome.media_id).status == "done"
    return case, ids["astronaut.jpg"], ids["scenes.mp4"]


def test_without_a_model_the_stage_is_skipped_and_the_ledger_says_why(stores, case_files):
    case, photo, video = case_files
    none = load_model("vlm", stores.settings)  # embedded profile, nothing configured

    outcomes = [run_media_stage(stores, DESCRIBE, media_id, models={"vlm": none}.get)
                for media_id in (photo, video)]

    assert [(o.status, o.detail) for o in outcomes] == [
        ("skipped", "no vision-language model configured")] * 2
    latest = StageLedger(stores.metadata).latest(case.id)
    assert latest[(photo, "describe")].status == "skipped"
    assert latest[(video, "describe")].error == "no vision-language model configured"
    assert section(stores, str(case.id))["frames"] == []


def test_every_image_and_keyframe_gets_an_analysis_with_its_evidence_id(stores, case_files):
    case, photo, video = case_files
    model = load_model("vlm", Settings(vlm_model=str(tiny_vlm_dir("llava_next")),
                                       vlm_max_new_tokens=1024, vlm_batch_size=2))
    models = {"vlm": model}.get

    first = [run_media_stage(stores, DESCRIBE, m, models=models) for m in (photo, video)]

    # (Whether the random model "sees" a restraint, and so asks for a review, is chance.)
    assert [(o.status, o.data["frames"], o.data["parsed"]) for o in first] == [
        ("done", 1, 1), ("done", 2, 2)]
    report = section(stores, str(case.id))
    by_media = {photo: [(f"vlm:{photo}:image", None, "parsed")],
                video: [(f"vlm:{video}:0", f"kf:{video}:0", "parsed"),
                        (f"vlm:{video}:1", f"kf:{video}:1", "parsed")]}
    assert [(f["id"], f["keyframe"], f["status"]) for f in report["frames"]] == [
        row for media_id in sorted(by_media) for row in by_media[media_id]]
    for frame in report["frames"]:
        assert parse_evidence(frame["id"]).kind == "vlm"
        assert frame["analysis"]["scene"]["setting"] in ("indoor", "outdoor", "unknown")
        assert frame["raw"] is None and frame["object_key"].startswith(f"cases/{case.id}/")
    assert {e["kind"] for e in report["evidence"]} == {"vlm"}
    assert report["summary"]["frames_analysed"] == 3 and report["summary"]["parsed"] == 3

    again = run_media_stage(stores, DESCRIBE, video, models=models)
    assert again.reused and again.detail == first[1].detail

    set_case_context(stores.metadata, str(case.id), "Two scenes filmed in a garage.")
    redo = run_media_stage(stores, DESCRIBE, video, models=models)
    assert not redo.reused  # the context is part of the prompt, so of the key
    document = stores.documents.get(str(case.id), "describe", video)
    assert document["context"] is True


def test_a_frame_that_does_not_parse_is_kept_raw_and_the_file_is_still_done(stores, case_files):
    case, photo, video = case_files
    model = load_model("vlm", Settings(vlm_model=str(tiny_vlm_dir("llava")),
                                       vlm_structured_output="off", vlm_max_new_tokens=32))

    outcome = run_media_stage(stores, DESCRIBE, video, models={"vlm": model}.get)

    assert (outcome.status, outcome.detail) == ("done", "2 frames described, 2 unparsed")
    assert outcome.warnings == [
        "2 of 2 frames: the model's answer did not parse (kept raw, marked unparsed)"]
    frames = section(stores, str(case.id))["frames"]
    assert [(f["status"], f["analysis"]) for f in frames] == [("unparsed", None)] * 2
    assert all(f["raw"] and "repair:" in f["error"] for f in frames)


def test_restraint_indicators_become_observations_for_a_human_reviewer(stores, case_files):
    case, photo, video = case_files
    model = load_model("vlm", Settings(vlm_model=str(tiny_vlm_dir("llava_next"))))
    ctx = StageContext(stores)
    item = ctx.item(video)
    plan = DESCRIBE.plan(ctx, item, model)
    # What a compute half (here or on a rented GPU) hands back for keyframe 1: a parsed answer.
    computed = Computed(result={"model_id": model.model_id, "context": False, "frames": [{
        "id": f"vlm:{video}:1", "frame": 1, "timestamp_s": 1.0, "keyframe": f"kf:{video}:1",
        "status": "parsed", "attempts": 1, "error": None, "analysis": KITCHEN, "raw": None}]})

    summary = DESCRIBE.record(ctx, item, plan, computed)

    assert summary.detail == "1 frames described; 1 for human review"
    report = section(stores, str(case.id))
    (observation,) = report["restraints"]
    assert observation == {
        "media_id": video, "frame": 1, "timestamp_s": 1.0, "person": 1,
        "position": "left foreground",
        "restraints": [{"type": "cable ties", "where": "wrists behind"}],
        "gagged": True, "blindfolded": False, "signals": ["vlm"],
        "evidence": [f"vlm:{video}:1", f"kf:{video}:1"], "requires_human_review": True,
        "reason": "cable ties (wrists behind), a gag reported on person 1 in keyframe 1 at 1.0 s "
                  "by the vision-language model: an indicator for a human reviewer, not a verdict",
    }
    assert report["requires_human_review"] is True
    assert len(report["review_reasons"]) == 2  # the restraint, and the visible distress
    assert report["summary"]["restraint_observations"] == 1
    assert json.loads(json.dumps(report)) == report
