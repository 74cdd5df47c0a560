"""Pictures for the HTML and PDF exports: object-store keys made into ``data:`` URIs.

A self-contained report embeds every picture it shows. :class:`Pictures` reads each key once (a
keyframe shown in the strip, a finding and the appendix is read and encoded once), sniffs the
image type from its first bytes, and shrinks a large original (a photo cited without a thumbnail)
to :data:`MAX_SIDE` pixels so that a report of hundreds of items stays a file one can mail.

:func:`blurred` wraps an ``images`` reader so that every picture comes back blurred and in
greyscale: the PDF export uses it because PDF has no CSS filter to blur with (see
:mod:`aima.report.exports.pdf`).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

#: Object-store key -> picture bytes, or None when the object is missing.
ImageReader = Callable[[str], bytes | None]

MAX_SIDE = 640
#: Pictures above this size are re-encoded (when Pillow is installed) at most MAX_SIDE wide/high.
SHRINK_ABOVE_BYTES = 150_000
#: Blur radius as a share of a picture's longest side (16 px on a 320 px thumbnail).
BLUR_SHARE = 1 / 20

_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"),
               (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"))


def media_type(data: bytes) -> str | None:
    """The image type of ``data`` from its signature; None for anything else (never embedded)."""
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


class Pictures:
    """Keys -> ``data:`` URIs, each key read and encoded once; None for a missing picture."""

    def __init__(self, images: ImageReader):
        self._images = images
        self._uris: dict[str, str | None] = {}

    def uri(self, key: str | None) -> str | None:
        if not key:
            return None
        if key not in self._uris:
            self._uris[key] = self._encode(self._images(key))
        return self._uris[key]

    @staticmethod
    def _encode(data: bytes | None) -> str | None:
        if not data:
            return None
        if len(data) > SHRINK_ABOVE_BYTES:
            data = _shrink(data)
        kind = media_type(data)
        if kind is None:
            return None
        return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def _shrink(data: bytes) -> bytes:
    try:
        from PIL import Image
    except ImportError:  # Pillow comes with the cpu extra and WeasyPrint; without it, embed as is
        return data
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((MAX_SIDE, MAX_SIDE))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=85)
    except OSError:
        return data
    return out.getvalue()


def blurred(images: ImageReader) -> ImageReader:
    """``images`` whose pictures come back blurred (Gaussian, a radius of :data:`BLUR_SHARE`
    of the longest side) and in greyscale, as JPEG of at most :data:`MAX_SIDE` pixels: the
    blurred pixels are all a reader of the file gets."""
    from PIL import Image, ImageFilter

    def read(key: str) -> bytes | None:
        data = images(key)
        if not data:
            return data
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.thumbnail((MAX_SIDE, MAX_SIDE))
                radius = max(2.0, max(image.size) * BLUR_SHARE)
                grey = image.convert("L").filter(ImageFilter.GaussianBlur(radius))
        except OSError:
            return None  # not a picture Pillow reads: leave it out rather than show it sharp
        out = io.BytesIO()
        grey.save(out, "JPEG", quality=80)
        return out.getvalue()

    return read
