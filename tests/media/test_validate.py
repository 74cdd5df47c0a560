"""check_file refuses what cannot be a usable media file before any content is read."""

import os
from pathlib import Path

import pytest

from aima.media.errors import BadMedia
from aima.media.validate import check_file


def refusal(path: Path, max_bytes: int = 1_000_000) -> BadMedia:
    with pytest.raises(BadMedia) as caught:
        check_file(path, max_bytes)
    return caught.value


def test_a_readable_file_within_the_limit_passes(tmp_path: Path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"x" * 100)
    check_file(path, max_bytes=100)  # exactly at the limit is allowed


def test_a_symbolic_link_to_a_good_file_passes(tmp_path: Path):
    (tmp_path / "real.jpg").write_bytes(b"x" * 10)
    os.symlink("real.jpg", tmp_path / "link.jpg")
    check_file(tmp_path / "link.jpg", max_bytes=100)


@pytest.mark.parametrize("name, char, position", [
    ("bad\nname.jpg", "U+000A", 3),
    ("\tleading.png", "U+0009", 0),
    ("bell\x07.mp4", "U+0007", 4),
    ("del\x7f.wav", "U+007F", 3),
    ("c1\x85.wav", "U+0085", 2),
])
def test_a_name_with_a_control_character_is_refused(tmp_path: Path, name, char, position):
    path = tmp_path / name
    path.write_bytes(b"x")
    error = refusal(path)
    assert error.code == "bad_name"
    assert str(error) == f"file name contains control character {char} at position {position}"


def test_unicode_names_are_fine(tmp_path: Path):
    path = tmp_path / "Überwachung – Kamera 2 (北).mp4"
    path.write_bytes(b"x")
    check_file(path, max_bytes=10)


def test_a_loop_of_links_is_refused(tmp_path: Path):
    os.symlink("b.mp4", tmp_path / "a.mp4")
    os.symlink("a.mp4", tmp_path / "b.mp4")
    error = refusal(tmp_path / "a.mp4")
    assert (error.code, error.reason) == ("symlink_loop", "path is a loop of symbolic links")


def test_a_missing_file_is_unreadable(tmp_path: Path):
    error = refusal(tmp_path / "gone.mp4")
    assert (error.code, error.reason) == ("unreadable", "file does not exist")


def test_a_dangling_link_names_its_target(tmp_path: Path):
    os.symlink("../elsewhere/clip.mp4", tmp_path / "clip.mp4")
    error = refusal(tmp_path / "clip.mp4")
    assert error.code == "unreadable"
    assert error.reason == "symbolic link points to a missing file: ../elsewhere/clip.mp4"


def test_a_directory_is_not_a_media_file(tmp_path: Path):
    (tmp_path / "folder.mp4").mkdir()
    error = refusal(tmp_path / "folder.mp4")
    assert (error.code, error.reason) == ("unreadable", "not a regular file: it is a directory")


def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path):
    os.mkfifo(tmp_path / "pipe.wav")
    error = refusal(tmp_path / "pipe.wav")
    assert (error.code, error.reason) == ("unreadable", "not a regular file: it is a named pipe (FIFO)")


def test_a_path_through_a_file_is_unreadable(tmp_path: Path):
    (tmp_path / "file").write_bytes(b"x")
    error = refusal(tmp_path / "file" / "clip.mp4")
    assert (error.code, error.reason) == ("unreadable", "a parent of the path is not a directory")


def test_an_empty_file_is_refused(tmp_path: Path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    error = refusal(tmp_path / "empty.jpg")
    assert (error.code, str(error)) == ("empty_file", "file is empty (0 bytes)")


@pytest.mark.parametrize("size, limit, reason", [
    (101, 100, "file is 101 bytes, over the limit of 100 bytes"),
    (12_345_678, 10_000_000, "file is 12.3 MB, over the limit of 10.0 MB"),
])
def test_a_file_over_the_limit_is_refused(tmp_path: Path, size, limit, reason):
    path = tmp_path / "big.mov"
    with open(path, "wb") as handle:
        handle.truncate(size)  # sparse: no disk space used
    error = refusal(path, max_bytes=limit)
    assert (error.code, error.reason) == ("too_large", reason)
