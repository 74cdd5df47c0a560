"""The object store: originals, keyframes, audio, thumbnails and exports.

Two backends pass the same contract tests: a local directory (the embedded default) and S3/MinIO.
Data is streamed in both directions; no backend reads a whole large file into memory.
Every key of a case starts with ``cases/<case id>/`` so that a purge removes one prefix; media
originals are content-addressed inside it (``cases/<case id>/media/<sha256>``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Protocol

from pydantic import BaseModel

CHUNK = 1024 * 1024


class ObjectInfo(BaseModel):
    key: str
    size: int


class ObjectStore(Protocol):
    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> None: ...

    def put_stream(
        self, key: str, stream: BinaryIO, *, length: int | None = None, content_type: str | None = None
    ) -> None:
        """Store a stream. ``length`` may be omitted: the backend then streams in parts."""

    def open(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A readable binary stream of the object (raises KeyError if missing)."""

    def get_file(self, key: str, path: Path) -> None: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove one object; removing a missing object is not an error."""

    def delete_prefix(self, prefix: str) -> int: ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]: ...

    def presigned_get_url(self, key: str, expires_s: int = 3600) -> str: ...

    def presigned_put_url(self, key: str, expires_s: int = 3600) -> str: ...


def case_prefix(case_id: str) -> str:
    return f"cases/{case_id}/"


def media_key(case_id: str, sha256: str) -> str:
    """The content-addressed key of a case's original media file."""
    return f"{case_prefix(case_id)}media/{sha256}"


def validate_key(key: str) -> str:
    """Refuse keys that could escape a directory or name nothing."""
    if not key or key.startswith("/") or "\\" in key or any(
        part in ("", ".", "..") for part in key.split("/")
    ):
        raise ValueError(f"invalid object key {key!r}")
    return key
