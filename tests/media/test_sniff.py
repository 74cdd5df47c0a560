"""sniff decides the media type by content; the file name never decides it."""

import shutil
from pathlib import Path

import pytest

from aima.media.errors import BadMedia
from aima.media.sniff import Sniffed, sniff
from tests.mediagen import media_duration_s

IMAGES = {
    "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "tiff": "image/tiff",
    "gif": "image/gif",
}
VIDEOS = {
    "mp4": "video/mp4", "mov": "video/quicktime", "mkv": "video/x-matroska",
    "avi": "video/x-msvideo", "webm": "video/webm",
}
AUDIO = {"wav": "audio/wav", "mp3": "audio/mpeg", "m4a": "audio/mp4", "flac": "audio/flac",
         "ogg": "audio/ogg"}


@pytest.mark.parametrize("fmt", IMAGES)
def test_every_image_format_is_recognised(media, fmt):
    assert sniff(media.images[fmt]) == Sniffed(media_type="image", format=fmt, mime=IMAGES[fmt])


@pytest.mark.parametrize("fmt", VIDEOS)
def test_every_video_container_is_recognised(media, fmt):
    sniffed = sniff(media.videos[fmt])
    assert sniffed.model_copy(update={"duration_s": None}) == Sniffed(
        media_type="video", format=fmt, mime=VIDEOS[fmt])
    assert sniffed.duration_s == pytest.approx(media_duration_s(media.videos[fmt]), abs=0.1)


@pytest.mark.parametrize("fmt", AUDIO)
def test_every_audio_format_is_recognised(media, fmt):
    sniffed = sniff(media.audio[fmt])
    assert sniffed.model_copy(update={"duration_s": None}) == Sniffed(
        media_type="audio", format=fmt, mime=AUDIO[fmt])
    # what AIMA_ONE_TASK_MAX_S is held to
    assert sniffed.duration_s == pytest.approx(media_duration_s(media.audio[fmt]), abs=0.1)


def copy_as(source: Path, directory: Path, name: str) -> Path:
    target = directory / name
    shutil.copyfile(source, target)
    return target


@pytest.mark.parametrize("source_kind, fmt, name, media_type", [
    ("images", "jpeg", "holiday.mp4", "image"),
    ("images", "png", "scan.wav", "image"),
    ("videos", "mp4", "photo.jpg", "video"),
    ("videos", "mkv", "clip.webm", "video"),
    ("audio", "mp3", "voice.wav", "audio"),
    ("audio", "flac", "track", "audio"),
])
def test_the_extension_does_not_decide(media, tmp_path, source_kind, fmt, name, media_type):
    path = copy_as(getattr(media, source_kind)[fmt], tmp_path, name)
    sniffed = sniff(path)
    assert (sniffed.media_type, sniffed.format) == (media_type, fmt)


def test_audio_in_an_mp4_container_is_audio_when_named_as_audio(media, tmp_path):
    m4a_named_m4a = copy_as(media.audio["m4a"], tmp_path, "memo.m4a")
    assert sniff(m4a_named_m4a).media_type == "audio"


@pytest.mark.parametrize("suffix", [".mp4", ".MOV", ".mkv", ".avi", ".webm"])
def test_audio_only_content_named_as_a_video_is_a_broken_video(media, tmp_path, suffix):
    path = copy_as(media.audio["m4a"], tmp_path, f"recording{suffix}")
    with pytest.raises(BadMedia) as caught:
        sniff(path)
    assert caught.value.code == "no_video_stream"
    assert str(caught.value) == "video file has no video stream (it holds only audio)"


def test_text_named_as_a_video_is_not_media(tmp_path):
    path = tmp_path / "movie.mp4"
    path.write_text("WEBVTT\n\n00:00.000 --> 00:02.000\nÜbersetzung: hallo\n")
    with pytest.raises(BadMedia) as caught:
        sniff(path)
    assert (caught.value.code, str(caught.value)) == (
        "unsupported_type", "not a media file: content looks like text")


def test_unknown_binary_content_is_unsupported(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(BadMedia) as caught:
        sniff(path)
    assert caught.value.code == "unsupported_type"
    assert str(caught.value) == "not a supported media format (content starts 00 01 02 03 04 05 06 07)"


def test_unknown_content_named_as_an_image_is_a_corrupt_image(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\x00\x10" * 500)
    with pytest.raises(BadMedia) as caught:
        sniff(path)
    assert caught.value.code == "corrupt_image"
    assert str(caught.value) == (
        "file named .jpg has no valid image header (starts 00 10 00 10 00 10 00 10)")


def test_heif_images_are_named_as_unsupported(tmp_path):
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(100))
    with pytest.raises(BadMedia) as caught:
        sniff(path)
    assert (caught.value.code, str(caught.value)) == (
        "unsupported_type", "HEIF/AVIF images are not supported")


def test_an_mp3_is_mp3_with_or_without_its_id3_tag(media, tmp_path):
    tagged = media.audio["mp3"].read_bytes()
    assert tagged[:3] == b"ID3"  # ffmpeg writes an ID3v2 tag first
    tag_size = 10 + sum((byte & 0x7F) << (7 * (3 - i)) for i, byte in enumerate(tagged[6:10]))
    bare = tmp_path / "bare.mp3"
    bare.write_bytes(tagged[tag_size:])
    assert sniff(media.audio["mp3"]).format == "mp3"
    assert sniff(bare).model_copy(update={"duration_s": None}) == Sniffed(
        media_type="audio", format="mp3", mime="audio/mpeg")
