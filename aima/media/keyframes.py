"""Scene-aware keyframes: the few frames of a video that show everything it shows.

Every frame is decoded once. Each gets a cheap signature: its Y, U and V planes sampled on a
coarse grid straight from the decoder's buffers (no colour conversion, no scaling), averaged into
32x18 luma and 16x9 chroma cells. A frame becomes a keyframe when

* it is the first (``first``);
* it differs sharply from the frame before, by more than ``cut_threshold`` and more than
  ``cut_ratio`` times the recent average change, so steady motion is no cut (the change is the
  luma difference alone where that exceeds the luma-and-chroma distance: a cut between two grey,
  or equally coloured, pictures shows in luma only and must not be halved by the chroma that
  stays, the case PySceneDetect's ``luma_only`` mode serves); or, at least
  ``drift_gap_s`` after the last keyframe, it has drifted more than ``drift_threshold`` from it
  (a dissolve, a pan) (``scene``);
* ``max_gap_s`` has passed since the last keyframe (``gap``: kept even when it repeats the last).

Scene keyframes collapse: cuts less than ``min_scene_gap_s`` apart give one keyframe (the picture
after the last of them), none at all when the picture returns to the last keyframe's (a flash).
A scene keyframe never repeats the last keyframe (distance under ``duplicate_threshold``) and is
never a blank frame (a fade to black); the drift rule catches up with content skipped that way.

A video whose data stops before the duration its header declares, or whose decoder fails midway,
raises ``BadMedia('truncated')`` once decoding ends (so :func:`iter_keyframes` may have yielded
keyframes before it raises). Frames larger than ``max_pixels`` (``AIMA_MAX_IMAGE_PIXELS``), as the
stream declares them or as they come out of the decoder, raise ``BadMedia('too_many_pixels')``.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal

import av
import numpy as np
from PIL import Image

from aima.media.container import (
    declared_duration_s,
    main_video_stream,
    open_container,
    packet_end_s,
    rotate_for_display,
    start_s,
    tolerance_s,
    truncation_reason,
)
from aima.media.errors import BadMedia
from aima.media.limits import DEFAULT_MAX_IMAGE_PIXELS, check_pixels

KeyframeReason = Literal["first", "scene", "gap"]

GRID_W, GRID_H = 32, 18  # luma cells; chroma uses half of each
SAMPLES = 2  # samples per cell side, averaged (tames grain and compression noise)
PLANAR_YUV = {
    "yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv440p", "yuvj440p",
    "yuv411p", "yuv410p",
}


@dataclass(frozen=True)
class Keyframe:
    """One kept frame: when, which, why, how new, and the upright picture."""

    timestamp_s: float  # from the start of the container
    frame_index: int  # 0-based, in presentation order
    reason: KeyframeReason
    score: float  # distance to the previous keyframe: 0 = the same picture, 1.0 for the first
    image: Image.Image = field(repr=False)  # RGB, rotation applied, longest side <= max_side


@dataclass(frozen=True)
class KeyframeSettings:
    """Tuning of the scene rules (distances are mean absolute YUV differences in 0..1)."""

    cut_threshold: float = 0.06
    cut_ratio: float = 3.0
    drift_threshold: float = 0.12
    drift_gap_s: float = 2.0  # a drift keyframe comes at least this long after the last keyframe
    min_scene_gap_s: float = 0.5
    duplicate_threshold: float = 0.02
    blank_luma_std: float = 3.0  # a luma grid this flat (0..255) is a blank frame
    recent_frames: int = 25  # how many past changes the "recent average" spans


def extract_keyframes(path: Path, *, max_gap_s: float = 10.0, max_side: int = 1280,
                      settings: KeyframeSettings | None = None,
                      max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> list[Keyframe]:
    """All keyframes of a video, in time order; see the module text for the rules.

    Holds every keyframe's image in memory (at most ``max_side`` on the longest side); for long
    videos consume :func:`iter_keyframes` instead. Raises :class:`BadMedia` (``truncated``,
    ``corrupt_media``, ``no_video_stream``, ``too_many_pixels``).
    """
    return list(iter_keyframes(path, max_gap_s=max_gap_s, max_side=max_side, settings=settings,
                               max_pixels=max_pixels))


def iter_keyframes(path: Path, *, max_gap_s: float = 10.0, max_side: int = 1280,
                   settings: KeyframeSettings | None = None,
                   max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> Iterator[Keyframe]:
    """Yield keyframes while decoding, so only one or two keyframe images live at a time.

    ``max_pixels``: pass ``settings.max_image_pixels``."""
    rules = settings or KeyframeSettings()
    try:
        container = open_container(Path(path))
    except av.FFmpegError as exc:
        reason = f"video container cannot be opened: {exc.strerror or exc}"
        raise BadMedia("corrupt_media", reason) from exc
    with container:
        stream = main_video_stream(container)
        if stream is None:
            raise BadMedia("no_video_stream", "video file has no video stream")
        context = stream.codec_context
        check_pixels(context.width, context.height, max_pixels, "video stream declares frames of")
        stream.thread_type = "AUTO"
        checked_size = (0, 0)
        selector = _Selector(rules, max_gap_s)
        origin = start_s(container)
        declared = declared_duration_s(container)
        frame_step = 1.0 / float(stream.average_rate) if stream.average_rate else 0.04
        data_end, last_time, index = 0.0, -frame_step, 0
        try:
            for packet in container.demux():
                end = packet_end_s(packet, origin)
                if end is not None and end > data_end:
                    data_end = end
                if packet.stream is not stream:
                    continue
                for frame in packet.decode():
                    if (frame.width, frame.height) != checked_size:  # a stream may change size
                        check_pixels(frame.width, frame.height, max_pixels, "video frames are")
                        checked_size = (frame.width, frame.height)
                    time = frame.time - origin if frame.time is not None else last_time + frame_step
                    picture = partial(_picture, frame, stream, max_side)
                    yield from selector.consider(_signature(frame), time, index, picture)
                    last_time, index = time, index + 1
        except av.FFmpegError as exc:
            of = f" of {declared:.1f} s" if declared else ""
            raise BadMedia(
                "truncated",
                f"video is damaged or truncated: decoding failed at {max(last_time, 0):.1f} s{of}"
                f" ({exc.strerror or exc})",
            ) from exc
        yield from selector.finish()
    if index == 0:
        raise BadMedia("truncated", "video is damaged or truncated: no frame could be decoded")
    if declared is not None and data_end < declared - tolerance_s(declared):
        raise BadMedia("truncated", truncation_reason("video", data_end, declared))


class _Selector:
    """The keyframe rules, applied to one frame after another.

    A scene keyframe is held back for ``min_scene_gap_s``: a further cut in that window replaces
    it (the picture that stays is the one worth keeping), or drops it when the video returns to
    the previous keyframe's picture.
    """

    def __init__(self, rules: KeyframeSettings, max_gap_s: float):
        self.rules = rules
        self.max_gap_s = max_gap_s
        self.previous: np.ndarray | None = None  # signature of the previous frame
        self.emitted: np.ndarray | None = None  # signature of the last keyframe handed out
        self.emitted_time = 0.0
        self.kept: np.ndarray | None = None  # signature of the last keyframe, pending included
        self.kept_time = 0.0
        self.pending: Keyframe | None = None
        self.pending_signature: np.ndarray | None = None
        self.scene_time = float("-inf")  # when the last burst of scene keyframes began
        self.recent: list[float] = []  # frame-to-frame changes of the last frames

    def consider(self, signature: np.ndarray, time: float, index: int,
                 picture: Callable[[], Image.Image]) -> list[Keyframe]:
        """Take the frame at ``time``; return the keyframes that are now final."""
        rules = self.rules
        ready = []
        if self.pending is not None and time - self.scene_time >= rules.min_scene_gap_s:
            ready += self.finish()
        if self.previous is None or self.kept is None or self.emitted is None:
            self.previous = signature
            self._keep(signature, time)
            self._emit(signature, time)
            return [Keyframe(time, index, "first", 1.0, picture())]
        change = _change(signature, self.previous)
        recent = sum(self.recent) / len(self.recent) if self.recent else 0.0
        self.previous = signature
        self.recent = (self.recent + [change])[-rules.recent_frames:]
        novelty = _distance(signature, self.kept)
        is_cut = change >= rules.cut_threshold and change >= rules.cut_ratio * recent
        is_drift = novelty >= rules.drift_threshold and time - self.kept_time >= rules.drift_gap_s
        blank = _is_blank(signature, rules.blank_luma_std)
        if is_cut and self.pending is not None:  # a second cut within min_scene_gap_s
            if _distance(signature, self.emitted) < rules.duplicate_threshold:
                self.pending = self.pending_signature = None  # back to the last keyframe's picture
                self.kept, self.kept_time = self.emitted, self.emitted_time
            elif not blank:
                self._hold(Keyframe(time, index, "scene", novelty, picture()), signature)
            return ready
        if (
            (is_cut or is_drift)
            and time - self.scene_time >= rules.min_scene_gap_s
            and novelty >= rules.duplicate_threshold
            and not blank
        ):
            self.scene_time = time
            self._hold(Keyframe(time, index, "scene", novelty, picture()), signature)
        elif time - self.kept_time >= self.max_gap_s - 1e-6:
            ready += self.finish()
            self._keep(signature, time)
            self._emit(signature, time)
            ready.append(Keyframe(time, index, "gap", novelty, picture()))
        return ready

    def finish(self) -> list[Keyframe]:
        """Hand out the held scene keyframe, if any."""
        if self.pending is None or self.pending_signature is None:
            return []
        keyframe, self.pending = self.pending, None
        self._emit(self.pending_signature, keyframe.timestamp_s)
        return [keyframe]

    def _hold(self, keyframe: Keyframe, signature: np.ndarray) -> None:
        self.pending, self.pending_signature = keyframe, signature
        self._keep(signature, keyframe.timestamp_s)

    def _keep(self, signature: np.ndarray, time: float) -> None:
        self.kept, self.kept_time = signature, time

    def _emit(self, signature: np.ndarray, time: float) -> None:
        self.emitted, self.emitted_time = signature, time


def _signature(frame: av.VideoFrame) -> np.ndarray:
    """Y (18x32) then U and V (9x16) cell means as one float32 vector, read from the planes."""
    if frame.format.name not in PLANAR_YUV:
        frame = frame.reformat(width=GRID_W * SAMPLES, height=GRID_H * SAMPLES, format="yuv420p")
    luma = _grid(frame.planes[0], GRID_W, GRID_H)
    blue = _grid(frame.planes[1], GRID_W // 2, GRID_H // 2)
    red = _grid(frame.planes[2], GRID_W // 2, GRID_H // 2)
    return np.concatenate([luma.ravel(), blue.ravel(), red.ravel()])


def _grid(plane: av.video.plane.VideoPlane, cells_w: int, cells_h: int) -> np.ndarray:
    """Mean of SAMPLES x SAMPLES evenly spaced points per cell of an 8-bit plane; the points are
    a strided view of the decoder's buffer, so only they are read."""
    pixels = np.frombuffer(plane, np.uint8, count=plane.line_size * plane.height)
    pixels = pixels.reshape(plane.height, plane.line_size)
    rows, cols = cells_h * SAMPLES, cells_w * SAMPLES
    step_y, step_x = max(1, plane.height // rows), max(1, plane.width // cols)
    points = pixels[step_y // 2 :: step_y, step_x // 2 : plane.width : step_x][:rows, :cols]
    if points.shape != (rows, cols):  # a frame smaller than the grid
        points = np.resize(points, (rows, cols))
    return points.reshape(cells_h, SAMPLES, cells_w, SAMPLES).mean(axis=(1, 3), dtype=np.float32)


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two signatures, luma weighted as much as both chroma planes
    together, scaled to 0..1."""
    luma, chroma = _differences(a, b)
    return (luma + chroma) / 2.0


def _change(a: np.ndarray, b: np.ndarray) -> float:
    """How far a frame is from the one before, for the cut rule: :func:`_distance`, or the luma
    difference alone where that is larger (a change in brightness and texture only, as in a cut
    between two grey pictures, is not halved by the chroma that stays)."""
    luma, chroma = _differences(a, b)
    return max(luma, (luma + chroma) / 2.0)


def _differences(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean absolute difference of the luma cells and of the chroma cells, each in 0..1."""
    luma = GRID_W * GRID_H
    diff = np.abs(a - b)
    return float(diff[:luma].mean()) / 255.0, float(diff[luma:].mean()) / 255.0


def _is_blank(signature: np.ndarray, max_std: float) -> bool:
    """True for a nearly uniform frame (black, white, one flat colour)."""
    return float(signature[: GRID_W * GRID_H].std()) < max_std


def _picture(frame: av.VideoFrame, stream: av.video.stream.VideoStream, max_side: int) -> Image.Image:
    """The frame as an upright RGB image whose longest side is at most ``max_side``."""
    width, height = frame.width, frame.height
    aspect = stream.sample_aspect_ratio
    if aspect and aspect != 1:
        width = round(width * float(aspect))  # anamorphic video: square the pixels
    scale = min(1.0, max_side / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = frame.to_image(width=size[0], height=size[1], interpolation="AREA")
    return rotate_for_display(image, int(round(frame.rotation or 0)))
