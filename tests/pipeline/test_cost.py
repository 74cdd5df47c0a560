"""The GPU cost estimate on a real case: media made with ffmpeg, ingested and preprocessed into
embedded stores, then priced per stage from what preprocess recorded."""

from __future__ import annotations

import pytest

from aima.pipeline.cost import (
    SECONDS_PER_UNIT, BudgetExceeded, actual_cost, check_budget, decision, estimate,
)
from aima.pipeline.runner import run_media_stage
from aima.pipeline.sources import SourceFile
from aima.settings import Settings
from aima.stages import registry
from aima.stages.ingest import ingest_file
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case
from tests.mediagen import ffmpeg, make_cut_video, media_duration_s, quadrant_image

SCENES = [2.0, 2.0, 2.0]  # a silent 6 s video of three stills: one keyframe per scene
TONE_S = 4.0  # an audio file of exactly this many seconds


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """stores, and the media ids of a silent video, an image, an audio file and a video with
    sound, all ingested and preprocessed; ``durations`` as ffprobe measures the originals."""
    media = tmp_path_factory.mktemp("media")
    make_cut_video(media / "scenes.mp4", SCENES)
    quadrant_image(480, 360).save(media / "photo.jpg", quality=90)
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={TONE_S}",
           media / "tone.wav")
    ffmpeg("-f", "lavfi", "-i", "color=c=0x336699:size=160x90:rate=10",
           "-f", "lavfi", "-i", "sine=frequency=300:sample_rate=44100", "-t", "3",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
           media / "talk.mp4")
    settings = Settings(data_dir=tmp_path_factory.mktemp("aima") / "data", gpu_startup_s=120.0,
                        gpu_price_per_hour=2.5, budget_usd=10.0)
    with open_stores(settings) as stores:
        case = get_or_create_case(stores.metadata, "cost")
        ids = {}
        for name in ("scenes.mp4", "photo.jpg", "tone.wav", "talk.mp4"):
            outcome = ingest_file(stores, settings, str(case.id),
                                  SourceFile(uri=str(media / name), name=name))
            assert outcome.status == "done", outcome
            ids[name] = outcome.media_id
            assert run_media_stage(stores, "preprocess", outcome.media_id).status == "done"
        durations = {name: media_duration_s(media / name)
                     for name in ("scenes.mp4", "tone.wav", "talk.mp4")}
        yield stores, ids, durations, str(case.id)


def rate(stage: str) -> float:
    return SECONDS_PER_UNIT[stage][1]


def stages_of(result) -> dict:
    return {cost.stage: cost for cost in result.per_stage}


def test_each_stage_is_priced_from_keyframes_images_and_audio_seconds(case):
    stores, ids, durations, case_id = case
    video, photo, tone, talk = (ids[n] for n in ("scenes.mp4", "photo.jpg", "tone.wav", "talk.mp4"))

    result = estimate(stores, {video: ["describe", "faces", "transcribe"],
                               photo: ["describe", "faces", "detect-restraints", "transcribe"],
                               tone: ["transcribe", "diarize"],
                               talk: ["transcribe", "diarize", "describe"]},
                      stores.settings, price_per_hour=3.6)

    costs = stages_of(result)
    talk_frames = len(stores.documents.get(case_id, "preprocess", talk)["keyframes"])
    assert talk_frames >= 1  # a still colour: at least the first frame
    describe = costs["describe"]
    assert (describe.unit, describe.files, describe.units) == (
        "frames", 3, len(SCENES) + 1 + talk_frames)  # 3 keyframes + the image + talk's
    assert describe.media_seconds == pytest.approx(durations["scenes.mp4"] + durations["talk.mp4"],
                                                   abs=0.1)
    assert describe.gpu_seconds == pytest.approx(describe.units * rate("describe"))
    assert (costs["faces"].files, costs["faces"].units) == (2, len(SCENES) + 1)
    assert (costs["detect-restraints"].files, costs["detect-restraints"].units) == (1, 1)
    # The silent video and the image cost the speech stages nothing: they would skip.
    transcribe = costs["transcribe"]
    assert (transcribe.unit, transcribe.files) == ("audio seconds", 2)
    assert transcribe.units == pytest.approx(TONE_S + 3.0, abs=0.1)
    assert transcribe.media_seconds == transcribe.units
    assert transcribe.gpu_seconds == pytest.approx(transcribe.units * rate("transcribe"))
    assert costs["diarize"].units == pytest.approx(transcribe.units)
    # Start-up once, and the price of a live offer: 3.6 USD an hour is 0.001 USD a second.
    assert result.startup_s == 120.0
    assert result.gpu_seconds == pytest.approx(
        120.0 + sum(cost.gpu_seconds for cost in result.per_stage))
    assert (result.price_per_hour, result.price_source) == (3.6, "offer")
    assert result.usd == pytest.approx(result.gpu_seconds / 1000)
    assert describe.usd == pytest.approx(describe.gpu_seconds / 1000)
    assert result.budget_usd == 10.0 and result.notes == []


def test_without_an_offer_the_price_setting_is_used_and_pairs_work_like_a_mapping(case):
    stores, ids, *_ = case
    video, tone = ids["scenes.mp4"], ids["tone.wav"]

    by_map = estimate(stores, {video: ["describe"], tone: ["transcribe"]}, stores.settings)
    by_pairs = estimate(stores, [(video, "describe"), (tone, "transcribe"), (video, "describe")],
                        stores.settings)

    assert by_map == by_pairs  # a pair named twice is counted once
    assert (by_map.price_per_hour, by_map.price_source) == (2.5, "setting")
    assert by_map.usd == pytest.approx(actual_cost(by_map.gpu_seconds, 2.5))
    assert actual_cost(3600, 2.5) == 2.5 and actual_cost(90, 2.0) == pytest.approx(0.05)


def test_a_case_stage_costs_its_figure_once_and_no_work_costs_nothing(case):
    stores, ids, *_ = case

    fused = estimate(stores, {}, stores.settings, case_stages=["fuse"], gpu_runs=2)
    nothing = estimate(stores, {ids["scenes.mp4"]: ["transcribe"]}, stores.settings)

    (fuse,) = fused.per_stage
    assert (fuse.stage, fuse.unit, fuse.units) == ("fuse", "case", 1)
    assert fuse.gpu_seconds == rate("fuse") and fuse.files == 0
    assert fused.startup_s == 2 * 120.0
    # A silent video only: transcribe would skip it, no machine is started.
    assert (nothing.per_stage[0].files, nothing.startup_s, nothing.usd) == (0, 0.0, 0.0)
    assert decision(nothing, budget_usd=0.0, auto_approve_usd=0.0) == "auto"


def test_decision_starts_asks_or_refuses_by_the_thresholds(case):
    stores, ids, *_ = case
    result = estimate(stores, {ids["scenes.mp4"]: ["describe", "faces"]}, stores.settings)
    usd = result.usd
    assert usd > 0

    assert decision(result, budget_usd=usd, auto_approve_usd=usd) == "auto"  # at the threshold
    assert decision(result, budget_usd=usd, auto_approve_usd=usd / 2) == "ask"
    assert decision(result, budget_usd=None, auto_approve_usd=usd / 2) == "ask"
    assert decision(result, budget_usd=usd * 0.99, auto_approve_usd=usd * 2) == "over-budget"
    check_budget(result, usd)  # at the budget: allowed
    with pytest.raises(BudgetExceeded) as raised:
        check_budget(result, usd / 4)
    message = str(raised.value)
    assert f"${usd:,.2f}" in message and f"${usd / 4:,.2f}" in message
    assert "nothing was dispatched" in message and "AIMA_BUDGET_USD" in message
    assert raised.value.estimate == result and raised.value.budget_usd == usd / 4


def test_the_markdown_table_shows_each_stage_start_up_total_price_and_budget(case):
    stores, ids, *_ = case
    result = estimate(stores, {ids["scenes.mp4"]: ["describe"], ids["tone.wav"]: ["transcribe"]},
                      stores.settings, budget_usd=0.01)

    text = result.markdown()

    lines = text.splitlines()
    assert lines[0] == "| Stage | Files | Media | Work | GPU time | Cost |"
    describe_gpu = len(SCENES) * rate("describe")
    assert (f"| describe | 1 | 6.0 s | 3 frames | {describe_gpu:.1f} s | "
            f"${actual_cost(describe_gpu, 2.5):,.2f} |") in lines
    assert any(line.startswith("| transcribe | 1 | 4.0 s | 4.0 s audio |") for line in lines)
    assert "| start-up and model load | | | | 2 min 00 s | $0.08 |" in lines
    assert f"**${result.usd:,.2f}**" in text
    assert "Price: $2.50 per machine-hour (AIMA_GPU_PRICE_PER_HOUR)." in lines
    assert "Budget: $0.01 (the estimate is over it)." in lines


def test_unknown_stages_and_items_are_reported_not_guessed(case, tmp_path):
    stores, ids, _, case_id = case
    gone = "00000000-0000-4000-8000-000000000000"
    make_cut_video(tmp_path / "later.mp4", [1.0, 1.0])
    later = ingest_file(stores, stores.settings, case_id,
                        SourceFile(uri=str(tmp_path / "later.mp4"), name="later.mp4")).media_id

    with pytest.raises(ValueError, match="no GPU throughput known for stage 'ocr'; GPU stages:"):
        estimate(stores, {ids["photo.jpg"]: ["ocr"]}, stores.settings)
    result = estimate(stores, {gone: ["describe"], ids["photo.jpg"]: ["describe"],
                               later: ["describe"]}, stores.settings)

    assert (stages_of(result)["describe"].files, stages_of(result)["describe"].units) == (1, 1)
    assert result.notes == [
        f"1 item(s) not found or rejected, not counted: {gone}",
        f"1 item(s) without a preprocess record count no keyframes or audio: {later}"]
    assert f"Note: 1 item(s) not found or rejected, not counted: {gone}" in result.markdown()


def test_stages_are_listed_in_the_pipeline_order(case):
    stores, ids, *_ = case

    result = estimate(stores, [(ids["talk.mp4"], "diarize"), (ids["talk.mp4"], "transcribe"),
                               (ids["talk.mp4"], "describe")], stores.settings)

    assert [cost.stage for cost in result.per_stage] == ["describe", "transcribe", "diarize"]


def test_every_gpu_stage_of_the_registry_has_a_throughput_figure():
    gpu_stages = {stage.name for stage in registry if stage.device == "gpu"}
    assert gpu_stages == set(SECONDS_PER_UNIT)

