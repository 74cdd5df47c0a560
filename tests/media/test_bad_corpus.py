"""Every kind of bad file is refused with its own code and a reason that says what is wrong,
by the first step of ingest and preprocessing that can see the problem."""

import pickle
import re
from pathlib import Path

import pytest

from aima.media.audio import extract_audio
from aima.media.errors import CODES, BadMedia
from aima.media.keyframes import extract_keyframes
from aima.media.probe import probe
from aima.media.sniff import sniff
from aima.media.thumbnails import load_image
from aima.media.validate import check_file
from tests.mediagen import BAD_CORPUS_MAX_BYTES

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


@pytest.mark.parametrize("name", sorted(REASONS))
def test_a_bad_file_is_refused_with_its_code_and_reason(media, tmp_path, name):
    error = first_refusal(media.bad_dir / name, tmp_path, BAD_CORPUS_MAX_BYTES)
    assert error is not None, f"{name!r} was accepted"
    assert error.code == media.bad[name]
    assert re.fullmatch(REASONS[name], str(error)), str(error)


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
