"""The frames a vision stage looks at: an image itself, or a video's keyframes.

Every vision stage (describe, faces, ocr, ...) analyses the same frames, named the same way:
``frame`` is :data:`aima.evidence.IMAGE_FRAME` for an image and the keyframe number for a video,
which is what the evidence ids of those stages carry (``face:<media>:<frame>:<n>``).

``plan`` calls :func:`frame_plan` for the inputs (object keys, fetched by the runner) and the
frame list (JSON, handed to ``compute``); ``compute`` calls :func:`load_frames` to get upright RGB
pictures. An image is loaded from its original (full resolution, EXIF orientation applied); a
video's keyframes from the JPEGs that preprocess wrote (longest side 1280).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from PIL import Image

from aima.evidence import IMAGE_FRAME
from aima.media.thumbnails import load_image
from aima.stages.base import ComputeRequest, StageContext
from aima.storage.models import MediaItem


@dataclass(frozen=True)
class Frame:
    frame: int | str  # keyframe number, or IMAGE_FRAME
    timestamp_s: float | None  # None for an image
    image: Image.Image


def frame_plan(ctx: StageContext, item: MediaItem) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """``(inputs, frames)`` for a stage's Plan: ``inputs`` maps input names to object keys and
    ``frames`` (put it in ``Plan.data["frames"]``) lists ``{"frame", "timestamp_s", "input"}``.
    Empty for a video without keyframes."""
    if item.media_type == "image":
        return {"image": item.object_key}, [
            {"frame": IMAGE_FRAME, "timestamp_s": None, "input": "image"}]
    document = ctx.document("preprocess", item) or {}
    inputs, frames = {}, []
    for keyframe in document.get("keyframes", []):
        name = f"keyframe-{keyframe['index']:05d}"
        inputs[name] = keyframe["key"]
        frames.append({"frame": keyframe["index"], "timestamp_s": keyframe["timestamp_s"],
                       "input": name})
    return inputs, frames


def load_frames(request: ComputeRequest, max_pixels: int | None = None) -> Iterator[Frame]:
    """The frames of ``request.data["frames"]`` as upright RGB images, one at a time."""
    for entry in request.data["frames"]:
        path: Path = request.inputs[entry["input"]]
        image = (load_image(path, max_pixels=max_pixels) if max_pixels
                 else load_image(path))
        yield Frame(entry["frame"], entry["timestamp_s"], image)


def in_batches(frames: Iterable[Frame], size: int) -> Iterator[list[Frame]]:
    """``frames`` in lists of ``size`` (at least 1), for models that take a batch at a time."""
    iterator = iter(frames)
    while batch := list(islice(iterator, max(1, size))):
        yield batch
