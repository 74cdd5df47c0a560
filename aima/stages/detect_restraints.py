"""Detect restraints: boxes around handcuffs, cable ties, rope, tape, chains, gags and blindfolds.

An open-vocabulary detector (OWLv2 through transformers, :mod:`aima.models.detector`) looks at
each image and keyframe (:mod:`aima.stages.frames`). Output: one ``detect-restraints`` document
per media item with

- ``frames``: each frame analysed, with its size and number of detections;
- ``detections``: evidence id ``det:<media id>:<frame>:<n>``, frame, timestamp, keyframe id,
  label, box ``[x, y, width, height]`` in the frame's pixels, score, and ``face``: the face
  (``face:...`` from the faces document, when one exists) whose box overlaps the detection most,
  with ``face_overlap`` (the share of the detection's box it covers);
- ``requires_human_review`` with ``review_reasons``: every detection is evidence for a reviewer,
  never a verdict.

With no detector configured (embedded profile, ``AIMA_RESTRAINT_DETECTOR_MODEL`` unset) the stage
is skipped with the reason ``no restraint detector configured``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aima import evidence
from aima.models.detector import NO_DETECTOR_REASON
from aima.stages.base import (
    ComputeRequest, Computed, MediaStage, Plan, Skip, StageContext, Summary,
)
from aima.stages.frames import frame_plan, in_batches, load_frames
from aima.storage.models import MediaItem
from aima.vision.findings import frame_label

class DetectRestraints(MediaStage):
    name = "detect-restraints"
    media_types = frozenset({"image", "video"})
    needs = ("preprocess",)
    device = "gpu"
    model = "detector"
    description = ("restraint objects in each image and keyframe: handcuffs, cable ties, rope, "
                   "tape, chains, gags, blindfolds, with boxes (open-vocabulary detector)")

    def plan(self, ctx: StageContext, item: MediaItem, model: Any) -> Plan | Skip:
        if not getattr(model, "configured", True):
            return Skip(NO_DETECTOR_REASON)
        inputs, frames = frame_plan(ctx, item)
        if not frames:
            return Skip("no keyframes")
        faces = [{"id": face["id"], "frame": face["frame"], "box": face["box"]}
                 for face in (ctx.document("faces", item) or {}).get("faces", [])]
        digest = (hashlib.sha256(json.dumps(faces, sort_keys=True).encode()).hexdigest()[:16]
                  if faces else None)
        return Plan(model_id=model.model_id, params={**model.parameters, "faces": digest},
                    inputs=inputs,
                    data={"frames": frames, "faces": faces,
                          "max_pixels": ctx.settings.max_image_pixels})

    def compute(self, request: ComputeRequest, model: Any) -> Computed:
        media_id = request.media_id
        faces: dict[str, list[dict[str, Any]]] = {}
        for face in request.data.get("faces", []):
            faces.setdefault(str(face["frame"]), []).append(face)
        frames, detections = [], []
        pictures = load_frames(request, max_pixels=request.data.get("max_pixels"))
        for chunk in in_batches(pictures, model.batch_size):
            for frame, found in zip(chunk, model.detect([f.image for f in chunk])):
                frames.append({"frame": frame.frame, "timestamp_s": frame.timestamp_s,
                               "width": frame.image.width, "height": frame.image.height,
                               "detections": len(found)})
                is_keyframe = frame.timestamp_s is not None
                for n, detection in enumerate(found):
                    face, overlap = _overlapping_face(detection.box,
                                                      faces.get(str(frame.frame), []))
                    detections.append({
                        "id": evidence.detection_id(media_id, frame.frame, n), "frame": frame.frame,
                        "n": n, "timestamp_s": frame.timestamp_s,
                        "keyframe": (evidence.keyframe_id(media_id, frame.frame)
                                     if is_keyframe else None),
                        "label": detection.label, "box": list(detection.box),
                        "score": detection.score, "face": face, "face_overlap": overlap,
                    })
        return Computed(result={"model_id": model.model_id, "threshold": model.threshold,
                                "frames": frames, "detections": detections})

    def record(self, ctx: StageContext, item: MediaItem, plan: Plan, computed: Computed) -> Summary:
        case_id, media_id = str(item.case_id), str(item.id)
        keys = {str(entry["frame"]): plan.inputs[entry["input"]] for entry in plan.data["frames"]}
        detections = [{**d, "object_key": keys.get(str(d["frame"]))}
                      for d in computed.result["detections"]]
        reasons = [review_reason(d) for d in detections]
        document = {**computed.result, "detections": detections,
                    "requires_human_review": bool(reasons), "review_reasons": reasons}
        ctx.stores.documents.put(case_id, self.name, media_id, document, media_id=media_id)
        return _summary(document)

    def stored_summary(self, ctx: StageContext, item: MediaItem) -> Summary:
        return _summary(ctx.document(self.name, item) or {})


def review_reason(detection: dict[str, Any]) -> str:
    where = frame_label(detection["frame"], detection["timestamp_s"])
    near = f", overlapping face {detection['face']}" if detection.get("face") else ""
    return (f"the restraint detector reports {detection['label']} (score "
            f"{detection['score']:.2f}) in {where}{near}: evidence for a human reviewer to check, "
            "not a finding")


def _overlapping_face(box: tuple[float, float, float, float] | list[float],
                      faces: list[dict[str, Any]]) -> tuple[str | None, float | None]:
    """The face whose box covers the largest share of ``box``, and that share (0-1)."""
    x, y, width, height = box
    best, best_share = None, 0.0
    for face in faces:
        fx, fy, fw, fh = face["box"]
        overlap_w = min(x + width, fx + fw) - max(x, fx)
        overlap_h = min(y + height, fy + fh) - max(y, fy)
        if overlap_w > 0 and overlap_h > 0 and width * height > 0:
            share = overlap_w * overlap_h / (width * height)
            if share > best_share:
                best, best_share = face["id"], share
    return best, (round(best_share, 3) if best else None)


def _summary(document: dict[str, Any]) -> Summary:
    frames, detections = document.get("frames", []), document.get("detections", [])
    labels = sorted({d["label"] for d in detections})
    detail = f"{len(detections)} restraint detections in {len(frames)} frames"
    if labels:
        detail += f" ({', '.join(labels)}); for human review"
    return Summary(detail=detail, data={"frames": len(frames), "detections": len(detections),
                                        "labels": labels, "review": len(detections)})


STAGE = DetectRestraints()
