"""Subtitle exports of a case: one SRT or WebVTT file per transcribed media item."""

from __future__ import annotations

from pathlib import Path

from aima.report import case_transcripts, media_rows
from aima.speech.subtitles import to_srt, to_webvtt
from aima.speech.transcript import Transcript
from aima.storage import Stores
from aima.storage.models import Case

FORMATS = ("srt", "vtt")


def write_subtitles(stores: Stores, case: Case, format: str, out: Path) -> list[str]:
    """One .srt or .vtt per transcribed media item in ``out``, named after the file, speakers as
    case speaker ids; returns the paths written."""
    if format not in FORMATS:
        raise ValueError(f"unknown subtitle format {format!r}; expected one of {FORMATS}")
    names = {row["id"]: row["name"] for row in media_rows(stores, case)}
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for item in case_transcripts(stores, str(case.id)):
        if not item["segments"]:
            continue
        transcript = Transcript(language=item["language"], language_probability=None,
                                duration_s=item["duration_s"] or 0.0, segments=item["segments"])
        text = to_srt(transcript) if format == "srt" else to_webvtt(transcript)
        stem = names.get(item["media_id"], item["media_id"]).replace("/", "_")
        target = out / f"{stem}.{format}"
        target.write_text(text)
        written.append(str(target))
    return written
