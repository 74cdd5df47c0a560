"""Images load upright in RGB; thumbnails are small JPEGs."""

from io import BytesIO

import pytest
from PIL import Image

from aima.media.errors import BadMedia
from aima.media.thumbnails import load_image, thumbnail_jpeg
from tests.mediagen import QUADRANTS, quadrant_image

CORNERS = [(10, 10), (-10, 10), (10, -10), (-10, -10)]  # same order as QUADRANTS


def corner_colours(image: Image.Image) -> list[tuple[int, int, int]]:
    return [image.getpixel((x % image.width, y % image.height)) for x, y in CORNERS]


def close(colours, expected, tolerance=40):
    return all(abs(a - b) <= tolerance for c, e in zip(colours, expected) for a, b in zip(c, e))


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "tiff", "gif"])
def test_images_load_as_rgb_with_their_colours(media, fmt):
    image = load_image(media.images[fmt])
    assert (image.mode, image.size) == ("RGB", (480, 360))
    assert close(corner_colours(image), QUADRANTS)  # the GIF's second, black frame is not used


def test_a_sideways_photo_loads_upright(media):
    image = load_image(media.images["jpeg_exif6"])
    assert image.size == (360, 480)
    assert close(corner_colours(image), corner_colours(quadrant_image(360, 480)))


def test_transparency_becomes_white(tmp_path):
    path = tmp_path / "cutout.png"
    Image.new("RGBA", (40, 30), (200, 0, 0, 0)).save(path)
    assert load_image(path).getpixel((5, 5)) == (255, 255, 255)


@pytest.mark.parametrize("fmt, size", [
    ("jpeg", (320, 240)), ("jpeg_exif6", (240, 320)), ("png", (320, 240)),
])
def test_thumbnails_are_jpegs_with_longest_side_320(media, fmt, size):
    data = thumbnail_jpeg(load_image(media.images[fmt]))
    assert data[:3] == b"\xff\xd8\xff"
    with Image.open(BytesIO(data)) as thumbnail:
        assert (thumbnail.format, thumbnail.size) == ("JPEG", size)
        assert close(corner_colours(thumbnail.convert("RGB")), corner_colours(quadrant_image(*size)))


def test_small_images_are_not_enlarged():
    data = thumbnail_jpeg(quadrant_image(64, 48), max_side=320)
    with Image.open(BytesIO(data)) as thumbnail:
        assert thumbnail.size == (64, 48)


def test_an_image_with_cut_off_pixels_is_corrupt(media, tmp_path):
    data = media.images["jpeg"].read_bytes()
    path = tmp_path / "half.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BadMedia) as caught:
        load_image(path)
    assert caught.value.code == "corrupt_image"
