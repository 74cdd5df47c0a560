"""Keyframes catch every cut, keep the gap rule, drop near-duplicates and show frames upright."""


import pytest
from PIL import Image

from aima.eval.media import photo
from aima.media.errors import BadMedia
from aima.media.keyframes import extract_keyframes, iter_keyframes
from tests.mediagen import distinct_still, ffmpeg, make_cut_video, quadrant_image

FRAME_S = 1 / 25  # the generated cut videos run at 25 fps


def close(colour, expected, tolerance=40):
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected))


@pytest.fixture(scope="module")
def cut_keyframes(media):
    return extract_keyframes(media.cut_video, max_gap_s=3.0)


def test_every_cut_has_a_keyframe_within_a_second(media, cut_keyframes):
    times = [k.timestamp_s for k in cut_keyframes]
    for cut in media.cuts:
        assert any(cut <= t <= cut + 1.0 for t in times), f"cut at {cut} s missed: {times}"


def test_scene_keyframes_come_only_from_cuts_not_from_grain(media, cut_keyframes):
    scenes = [k.timestamp_s for k in cut_keyframes if k.reason == "scene"]
    assert scenes == pytest.approx(media.cuts, abs=FRAME_S)


def test_no_gap_between_keyframes_exceeds_the_maximum(media, cut_keyframes):
    times = [k.timestamp_s for k in cut_keyframes] + [sum([2.0, 3.0, 1.6, 4.4, 2.4])]
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert max(gaps) <= 3.0 + FRAME_S
    assert [k.reason for k in cut_keyframes][:1] == ["first"]
    assert "gap" in {k.reason for k in cut_keyframes}  # the 4.4 s scene needed one


def test_keyframes_are_in_order_with_frame_indices(cut_keyframes):
    assert [k.timestamp_s for k in cut_keyframes] == sorted(k.timestamp_s for k in cut_keyframes)
    for keyframe in cut_keyframes:
        assert keyframe.frame_index == round(keyframe.timestamp_s / FRAME_S)
        assert keyframe.image.mode == "RGB" and keyframe.image.size == (320, 180)


def test_a_keyframe_shows_the_scene_it_stands_for(media, cut_keyframes):
    third_scene = next(k for k in cut_keyframes if k.timestamp_s == pytest.approx(media.cuts[1]))
    still = distinct_still(2, 320, 180)
    corner = (4, 4)  # the stills' shapes rarely reach the corner: compare the background
    assert close(third_scene.image.getpixel(corner), still.getpixel(corner))


def test_a_cut_between_two_grey_textures_has_a_keyframe(tmp_path):
    """Brick, grass, gravel (scikit-image's greyscale photos, as generated cases show them): the
    cuts change brightness and texture but no colour, and each still gives a scene keyframe."""
    path = tmp_path / "grey.mp4"
    stills = [photo(name, (320, 180)) for name in ("brick", "grass", "gravel")]
    cuts = make_cut_video(path, [1.2, 1.2, 1.2], stills=stills)
    scenes = [k.timestamp_s for k in extract_keyframes(path) if k.reason == "scene"]
    assert scenes == pytest.approx(cuts, abs=FRAME_S)


def test_a_fast_pan_over_a_grey_texture_is_no_cut(tmp_path):
    """8 pixels a frame over brick: a few frames change by more than the cut threshold, but no
    more than the frames around them, so the ratio rule keeps them from counting as cuts."""
    source, path = tmp_path / "brick.png", tmp_path / "pan.mp4"
    photo("brick", (960, 960)).save(source)
    ffmpeg("-loop", "1", "-i", source, "-t", "2", "-vf",
           "fps=25,crop=320:180:'8*n':100,format=yuv420p,noise=alls=8:allf=t",
           "-c:v", "libx264", "-preset", "veryfast", path)
    assert [k.reason for k in extract_keyframes(path)] == ["first"]


def test_gap_keyframes_keep_coming_on_a_static_video(tmp_path):
    path = tmp_path / "static.mp4"
    make_cut_video(path, [7.0])
    keyframes = extract_keyframes(path, max_gap_s=2.0)
    assert [(k.reason, round(k.timestamp_s, 2)) for k in keyframes] == [
        ("first", 0.0), ("gap", 2.0), ("gap", 4.0), ("gap", 6.0)]
    assert all(k.score < 0.02 for k in keyframes[1:])  # near-duplicates, kept for the gap rule


def test_cuts_within_half_a_second_collapse_into_the_picture_that_stays(tmp_path):
    path = tmp_path / "blip.mp4"
    make_cut_video(path, [2.0, 0.2, 2.0])  # A, B for 0.2 s, then C
    keyframes = extract_keyframes(path)
    assert [(k.reason, round(k.timestamp_s, 2)) for k in keyframes] == [("first", 0.0), ("scene", 2.2)]
    corner = (4, 4)
    assert close(keyframes[1].image.getpixel(corner), distinct_still(2, 320, 180).getpixel(corner))


def test_a_flash_that_returns_to_the_same_picture_gives_no_keyframe(tmp_path):
    path = tmp_path / "flash.mp4"
    picture = distinct_still(0, 320, 180)
    white = Image.new("RGB", (320, 180), (255, 255, 255))
    make_cut_video(path, [2.0, 0.12, 2.0], stills=[picture, white, picture])
    assert [k.reason for k in extract_keyframes(path)] == ["first"]


def test_keyframe_images_are_bounded_and_upright(media):
    [keyframe] = extract_keyframes(media.rotated_video)
    assert keyframe.image.size == (90, 160)
    upright = quadrant_image(160, 90).transpose(Image.Transpose.ROTATE_90)
    for corner in [(5, 5), (84, 5), (5, 154), (84, 154)]:
        assert close(keyframe.image.getpixel(corner), upright.getpixel(corner))
    small = extract_keyframes(media.cut_video, max_side=100)
    assert {k.image.size for k in small} == {(100, 56)}


@pytest.mark.parametrize("name", ["truncated_faststart.mp4", "truncated.mkv"])
def test_a_video_cut_in_half_raises_truncated_after_its_keyframes(media, name):
    seen = []
    with pytest.raises(BadMedia) as caught:
        for keyframe in iter_keyframes(media.bad_dir / name):
            seen.append(keyframe)
    assert caught.value.code == "truncated"
    assert str(caught.value).startswith("video is ")
    assert "of 4.0 s" in str(caught.value) or "of a declared 4.0 s" in str(caught.value)
    assert seen and seen[0].reason == "first"


def test_a_file_without_video_has_no_keyframes(media):
    with pytest.raises(BadMedia) as caught:
        extract_keyframes(media.audio["m4a"])
    assert caught.value.code == "no_video_stream"


def test_every_container_yields_a_first_keyframe(media):
    for fmt, path in media.videos.items():
        keyframes = extract_keyframes(path)
        assert keyframes[0].reason == "first", fmt
        assert keyframes[0].image.size == (160, 90), fmt
