"""The report of a case whose truth is known (tests/report/casegen.py): the persons, the text, the
timeline and every citation match what was put into the files."""

from __future__ import annotations

from typing import Any

from tests.report.casegen import NOTICE


def cited_ids(node: Any, top: bool = True) -> list[str]:
    """Every evidence id cited anywhere in the report: the values of fields named ``evidence``
    (the top-level evidence list itself excepted)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "evidence" and not top and isinstance(value, list):
                found += [ref for ref in value if isinstance(ref, str)]
            else:
                found += cited_ids(value, top=False)
    elif isinstance(node, list):
        for value in node:
            found += cited_ids(value, top=False)
    return found


def by_name(report: dict) -> dict[str, str]:
    return {row["name"]: row["id"] for row in report["media"]}


def test_every_cited_evidence_id_exists_in_the_case(analysed):
    report = analysed.report
    known = {item["id"] for item in report["evidence"]}
    cited = cited_ids(report)

    assert len(cited) > 50  # the timeline, persons, dossiers and findings all cite
    assert set(cited) <= known
    assert len(known) == len(report["evidence"])  # one item per id


def test_the_two_face_identities_are_two_persons_seen_in_every_picture_of_them(analysed):
    report = analysed.report
    files = by_name(report)
    faces = [p for p in report["persons"] if "face" in p["modalities"]]

    assert len(faces) == 2
    for person in faces:
        assert {a["media_id"] for a in person["appearances"]} == {
            files["interview.mp4"], files["both.jpg"], files["both-copy.jpg"]}


def test_the_copied_picture_is_stacked_with_its_original(analysed):
    report = analysed.report
    files = by_name(report)

    (stack,) = report["near_duplicates"]["stacks"]
    assert {m["media_id"] for m in stack["members"]} == {files["both.jpg"], files["both-copy.jpg"]}
    assert stack["representative"] == files["both.jpg"]
    copy = next(row for row in report["media"] if row["name"] == "both-copy.jpg")
    assert copy["near_duplicate_of"]["media_id"] == files["both.jpg"]


def test_the_text_in_the_frame_is_read(analysed):
    notice = by_name(analysed.report)["notice.png"]
    (read,) = [media for media in analysed.report["text"] if media["media_id"] == notice]

    assert read["text"] == NOTICE


def test_the_timeline_has_each_file_and_keeps_the_video_in_time_order(analysed):
    report = analysed.report
    files = by_name(report)
    events = report["timeline"]
    video = [e for e in events if e["media_id"] == files["interview.mp4"]]

    assert {e["media_id"] for e in events} == set(files.values())
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert [e["start_s"] for e in video] == sorted(e["start_s"] for e in video)
    # the scene cut: a keyframe in each of the video's two scenes
    keyframes = [e["start_s"] for e in video if e["kind"] == "keyframe"]
    assert min(keyframes) < 1.5 < max(keyframes)
    # what was said is on the timeline, with the time it was said
    speech = [e for e in video if e["kind"] == "speech"]
    assert speech and all(e["end_s"] > e["start_s"] for e in speech)
    assert report["timeline_basis"]["order"] in ("ingest_order", "capture_time", "mixed")


def test_the_two_voices_are_two_speakers_with_their_own_lines(analysed):
    report = analysed.report
    voices = [p for p in report["persons"] if "voice" in p["modalities"]]
    (transcript,) = report["transcripts"]

    assert len(voices) == 2
    said = [(segment["speaker"], segment["text"]) for segment in transcript["segments"]]
    # who said what: the lines of one voice share a speaker, the other voice's lines the other
    first, second = said[0][0], said[1][0]
    assert first != second
    assert [speaker for speaker, _ in said] == [first, second, first, second]
