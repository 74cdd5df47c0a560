"""Describe: what a vision-language model sees in each image and keyframe.

One analysis per frame (the image itself, or each keyframe preprocess extracted) answers the fixed
question set of :mod:`aima.vision.schema`: scene, persons, restraints, interactions and visible
distress, visible text. The case's context (``aima analyze --context``, kept on the case) is added
to the prompt. Output: one ``describe`` document per media item, a frame entry each with

- ``id``: the evidence id ``vlm:<media id>:<frame>``; ``keyframe``: ``kf:<media id>:<n>`` (videos)
- ``status``: ``parsed``, ``repaired`` (after the one repair prompt) or ``unparsed`` (then
  ``analysis`` is null and ``raw`` keeps the model's answer verbatim, with ``error`` saying why;
  an unparsed frame never fails the item)
- ``restraints``: restraint indicators per person, and ``requires_human_review`` with
  ``review_reasons`` (:mod:`aima.vision.findings`): evidence for a reviewer, never a verdict.

With no vision-language model configured (embedded profile, neither ``AIMA_VLM_ENDPOINT`` nor
``AIMA_VLM_MODEL`` set) the stage is skipped with the reason
``no vision-language model configured``, which the ledger keeps and the report shows.
"""

from __future__ import annotations

import hashlib
from typing import Any

from aima import evidence
from aima.models.vlm import NO_VLM_REASON, Description
from aima.stages.base import (
    ComputeRequest, Computed, MediaStage, Plan, Skip, StageContext, Summary,
)
from aima.stages.frames import Frame, frame_plan, in_batches, load_frames
from aima.storage.models import MediaItem
from aima.vision.findings import restraint_indicators, review_reasons

STATUSES = ("parsed", "repaired", "unparsed")


class Describe(MediaStage):
    name = "describe"
    media_types = frozenset({"image", "video"})
    needs = ("preprocess",)
    device = "gpu"
    model = "vlm"
    description = ("what is seen in each image and keyframe: scene, persons, restraints, "
                   "distress, text (vision-language model)")

    def plan(self, ctx: StageContext, item: MediaItem, model: Any) -> Plan | Skip:
        if not getattr(model, "configured", True):
            return Skip(NO_VLM_REASON)
        inputs, frames = frame_plan(ctx, item)
        if not frames:
            return Skip("no keyframes")
        context = ctx.case_context(item)
        digest = hashlib.sha256(context.encode()).hexdigest()[:16] if context else None
        return Plan(model_id=model.model_id, params={**model.parameters, "context": digest},
                    inputs=inputs,
                    data={"frames": frames, "context": context,
                          "max_pixels": ctx.settings.max_image_pixels})

    def compute(self, request: ComputeRequest, model: Any) -> Computed:
        context = request.data.get("context")
        frames = []
        pictures = load_frames(request, max_pixels=request.data.get("max_pixels"))
        for chunk in in_batches(pictures, model.batch_size):
            descriptions = model.describe([frame.image for frame in chunk], context=context)
            frames += [_frame_entry(request.media_id, frame, description)
                       for frame, description in zip(chunk, descriptions)]
        unparsed = sum(1 for frame in frames if frame["status"] == "unparsed")
        warnings = [f"{unparsed} of {len(frames)} frames: the model's answer did not parse "
                    "(kept raw, marked unparsed)"] if unparsed else []
        return Computed(result={"model_id": model.model_id, "context": context is not None,
                                "frames": frames}, warnings=warnings)

    def record(self, ctx: StageContext, item: MediaItem, plan: Plan, computed: Computed) -> Summary:
        case_id, media_id = str(item.case_id), str(item.id)
        keys = {entry["frame"]: plan.inputs[entry["input"]] for entry in plan.data["frames"]}
        frames = []
        for frame in computed.result["frames"]:
            reasons = review_reasons(frame["analysis"], frame["frame"], frame["timestamp_s"])
            frames.append({**frame, "object_key": keys.get(frame["frame"]),
                           "restraints": restraint_indicators(frame["analysis"]),
                           "requires_human_review": bool(reasons), "review_reasons": reasons})
        document = {**computed.result, "frames": frames,
                    "requires_human_review": any(f["requires_human_review"] for f in frames)}
        ctx.stores.documents.put(case_id, self.name, media_id, document, media_id=media_id)
        return _summary(document)

    def stored_summary(self, ctx: StageContext, item: MediaItem) -> Summary:
        return _summary(ctx.document(self.name, item) or {})


def _frame_entry(media_id: str, frame: Frame, description: Description) -> dict[str, Any]:
    is_keyframe = frame.timestamp_s is not None
    return {
        "id": evidence.vlm_id(media_id, frame.frame),
        "frame": frame.frame,
        "timestamp_s": frame.timestamp_s,
        "keyframe": evidence.keyframe_id(media_id, frame.frame) if is_keyframe else None,
        "status": description.status,
        "attempts": description.attempts,
        "error": description.error,
        "analysis": description.analysis.model_dump(mode="json") if description.analysis else None,
        "raw": None if description.status == "parsed" else description.raw,
    }


def _summary(document: dict[str, Any]) -> Summary:
    frames = document.get("frames", [])
    counts = {status: sum(1 for f in frames if f["status"] == status) for status in STATUSES}
    review = sum(1 for f in frames if f.get("requires_human_review"))
    detail = f"{len(frames)} frames described"
    if counts["unparsed"]:
        detail += f", {counts['unparsed']} unparsed"
    if review:
        detail += f"; {review} for human review"
    return Summary(detail=detail, data={"frames": len(frames), **counts, "review": review})


STAGE = Describe()
