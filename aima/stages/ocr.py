"""OCR: the text in an image or a video's keyframes, as lines of words with boxes and confidences.

Output: one ``ocr`` document per media item listing its frames (``frame``: the keyframe number,
or ``image``; ``timestamp_s``; ``keyframe``: its ``kf:`` evidence id in a video; ``width`` and
``height`` of the frame read) and each frame's text lines in reading order. A line has its
evidence id ``ocr:<media id>:<frame>:<n>``, its text, its confidence (0-1, the mean of its
words'), its box ``[x, y, width, height]`` in the frame's pixels and its words, each with text,
confidence and box. A photo without text gives frames without lines, not an error; tesseract's
noise on such photos is filtered out (:mod:`aima.vision.text_lines` documents the thresholds).

``AIMA_OCR_ENABLED=false`` switches the stage off (skipped, with the reason); the languages are
``AIMA_OCR_LANGUAGES``. The stage needs tesseract only when it runs (:mod:`aima.models.ocr`).
"""

from __future__ import annotations

from typing import Any

from aima import evidence
from aima.stages.base import (
    ComputeRequest, Computed, DocumentStage, Plan, Skip, StageContext, Summary,
)
from aima.stages.frames import frame_plan, load_frames
from aima.storage.models import MediaItem

SWITCHED_OFF = "text recognition switched off (AIMA_OCR_ENABLED=false)"


class Ocr(DocumentStage):
    name = "ocr"
    media_types = frozenset({"image", "video"})
    needs = ("preprocess",)
    device = "cpu"
    model = "ocr"
    description = "text in images and keyframes: lines of words with boxes (tesseract)"

    def plan(self, ctx: StageContext, item: MediaItem, model: Any) -> Plan | Skip:
        if not ctx.settings.ocr_enabled:
            return Skip(SWITCHED_OFF)
        inputs, frames = frame_plan(ctx, item)
        if not frames:
            return Skip("no keyframes")
        return Plan(model_id=model.model_id, params=model.parameters, inputs=inputs,
                    data={"frames": frames, "max_pixels": ctx.settings.max_image_pixels})

    def compute(self, request: ComputeRequest, model: Any) -> Computed:
        media_id = request.media_id
        frames = []
        for frame in load_frames(request, max_pixels=request.data.get("max_pixels")):
            lines = model.read(frame.image)
            frames.append({
                "frame": frame.frame, "timestamp_s": frame.timestamp_s,
                "keyframe": (None if frame.frame == evidence.IMAGE_FRAME
                             else evidence.keyframe_id(media_id, frame.frame)),
                "width": frame.image.width, "height": frame.image.height,
                "lines": [{"id": evidence.ocr_id(media_id, frame.frame, n), **line.as_dict()}
                          for n, line in enumerate(lines)],
            })
        return Computed(result={"media_id": media_id, "model_id": model.model_id,
                                "parameters": model.parameters, "frames": frames})

    def summarise(self, document: dict[str, Any]) -> Summary:
        return _summary(document)


def _summary(document: dict[str, Any]) -> Summary:
    frames = document.get("frames", [])
    lines = sum(len(frame["lines"]) for frame in frames)
    with_text = sum(1 for frame in frames if frame["lines"])
    detail = "no text" if not lines else f"{lines} line{'s' if lines != 1 else ''} of text"
    if lines and len(frames) > 1:
        detail += f" in {with_text} of {len(frames)} frames"
    return Summary(detail=detail, data={"frames": len(frames), "frames_with_text": with_text,
                                        "lines": lines})


STAGE = Ocr()
