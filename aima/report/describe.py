"""The report's section for the ``describe`` stage: frame analyses, restraint observations, review.

:func:`section` returns

- ``frames``: per image and keyframe, its vision-language analysis (or ``unparsed`` with the raw
  answer and the reason), with its evidence id (``vlm:...``) and keyframe id (``kf:...``)
- ``restraints``: one observation per person with a restraint, gag or blindfold reported: what,
  where in the frame, which signals support it (``vlm``), the evidence it cites, and
  ``requires_human_review`` with the reason. An indicator for a reviewer, never a verdict.
- ``evidence``: one item of kind ``vlm`` per analysed frame
- ``requires_human_review`` and ``review_reasons`` (restraints and visible distress)
- ``summary``: frames analysed, parsed, repaired, unparsed, restraint observations, frames for
  review.

A media item the stage skipped (no model configured) has no document here; the skip and its
reason are in the media rows' ``stages`` and ``notes`` (from the stage-run ledger).
"""

from __future__ import annotations

from typing import Any

from aima.storage import Stores
from aima.vision.findings import describe_indicator, frame_label

STAGE = "describe"


def section(stores: Stores, case_id: str) -> dict[str, Any]:
    documents = sorted(stores.documents.query(str(case_id), stage=STAGE),
                       key=lambda d: d.media_id or "")
    frames, restraints, evidence, reasons = [], [], [], []
    for document in documents:
        media_id, data = document.media_id, document.data
        for frame in data.get("frames", []):
            cites = [frame["id"]] + ([frame["keyframe"]] if frame.get("keyframe") else [])
            frames.append({"media_id": media_id, "model_id": data.get("model_id"), **frame})
            evidence.append({
                "id": frame["id"], "kind": "vlm", "media_id": media_id, "frame": frame["frame"],
                "timestamp_s": frame["timestamp_s"], "keyframe": frame.get("keyframe"),
                "object_key": frame.get("object_key"), "status": frame["status"],
                "model_id": data.get("model_id"),
            })
            reasons += frame.get("review_reasons", [])
            for indicator in frame.get("restraints", []):
                restraints.append({
                    "media_id": media_id, "frame": frame["frame"],
                    "timestamp_s": frame["timestamp_s"], **indicator,
                    "evidence": cites, "requires_human_review": True,
                    "reason": (f"{describe_indicator(indicator)} reported on person "
                               f"{indicator['person']} in "
                               f"{frame_label(frame['frame'], frame['timestamp_s'])} by the "
                               "vision-language model: an indicator for a human reviewer, "
                               "not a verdict"),
                })
    count = {status: sum(1 for f in frames if f["status"] == status)
             for status in ("parsed", "repaired", "unparsed")}
    return {
        "frames": frames,
        "restraints": restraints,
        "evidence": evidence,
        "requires_human_review": bool(reasons),
        "review_reasons": reasons,
        "summary": {
            "frames_analysed": len(frames), **count,
            "restraint_observations": len(restraints),
            "frames_for_review": sum(1 for f in frames if f.get("requires_human_review")),
        },
    }
