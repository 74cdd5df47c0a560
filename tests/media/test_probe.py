"""probe reports what a file holds, as a user would check it with ffprobe or an image viewer."""

from datetime import datetime, timezone

import pytest

from aima.media.errors import BadMedia
from aima.media.probe import ProbeInfo, probe
from aima.media.sniff import sniff
from tests.mediagen import EXIF_DATETIME, EXIF_MAKE, EXIF_MODEL, media_duration_s

AUDIO_CODECS = {"mp4": "aac", "mov": "aac", "mkv": "opus", "avi": "mp3", "webm": "opus"}
VIDEO_CODECS = {"mp4": "h264", "mov": "h264", "mkv": "h264", "avi": "mpeg4", "webm": "vp8"}


def probed(path):
    return probe(path, sniff(path))


def test_a_sideways_photo_reports_its_upright_size_and_exif(media):
    info = probed(media.images["jpeg_exif6"])
    assert info.media_type == "image"
    assert (info.image.width, info.image.height) == (360, 480)
    assert (info.image.stored_width, info.image.stored_height) == (480, 360)
    assert info.image.orientation == 6
    assert info.image.exif == {
        "make": EXIF_MAKE, "model": EXIF_MODEL, "datetime_original": EXIF_DATETIME,
    }


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "tiff", "gif"])
def test_plain_images_report_their_size(media, fmt):
    info = probed(media.images[fmt])
    assert (info.format, info.image.width, info.image.height) == (fmt, 480, 360)
    assert info.image.orientation is None
    assert info.duration_s is None and info.video is None


def test_an_animated_gif_warns_that_only_its_first_frame_counts(media):
    info = probed(media.images["gif"])
    assert info.image.frame_count == 2
    assert info.warnings == ["image has 2 frames; only the first is analysed"]


def test_an_image_whose_pixels_are_cut_off_is_corrupt(media, tmp_path):
    data = media.images["jpeg"].read_bytes()
    path = tmp_path / "half.jpg"
    path.write_bytes(data[: len(data) // 2])
    sniffed = sniff(path)  # the header is intact
    with pytest.raises(BadMedia) as caught:
        probe(path, sniffed)
    assert caught.value.code == "corrupt_image"
    assert "truncated" in str(caught.value)


@pytest.mark.parametrize("fmt", AUDIO_CODECS)
def test_videos_report_streams_and_duration(media, fmt):
    path = media.videos[fmt]
    info = probed(path)
    assert info.duration_s == pytest.approx(media_duration_s(path), abs=0.05)
    assert info.duration_s == pytest.approx(2.0, abs=0.15)
    video = info.video
    assert (video.codec, video.width, video.height, video.fps) == (VIDEO_CODECS[fmt], 160, 90, 10.0)
    assert (video.display_width, video.display_height, video.rotation_deg) == (160, 90, 0)
    assert video.frame_count in (None, 20, 21)
    assert [(a.codec, a.sample_rate, a.channels, a.decodable) for a in info.audio_streams] == [
        (AUDIO_CODECS[fmt], 48000 if AUDIO_CODECS[fmt] == "opus" else 44100, 1, True)]
    assert info.warnings == []


def test_a_rotated_phone_video_reports_its_display_size(media):
    video = probed(media.rotated_video).video
    assert (video.width, video.height) == (160, 90)
    assert video.rotation_deg == 90
    assert (video.display_width, video.display_height) == (90, 160)


def test_the_creation_time_tag_is_read(media):
    info = probed(media.speech_video)
    assert info.creation_time == datetime(2024, 3, 2, 10, 20, 30, tzinfo=timezone.utc)
    assert info.audio_streams[0].sample_rate == 22050
    assert info.duration_s == pytest.approx(media_duration_s(media.speech_video), abs=0.05)


def test_a_broken_sound_track_is_a_warning_not_a_refusal(media):
    info = probed(media.broken_audio_video)
    assert info.video.codec == "h264"
    assert [a.decodable for a in info.audio_streams] == [False]
    assert len(info.warnings) == 1
    assert info.warnings[0].startswith("audio stream 1 (aac) cannot be decoded: 32 of 32 packets failed")


@pytest.mark.parametrize("fmt", ["wav", "mp3", "m4a", "flac", "ogg"])
def test_audio_files_report_duration_rate_and_channels(media, fmt):
    info = probed(media.audio[fmt])
    assert info.video is None
    # every file holds the same speech; the lossless FLAC gives its exact length
    assert info.duration_s == pytest.approx(media_duration_s(media.audio["flac"]), abs=0.05)
    [stream] = info.audio_streams
    expected = {"wav": (44100, 2), "ogg": (48000, 1)}.get(fmt, (22050, 1))
    assert (stream.sample_rate, stream.channels) == expected


def test_probe_info_survives_a_json_round_trip(media):
    for path in (media.speech_video, media.images["jpeg_exif6"], media.audio["flac"]):
        info = probed(path)
        assert ProbeInfo.model_validate_json(info.model_dump_json()) == info
