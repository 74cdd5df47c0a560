"""Every kind of bad file is refused with its own code and a reason that says what is wrong,
by the first step of ingest and preprocessing that can see the problem; hostile files that are
usable after all are accepted. Nothing takes long, and nothing raises anything but BadMedia."""

import pickle
import re
import time
from pathlib import Path

import pytest

from aima.media.audio import extract_audio
from aima.media.errors import CODES, BadMedia
from aima.media.images import MAX_FRAMES_COUNTED
from aima.media.keyframes import extract_keyframes
from aima.media.probe import probe
from aima.media.sniff import Sniffed, sniff
from aima.media.thumbnails import load_image
from aima.media.validate import check_file
from tests.mediagen import BAD_CORPUS_MAX_BYTES, QUADRANTS

#: seconds any file of the corpus may take through every step (they take well under one)
QUICK_S = 10.0

#: file -> the reason it must be refused with (a regular expression matched in full)
REASONS = {
    "empty.mp4": r"file is empty \(0 bytes\)",
    "notes.mp4": r"not a media file: content looks like text",
    "truncated.mp4": r"file is truncated: its 'mdat' box needs [\d,]+ bytes but the file has [\d,]+"
                     r" \(the index is missing\)",
    "truncated_faststart.mp4": r"video is truncated: its data ends at [12]\.\d s of a declared 4\.0 s",
    "truncated.mkv": r"video is truncated: its data ends at [12]\.\d s of a declared 4\.0 s",
    "garbled_video.mp4": r"video stream's first frame cannot be decoded after \d+ packets \(.+\)",
    "bad_header.jpg": r"JPEG header cannot be parsed: .+",
    "no_frames.wav": r"audio stream holds no audio data \(0 packets\)",
    "audio_only.mp4": r"video file has no video stream \(it holds only audio\)",
    "corrupt_audio.m4a": r"audio stream is corrupt: (\d+) of \1 packets failed to decode \(.+\)",
    "subtitles_only.mkv": r"file has no video or audio stream \(found: subtitle\)",
    "too_large.wav": r"file is 529\.\d kB, over the limit of 200\.0 kB",
    "dangling_link.mp4": r"symbolic link points to a missing file: missing-target\.mp4",
    "loop_a.mp4": r"path is a loop of symbolic links",
    "loop_b.mp4": r"path is a loop of symbolic links",
    "bad\nname.jpg": r"file name contains control character U\+000A at position 3",
    "bomb.png": r"image declares 20000 x 20000 pixels \(400,000,000 pixels\), over the limit of"
                r" 178,956,970 pixels \(AIMA_MAX_IMAGE_PIXELS\)",
    "huge_screen.gif": r"image declares 65535 x 65535 pixels \(4,294,836,225 pixels\), over the"
                       r" limit of 178,956,970 pixels \(AIMA_MAX_IMAGE_PIXELS\)",
    "huge_frame.gif": r"image declares 65535 x 65535 pixels \(4,294,836,225 pixels\), over the"
                      r" limit of 178,956,970 pixels \(AIMA_MAX_IMAGE_PIXELS\)",
    "huge_header.jpg": r"image declares 65535 x 65535 pixels \(4,294,836,225 pixels\), over the"
                       r" limit of 178,956,970 pixels \(AIMA_MAX_IMAGE_PIXELS\)",
    "huge_frames.avi": r"video stream declares frames of 15000 x 15000 pixels \(225,000,000"
                       r" pixels\), over the limit of 178,956,970 pixels \(AIMA_MAX_IMAGE_PIXELS\)",
    "endless.avi": r"video is truncated: its data ends at 1\.\d s of a declared 200000000\.0 s",
}
#: files over the pixel limit -> how preprocessing, which does not sniff again, knows them
OVER_THE_PIXEL_LIMIT = {
    "bomb.png": Sniffed(media_type="image", format="png", mime="image/png"),
    "huge_screen.gif": Sniffed(media_type="image", format="gif", mime="image/gif"),
    "huge_frame.gif": Sniffed(media_type="image", format="gif", mime="image/gif"),
    "huge_header.jpg": Sniffed(media_type="image", format="jpeg", mime="image/jpeg"),
    "huge_frames.avi": Sniffed(media_type="video", format="avi", mime="video/x-msvideo"),
}
#: hostile but usable files -> (probe warnings, what else is checked)
WAV_WARNING = ("WAV header gives a data size of {} bytes but the file holds 64,000 ({}); AIMA uses"
               " the 2.0 s of audio in the file")
USABLE_WARNINGS = {
    "many_frames.gif": [
        f"image has more than {MAX_FRAMES_COUNTED} frames; only the first is analysed"],
    "cut_short.gif": ["image has 3 frames; only the first is analysed"],
    "unfinished_header.wav": [WAV_WARNING.format(0, "never filled in")],
    "overlong_header.wav": [
        WAV_WARNING.format("3,200,000", "a header never finished, or a file cut short")],
}


def first_refusal(path: Path, workdir: Path, max_bytes: int) -> BadMedia | None:
    """Run a file through every media step ingest and preprocessing use, in their order."""
    try:
        check_file(path, max_bytes)
        sniffed = sniff(path)
        probe(path, sniffed)
        if sniffed.media_type == "video":
            extract_keyframes(path)
        elif sniffed.media_type == "audio":
            extract_audio(path, workdir / "audio.wav")
        else:
            load_image(path)
    except BadMedia as error:
        return error
    return None


def test_the_corpus_covers_every_case_once(media):
    assert set(media.bad) == set(REASONS)
    assert all(code in CODES for code in media.bad.values())
    assert set(media.usable) == set(USABLE_WARNINGS)


@pytest.mark.parametrize("name", sorted(REASONS))
def test_a_bad_file_is_refused_with_its_code_and_reason(media, tmp_path, name):
    start = time.monotonic()
    error = first_refusal(media.bad_dir / name, tmp_path, BAD_CORPUS_MAX_BYTES)
    assert time.monotonic() - start < QUICK_S
    assert error is not None, f"{name!r} was accepted"
    assert error.code == media.bad[name]
    assert re.fullmatch(REASONS[name], str(error)), str(error)


@pytest.mark.parametrize("name", sorted(OVER_THE_PIXEL_LIMIT))
def test_a_file_over_the_pixel_limit_is_refused_by_every_step_that_opens_it(media, name):
    """Ingest sniffs; preprocessing probes and then loads the image or decodes the frames,
    without sniffing again: each refuses the file on its own, with the same code and reason."""
    path = media.bad_dir / name
    sniffed = OVER_THE_PIXEL_LIMIT[name]
    second_look = load_image if sniffed.media_type == "image" else extract_keyframes
    for step in (lambda: sniff(path), lambda: probe(path, sniffed), lambda: second_look(path)):
        with pytest.raises(BadMedia) as caught:
            step()
        assert caught.value.code == "too_many_pixels"
        assert re.fullmatch(REASONS[name], str(caught.value)), str(caught.value)


@pytest.mark.parametrize("name", sorted(USABLE_WARNINGS))
def test_a_hostile_but_usable_file_is_accepted_with_a_warning(media, tmp_path, name):
    path = media.usable_dir / name
    start = time.monotonic()
    assert first_refusal(path, tmp_path, BAD_CORPUS_MAX_BYTES) is None
    info = probe(path, sniff(path))
    assert time.monotonic() - start < QUICK_S
    assert info.media_type == media.usable[name]
    assert info.warnings == USABLE_WARNINGS[name]


def test_an_animated_gif_of_thousands_of_frames_is_its_first_frame(media):
    """Frames are counted up to a bound, never all; only the first frame is decoded."""
    path = media.usable_dir / "many_frames.gif"
    info = probe(path, sniff(path)).image
    assert (info.frame_count, info.frame_count_capped) == (MAX_FRAMES_COUNTED, True)
    assert (info.width, info.height) == (16, 16)
    assert load_image(path).size == (16, 16)


def test_a_gif_cut_off_after_a_frame_header_is_its_first_frame(media):
    path = media.usable_dir / "cut_short.gif"
    info = probe(path, sniff(path)).image
    assert (info.width, info.height, info.frame_count, info.frame_count_capped) == (48, 36, 3, False)
    image = load_image(path)
    assert image.getpixel((5, 5)) == QUADRANTS[0] and image.getpixel((-5 % 48, -5 % 36)) == QUADRANTS[3]


@pytest.mark.parametrize("name", ["unfinished_header.wav", "overlong_header.wav"])
def test_a_wav_whose_header_lies_about_its_length_yields_the_audio_it_holds(media, tmp_path, name):
    path = media.usable_dir / name
    info = probe(path, sniff(path))
    assert info.duration_s == pytest.approx(2.0, abs=0.01)
    audio = extract_audio(path, tmp_path / "audio.wav")
    assert audio.samples == 32_000 and audio.bad_packets == 0  # 2 s at 16 kHz, nothing lost


def test_every_good_file_passes_every_step(media, tmp_path):
    good = [*media.images.values(), *media.audio.values(), *media.videos.values(),
            media.cut_video, media.rotated_video, media.speech_video]
    refusals = {path.name: first_refusal(path, tmp_path, 10_000_000) for path in good}
    assert {name: error for name, error in refusals.items() if error} == {}


def test_bad_media_keeps_code_and_reason_when_pickled():
    reason = "video is truncated: its data ends at 2.0 s of a declared 4.0 s"
    error = pickle.loads(pickle.dumps(BadMedia("truncated", reason)))
    assert (error.code, error.reason, str(error)) == ("truncated", reason, reason)


def test_an_unknown_code_is_a_programming_error():
    with pytest.raises(ValueError):
        BadMedia("oops", "no such code")
