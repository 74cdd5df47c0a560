"""Filesystem-level checks on a media file, made before any of its content is read."""

import errno
import os
import stat
import unicodedata
from pathlib import Path

from aima.media.errors import BadMedia


def check_file(path: Path, max_bytes: int) -> None:
    """Raise :class:`BadMedia` unless ``path`` names a readable, non-empty regular file of at most
    ``max_bytes`` bytes whose name is free of control characters.

    Checks, in order: the name (``bad_name``), the path (``symlink_loop``, ``unreadable`` for a
    missing file, a dangling link, a directory, a pipe or a device), the size (``empty_file``,
    ``too_large``) and finally that one byte can be read (``unreadable``: permission denied, I/O
    error). Symbolic links that resolve to a regular file are accepted.
    """
    path = Path(path)
    _check_name(path.name)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _stat_error(path, exc) from exc
    if not stat.S_ISREG(st.st_mode):
        raise BadMedia("unreadable", f"not a regular file: it is {_kind(st.st_mode)}")
    if st.st_size == 0:
        raise BadMedia("empty_file", "file is empty (0 bytes)")
    if st.st_size > max_bytes:
        raise BadMedia(
            "too_large",
            f"file is {_size(st.st_size)}, over the limit of {_size(max_bytes)}",
        )
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise _stat_error(path, exc) from exc


def _check_name(name: str) -> None:
    """Refuse names with control characters (they break logs, reports and shell commands)."""
    for position, char in enumerate(name):
        if unicodedata.category(char) == "Cc":
            raise BadMedia(
                "bad_name",
                f"file name contains control character U+{ord(char):04X} at position {position}",
            )


def _stat_error(path: Path, exc: OSError) -> BadMedia:
    """Turn an ``OSError`` from stat/open into the matching :class:`BadMedia`."""
    if exc.errno == errno.ELOOP:
        return BadMedia("symlink_loop", "path is a loop of symbolic links")
    if exc.errno == errno.ENOENT:
        if path.is_symlink():
            return BadMedia(
                "unreadable", f"symbolic link points to a missing file: {os.readlink(path)}"
            )
        return BadMedia("unreadable", "file does not exist")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return BadMedia("unreadable", "permission denied")
    if exc.errno == errno.ENOTDIR:
        return BadMedia("unreadable", "a parent of the path is not a directory")
    return BadMedia("unreadable", f"cannot read the file: {exc.strerror or exc}")


def _kind(mode: int) -> str:
    """Name a non-regular file type for a reason sentence."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _size(n_bytes: int) -> str:
    """Human size with one decimal (``12.3 MB``); bytes below 1 kB."""
    if n_bytes < 1000:
        return f"{n_bytes} bytes"
    value = n_bytes / 1000
    for unit in ("kB", "MB", "GB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
