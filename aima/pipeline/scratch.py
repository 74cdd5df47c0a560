"""Scratch space for work files (downloads, extracted audio), under the data directory.

Not /tmp: media can be large, and the data directory is where the user said AIMA may write.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aima.settings import Settings


@contextmanager
def scratch_dir(settings: Settings, prefix: str) -> Iterator[Path]:
    """A fresh directory under ``<data dir>/tmp``, removed with its contents afterwards."""
    root = settings.data_dir / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(dir=root, prefix=f"{prefix}-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)
