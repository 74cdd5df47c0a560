"""A video's signature: perceptual hashes of frames sampled at a fixed step, for near-duplicates.

Keyframes alone do not show that a clip was cut from a longer video: the clip's first keyframe is
wherever the cut fell, often in the middle of a scene whose only keyframe in the long video is its
first frame, seconds and (with a moving camera) a picture away. So preprocess also hashes one
frame every :data:`STEP_S` second (the first frame at or after each step), and a clip's frames
then lie within half a step of a sampled frame of the video it was cut from.

The sampling pass decodes the video a second time (the keyframe pass has no hook for it), skipping
the frames that no other frame refers to (``skip_frame="NONREF"``: B-frames in most H.264), which
about halves its cost. Sampled frames are scaled to :data:`SAMPLE_SIDE` pixels before hashing,
displayed upright (rotation and anamorphic pixels applied, as for keyframes), and get no detail
hash (:mod:`aima.triage.phash`): videos are matched by containment, many frames at once, and a
thousand frames' detail hashes would fill the preprocess document. A video longer than
``STEP_S * MAX_FRAMES`` is sampled more sparsely, so its signature stays at :data:`MAX_FRAMES`.
A decoding error ends the sampling with what was found and a warning; it is the keyframe pass's
job to judge the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av

from aima.media.container import main_video_stream, open_container, rotate_for_display, start_s
from aima.media.limits import DEFAULT_MAX_IMAGE_PIXELS, check_pixels
from aima.triage.phash import picture_hash

STEP_S = 1.0
MAX_FRAMES = 10_800  # 3 hours at one frame a second
SAMPLE_SIDE = 256


def sample_hashes(path: Path, *, duration_s: float | None = None, step_s: float = STEP_S,
                  max_frames: int = MAX_FRAMES,
                  max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> tuple[dict[str, Any], list[str]]:
    """The signature ``{"step_s", "frames": [{"t", "phash"}]}`` of a video, and warnings."""
    if duration_s:
        step_s = max(step_s, duration_s / max_frames)
    frames: list[dict[str, Any]] = []
    warnings: list[str] = []
    try:
        with open_container(Path(path)) as container:
            stream = main_video_stream(container)
            if stream is None:
                return {"step_s": step_s, "frames": []}, warnings
            check_pixels(stream.codec_context.width, stream.codec_context.height, max_pixels,
                         "video stream declares frames of")
            stream.thread_type = "AUTO"
            stream.codec_context.skip_frame = "NONREF"
            origin, next_t = start_s(container), 0.0
            for frame in container.decode(stream):
                if frame.time is None:
                    continue
                t = frame.time - origin
                if t + 1e-3 < next_t:
                    continue
                check_pixels(frame.width, frame.height, max_pixels, "video frames are")
                hashed = picture_hash(_picture(frame, stream), detail=False)
                frames.append({"t": round(t, 3), "phash": hashed.as_dict()})
                while next_t <= t + 1e-3:
                    next_t += step_s
                if len(frames) >= max_frames:
                    break
    except Exception as exc:  # noqa: BLE001 - the keyframe pass judges the file, not this one
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        warnings.append(f"video signature stopped at {len(frames)} frames: {text}")
    return {"step_s": step_s, "frames": frames}, warnings


def _picture(frame: av.VideoFrame, stream: av.video.stream.VideoStream):
    width, height = frame.width, frame.height
    aspect = stream.sample_aspect_ratio
    if aspect and aspect != 1:
        width = round(width * float(aspect))
    scale = min(1.0, SAMPLE_SIDE / max(width, height))
    image = frame.to_image(width=max(1, round(width * scale)), height=max(1, round(height * scale)),
                           interpolation="AREA")
    return rotate_for_display(image, int(round(frame.rotation or 0)))
