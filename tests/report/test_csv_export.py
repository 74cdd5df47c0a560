"""The CSV export: three tables that parse back to what the report says, safe in a spreadsheet."""

from __future__ import annotations

import csv

import pytest

from aima.report.exports import export
from tests.report.sections import HOSTILE, large_report, with_fusion_sections


def read(path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def test_the_tables_of_a_real_case_parse_back_to_its_report(analysed, tmp_path):
    report = with_fusion_sections(analysed.report)

    written = export(report, "csv", tmp_path / "csv", images=analysed.images)

    assert sorted(p.name for p in written) == ["persons.csv", "timeline.csv", "transcript.csv"]
    assert written[0].read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM, for spreadsheets
    segments = [(t["media_id"], s) for t in report["transcripts"] for s in t["segments"]]
    rows = read(tmp_path / "csv" / "transcript.csv")
    assert len(rows) == len(segments) >= 2
    for row, (media_id, segment) in zip(rows, segments):
        assert row["media_id"] == media_id and row["name"] == "interview.mp4"
        assert (float(row["start"]), float(row["end"])) == (segment["start"], segment["end"])
        assert row["text"] == segment["text"].strip() and row["evidence"] == segment["id"]
        assert row["speaker"] == segment["speaker"] and row["language"] == "en"
    assert "door" in " ".join(row["text"].lower() for row in rows)

    events = read(tmp_path / "csv" / "timeline.csv")
    assert len(events) == len(report["timeline"]) == len(report["evidence"])
    for row, event in zip(events, report["timeline"]):
        assert float(row["at"]) == event["at"] and row["kind"] == event["kind"]
        assert row["evidence"].split(" ") == event["evidence"]
        assert row["name"] == event["name"]
        assert row["end_s"] == ("" if event["end_s"] is None else str(event["end_s"]))

    persons = {row["label"]: row for row in read(tmp_path / "csv" / "persons.csv")}
    assert set(persons) == {p["label"] for p in report["persons"]}
    for person in report["persons"]:
        row = persons[person["label"]]
        assert int(row["appearances"]) == len(person["appearances"])
        assert row["modalities"] == " ".join(person["modalities"])
    face_person = report["person_links"][0]["person"]
    speaker = next(p for p in report["persons"] if p["speaker_id"])
    assert persons[speaker["label"]]["linked"] == next(
        p["label"] for p in report["faces"]["persons"] if p["key"] == face_person)
    # the photo comes first on the case axis (the sections put files in the report's order)
    assert persons["Person 1"]["first_seen_file"] == report["media"][0]["name"] == "both-copy.jpg"
    assert set(persons["Person 1"]["files"].split("; ")) == {"both.jpg", "both-copy.jpg",
                                                             "interview.mp4"}


def test_cells_a_spreadsheet_would_run_as_formulas_are_defused(tmp_path):
    report = large_report(videos=1, keyframes=2, segments=3)

    export(report, "csv", tmp_path, images=lambda key: None)

    texts = [row["text"] for row in read(tmp_path / "transcript.csv")]
    assert texts[0] == "'" + HOSTILE
    assert texts[1] == "'-1 line 1 said on camera 0 @noon +1"
    for row in read(tmp_path / "timeline.csv"):
        assert not row["description"].startswith(("=", "+", "-", "@"))
        assert float(row["at"]) >= 0  # numbers stay numbers
    raw = (tmp_path / "transcript.csv").read_text(encoding="utf-8-sig")
    assert "\n=" not in raw and ",=" not in raw and ",-1 line" not in raw


def test_a_report_without_timeline_persons_or_transcripts_gives_header_only_tables(tmp_path):
    report = large_report(videos=1, keyframes=1, segments=1)
    for key in ("timeline", "persons", "transcripts"):
        report[key] = []
    report["faces"]["persons"] = []

    export(report, "csv", tmp_path, images=lambda key: None)

    for name in ("timeline.csv", "persons.csv", "transcript.csv"):
        assert read(tmp_path / name) == []
        assert (tmp_path / name).read_text(encoding="utf-8-sig").count("\n") == 1


def test_an_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown export format 'docx'"):
        export({}, "docx", tmp_path, images=lambda key: None)
