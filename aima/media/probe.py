"""What a sniffed media file holds: duration, streams, orientation, EXIF, creation time.

Audio and video are read with PyAV, images with Pillow. Probing also makes sure the file can be
used: the image's pixels decode, the first video frame decodes, and the container's data reaches
the duration its header declares (a file cut short raises ``BadMedia('truncated')`` here; see
:func:`aima.media.container.check_reaches_end`). A broken sound track in a good video is no reason
to refuse the video: it is recorded in :attr:`ProbeInfo.warnings` and marked not decodable.

Images and video frames are held to the pixel limit ``max_pixels`` (``AIMA_MAX_IMAGE_PIXELS``) as
in :func:`aima.media.sniff.sniff`, since a file may be probed without being sniffed again. Frames
of an animated image are counted up to :data:`aima.media.images.MAX_FRAMES_COUNTED`, never all.
A WAV whose header gives a data size of 0 or one larger than the file (a recording whose header
was never finished, or a copy cut short) is read to its end, as FFmpeg does, with a warning.
"""

import os
import struct
from datetime import datetime
from pathlib import Path

import av
from av.container import InputContainer
from PIL import Image
from pydantic import BaseModel, Field

from aima.media.container import (
    check_reaches_end,
    declared_duration_s,
    main_video_stream,
    open_container,
    try_decode,
)
from aima.media.errors import BadMedia
from aima.media.images import MAX_FRAMES_COUNTED, bomb_refusal, count_frames, open_image
from aima.media.limits import DEFAULT_MAX_IMAGE_PIXELS, check_pixels
from aima.media.sniff import MediaType, Sniffed

#: audio packets decoded per stream to tell a working sound track from a broken one
AUDIO_PACKETS_TESTED = 32
#: video packets fed to the decoder while waiting for the first frame
VIDEO_PACKETS_TESTED = 300
#: EXIF tag id -> field name in :attr:`ImageInfo.exif` (Exif sub-IFD tags are looked up there)
EXIF_FIELDS = {0x010F: "make", 0x0110: "model", 0x0132: "datetime", 0x9003: "datetime_original"}
EXIF_IFD = 0x8769
ORIENTATION_TAG = 0x0112


class VideoInfo(BaseModel):
    """The main video stream (cover art is not video)."""

    index: int
    codec: str
    width: int = Field(description="stored (decoded) frame width in pixels")
    height: int = Field(description="stored (decoded) frame height in pixels")
    display_width: int = Field(description="width once the rotation is applied")
    display_height: int = Field(description="height once the rotation is applied")
    rotation_deg: int = Field(
        0, description="counter-clockwise display rotation from the display matrix (as ffprobe)"
    )
    fps: float | None = None
    frame_count: int | None = Field(None, description="from the header, when it says")
    duration_s: float | None = None
    pixel_format: str | None = None


class AudioStreamInfo(BaseModel):
    """One audio stream, and whether its first packets decode."""

    index: int
    codec: str
    sample_rate: int
    channels: int
    duration_s: float | None = None
    language: str | None = None
    decodable: bool = True


class ImageInfo(BaseModel):
    """A still image; width and height are as displayed, after the EXIF orientation."""

    width: int
    height: int
    stored_width: int
    stored_height: int
    orientation: int | None = Field(None, description="EXIF orientation tag (1-8) when present")
    mode: str
    frame_count: int = Field(
        1, description=f"frames in the file (animated images), counted up to {MAX_FRAMES_COUNTED}"
    )
    frame_count_capped: bool = Field(
        False, description=f"True when the image has more than {MAX_FRAMES_COUNTED} frames"
    )
    exif: dict[str, str] = Field(default_factory=dict)


class ProbeInfo(BaseModel):
    """Everything preprocessing needs to know about one media file (JSON-serialisable)."""

    media_type: MediaType
    format: str
    mime: str
    container: str | None = Field(None, description="FFmpeg's demuxer name (audio/video)")
    duration_s: float | None = None
    bit_rate: int | None = None
    creation_time: datetime | None = None
    video: VideoInfo | None = None
    audio_streams: list[AudioStreamInfo] = Field(default_factory=list)
    image: ImageInfo | None = None
    warnings: list[str] = Field(default_factory=list)


def probe(path: Path, sniffed: Sniffed, *,
          max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> ProbeInfo:
    """Describe a file that :func:`aima.media.sniff.sniff` accepted, or raise :class:`BadMedia`.

    Codes: ``corrupt_image``, ``too_many_pixels`` (an image, or the video's frames, over
    ``max_pixels`` pixels; pass ``settings.max_image_pixels``), ``corrupt_media`` (container no
    longer opens), ``corrupt_video`` (first frame undecodable), ``truncated`` (data ends before
    the declared duration).
    """
    path = Path(path)
    if sniffed.media_type == "image":
        return _probe_image(path, sniffed, max_pixels)
    return _probe_av(path, sniffed, max_pixels)


def _probe_image(path: Path, sniffed: Sniffed, max_pixels: int) -> ProbeInfo:
    """Read an image's size, orientation and EXIF with Pillow, and decode its pixels once."""
    try:
        with open_image(path, max_pixels=max_pixels, family=sniffed.format) as image:
            frame_count, capped = count_frames(image, sniffed.format)
            exif = image.getexif()
            orientation = exif.get(ORIENTATION_TAG)
            width, height = image.size
            info = ImageInfo(
                width=height if orientation in (5, 6, 7, 8) else width,
                height=width if orientation in (5, 6, 7, 8) else height,
                stored_width=width,
                stored_height=height,
                orientation=orientation if isinstance(orientation, int) else None,
                mode=image.mode,
                frame_count=frame_count,
                frame_count_capped=capped,
                exif=_exif_fields(exif),
            )
            image.load()
    except Image.DecompressionBombError as exc:
        raise bomb_refusal(exc, max_pixels) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadMedia("corrupt_image", f"image data cannot be decoded: {exc}") from exc
    warnings = []
    if info.frame_count_capped:
        warnings.append(f"image has more than {info.frame_count} frames; only the first is analysed")
    elif info.frame_count > 1:
        warnings.append(f"image has {info.frame_count} frames; only the first is analysed")
    return ProbeInfo(**sniffed.model_dump(exclude={"duration_s"}), image=info, warnings=warnings)


def _exif_fields(exif: Image.Exif) -> dict[str, str]:
    """The few EXIF fields AIMA reports (camera make/model, capture and change dates)."""
    sub_ifd = exif.get_ifd(EXIF_IFD)
    fields = {}
    for tag, name in EXIF_FIELDS.items():
        value = sub_ifd.get(tag, exif.get(tag))
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if value is not None and str(value).strip("\x00 "):
            fields[name] = str(value).strip("\x00 ")
    return fields


def _probe_av(path: Path, sniffed: Sniffed, max_pixels: int) -> ProbeInfo:
    """Read an audio/video container's streams and check that it is whole."""
    kind = "video" if sniffed.media_type == "video" else "audio"
    try:
        with open_container(path) as container:
            info = ProbeInfo(
                **sniffed.model_dump(exclude={"duration_s"}),
                container=container.format.name,
                duration_s=declared_duration_s(container),
                bit_rate=container.bit_rate or None,
                creation_time=_creation_time(container),
            )
            if kind == "video":
                info.video = _video_info(container, max_pixels)
            check_reaches_end(container, kind)
            if container.format.name == "wav":
                warning = _wav_size_warning(path, info.duration_s)
                info.warnings += [warning] if warning else []
            audio_indices = [stream.index for stream in container.streams.audio]
        for stream_index in audio_indices:
            stream_info, warning = _audio_info(path, stream_index)
            info.audio_streams.append(stream_info)
            if warning:
                info.warnings.append(warning)
    except av.FFmpegError as exc:
        reason = f"{kind} container cannot be read: {exc.strerror or exc}"
        raise BadMedia("corrupt_media", reason) from exc
    return info


def _creation_time(container: InputContainer) -> datetime | None:
    """The container's ``creation_time`` tag, when it holds an ISO 8601 time."""
    value = container.metadata.get("creation_time")
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _video_info(container: InputContainer, max_pixels: int) -> VideoInfo:
    """Describe the main video stream; its first frame must decode (it carries the rotation).
    Frames the stream declares larger than ``max_pixels`` are refused before any is decoded
    (keyframe extraction checks every decoded frame again, should the size change midway)."""
    stream = main_video_stream(container)
    if stream is None:
        raise BadMedia("corrupt_video", "video stream disappeared on a second reading")
    context = stream.codec_context
    check_pixels(context.width, context.height, max_pixels, "video stream declares frames of")
    frame = _first_frame(container, stream)
    rotation = int(round(frame.rotation or 0))
    sideways = rotation % 180 != 0
    rate = stream.average_rate or stream.guessed_rate
    return VideoInfo(
        index=stream.index,
        codec=stream.codec_context.codec.canonical_name,
        width=frame.width,
        height=frame.height,
        display_width=frame.height if sideways else frame.width,
        display_height=frame.width if sideways else frame.height,
        rotation_deg=rotation,
        fps=round(float(rate), 3) if rate else None,
        frame_count=stream.frames or None,
        duration_s=float(stream.duration * stream.time_base) if stream.duration else None,
        pixel_format=frame.format.name,
    )


def _first_frame(container: InputContainer, stream: av.video.stream.VideoStream) -> av.VideoFrame:
    """Decode until the first frame, or raise ``BadMedia('corrupt_video')``."""
    packets, error = 0, "no frame came out of the decoder"
    try:
        for packet in container.demux(stream):
            packets += 1
            for frame in packet.decode():
                return frame
            if packets >= VIDEO_PACKETS_TESTED:
                break
    except av.FFmpegError as exc:
        error = exc.strerror or str(exc)
    raise BadMedia(
        "corrupt_video",
        f"video stream's first frame cannot be decoded after {packets} packets ({error})",
    )


def _audio_info(path: Path, index: int) -> tuple[AudioStreamInfo, str | None]:
    """Describe one audio stream and decode its first packets; a failure is a warning."""
    with open_container(path) as container:
        stream = container.streams[index]
        context = stream.codec_context
        info = AudioStreamInfo(
            index=index,
            codec=context.codec.canonical_name,
            sample_rate=context.sample_rate or 0,
            channels=context.channels or 0,
            duration_s=float(stream.duration * stream.time_base) if stream.duration else None,
            language=stream.language,
        )
        trial = try_decode(container, stream, AUDIO_PACKETS_TESTED)
    failures = trial.failures + bool(trial.demux_error)
    packets, first_error = trial.packets, trial.first_error or trial.demux_error
    if trial.frames == 0:
        info.decodable = False
        cause = f"{failures} of {packets} packets failed ({first_error})" if failures else "no frames"
        return info, f"audio stream {index} ({info.codec}) cannot be decoded: {cause}"
    if failures:
        warning = f"{failures} of the first {packets} packets failed to decode ({first_error})"
        return info, f"audio stream {index} ({info.codec}): {warning}"
    return info, None


def _wav_size_warning(path: Path, duration_s: float | None) -> str | None:
    """A warning when a WAV header's data size is 0 or runs past the end of the file.

    Writers that cannot seek back leave such sizes (ffmpeg 0xFFFFFFFF, sox about 0x7FFFF000, some
    0), and so does a copy cut short; either way FFmpeg, and so AIMA, reads the samples up to the
    end of the file, all of which are good: the file is usable, but its header does not say so.
    """
    file_size = os.path.getsize(path)
    with open(path, "rb") as handle:
        riff = handle.read(12)
        if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
            return None  # RF64 keeps its sizes in a ds64 chunk
        for _ in range(64):  # the chunks before the data (fmt, LIST, fact...) are few
            header = handle.read(8)
            if len(header) < 8:
                return None
            size = struct.unpack("<I", header[4:])[0]
            if header[:4] == b"data":
                present = file_size - handle.tell()
                if 0 < size <= present:
                    return None
                why = "never filled in" if size == 0 else "a header never finished, or a file cut short"
                used = f"the {duration_s:.1f} s of" if duration_s is not None else "all the"
                return (
                    f"WAV header gives a data size of {size:,} bytes but the file holds {present:,}"
                    f" ({why}); AIMA uses {used} audio in the file"
                )
            handle.seek(size + (size & 1), os.SEEK_CUR)
    return None
