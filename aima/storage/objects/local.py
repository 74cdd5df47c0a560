"""Objects as files under one local directory: the embedded default."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from aima.errors import StoreUnavailable
from aima.storage.objects import CHUNK, ObjectInfo, validate_key

SETTING = "AIMA_OBJECTS_URL"


class LocalObjectStore:
    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.root, prefix=".aima-write-check-")
            probe.close()
        except OSError as exc:
            raise StoreUnavailable(SETTING, f"cannot write to {self.root}: {exc.strerror}") from None

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> None:
        with open(path, "rb") as source:
            self.put_stream(key, source)

    def put_stream(
        self, key: str, stream: BinaryIO, *, length: int | None = None, content_type: str | None = None
    ) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write to a temporary file and rename: a reader never sees half an object.
        handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
        try:
            with os.fdopen(handle, "wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise

    @contextmanager
    def open(self, key: str) -> Iterator[BinaryIO]:
        try:
            handle = open(self._path(key), "rb")
        except FileNotFoundError:
            raise KeyError(key) from None
        with handle:
            yield handle

    def get_file(self, key: str, path: Path) -> None:
        with self.open(key) as source, open(path, "wb") as out:
            shutil.copyfileobj(source, out, CHUNK)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        removed = 0
        for info in list(self.list(prefix)):
            self.delete(info.key)
            removed += 1
        base = self.root / prefix.rstrip("/") if prefix.strip("/") else None
        if base is not None and base.is_dir() and prefix.endswith("/"):
            shutil.rmtree(base, ignore_errors=True)  # empty directories left behind
        return removed

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        # Walk only the directory the prefix points into, not the whole store.
        start = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        for dirpath, dirs, files in os.walk(start):
            dirs.sort()
            for name in sorted(files):
                if name.startswith((".partial-", ".aima-write-check-")):
                    continue
                full = Path(dirpath) / name
                key = full.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield ObjectInfo(key=key, size=full.stat().st_size)

    def presigned_get_url(self, key: str, expires_s: int = 3600) -> str:
        """A file:// URL: readable on this machine only (remote GPU workers need S3)."""
        path = self._path(key)
        if not path.is_file():
            raise KeyError(key)
        return path.as_uri()

    def presigned_put_url(self, key: str, expires_s: int = 3600) -> str:
        """A file:// URL of where the object will be; only a process on this machine can write it."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.as_uri()
