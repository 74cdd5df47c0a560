"""Still images as the analysis sees them (upright RGB) and small JPEG thumbnails of them."""

from io import BytesIO
from pathlib import Path

from PIL import Image, ImageOps

from aima.media.errors import BadMedia
from aima.media.images import bomb_refusal, open_image
from aima.media.limits import DEFAULT_MAX_IMAGE_PIXELS

THUMBNAIL_QUALITY = 85
#: background for transparent pixels (a PNG's alpha would otherwise turn black in RGB)
BACKGROUND = (255, 255, 255)


def load_image(path: Path, *, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> Image.Image:
    """Open an image upright: EXIF orientation applied, first frame of a GIF/animated WEBP,
    RGB with transparency flattened onto white. The returned image holds no open file.

    Raises ``BadMedia('corrupt_image')`` when the pixels cannot be decoded, or
    ``BadMedia('too_many_pixels')`` when the image has more than ``max_pixels`` pixels (checked
    before decoding; pass ``settings.max_image_pixels``).
    """
    try:
        with open_image(path, max_pixels=max_pixels) as opened:
            opened.seek(0)
            upright = ImageOps.exif_transpose(opened)
            return _to_rgb(upright)
    except Image.DecompressionBombError as exc:
        raise bomb_refusal(exc, max_pixels) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadMedia("corrupt_image", f"image data cannot be decoded: {exc}") from exc


def thumbnail_jpeg(image: Image.Image, max_side: int = 320) -> bytes:
    """A JPEG of ``image`` whose longest side is ``max_side`` (smaller images are not enlarged)."""
    small = _to_rgb(image).copy()
    small.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = BytesIO()
    small.save(buffer, format="JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    return buffer.getvalue()


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB pixels, with any transparency composited onto :data:`BACKGROUND`."""
    if image.mode == "RGB":
        image.load()
        return image
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")
