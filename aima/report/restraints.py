"""The report's restraints section: detector boxes, and restraint observations with their signals.

:func:`section` returns

- ``media``: per media item the detector analysed, its detections (evidence id ``det:...``,
  frame, timestamp, keyframe id, label, box ``[x, y, width, height]`` in the pixels of the frame
  whose size is given, score, overlapping face);
- ``evidence``: one item of kind ``detection`` per detection;
- ``observations``: one per (media item, frame, restraint type) that any signal supports:
  ``signals`` is ``["detector"]``, ``["vlm"]`` (the ``describe`` analysis of the same frame
  names that type: a restraint type, or ``gag``/``blindfold`` for gagged/blindfolded) or
  ``["detector", "vlm"]``, with ``support`` ``detector``, ``vlm`` or ``both``, ``score`` (the
  highest detector score; none for the VLM alone, which gives no score), ``confidence``
  (``higher`` when both signals agree, ``lower`` for one), the evidence it cites, and
  ``requires_human_review`` with the reason. An indicator for a reviewer, never a verdict.
- ``requires_human_review``, ``review_reasons`` and ``summary`` (frames, detections, observations
  by support).
"""

from __future__ import annotations

from typing import Any

from aima.storage import Stores
from aima.vision.findings import frame_label

STAGE = "detect-restraints"
DESCRIBE = "describe"


def vlm_types(indicator: dict[str, Any]) -> set[str]:
    """The restraint types of one describe indicator, in the detector's labels."""
    types = {r["type"] for r in indicator.get("restraints", []) if r.get("type") != "other"}
    if indicator.get("gagged"):
        types.add("gag")
    if indicator.get("blindfolded"):
        types.add("blindfold")
    return types


def section(stores: Stores, case_id: str) -> dict[str, Any]:
    case_id = str(case_id)
    detected = sorted(stores.documents.query(case_id, stage=STAGE),
                      key=lambda d: d.media_id or "")
    described = {d.media_id: d.data for d in stores.documents.query(case_id, stage=DESCRIBE)}
    media, evidence = [], []
    # (media, frame) -> type -> {"detections": [...], "vlm": [...]}
    found: dict[tuple[str, str], dict[str, dict[str, list]]] = {}
    times: dict[tuple[str, str], tuple[Any, Any, Any]] = {}
    for document in detected:
        media_id, data = document.media_id, document.data
        sizes = {str(f["frame"]): [f["width"], f["height"]] for f in data.get("frames", [])}
        detections = []
        for detection in data.get("detections", []):
            entry = {**detection, "frame_size": sizes.get(str(detection["frame"]))}
            detections.append(entry)
            evidence.append({"kind": "detection", "media_id": media_id,
                             "model_id": data.get("model_id"), **entry})
            key = (media_id, str(detection["frame"]))
            times[key] = (detection["frame"], detection["timestamp_s"], detection.get("keyframe"))
            found.setdefault(key, {}).setdefault(detection["label"], {"det": [], "vlm": []})[
                "det"].append(detection)
        media.append({"media_id": media_id, "model_id": data.get("model_id"),
                      "threshold": data.get("threshold"),
                      "frames_analysed": len(data.get("frames", [])), "detections": detections})
    for media_id, data in sorted(described.items(), key=lambda pair: pair[0] or ""):
        for frame in data.get("frames", []):
            key = (media_id, str(frame["frame"]))
            for indicator in frame.get("restraints", []):
                for kind in vlm_types(indicator):
                    times.setdefault(key, (frame["frame"], frame["timestamp_s"],
                                           frame.get("keyframe")))
                    found.setdefault(key, {}).setdefault(kind, {"det": [], "vlm": []})[
                        "vlm"].append({"id": frame["id"], "person": indicator["person"]})
    observations = [_observation(key, kind, support, times[key])
                    for key in sorted(found) for kind, support in sorted(found[key].items())]
    reasons = [o["reason"] for o in observations]
    by_support = {s: sum(1 for o in observations if o["support"] == s)
                  for s in ("detector", "vlm", "both")}
    return {
        "media": media,
        "evidence": evidence,
        "observations": observations,
        "requires_human_review": bool(observations),
        "review_reasons": reasons,
        "summary": {"frames_analysed": sum(m["frames_analysed"] for m in media),
                    "detections": len(evidence), "observations": len(observations),
                    **{f"observations_{s}": n for s, n in by_support.items()}},
    }


def _observation(key: tuple[str, str], kind: str, support: dict[str, list],
                 when: tuple[Any, Any, Any]) -> dict[str, Any]:
    media_id, _ = key
    frame, timestamp_s, keyframe = when
    signals = (["detector"] if support["det"] else []) + (["vlm"] if support["vlm"] else [])
    both = len(signals) == 2
    score = max((d["score"] for d in support["det"]), default=None)
    cites = ([d["id"] for d in support["det"]] + sorted({v["id"] for v in support["vlm"]})
             + ([keyframe] if keyframe else []))
    faces = sorted({d["face"] for d in support["det"] if d.get("face")})
    words = {"detector": f"the restraint detector (score {score:.2f})" if score is not None
             else "", "vlm": "the vision-language model"}
    said = " and ".join(words[s] for s in signals)
    return {
        "media_id": media_id, "frame": frame, "timestamp_s": timestamp_s, "type": kind,
        "signals": signals, "support": "both" if both else signals[0], "score": score,
        "confidence": "higher" if both else "lower", "faces": faces, "evidence": cites,
        "requires_human_review": True,
        "reason": (f"{kind} reported in {frame_label(frame, timestamp_s)} of media {media_id} by "
                   f"{said}: an indicator for a human reviewer, not a verdict"),
    }
