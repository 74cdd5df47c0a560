"""What kind of media a file is, decided by its content (never by its name).

The first bytes name a format family (magic numbers); Pillow or PyAV then opens the file and its
streams decide between video and audio. The name's extension is only read to phrase an error the
way the user will understand it (a ``.mp4`` that holds only audio is a broken video, not a song).

Sniffing is also the first check of the pixel limit (``max_pixels``, the setting
``AIMA_MAX_IMAGE_PIXELS``): an image whose header declares more pixels, or a video whose stream
declares larger frames, is refused here as ``too_many_pixels`` before anything is decoded. An
animated GIF (or WEBP, PNG) is an image; only its first frame is analysed.
"""

import codecs
from pathlib import Path
from typing import Literal

import av
from PIL import UnidentifiedImageError
from pydantic import BaseModel, ConfigDict

from aima.media.container import (
    declared_duration_s,
    first_line,
    main_video_stream,
    open_container,
    try_decode,
)
from aima.media.errors import BadMedia
from aima.media.images import image_family, open_image
from aima.media.limits import DEFAULT_MAX_IMAGE_PIXELS, check_pixels

MediaType = Literal["image", "video", "audio"]

#: Extensions under which a user expects a video; an audio-only file named so is an error.
VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm"}
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".gif"}

#: image format -> (Pillow format name, MIME type)
IMAGE_FORMATS = {
    "jpeg": ("JPEG", "image/jpeg"),
    "png": ("PNG", "image/png"),
    "webp": ("WEBP", "image/webp"),
    "tiff": ("TIFF", "image/tiff"),
    "gif": ("GIF", "image/gif"),
}
#: container family -> (format and MIME as video, format and MIME as audio)
CONTAINERS = {
    "mp4": (("mp4", "video/mp4"), ("m4a", "audio/mp4")),
    "mov": (("mov", "video/quicktime"), ("m4a", "audio/mp4")),
    "mkv": (("mkv", "video/x-matroska"), ("mka", "audio/x-matroska")),
    "webm": (("webm", "video/webm"), ("webm", "audio/webm")),
    "avi": (("avi", "video/x-msvideo"), ("avi", "audio/x-msvideo")),
    "ogg": (("ogg", "video/ogg"), ("ogg", "audio/ogg")),
    "wav": (("wav", "audio/wav"), ("wav", "audio/wav")),
    "mp3": (("mp3", "audio/mpeg"), ("mp3", "audio/mpeg")),
    "aac": (("aac", "audio/aac"), ("aac", "audio/aac")),
    "flac": (("flac", "audio/flac"), ("flac", "audio/flac")),
}
AUDIO_ONLY_FAMILIES = {"wav", "mp3", "aac", "flac"}
UNSUPPORTED_ISO_BRANDS = {b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif", b"avis"}
HEAD_BYTES = 4096
#: packets read while looking for the first decodable audio frame
AUDIO_PACKETS_TRIED = 64


class Sniffed(BaseModel):
    """A file's media type, format name (``jpeg``, ``mp4``, ``m4a``...) and MIME type."""

    model_config = ConfigDict(frozen=True)

    media_type: MediaType
    format: str
    mime: str
    duration_s: float | None = None  # a container's declared playing time, when it has one


def sniff(path: Path, *, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> Sniffed:
    """Identify a supported image, video or audio file by its content, or raise :class:`BadMedia`.

    Codes: ``unsupported_type`` (text, unknown or unsupported content), ``corrupt_image`` (an image
    signature whose header Pillow cannot parse), ``too_many_pixels`` (an image header, or a video
    stream, declaring more than ``max_pixels`` pixels per picture; pass
    ``settings.max_image_pixels``), ``corrupt_media`` (a container signature FFmpeg cannot open),
    ``truncated`` (an MP4/MOV whose boxes run past the end of the file), ``no_streams``,
    ``no_video_stream``, ``no_audio_frames``, ``corrupt_audio``; and, when called without
    :func:`aima.media.validate.check_file` first, ``empty_file`` and ``unreadable``.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
            family = _family(head)
            if family == "id3":
                handle.seek(10 + _syncsafe(head[6:10]))
                family = _family(handle.read(16))
                family = family if family in {"mp3", "aac", "flac"} else "mp3"
    except OSError as exc:
        raise BadMedia("unreadable", f"cannot read the file: {exc.strerror or exc}") from exc
    if not head:
        raise BadMedia("empty_file", "file is empty (0 bytes)")
    if family is None:
        raise _unknown_content(path, head)
    if family in IMAGE_FORMATS:
        return _sniff_image(path, family, max_pixels)
    return _sniff_container(path, family, max_pixels)


def _family(head: bytes) -> str | None:
    """Name the format family from the first bytes, or ``None`` when no signature matches."""
    image = image_family(head)
    if image is not None:
        return image
    if head[:4] == b"RIFF":
        return {b"WAVE": "wav", b"AVI ": "avi"}.get(head[8:12])
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in UNSUPPORTED_ISO_BRANDS:
            return "heif"
        return "mov" if brand == b"qt  " else "mp4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return "mov"  # QuickTime files written before the ftyp box existed
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm" if b"webm" in head[:64] else "mkv"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:3] == b"ID3":
        return "id3"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "aac" if head[1] & 0x06 == 0 else "mp3"  # layer bits 00 mark an ADTS header
    return None


def _syncsafe(four: bytes) -> int:
    """Decode an ID3 tag size (four bytes of seven bits each)."""
    size = 0
    for byte in four:
        size = (size << 7) | (byte & 0x7F)
    return size


def _unknown_content(path: Path, head: bytes) -> BadMedia:
    """The error for content that matches no supported signature."""
    if _looks_like_text(head):
        return BadMedia("unsupported_type", "not a media file: content looks like text")
    start = head[:8].hex(" ")
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return BadMedia(
            "corrupt_image", f"file named {path.suffix} has no valid image header (starts {start})"
        )
    return BadMedia("unsupported_type", f"not a supported media format (content starts {start})")


def _looks_like_text(head: bytes) -> bool:
    """True when the bytes decode as UTF-8 and are almost all printable characters."""
    if b"\x00" in head:
        return False
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    printable = sum(char.isprintable() or char in "\t\r\n\f" for char in text)
    return bool(text) and printable >= 0.95 * len(text)


def _sniff_image(path: Path, family: str, max_pixels: int) -> Sniffed:
    """Confirm an image signature by letting Pillow parse the header; check the declared size."""
    _, mime = IMAGE_FORMATS[family]
    try:
        with open_image(path, max_pixels=max_pixels, family=family) as image:
            if image.width <= 0 or image.height <= 0:
                raise BadMedia("corrupt_image", f"{family.upper()} header declares an empty image")
    except (UnidentifiedImageError, SyntaxError, OSError, ValueError) as exc:
        raise BadMedia(
            "corrupt_image", f"{family.upper()} header cannot be parsed: {first_line(exc)}"
        ) from exc
    return Sniffed(media_type="image", format=family, mime=mime)


def _sniff_container(path: Path, family: str, max_pixels: int) -> Sniffed:
    """Open an audio/video container and decide by its streams."""
    if family == "heif":
        raise BadMedia("unsupported_type", "HEIF/AVIF images are not supported")
    try:
        container = open_container(path)
    except av.FFmpegError as exc:
        raise _unopenable(path, family, exc) from exc
    with container:
        (video_format, video_mime), (audio_format, audio_mime) = CONTAINERS[family]
        video = main_video_stream(container) if family not in AUDIO_ONLY_FAMILIES else None
        if video is not None:
            context = video.codec_context
            check_pixels(context.width, context.height, max_pixels, "video stream declares frames of")
            return Sniffed(media_type="video", format=video_format, mime=video_mime,
                           duration_s=declared_duration_s(container))
        if not container.streams.audio:
            found = ", ".join(sorted({s.type for s in container.streams})) or "nothing"
            raise BadMedia("no_streams", f"file has no video or audio stream (found: {found})")
        if path.suffix.lower() in VIDEO_EXTENSIONS:
            raise BadMedia("no_video_stream", "video file has no video stream (it holds only audio)")
        _check_audio_decodes(container)
        duration_s = declared_duration_s(container)
    return Sniffed(media_type="audio", format=audio_format, mime=audio_mime,
                   duration_s=duration_s)



def _check_audio_decodes(container: av.container.InputContainer) -> None:
    """Raise unless the first audio stream yields a frame within its first packets."""
    trial = try_decode(container, container.streams.audio[0], AUDIO_PACKETS_TRIED,
                       stop_at_first_frame=True)
    if trial.frames:
        return
    if trial.failures:
        raise BadMedia(
            "corrupt_audio",
            f"audio stream is corrupt: {trial.failures} of {trial.packets} packets failed to "
            f"decode ({trial.first_error or trial.demux_error})",
        )
    if trial.packets == 0:
        raise BadMedia("no_audio_frames", "audio stream holds no audio data (0 packets)")
    raise BadMedia(
        "no_audio_frames",
        f"audio stream yielded no audio frame from its first {trial.packets} packets",
    )


def _unopenable(path: Path, family: str, exc: av.FFmpegError) -> BadMedia:
    """The error for a container signature FFmpeg refuses: truncated if the boxes say so."""
    if family in ("mp4", "mov"):
        overrun = _iso_box_overrun(path)
        if overrun is not None:
            box, needed, size = overrun
            return BadMedia(
                "truncated",
                f"file is truncated: its '{box}' box needs {needed:,} bytes but the file has"
                f" {size:,} (the index is missing)",
            )
    return BadMedia("corrupt_media", f"{family.upper()} container cannot be opened: {first_line(exc)}")


def _iso_box_overrun(path: Path) -> tuple[str, int, int] | None:
    """Walk the top-level boxes of an MP4/MOV; return (box type, end offset, file size) of the
    first box that runs past the end of the file, or ``None``."""
    size = path.stat().st_size
    offset = 0
    with open(path, "rb") as handle:
        while offset + 8 <= size:
            handle.seek(offset)
            header = handle.read(16)
            box_size = int.from_bytes(header[:4], "big")
            box_type = header[4:8].decode("latin-1")
            if box_size == 1 and len(header) == 16:
                box_size = int.from_bytes(header[8:16], "big")
            if box_size == 0:  # "extends to the end of the file"
                return None
            if box_size < 8 or not box_type.isprintable():
                return None  # not a box structure we can judge
            if offset + box_size > size:
                return box_type, offset + box_size, size
            offset += box_size
    return None

