"""What in a frame analysis calls for a human reviewer: restraint indicators and visible distress.

A restraint indicator (a restraint, a gag or a blindfold reported on a person) and a visible sign
of distress are evidence for a human reviewer to look at, never a finding of fact: each one sets
``requires_human_review`` and says why, in words that name the frame it rests on.
These functions read stored analyses (plain JSON), so the report can apply them to any
document the ``describe`` stage wrote.
"""

from __future__ import annotations

from typing import Any

SIGNAL = "vlm"  # which kind of evidence supports an indicator; detectors add their own


def frame_label(frame: int | str, timestamp_s: float | None) -> str:
    """``keyframe 3 at 12.0 s`` for a video frame, ``the image`` for an image."""
    if timestamp_s is None:
        return "the image"
    return f"keyframe {frame} at {timestamp_s:.1f} s"


def restraint_indicators(analysis: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One entry per person with a restraint, gag or blindfold reported (person numbers from 1)."""
    indicators = []
    for number, person in enumerate((analysis or {}).get("persons", []), start=1):
        restraints = [{"type": r["type"], "where": r["where"]}
                      for r in person.get("restraints", [])]
        if restraints or person.get("gagged") or person.get("blindfolded"):
            indicators.append({
                "person": number, "position": person.get("position"), "restraints": restraints,
                "gagged": bool(person.get("gagged")),
                "blindfolded": bool(person.get("blindfolded")), "signals": [SIGNAL],
            })
    return indicators


def describe_indicator(indicator: dict[str, Any]) -> str:
    """``handcuffs (wrists behind), a gag`` for one person's indicator."""
    parts = [f"{r['type']} ({r['where']})" for r in indicator["restraints"]]
    if indicator["gagged"]:
        parts.append("a gag")
    if indicator["blindfolded"]:
        parts.append("a blindfold")
    return ", ".join(parts)


def review_reasons(analysis: dict[str, Any] | None, frame: int | str,
                   timestamp_s: float | None) -> list[str]:
    """Why a human should review this frame; empty when nothing calls for it."""
    where = frame_label(frame, timestamp_s)
    reasons = [
        f"the vision-language model reports {describe_indicator(indicator)} on person "
        f"{indicator['person']} in {where}: a restraint indicator for a human reviewer to "
        "check, not a finding"
        for indicator in restraint_indicators(analysis)
    ]
    for number, person in enumerate((analysis or {}).get("persons", []), start=1):
        signs = [sign for sign in person.get("visible_distress", []) if sign.strip()]
        if signs:
            reasons.append(f"the vision-language model reports visible distress ("
                           f"{'; '.join(signs)}) on person {number} in {where}: for a human "
                           "reviewer to check")
    return reasons
