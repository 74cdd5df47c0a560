"""The pixel limit (AIMA_MAX_IMAGE_PIXELS) is a parameter of every step that opens an image or
decodes video frames; frames of an animated image are counted up to a bound."""

import pytest
from PIL import Image

from aima.media.errors import BadMedia
from aima.media.images import MAX_FRAMES_COUNTED, count_frames, open_image
from aima.media.keyframes import extract_keyframes, iter_keyframes
from aima.media.probe import probe
from aima.media.sniff import Sniffed, sniff
from aima.media.thumbnails import load_image
from tests.mediagen import gif_frame_offsets, make_resizing_video

IMAGE_PIXELS = 480 * 360  # every image of make_images stores 480x360 pixels
VIDEO_PIXELS = 160 * 90


def refusal(step) -> BadMedia:
    with pytest.raises(BadMedia) as caught:
        step()
    assert caught.value.code == "too_many_pixels"
    return caught.value


def over(subject: str, size: str, pixels: str, limit: str) -> str:
    return (f"{subject} {size} pixels ({pixels} pixels), over the limit of {limit} pixels"
            " (AIMA_MAX_IMAGE_PIXELS)")


@pytest.fixture(scope="module")
def resizing_video(tmp_path_factory):
    return make_resizing_video(tmp_path_factory.mktemp("resizing") / "resizing.mkv")


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "tiff", "gif", "jpeg_exif6"])
def test_an_image_one_pixel_over_the_limit_is_refused_by_sniff_probe_and_load(media, fmt):
    path = media.images[fmt]
    sniffed = sniff(path, max_pixels=IMAGE_PIXELS)  # exactly at the limit: accepted
    probe(path, sniffed, max_pixels=IMAGE_PIXELS)
    load_image(path, max_pixels=IMAGE_PIXELS)
    reason = over("image declares", "480 x 360", "172,800", "172,799")
    for step in (lambda: sniff(path, max_pixels=IMAGE_PIXELS - 1),
                 lambda: probe(path, sniffed, max_pixels=IMAGE_PIXELS - 1),
                 lambda: load_image(path, max_pixels=IMAGE_PIXELS - 1)):
        assert str(refusal(step)) == reason


@pytest.mark.parametrize("fmt", ["mp4", "mkv", "avi", "webm"])
def test_a_video_whose_frames_are_over_the_limit_is_refused_by_sniff_probe_and_keyframes(
        media, fmt):
    path = media.videos[fmt]
    sniffed = sniff(path, max_pixels=VIDEO_PIXELS)
    probe(path, sniffed, max_pixels=VIDEO_PIXELS)
    assert extract_keyframes(path, max_pixels=VIDEO_PIXELS)
    reason = over("video stream declares frames of", "160 x 90", "14,400", "14,399")
    for step in (lambda: sniff(path, max_pixels=VIDEO_PIXELS - 1),
                 lambda: probe(path, sniffed, max_pixels=VIDEO_PIXELS - 1),
                 lambda: extract_keyframes(path, max_pixels=VIDEO_PIXELS - 1)):
        assert str(refusal(step)) == reason


def test_frames_that_grow_past_the_limit_midway_are_refused_when_they_come(resizing_video):
    assert {k.image.size for k in extract_keyframes(resizing_video)} == {(160, 90), (320, 180)}
    seen = []
    with pytest.raises(BadMedia) as caught:
        for keyframe in iter_keyframes(resizing_video, max_pixels=VIDEO_PIXELS):
            seen.append(keyframe)
    assert caught.value.code == "too_many_pixels"
    assert str(caught.value) == over("video frames are", "320 x 180", "57,600", "14,400")
    assert [k.image.size for k in seen] == [(160, 90)]


def test_pillows_own_guard_gives_the_same_code_when_the_limit_is_set_above_it(media):
    """The GIF's first frame needs a 65535 x 65535 canvas: under a limit of 10 G pixels AIMA lets
    it through, and Pillow's own decompression-bomb guard stops it; the code is the same."""
    path = media.bad_dir / "huge_frame.gif"
    sniffed = Sniffed(media_type="image", format="gif", mime="image/gif")
    for step in (lambda: sniff(path, max_pixels=10**10),
                 lambda: probe(path, sniffed, max_pixels=10**10),
                 lambda: load_image(path, max_pixels=10**10)):
        assert str(refusal(step)) == (
            "image is too large to decode safely: Image size (4294836225 pixels) exceeds limit of"
            " 178956970 pixels, could be decompression bomb DOS attack. (Pillow's own limit;"
            " AIMA_MAX_IMAGE_PIXELS is 10,000,000,000)")


def test_the_limit_never_touches_pillows_global_setting(media):
    before = Image.MAX_IMAGE_PIXELS
    refusal(lambda: sniff(media.bad_dir / "bomb.png", max_pixels=1000))
    load_image(media.images["png"], max_pixels=10**9)
    assert Image.MAX_IMAGE_PIXELS == before


def test_an_image_without_a_supported_signature_is_corrupt(media):
    with pytest.raises(BadMedia) as caught:
        open_image(media.audio["wav"])
    assert (caught.value.code, str(caught.value)) == (
        "corrupt_image", "file has no JPEG, PNG, GIF, TIFF or WEBP signature")


@pytest.mark.parametrize("fmt", ["gif", "tiff", "png"])
def test_frames_are_counted_exactly_up_to_the_bound(tmp_path, fmt):
    path = tmp_path / f"five.{fmt}"
    frames = [Image.new("RGB", (8, 8), (40 * n, 0, 0)) for n in range(5)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    for limit, expected in [(5, (5, False)), (9, (5, False)), (4, (4, True)), (1, (1, True))]:
        with open_image(path, family=fmt) as image:
            sought = []
            seek = image.seek
            image.seek = lambda frame: (sought.append(frame), seek(frame))[1]
            assert count_frames(image, fmt, limit=limit) == expected, limit
            assert max(sought, default=0) <= limit  # never a frame past the bound
            assert image.tell() == 0
            assert image.convert("RGB").getpixel((0, 0)) == (0, 0, 0)  # still the first frame


def test_frames_past_the_bound_are_never_read(media, tmp_path):
    """The thousands-of-frames GIF cut off inside frame 1500: counting stops at the bound, long
    before the cut (Pillow's n_frames, which walks every frame, raises IndexError there)."""
    data = (media.usable_dir / "many_frames.gif").read_bytes()
    path = tmp_path / "cut.gif"
    path.write_bytes(data[: gif_frame_offsets(data)[MAX_FRAMES_COUNTED + 500] + 10])
    info = probe(path, sniff(path)).image
    assert (info.frame_count, info.frame_count_capped) == (MAX_FRAMES_COUNTED, True)
