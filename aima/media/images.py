"""Opening still images with Pillow under AIMA's pixel limit, and counting frames in bounded time.

:func:`open_image` is ``PIL.Image.open`` for the five supported formats, with the size the header
declares checked against ``max_pixels`` (``AIMA_MAX_IMAGE_PIXELS``) before any pixel is decoded.
The limit is a parameter, not Pillow's process-wide ``Image.MAX_IMAGE_PIXELS``, so threads with
different limits do not disturb each other; Pillow's own guard stays in force underneath, and if
it fires first (a limit set above Pillow's) the refusal has the same code, ``too_many_pixels``.

An animated GIF, WEBP or PNG is an image: its first frame is analysed. Its frames are counted for
the probe report, but never more than :data:`MAX_FRAMES_COUNTED` of them, so a GIF of a million
frames costs no more than one of a thousand.
"""

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from PIL import GifImagePlugin, Image, ImageFile, JpegImagePlugin, PngImagePlugin
from PIL import TiffImagePlugin, WebPImagePlugin

from aima.media.errors import BadMedia
from aima.media.limits import (
    DEFAULT_MAX_IMAGE_PIXELS,
    MAX_IMAGE_PIXELS_SETTING,
    check_pixels,
)

#: frames counted at most; an image with more reports this many and ``capped``
MAX_FRAMES_COUNTED = 1000

#: format family -> the Pillow plugin's opener (what ``Image.open`` calls, less its global check)
_OPENERS = {
    "jpeg": JpegImagePlugin.jpeg_factory,
    "png": PngImagePlugin.PngImageFile,
    "gif": GifImagePlugin.GifImageFile,
    "tiff": TiffImagePlugin.TiffImageFile,
    "webp": WebPImagePlugin.WebPImageFile,
}


def image_family(head: bytes) -> str | None:
    """The supported image format that the first bytes announce (``jpeg png gif tiff webp``)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def open_image(path: Path, *, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
               family: str | None = None) -> ImageFile.ImageFile:
    """Open ``path`` lazily (header only, like ``Image.open``) as the image format ``family``
    (found from the first bytes when ``None`` or not one of the five).

    Raises ``BadMedia('too_many_pixels')`` when the declared size is over ``max_pixels`` (for a GIF
    the canvas its first frame needs), ``BadMedia('corrupt_image')`` when there is no supported
    image signature; Pillow's errors for a header it cannot parse (``SyntaxError``, ``OSError``,
    ``ValueError``) pass through for the caller to phrase.
    """
    path = Path(path)
    if family not in _OPENERS:
        with open(path, "rb") as handle:
            family = image_family(handle.read(16))
        if family is None:
            raise BadMedia("corrupt_image", "file has no JPEG, PNG, GIF, TIFF or WEBP signature")
    if family == "gif":
        with open(path, "rb") as handle:
            check_pixels(*_gif_first_canvas(handle), max_pixels)
    try:
        image = _OPENERS[family](os.fspath(path))
    except Image.DecompressionBombError as exc:
        raise bomb_refusal(exc, max_pixels) from exc
    try:
        check_pixels(*image.size, max_pixels)
    except BadMedia:
        image.close()
        raise
    return image


def bomb_refusal(exc: Image.DecompressionBombError, max_pixels: int) -> BadMedia:
    """The refusal when Pillow's own decompression-bomb guard fires before AIMA's check can."""
    return BadMedia(
        "too_many_pixels",
        f"image is too large to decode safely: {exc} (Pillow's own limit; "
        f"{MAX_IMAGE_PIXELS_SETTING} is {max_pixels:,})",
    )


def count_frames(image: ImageFile.ImageFile, family: str,
                 limit: int = MAX_FRAMES_COUNTED) -> tuple[int, bool]:
    """How many frames ``image`` (opened by :func:`open_image`) holds, counting at most ``limit``:
    ``(count, capped)``, where ``capped`` says there are more than ``limit``.

    GIF frames are counted by walking the file's blocks (Pillow's ``n_frames`` walks them all,
    and ``seek`` decodes every frame before the one sought); TIFF pages by seeking, which reads
    only their directories. Other formats state their frame count in the header. Leaves the image
    on its first frame.
    """
    if family == "gif":
        with open(image.filename, "rb") as handle:
            count = 0
            for _ in _gif_frames(handle):
                count += 1
                if count > limit:
                    return limit, True
        return max(count, 1), False
    if family == "tiff":
        count = 1
        try:
            while count <= limit:
                image.seek(count)
                count += 1
        except (EOFError, OSError, SyntaxError, ValueError, IndexError, KeyError, struct.error):
            pass  # no further page, or a broken directory: the pages before it are counted
        finally:
            image.seek(0)
        return min(count, limit), count > limit
    declared = getattr(image, "n_frames", 1)
    return min(declared, limit), declared > limit


# --------------------------------------------------------------------------------------- GIF


def _gif_first_canvas(handle: BinaryIO) -> tuple[int, int]:
    """The canvas a GIF's first frame is drawn on: the logical screen, grown to hold the frame
    (as Pillow grows it)."""
    screen = handle.read(13)
    width, height = _u16(screen, 6), _u16(screen, 8)
    handle.seek(0)
    for x, y, frame_w, frame_h in _gif_frames(handle):
        return max(width, x + frame_w), max(height, y + frame_h)
    return width, height


def _gif_frames(handle: BinaryIO) -> Iterator[tuple[int, int, int, int]]:
    """Yield (x, y, width, height) of each image descriptor of the GIF open in ``handle``,
    skipping pixel data and extensions; stops at the trailer, at the end of the data or at
    anything that is not a GIF block."""
    screen = handle.read(13)
    if len(screen) < 13:
        return
    if screen[10] & 0x80:  # global colour table
        handle.seek(3 << ((screen[10] & 7) + 1), os.SEEK_CUR)
    while True:
        block = handle.read(1)
        if block == b",":
            descriptor = handle.read(9)
            if len(descriptor) < 9:
                return
            yield _u16(descriptor, 0), _u16(descriptor, 2), _u16(descriptor, 4), _u16(descriptor, 6)
            if descriptor[8] & 0x80:  # local colour table
                handle.seek(3 << ((descriptor[8] & 7) + 1), os.SEEK_CUR)
            if not handle.read(1) or not _skip_sub_blocks(handle):  # LZW code size, then data
                return
        elif block == b"!":
            if not handle.read(1) or not _skip_sub_blocks(handle):  # label, then data
                return
        else:  # b";" (the trailer), the end of the data, or garbage
            return


def _skip_sub_blocks(handle: BinaryIO) -> bool:
    """Skip a chain of GIF data sub-blocks; False when the data ends before its terminator."""
    while True:
        size = handle.read(1)
        if not size:
            return False
        if size == b"\x00":
            return True
        handle.seek(size[0], os.SEEK_CUR)


def _u16(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 2], "little")
