"""The CSV export: three tables a reviewer opens in a spreadsheet.

``aima report CASE --format csv --out DIR`` writes into ``DIR``

- ``timeline.csv``: one row per timeline event (``at`` on the case axis, the file, the time range
  within it, kind, description, speaker or person, the evidence ids it rests on, space-separated);
- ``persons.csv``: one row per case person (label, key, modalities, files, number of appearances,
  where it is first seen on the case axis, the persons it is linked to);
- ``transcript.csv``: one row per transcript segment (file, start, end, speaker, language, text,
  the segment's evidence id).

Files are UTF-8 with a byte-order mark (spreadsheet programs read non-ASCII text right only with
it; Python reads them with ``encoding="utf-8-sig"``) and ``\\r\\n`` line ends (RFC 4180). A text
cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with
``'``: transcripts and OCR text are untrusted, and a spreadsheet would run such a cell as a formula
(CSV injection). Numbers are written as numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aima.report.exports import common

TIMELINE = ("at", "media_id", "name", "start_s", "end_s", "kind", "description", "speaker",
            "person", "evidence")
PERSONS = ("label", "person", "modalities", "files", "appearances", "first_seen_file",
           "first_seen_s", "linked")
TRANSCRIPT = ("media_id", "name", "start", "end", "speaker", "language", "text", "evidence")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def write_csv(report: dict[str, Any], out: Path) -> list[Path]:
    """Write the three tables into directory ``out`` (made if missing); returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    return [
        _write(out / "timeline.csv", TIMELINE, timeline_rows(report)),
        _write(out / "persons.csv", PERSONS, person_rows(report)),
        _write(out / "transcript.csv", TRANSCRIPT, transcript_rows(report)),
    ]


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet may show it without running it: text that a spreadsheet would
    read as a formula gets a leading ``'``; numbers and empty cells are left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def timeline_rows(report: dict[str, Any]) -> Iterable[dict[str, Any]]:
    names = common.names(report)
    for event in report.get("timeline") or []:
        yield {
            "at": event.get("at"), "media_id": event.get("media_id"),
            "name": event.get("name") or names.get(event.get("media_id")),
            "start_s": event.get("start_s"), "end_s": event.get("end_s"),
            "kind": event.get("kind"), "description": event.get("description"),
            "speaker": event.get("speaker"), "person": event.get("person"),
            "evidence": " ".join(event.get("evidence") or []),
        }


def person_rows(report: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for person in common.persons(report):
        first = person["first_seen"] or {}
        files = dict.fromkeys(a["name"] or a.get("media_id") for a in person["appearances"])
        yield {
            "label": person["label"], "person": person["key"],
            "modalities": " ".join(person["modalities"]),
            "files": "; ".join(str(name) for name in files),
            "appearances": len(person["appearances"]),
            "first_seen_file": first.get("name"), "first_seen_s": first.get("start_s"),
            "linked": "; ".join(str(label) for label in person["linked"]),
        }


def transcript_rows(report: dict[str, Any]) -> Iterable[dict[str, Any]]:
    names = common.names(report)
    for transcript in report.get("transcripts") or []:
        media_id = transcript.get("media_id")
        for segment in transcript.get("segments", []):
            yield {
                "media_id": media_id,
                "name": transcript.get("name") or names.get(media_id),
                "start": segment.get("start"), "end": segment.get("end"),
                "speaker": segment.get("speaker"),
                "language": segment.get("language") or transcript.get("language"),
                "text": (segment.get("text") or "").strip(), "evidence": segment.get("id"),
            }


def _write(path: Path, columns: tuple[str, ...], rows: Iterable[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns, lineterminator="\r\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({column: safe_cell(row.get(column)) for column in columns})
    return path
