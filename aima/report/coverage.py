"""Coverage: which stretches of each video and audio file every analysis stage actually saw.

A report is only as complete as what was looked at. For each video and audio file,
:func:`build` lists, per stage that applies to it, its ``status`` (from the stage-run ledger, as
the media rows give it; ``not_run`` when the ledger has no run), the spans it saw (``seen``,
merged, in seconds of the file), how long that is (``seen_s``) and the spans it did not see
(``unseen``). What counts as seen:

- **Frame stages** (those that look at images and keyframes: ``describe``, ``faces``, ``ocr``,
  ``detect-restraints``) see instants, not stretches. The ``preprocess`` document gives each
  keyframe's timestamp and why it was kept (first, scene change, or the
  ``AIMA_KEYFRAME_MAX_GAP_S`` rule) but not the extent of the scene it stands for, so a keyframe
  counts as seeing :data:`KEYFRAME_WINDOW_S` around its timestamp (half before, half after), no
  more. A gap between keyframes is unseen by these stages, however still the picture may be.
- **Speech stages** (``transcribe``, ``diarize``) listen to the whole audio track (the voice
  activity detector runs over all of it; silence is heard and found empty, not skipped). The
  ``transcribe`` document does not keep the detector's speech regions, so a finished speech stage
  counts as seeing the audio track from 0 s to its duration (the transcript's, else the track's);
  the rest of the file, if the track is shorter, is unseen.
- A stage that was skipped, failed or never ran saw nothing.

``longest_unseen`` of a file is its longest unseen span among the stages that were meant to look
(done, failed, or not run). Skipped stages are left out of it: a skip is a decision (no model
configured, no audio track to hear) that the stage's ``status`` and ``reason`` already report,
and counting it would make every file of a case analysed without, say, a vision-language model
"wholly unseen". ``longest_unseen_s`` is the longest of all files (None when nothing is known).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aima.stages import registry

#: how much of the video one keyframe counts as seeing, centred on its timestamp (seconds)
KEYFRAME_WINDOW_S = 1.0
#: unseen spans shorter than this are rounding, not gaps
MIN_GAP_S = 0.001
PRECISION = 3


def frame_stages(media_type: str) -> list[str]:
    """The registry's stages that look at frames (images and keyframes) of ``media_type``."""
    return [s.name for s in registry.media_stages(media_type)
            if "image" in s.media_types and "audio" not in s.media_types]


def speech_stages(media_type: str) -> list[str]:
    """The registry's stages that listen to the audio track of ``media_type``."""
    return [s.name for s in registry.media_stages(media_type)
            if "audio" in s.media_types and "image" not in s.media_types]


def build(media: list[dict[str, Any]], preprocess_docs: Mapping[str, dict[str, Any]],
          transcripts: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """The report's ``coverage`` section (see the module docstring).

    ``media`` are the report's media rows (with their ``stages`` entries), ``preprocess_docs`` the
    ``preprocess`` documents by media id and ``transcripts`` the report's transcripts (for the
    length of the audio that was transcribed).
    """
    heard = {t["media_id"]: t.get("duration_s") for t in transcripts}
    entries = []
    for row in media:
        if row.get("type") not in ("video", "audio"):
            continue
        document = preprocess_docs.get(row["id"]) or {}
        entries.append(_file(row, document, heard.get(row["id"])))
    longest = [e["longest_unseen"]["seconds"] for e in entries if e["longest_unseen"]]
    return {
        "media": entries,
        "longest_unseen_s": max(longest) if longest else None,
        "keyframe_window_s": KEYFRAME_WINDOW_S,
    }


def _file(row: Mapping[str, Any], document: Mapping[str, Any],
          transcribed_s: float | None) -> dict[str, Any]:
    keyframes = [frame["timestamp_s"] for frame in document.get("keyframes", [])]
    audio_s = transcribed_s or (document.get("audio") or {}).get("duration_s")
    duration = (row.get("duration_s") or (document.get("probe") or {}).get("duration_s")
                or audio_s or (max(keyframes) + KEYFRAME_WINDOW_S / 2 if keyframes else None))
    runs = {entry["stage"]: entry for entry in row.get("stages", [])}
    stages = {}
    for name in frame_stages(row["type"]) + speech_stages(row["type"]):
        run = runs.get(name) or {}
        status = run.get("status") or "not_run"
        seen: list[list[float]] = []
        if status == "done" and duration is not None:
            if name in frame_stages(row["type"]):
                half = KEYFRAME_WINDOW_S / 2
                seen = merge([[t - half, t + half] for t in keyframes], 0.0, duration)
            else:
                seen = merge([[0.0, audio_s or duration]], 0.0, duration)
        entry = {"status": status, "seen": seen, "seen_s": _round(sum(b - a for a, b in seen)),
                 "unseen": complement(seen, duration) if duration is not None else []}
        if status != "done" and run.get("reason"):
            entry["reason"] = run["reason"]
        stages[name] = entry
    longest = None
    for name, entry in stages.items():
        if entry["status"] == "skipped":
            continue
        for start, end in entry["unseen"]:
            if longest is None or end - start > longest["seconds"]:
                longest = {"stage": name, "start_s": start, "end_s": end,
                           "seconds": _round(end - start)}
    return {"media_id": row["id"], "name": row.get("name"), "type": row["type"],
            "duration_s": None if duration is None else _round(duration), "stages": stages,
            "longest_unseen": longest}


def merge(spans: Iterable[list[float]], lower: float, upper: float) -> list[list[float]]:
    """``spans`` clipped to ``[lower, upper]``, overlapping and touching ones joined, in order."""
    merged: list[list[float]] = []
    for start, end in sorted([max(lower, a), min(upper, b)] for a, b in spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1] + MIN_GAP_S:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [[_round(a), _round(b)] for a, b in merged]


def complement(seen: list[list[float]], duration: float) -> list[list[float]]:
    """The spans of ``[0, duration]`` that ``seen`` (merged, in order) leaves out."""
    gaps, cursor = [], 0.0
    for start, end in seen + [[duration, duration]]:
        if start - cursor >= MIN_GAP_S:
            gaps.append([_round(cursor), _round(start)])
        cursor = max(cursor, end)
    return gaps


def _round(value: float) -> float:
    return round(float(value), PRECISION)
