"""Audio/video containers opened with PyAV: what their headers declare and whether the data keeps
that promise.

A container that declares 10 s but whose packets stop at 4.8 s was cut short (an interrupted copy
or upload). :func:`check_reaches_end` finds that cheaply, by seeking close to the declared end and
reading a few packets; :mod:`aima.media.keyframes` finds it again while decoding everything.
"""

from dataclasses import dataclass
from pathlib import Path

import av
from av.container import InputContainer
from av.stream import Disposition, Stream
from av.video.stream import VideoStream
from PIL import Image

from aima.media.errors import BadMedia

#: Formats whose declared duration is an estimate (bitrate x size), not a promise of the muxer.
ESTIMATED_DURATION_FORMATS = {"mp3", "aac"}


def open_container(path: Path) -> InputContainer:
    """Open ``path`` for demuxing; tags that are not UTF-8 are kept with bad bytes dropped.

    Raises ``av.FFmpegError`` when FFmpeg cannot read the container; callers turn that into a
    :class:`BadMedia` that fits what they know about the file.
    """
    return av.open(str(path), mode="r", metadata_errors="ignore")


def is_attached_picture(stream: Stream) -> bool:
    """True for cover art (an MP3's or M4A's embedded picture), which is no video."""
    return bool(stream.disposition & Disposition.attached_pic)


def main_video_stream(container: InputContainer) -> VideoStream | None:
    """The first video stream that is not cover art, or ``None``."""
    for stream in container.streams.video:
        if not is_attached_picture(stream):
            return stream
    return None


def start_s(container: InputContainer) -> float:
    """The container's first timestamp in seconds (the origin of every AIMA media timestamp)."""
    if container.start_time is None:
        return 0.0
    return container.start_time / av.time_base


def declared_duration_s(container: InputContainer) -> float | None:
    """The longest duration the headers declare: container, stream, or frame count / frame rate.

    AVI keeps its frame count in the header even when its index was lost with the file's tail,
    while FFmpeg then estimates the container duration from what remains; taking the longest
    figure keeps the header's promise.
    """
    candidates: list[float] = []
    if container.duration is not None and container.duration > 0:
        candidates.append(container.duration / av.time_base)
    for stream in container.streams:
        if stream.duration and stream.time_base:
            candidates.append(float(stream.duration * stream.time_base))
        if isinstance(stream, VideoStream) and stream.frames and stream.average_rate:
            candidates.append(stream.frames / float(stream.average_rate))
    return max(candidates) if candidates else None


def tolerance_s(declared_s: float) -> float:
    """How far short of the declared end the data may stop before the file counts as truncated."""
    return max(1.0, 0.02 * declared_s)


def packet_end_s(packet: av.Packet, origin_s: float) -> float | None:
    """The time, from ``origin_s``, at which a packet's content ends; ``None`` without a pts."""
    if packet.pts is None or packet.time_base is None:
        return None
    return float((packet.pts + (packet.duration or 0)) * packet.time_base) - origin_s


def truncation_reason(kind: str, data_end_s: float, declared_s: float) -> str:
    """The sentence for a file whose data stops at ``data_end_s`` of ``declared_s`` seconds."""
    return f"{kind} is truncated: its data ends at {data_end_s:.1f} s of a declared {declared_s:.1f} s"


def check_reaches_end(container: InputContainer, kind: str) -> None:
    """Raise ``BadMedia('truncated')`` when the packets stop well before the declared duration.

    Seeks to shortly before the declared end and demuxes until a packet reaches it: a few hundred
    packets at most, whatever the file's length. Skipped for formats whose duration is only an
    estimate. Leaves the container positioned somewhere near its end.
    """
    declared = declared_duration_s(container)
    if declared is None or container.format.name in ESTIMATED_DURATION_FORMATS:
        return
    origin = start_s(container)
    needed = declared - tolerance_s(declared)
    near_end = _data_end_s(container, origin, origin + max(0.0, needed - 1.0), needed)
    if near_end >= needed:
        return
    # Cut short. Read from the start to say where the data ends (an index may point past it).
    data_end = max(near_end, _data_end_s(container, origin, None, needed))
    raise BadMedia("truncated", truncation_reason(kind, data_end, declared))


def _data_end_s(container: InputContainer, origin: float, seek_s: float | None,
                needed: float) -> float:
    """Demux from ``seek_s`` (from the start when ``None``) until a packet ends at ``needed`` or
    the data runs out; return the latest packet end seen."""
    data_end = 0.0
    try:
        if seek_s is None:
            container.seek(0, backward=True)
        else:
            container.seek(int(seek_s * av.time_base), backward=True)
        for packet in container.demux():
            end = packet_end_s(packet, origin)
            if end is not None:
                data_end = max(data_end, end)
                if data_end >= needed:
                    break
    except av.FFmpegError:
        pass  # reading broke off: the data ends here
    return data_end


def rotate_for_display(image: Image.Image, rotation_deg: int) -> Image.Image:
    """Turn decoded pixels upright, given the display matrix's counter-clockwise rotation."""
    turn = rotation_deg % 360
    if turn == 0:
        return image
    if turn == 90:
        return image.transpose(Image.Transpose.ROTATE_90)
    if turn == 180:
        return image.transpose(Image.Transpose.ROTATE_180)
    if turn == 270:
        return image.transpose(Image.Transpose.ROTATE_270)
    return image.rotate(turn, expand=True)


@dataclass
class DecodeTrial:
    """What decoding the first packets of a stream gave."""

    packets: int = 0  # non-empty packets read
    failures: int = 0  # packets the decoder refused
    frames: int = 0
    first_error: str = ""  # the first decoder error, one line
    demux_error: str = ""  # reading the container broke off


def try_decode(container: InputContainer, stream: Stream, max_packets: int, *,
               stop_at_first_frame: bool = False) -> DecodeTrial:
    """Decode up to ``max_packets`` non-empty packets of ``stream`` and count what happened."""
    trial = DecodeTrial()
    try:
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            trial.packets += 1
            try:
                trial.frames += len(packet.decode())
            except av.FFmpegError as exc:
                trial.failures += 1
                trial.first_error = trial.first_error or first_line(exc)
            if (stop_at_first_frame and trial.frames) or trial.packets >= max_packets:
                break
    except av.FFmpegError as exc:
        trial.demux_error = first_line(exc)
    return trial


def first_line(exc: BaseException) -> str:
    """A short cause for a reason sentence: FFmpeg's message without errno and file name."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text.splitlines()[0]
