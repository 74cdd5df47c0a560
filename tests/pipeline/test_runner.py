"""The stage runner on real media and embedded stores: reuse, skips, bad media, one outcome type."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from aima.models.factory import load_model
from aima.pipeline.runner import run_media_stage
from aima.pipeline.sources import SourceFile
from aima.report import build_report
from aima.settings import Settings
from aima.stages.ingest import ingest_file
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case
from aima.storage.models import StageRun
from tests.mediagen import make_cut_video, make_images


@pytest.fixture
def stores(tmp_path):
    with open_stores(Settings(data_dir=tmp_path / "data")) as opened:
        yield opened


def ingest(stores, case, path):
    outcome = ingest_file(stores, stores.settings, str(case.id),
                          SourceFile(uri=str(path), name=path.name))
    assert outcome.status == "done", outcome
    return outcome.media_id


def runs(stores) -> list[tuple]:
    with stores.metadata.session() as session:
        return sorted((r.stage, r.status, r.attempts, r.error, str(r.finished_at))
                      for r in session.scalars(select(StageRun)))


def test_a_silent_video_skips_the_speech_stages_and_the_report_says_why(stores, tmp_path):
    make_cut_video(tmp_path / "silent.mp4", [1.0, 1.0])
    case = get_or_create_case(stores.metadata, "silent")
    media_id = ingest(stores, case, tmp_path / "silent.mp4")
    models = {"asr": load_model("asr", stores.settings),
              "diarizer": load_model("diarizer", stores.settings)}.get

    outcomes = [run_media_stage(stores, name, media_id, models=models)
                for name in ("preprocess", "transcribe", "diarize")]

    assert [(o.stage, o.status, o.detail) for o in outcomes] == [
        ("preprocess", "done", "2 keyframes"),
        ("transcribe", "skipped", "no audio track"),
        ("diarize", "skipped", "no transcript"),
    ]
    assert outcomes[0].data == {"keyframes": 2} and outcomes[0].output_ref.startswith("documents:")
    (row,) = build_report(stores, case)["media"]
    assert [(s["stage"], s["status"], s["reason"]) for s in row["stages"]] == [
        ("ingest", "done", None), ("preprocess", "done", None),
        ("transcribe", "skipped", "no audio track"), ("diarize", "skipped", "no transcript")]
    assert row["notes"] == "transcribe skipped: no audio track; diarize skipped: no transcript"
    before = runs(stores)

    again = [run_media_stage(stores, name, media_id, models=models)
             for name in ("preprocess", "transcribe", "diarize")]

    assert again[0].reused and again[0].detail == "2 keyframes"
    assert runs(stores) == before  # a rerun that skips again records nothing new


def test_bad_media_found_by_a_stage_fails_the_item_with_its_code(stores, tmp_path):
    make_cut_video(tmp_path / "whole.mp4", [2.0, 2.0])
    data = (tmp_path / "whole.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) * 2 // 3])  # the moov atom comes first
    case = get_or_create_case(stores.metadata, "cut")
    outcome = ingest_file(stores, stores.settings, str(case.id),
                          SourceFile(uri=str(tmp_path / "cut.mp4"), name="cut.mp4"))
    if outcome.status == "rejected":  # sniffing caught it already: also a specific reason
        assert outcome.error_code and outcome.error
        return

    result = run_media_stage(stores, "preprocess", outcome.media_id)

    assert result.status == "failed" and result.error_code and result.error
    (row,) = build_report(stores, case)["media"]
    assert (row["status"], row["error_code"]) == ("failed", result.error_code)
    assert row["stages"][-1]["status"] == "failed"


def test_a_stage_that_does_not_apply_to_the_media_type_is_skipped(stores, tmp_path):
    images = make_images(tmp_path / "images")
    case = get_or_create_case(stores.metadata, "images")
    media_id = ingest(stores, case, images["jpeg"])

    outcome = run_media_stage(stores, "transcribe", media_id, models=None)

    assert (outcome.status, outcome.detail) == ("skipped", "transcribe does not apply to image files")


def test_a_stage_with_a_model_needs_one(stores, tmp_path):
    make_cut_video(tmp_path / "v.mp4", [1.0])
    case = get_or_create_case(stores.metadata, "model")
    media_id = ingest(stores, case, tmp_path / "v.mp4")
    with pytest.raises(ValueError, match="needs a 'asr' model"):
        run_media_stage(stores, "transcribe", media_id)
