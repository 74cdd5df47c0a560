"""Ingest: validate, hash, deduplicate and store one source file of a case.

Bad input never raises here: it becomes a media item with status ``rejected``, a stable
``error_code`` and a specific ``error_reason``, so that one bad file in a batch fails alone.
Only transient trouble (a store that hiccups) raises, for the Prefect task to retry; if it keeps
failing, or anything unexpected is raised, :func:`record_failure` still gives the file a media item
with status ``failed`` and the reason, so no file given ever vanishes from the report.

The file is read once for its sha256 (its identity in the case), md5 and sha1; the three are
looked up in the known-file hash sets (:mod:`aima.hashsets`) and the matches kept on the item.

Ingest is the one stage that starts from a source file rather than a media item, so it has its
own task (``aima.tasks.stages.ingest``) instead of the generic stage runner.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from aima.hashsets.store import benign_reason, match
from aima.media.errors import BadMedia
from aima.media.sniff import Sniffed, sniff
from aima.media.validate import check_file
from aima.pipeline.ledger import StageLedger, stage_key
from aima.pipeline.outcome import StageOutcome
from aima.pipeline.sources import SourceFile, local_copy
from aima.settings import Settings
from aima.stages.base import Stage
from aima.storage import Stores
from aima.storage.models import MediaItem
from aima.storage.objects import media_key

OK_STATUSES = ("ingested", "processing", "preprocessed", "done")


class Ingest(Stage):
    name = "ingest"
    description = ("validate, hash (sha256, md5, sha1), deduplicate, identify by content, match "
                   "the hash sets, store the original")


STAGE = Ingest()


def _outcome(source: SourceFile, status: str, **fields) -> StageOutcome:
    return StageOutcome(stage=STAGE.name, status=status, name=source.name, **fields)


#: Bytes read at a time by :func:`hashes_of`.
HASH_CHUNK = 1 << 20


def hashes_of(path: Path) -> dict[str, str]:
    """``{"sha256", "md5", "sha1"}`` hex digests of a file, all three from one streamed read."""
    digests = {"sha256": hashlib.sha256(), "md5": hashlib.md5(usedforsecurity=False),
               "sha1": hashlib.sha1(usedforsecurity=False)}
    buffer = bytearray(HASH_CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while size := handle.readinto(buffer):
            chunk = view[:size]
            for digest in digests.values():
                digest.update(chunk)
    return {name: digest.hexdigest() for name, digest in digests.items()}


def sha256_of(path: Path) -> str:
    """SHA-256 of a file, streamed in chunks."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def ingest_file(stores: Stores, settings: Settings, case_id: str,
                source: SourceFile) -> StageOutcome:
    """Validate, hash, sniff and store one file; returns its outcome (never raises on bad input)."""
    case_uuid = uuid.UUID(case_id)
    sha256: str | None = None
    known: dict = {}  # md5, sha1 and the hash-set matches, once the file has been read
    try:
        if source.size is not None and source.size > settings.max_file_bytes:
            raise BadMedia(
                "too_large",
                f"file is {source.size} bytes, over the limit of {settings.max_file_bytes} bytes "
                "(AIMA_MAX_FILE_BYTES)",
            )
        with local_copy(source, settings) as path:
            check_file(path, settings.max_file_bytes)
            try:
                hashes = hashes_of(path)
            except OSError as exc:
                raise BadMedia("unreadable", f"file cannot be read: {exc.strerror}") from None
            sha256 = hashes["sha256"]
            known = dict(md5=hashes["md5"], sha1=hashes["sha1"],
                         hash_matches=match(stores.metadata, **hashes))
            sniffed = sniff(path, max_pixels=settings.max_image_pixels)
            return _store(stores, case_uuid, source, path, sha256, sniffed, known)
    except BadMedia as bad:
        return _reject(stores, case_uuid, source, sha256, bad, known)


def _store(stores: Stores, case_id: uuid.UUID, source: SourceFile, path: Path, sha256: str,
           sniffed: Sniffed, known: dict) -> StageOutcome:
    existing = _find(stores, case_id, sha256=sha256)
    if existing is not None and existing.status in OK_STATUSES:
        if not stores.objects.exists(existing.object_key):  # lost since: store it again
            stores.objects.put_file(existing.object_key, path, content_type=sniffed.mime)
        _refresh_matches(stores, case_id, existing, known)
        matched = _matched(known)
        if existing.source_uri == source.uri:
            return _outcome(source, "done", media_id=str(existing.id),
                            media_type=sniffed.media_type, reused=True, detail=matched,
                            data=_match_data(known) | _duration(sniffed))
        return _outcome(source, "duplicate", media_id=str(existing.id),
                        media_type=sniffed.media_type,
                        detail=_joined(f"same bytes as {existing.original_name}", matched))

    key = media_key(str(case_id), sha256)
    stores.objects.put_file(key, path, content_type=sniffed.mime)  # content-addressed: idempotent
    fields = dict(
        media_type=sniffed.media_type, format=sniffed.format, mime=sniffed.mime,
        size_bytes=path.stat().st_size, original_name=source.name, source_uri=source.uri,
        object_key=key, status="ingested", error_code=None, error_reason=None, **known,
    )
    try:  # an existing item here was rejected before (e.g. by an older AIMA): accept it now
        media_id = _save(stores, case_id, sha256, existing, fields)
    except IntegrityError:  # the same bytes were just ingested by a parallel task
        twin = _find(stores, case_id, sha256=sha256)
        return _outcome(source, "duplicate", media_id=str(twin.id), media_type=sniffed.media_type)
    ledger = StageLedger(stores.metadata)
    with ledger.run(stage_key(case_id, media_id, STAGE.name, STAGE.version, "sniff", {})) as record:
        record["output_ref"] = key
    return _outcome(source, "done", media_id=str(media_id), media_type=sniffed.media_type,
                    output_ref=key, data=_match_data(known) | _duration(sniffed),
                    detail=_joined(f"{sniffed.media_type} ({sniffed.format})", _matched(known)))


def _matched(known: dict) -> str | None:
    """One line on the file's hash-set matches, known-benign first; None when there are none."""
    matches = known.get("hash_matches") or []
    if not matches:
        return None
    return benign_reason(matches) or "in hash set " + ", ".join(
        f"{m['set']} ({m['category']})" for m in matches)


def _match_data(known: dict) -> dict:
    return {"hash_matches": known["hash_matches"]} if known.get("hash_matches") else {}


def _duration(sniffed: Sniffed) -> dict:
    """The declared playing time, for the flow to decide how to schedule the file's stages."""
    return {"duration_s": round(sniffed.duration_s, 3)} if sniffed.duration_s else {}


def _joined(*parts: str | None) -> str | None:
    return "; ".join(part for part in parts if part) or None


def record_failure(stores: Stores, case_id: str, source: SourceFile, code: str,
                   reason: str) -> StageOutcome:
    """Give a file whose ingest raised (retries spent, or a bug) a ``failed`` media item."""
    case_uuid = uuid.UUID(case_id)
    with stores.metadata.session() as session:  # an item saved before the error: fail that one
        existing = session.scalars(select(MediaItem).where(
            MediaItem.case_id == case_uuid, MediaItem.source_uri == source.uri).limit(1)
        ).one_or_none()
    fields = dict(original_name=source.name, source_uri=source.uri, status="failed",
                  error_code=code, error_reason=reason)
    media_id = _save(stores, case_uuid, None, existing, fields)
    return _outcome(source, "failed", media_id=str(media_id), error_code=code, error=reason)


def _reject(stores: Stores, case_id: uuid.UUID, source: SourceFile, sha256: str | None,
            bad: BadMedia, known: dict | None = None) -> StageOutcome:
    """Record a refused file as a media item, once per content (or per path when unreadable).

    A file that was read keeps its md5, sha1 and hash-set matches: a known file that cannot be
    decoded is still worth a reviewer's eye. A second path with the same bytes is a ``duplicate``
    of the first path's item, as for accepted files: the item keeps the first name and the report
    lists the second in the item's ``also_at``.
    """
    fields = dict(original_name=source.name, source_uri=source.uri, status="rejected",
                  error_code=bad.code, error_reason=bad.reason, **(known or {}))
    for attempt in range(2):  # a parallel task may insert the same bytes between find and save
        existing = _find(stores, case_id, sha256=sha256, source_uri=source.uri)
        if existing is not None and existing.source_uri != source.uri:
            return _rejected_duplicate(stores, case_id, source, existing, bad, known or {})
        try:
            media_id = _save(stores, case_id, sha256, existing, fields)
            break
        except IntegrityError:
            if attempt:
                raise
    return _outcome(source, "rejected", media_id=str(media_id), error_code=bad.code,
                    error=bad.reason)


def _rejected_duplicate(stores: Stores, case_id: uuid.UUID, source: SourceFile,
                        existing: MediaItem, bad: BadMedia, known: dict) -> StageOutcome:
    """A refused file whose bytes are already an item of the case (found at another path)."""
    _refresh_matches(stores, case_id, existing, known)
    return _outcome(source, "duplicate", media_id=str(existing.id), error_code=bad.code,
                    detail=_joined(f"same bytes as {existing.original_name}",
                                   f"rejected: {bad.reason}", _matched(known)))


def _refresh_matches(stores: Stores, case_id: uuid.UUID, existing: MediaItem,
                     known: dict) -> None:
    """Save ``known`` (hashes and hash-set matches) on ``existing`` where the hash sets changed
    since it was stored."""
    if any(getattr(existing, name) != value for name, value in known.items()):
        _save(stores, case_id, existing.sha256, existing, known)


def _save(stores: Stores, case_id: uuid.UUID, sha256: str | None, existing: MediaItem | None,
          fields: dict) -> uuid.UUID:
    """Update ``existing`` with ``fields``, or insert a new item; returns its id."""
    with stores.metadata.session() as session:
        if existing is not None:
            item = session.get(MediaItem, existing.id)
            for name, value in fields.items():
                setattr(item, name, value)
        else:
            item = MediaItem(case_id=case_id, sha256=sha256, **fields)
            session.add(item)
        session.flush()
        return item.id


def _find(stores: Stores, case_id: uuid.UUID, *, sha256: str | None,
          source_uri: str | None = None) -> MediaItem | None:
    statement = select(MediaItem).where(MediaItem.case_id == case_id)
    if sha256 is not None:
        statement = statement.where(MediaItem.sha256 == sha256)
    else:
        statement = statement.where(MediaItem.sha256.is_(None), MediaItem.source_uri == source_uri)
    with stores.metadata.session() as session:
        return session.scalars(statement.limit(1)).one_or_none()
