"""The pixel limit on images and video frames (``AIMA_MAX_IMAGE_PIXELS``), without heavy imports.

A 390 KB PNG can declare 20000 x 20000 pixels: decoding it would take 1.2 GB as RGB (a
decompression bomb). Every media function that opens an image or decodes video frames takes the
limit as a ``max_pixels`` parameter whose default is :data:`DEFAULT_MAX_IMAGE_PIXELS`, the default
of the setting, and checks the size the header declares before any pixel is decoded.
"""

from aima.media.errors import BadMedia

#: Pillow's own decompression-bomb error threshold (2 x ``PIL.Image.MAX_IMAGE_PIXELS`` =
#: 2 x 89,478,485): the largest image Pillow has ever opened without being told otherwise, about
#: 537 MB once decoded as RGB. The default of ``Settings.max_image_pixels``.
DEFAULT_MAX_IMAGE_PIXELS = 178_956_970
#: The environment variable that sets the limit, named in every refusal.
MAX_IMAGE_PIXELS_SETTING = "AIMA_MAX_IMAGE_PIXELS"


def check_pixels(width: int, height: int, max_pixels: int, subject: str = "image declares") -> None:
    """Raise ``BadMedia('too_many_pixels')`` when ``width`` x ``height`` is over ``max_pixels``.

    ``subject`` starts the reason: ``"image declares"``, ``"video frames are"``...
    """
    pixels = max(0, width) * max(0, height)
    if pixels > max_pixels:
        raise BadMedia("too_many_pixels", pixel_reason(subject, width, height, max_pixels))


def pixel_reason(subject: str, width: int, height: int, max_pixels: int) -> str:
    """The reason of a refusal: ``image declares 20000 x 20000 pixels (400,000,000 pixels), over
    the limit of 178,956,970 pixels (AIMA_MAX_IMAGE_PIXELS)``."""
    return (
        f"{subject} {width} x {height} pixels ({width * height:,} pixels), over the limit of"
        f" {max_pixels:,} pixels ({MAX_IMAGE_PIXELS_SETTING})"
    )
