"""Turning what a user names (files, folders, ``s3://bucket/prefix``) into a list of files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel

from aima.pipeline.scratch import scratch_dir
from aima.settings import Settings


class SourceFile(BaseModel):
    """One file to ingest: where it is and the name a user knows it by."""

    uri: str  # an absolute local path or s3://bucket/key
    name: str  # relative to the source the user named, for reports
    size: int | None = None  # known up front for S3 objects


def expand_sources(sources: list[str], settings: Settings) -> list[SourceFile]:
    """Every file under the given files, folders (recursively) and S3 prefixes, in a stable order.

    Folders are walked without following symbolic links to directories (no loops); hidden files
    (a name starting with '.') inside folders are skipped. A path that does not exist is still
    returned, so that ingest records it as a failed file with its reason.
    """
    found: list[SourceFile] = []
    for source in sources:
        if source.startswith("s3://"):
            found.extend(_s3_files(source, settings))
            continue
        path = Path(source).expanduser()
        if path.is_dir() and not path.is_symlink():
            found.extend(_folder_files(path))
        else:
            found.append(SourceFile(uri=str(path.absolute()), name=path.name))
    return found


def _folder_files(root: Path) -> Iterator[SourceFile]:
    for dirpath, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            full = Path(dirpath) / name
            yield SourceFile(uri=str(full.absolute()), name=full.relative_to(root).as_posix())


def _s3_client(settings: Settings):
    from aima.storage.objects.s3 import s3_client_from_settings

    return s3_client_from_settings(settings)


def _s3_files(source: str, settings: Settings) -> Iterator[SourceFile]:
    from minio.error import S3Error
    from urllib3.exceptions import HTTPError

    from aima.errors import NotFound
    from aima.storage.objects.s3 import BAD_CREDENTIALS, s3_unavailable

    parts = urlsplit(source)
    prefix = parts.path.lstrip("/")
    found = []
    try:  # listed in full here, so that an error is one clear line before anything starts
        for obj in _s3_client(settings).list_objects(parts.netloc, prefix, recursive=True):
            if obj.is_dir:
                continue
            name = obj.object_name[len(prefix) :].lstrip("/") or obj.object_name.rsplit("/", 1)[-1]
            found.append(SourceFile(uri=f"s3://{parts.netloc}/{obj.object_name}", name=name,
                                    size=obj.size))
    except (S3Error, HTTPError) as exc:
        if isinstance(exc, S3Error) and exc.code not in BAD_CREDENTIALS:
            raise NotFound(f"source {source}: {exc.code}: {exc.message}") from None
        where = f"source {source} at S3 endpoint {settings.s3.endpoint or 's3.amazonaws.com'}"
        raise s3_unavailable(exc, where) from None
    return iter(found)


@contextmanager
def local_copy(source: SourceFile, settings: Settings) -> Iterator[Path]:
    """A local path for the file: the file itself, or a streamed download of an S3 object."""
    if not source.uri.startswith("s3://"):
        yield Path(source.uri)
        return
    parts = urlsplit(source.uri)
    with scratch_dir(settings, "s3") as directory:
        target = directory / Path(parts.path).name
        _s3_client(settings).fget_object(parts.netloc, parts.path.lstrip("/"), str(target))
        yield target
