"""Coverage: what each stage saw of a video. Keyframes that leave a known gap give that gap as the
longest unseen span; speech stages hear the whole audio track; skipped stages saw nothing and say
why, without making a whole file "unseen"."""

from __future__ import annotations

from aima.report import coverage
from aima.settings import Settings
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case
from tests.report_facts import casegen
from tests.report_facts.conftest import analyse, report_of


def test_the_gap_between_keyframes_is_the_longest_unseen_span(tmp_path, models):
    folder = tmp_path / "media"
    folder.mkdir()
    # two stills: a cut at 1 s, then 6 s of one picture (under the 10 s keyframe gap), no sound
    cuts = casegen.silent_cut_video(folder / "still.mp4", [1.0, 6.0])
    with open_stores(Settings(data_dir=tmp_path / "data",
                              model_cache_dir=models.settings.model_cache_dir)) as stores:
        case_id = str(get_or_create_case(stores.metadata, "gap").id)
        ids = analyse(stores, case_id, folder, ["still.mp4"], models, case_stages=())
        report, documents = report_of(stores, case_id)

    section = coverage.build(report["media"], documents, report["transcripts"])

    assert [k["timestamp_s"] for k in documents[ids["still.mp4"]]["keyframes"]] == [0.0] + cuts
    (video,) = section["media"]
    assert video["duration_s"] == 7.0
    half = coverage.KEYFRAME_WINDOW_S / 2
    for stage in ("faces", "ocr"):  # the frame stages that ran
        assert video["stages"][stage] == {
            "status": "done", "seen": [[0.0, 1.0 + half]], "seen_s": 1.0 + half,
            "unseen": [[1.0 + half, 7.0]]}
    for stage in ("transcribe", "diarize"):
        assert video["stages"][stage]["status"] == "skipped"
        assert video["stages"][stage]["seen"] == []
    assert video["stages"]["transcribe"]["reason"] == "no audio track"
    assert video["stages"]["describe"]["reason"] == "no vision-language model configured"
    assert video["longest_unseen"] == {"stage": "faces", "start_s": 1.0 + half, "end_s": 7.0,
                                       "seconds": 7.0 - 1.0 - half}
    assert section["longest_unseen_s"] == 7.0 - 1.0 - half


def test_speech_stages_hear_the_whole_track_and_keyframes_every_second_leave_no_gap(
        talking_case):
    report, documents = report_of(talking_case.stores, talking_case.case_id)

    section = coverage.build(report["media"], documents, report["transcripts"])

    by_name = {entry["name"]: entry for entry in section["media"]}
    assert set(by_name) == {"solo.mp4", "pair.mp4"}
    for name, entry in by_name.items():
        heard = next(t["duration_s"] for t in report["transcripts"]
                     if t["media_id"] == talking_case.ids[name])
        assert entry["stages"]["transcribe"]["seen"] == [[0.0, min(heard, entry["duration_s"])]]
        assert entry["stages"]["ocr"]["status"] == "skipped"  # switched off in this case
        faces = entry["stages"]["faces"]
        assert faces["status"] == "done" and len(faces["seen"]) == 1
        times = [k["timestamp_s"] for k in documents[talking_case.ids[name]]["keyframes"]]
        assert faces["seen"][0] == [0.0, round(times[-1] + coverage.KEYFRAME_WINDOW_S / 2, 3)]
        assert entry["longest_unseen"]["seconds"] < coverage.KEYFRAME_WINDOW_S
    assert section["longest_unseen_s"] == max(e["longest_unseen"]["seconds"]
                                              for e in section["media"])
