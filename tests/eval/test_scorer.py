"""The known-truth case generator and the scorer (aima.eval): the tiny case is made, analysed by
``aima analyze`` with the embedded default and scored; the table is complete and every figure
within its range; a report that is wrong on purpose moves the metric it is wrong about."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from aima.eval.cli import main
from aima.eval.generate import generate
from aima.eval.score import score_case, score_report
from aima.eval.truth import MEDIA_DIR, TRUTH_FILE, Truth, Utterance, read_truth

#: every metric of the table; wer_<language> comes once per language spoken in the case
FIXED_METRICS = {
    "der", "speaker_count_error", "face_detection_recall", "face_detection_precision",
    "person_purity", "person_count_error", "keyframe_cut_recall", "keyframes_per_minute",
    "ocr_cer", "near_duplicate_precision", "near_duplicate_recall", "bad_input_accuracy",
    "bad_input_code_accuracy", "grounding_rate", "wall_s_per_media_minute", "peak_memory_mib",
}
#: The packaged 135M language model writes until its token budget (2048, over a minute on 2
#: cores) and its answer is cut off either way: 512 tokens keep this test near one minute and
#: still give the grounding counts a narrative to count.
SETTINGS = {"AIMA_LLM_MAX_NEW_TOKENS": "512"}


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    truth = generate(root / "tiny", size="tiny")
    card = score_case(root / "tiny", data_dir=root / "aima-data", settings=SETTINGS,
                      timeout_s=900)
    report = json.loads(Path(card.run.report_path).read_text())
    return truth, card, report, root / "tiny"


def test_the_tiny_case_holds_one_of_everything_and_its_truth_validates(scored):
    truth, _, _, case_dir = scored

    assert read_truth(case_dir) == truth
    Truth.model_validate(json.loads((case_dir / TRUTH_FILE).read_text()))
    on_disk = {path.name for path in (case_dir / MEDIA_DIR).iterdir()}
    assert on_disk == {f.name for f in truth.files}
    usable = [f for f in truth.files if f.usable]
    assert any(f.kind == "video" and f.scene_cuts_s and f.faces and f.text and f.speech
               for f in usable)
    assert len(truth.languages()) >= 2
    assert len(truth.speakers) >= 2 and truth.recurring_identities()
    assert any(f.kind == "image" and f.text for f in usable)
    assert any(f.derived_from and f.duplicate_group for f in usable)
    assert {f.bad.code for f in truth.files if f.bad} >= {"empty_file", "unsupported_type",
                                                          "truncated"}
    assert any(f.variation == "WAV data named .mp3" for f in usable)


def test_the_score_table_is_complete_and_every_figure_within_its_range(scored):
    truth, card, _, _ = scored

    names = [m.name for m in card.metrics]
    expected = FIXED_METRICS | {f"wer_{language}" for language in truth.languages()}
    assert sorted(names) == sorted(expected)
    for metric in card.metrics:
        assert metric.value is not None, f"{metric.name}: {metric.note}"
        assert math.isfinite(metric.value) and metric.in_range(), (metric.name, metric.value)
        assert metric.note
    as_json = json.loads(json.dumps(card.to_json()))
    assert {m["name"] for m in as_json["metrics"]} == expected
    assert all(isinstance(m["value"], float) and len(m["range"]) == 2
               for m in as_json["metrics"])
    assert card.run.returncode == 0 and card.run.peak_rss_mib > 0


def test_a_wrong_truth_or_report_moves_the_metric_it_is_wrong_about(scored):
    truth, card, report, _ = scored
    base = {m.name: m.value for m in card.metrics}

    # a speaker the files never had: one more voice to find
    extra = copy.deepcopy(truth)
    spoken = next(f for f in extra.files if f.speech)
    extra.speakers["espeak:ghost"] = "a voice that never spoke"
    last = spoken.speech[-1]
    spoken.speech.append(Utterance(start_s=last.end_s + 0.1, end_s=last.end_s + 2.0,
                                   speaker="espeak:ghost", language=last.language, text="boo"))
    wrong = {m.name: m.value for m in score_report(extra, report).metrics}
    assert wrong["speaker_count_error"] == base["speaker_count_error"] + 1
    assert wrong["der"] != base["der"]

    # a report that lost its faces, its near-duplicate stacks and took a bad file for good
    broken = copy.deepcopy(report)
    for entry in broken["faces"]["media"]:
        entry["faces"] = entry["faces"][1:]
    broken["near_duplicates"]["stacks"] = []
    bad = next(f.name for f in truth.files if f.bad)
    next(row for row in broken["media"] if row["name"] == bad)["status"] = "done"
    wrong = {m.name: m for m in score_report(truth, broken).metrics}
    assert wrong["face_detection_recall"].value < base["face_detection_recall"]
    assert wrong["near_duplicate_recall"].value == 0.0
    assert wrong["near_duplicate_precision"].value is None  # nothing stacked: no precision
    assert wrong["bad_input_accuracy"].value < base["bad_input_accuracy"]
    # scored without a run: no timing, and the table says why
    assert wrong["peak_memory_mib"].value is None and "no analysis run" in \
        wrong["peak_memory_mib"].note


def test_generate_makes_a_mixed_case_of_any_size_from_the_command_line(tmp_path, capsys):
    assert main(["generate", str(tmp_path / "twelve"), "--files", "12"]) == 0

    truth = read_truth(tmp_path / "twelve")
    assert len(truth.files) == 12 == len(list((tmp_path / "twelve" / MEDIA_DIR).iterdir()))
    copies = [f for f in truth.files if f.derived_from]
    assert any(f.kind == "video" for f in copies)  # a re-muxed copy of the first video
    assert "12 files" in capsys.readouterr().out
    assert main(["generate", str(tmp_path / "twelve")]) == 2  # refuses a folder with media
    assert main(["score", str(tmp_path)]) == 2  # no truth.json: no generated case
    assert "must be a folder made by" in capsys.readouterr().err
