"""The record of batch scans: which files each scan took, in which batch, for which case and
which ``analyze-media`` flow run, so that no later scan takes a file twice.

A file is known by its *key*: a hash of its URI, size and version (``mtime_ns=...`` for a local
file, ``etag=...`` for an S3 object), so a file changed in place is a new file, and the key has
a fixed length whatever the path. A batch is *claimed* (its files written) before its flow run is
created and marked *started* after; a claim without a flow run is a scan that stopped in between,
and the next scan starts it again (see :mod:`aima.pipeline.scan`).

The tables are defined here, beside their queries, on the metadata store's one ``Base``; the
schema is owned by the Alembic migration ``0004_scans``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, Uuid, delete, select, update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from aima.storage.database import Database
from aima.storage.models import Base, MediaItem, utcnow

#: Keys per ``IN (...)`` query: far below the bind-parameter limits of SQLite and PostgreSQL.
CHUNK = 500

# Every scan looks its files up among the media items by URI (and ingest finds a failed file's
# item by it): an index on media_items, declared here with the migration that creates it.
Index("ix_media_items_source_uri", MediaItem.source_uri)


class Scan(Base):
    """One run of a batch scan over one source (dry runs are not recorded)."""

    __tablename__ = "scans"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    source: Mapped[str] = mapped_column(Text)
    deployment: Mapped[str] = mapped_column(String(200))
    case_prefix: Mapped[str] = mapped_column(String(200), default="")
    actor: Mapped[str] = mapped_column(String(100))
    flow_run_id: Mapped[str | None] = mapped_column(String(64))  # the batch-scan run itself
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | done | failed
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    files_found: Mapped[int] = mapped_column(Integer, default=0)
    files_taken: Mapped[int] = mapped_column(Integer, default=0)
    files_known: Mapped[int] = mapped_column(Integer, default=0)  # taken by an earlier scan
    files_in_case: Mapped[int] = mapped_column(Integer, default=0)  # analysed outside any scan
    files_unreadable: Mapped[int] = mapped_column(Integer, default=0)


class ScanBatch(Base):
    """The files of one top-level folder that one scan sent to one ``analyze-media`` run."""

    __tablename__ = "scan_batches"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    scan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"),
                                               index=True)
    folder: Mapped[str] = mapped_column(Text)
    case_name: Mapped[str] = mapped_column(String(200))
    deployment: Mapped[str] = mapped_column(String(200))
    files: Mapped[int] = mapped_column(Integer)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))  # None: claimed, not started
    flow_run_name: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ScanFile(Base):
    """One file taken by a scan. The key (URI, size, version) is unique: taken once, ever."""

    __tablename__ = "scan_files"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex
    batch_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("scan_batches.id", ondelete="CASCADE"), index=True
    )
    uri: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)  # relative to the scanned source
    size: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[str] = mapped_column(String(200))
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


@dataclass(frozen=True)
class FileRecord:
    """What is recorded of a file a scan takes."""

    key: str
    uri: str
    name: str
    size: int
    version: str


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def taken_keys(database: Database, keys: Iterable[str]) -> set[str]:
    """Those of ``keys`` that some scan has taken (started or only claimed)."""
    found: set[str] = set()
    with database.session() as session:
        for chunk in _chunks(list(keys)):
            found.update(session.scalars(select(ScanFile.key).where(ScanFile.key.in_(chunk))))
    return found


def sizes_in_cases(database: Database, uris: Iterable[str]) -> set[tuple[str, int]]:
    """(URI, size) of those of ``uris`` that are a media item of some case already (analysed by
    hand, without a scan). Items that could not be read have no size and match nothing."""
    found: set[tuple[str, int]] = set()
    with database.session() as session:
        for chunk in _chunks(list(uris)):
            rows = session.execute(select(MediaItem.source_uri, MediaItem.size_bytes)
                                   .where(MediaItem.source_uri.in_(chunk),
                                          MediaItem.size_bytes.is_not(None)))
            found.update((uri, size) for uri, size in rows)
    return found


def start_scan(database: Database, *, source: str, deployment: str, case_prefix: str,
               actor: str, flow_run_id: str | None) -> uuid.UUID:
    with database.session() as session:
        scan = Scan(source=source, deployment=deployment, case_prefix=case_prefix, actor=actor,
                    flow_run_id=flow_run_id)
        session.add(scan)
        session.flush()
        return scan.id


def finish_scan(database: Database, scan_id: uuid.UUID, status: str, **counts: int) -> None:
    """Mark the scan finished with its ``files_*`` counts."""
    with database.session() as session:
        scan = session.get(Scan, scan_id)
        scan.status, scan.finished_at = status, utcnow()
        for name, value in counts.items():
            setattr(scan, f"files_{name}", value)


def claim_batch(database: Database, scan_id: uuid.UUID, *, folder: str, case_name: str,
                deployment: str, files: list[FileRecord]) -> uuid.UUID | None:
    """Record the batch and its files as taken, in one transaction; None when another scan
    running at the same time has taken one of the files first (nothing is recorded then)."""
    try:
        with database.session() as session:
            batch = ScanBatch(scan_id=scan_id, folder=folder, case_name=case_name,
                              deployment=deployment, files=len(files))
            session.add(batch)
            session.flush()
            session.add_all(ScanFile(key=f.key, batch_id=batch.id, uri=f.uri, name=f.name,
                                     size=f.size, version=f.version) for f in files)
            session.flush()
            return batch.id
    except IntegrityError:
        return None


def mark_started(database: Database, batch_id: uuid.UUID, flow_run_id: str,
                 flow_run_name: str | None) -> None:
    with database.session() as session:
        batch = session.get(ScanBatch, batch_id)
        batch.flow_run_id, batch.flow_run_name, batch.started_at = (
            flow_run_id, flow_run_name, utcnow())


def release_batch(database: Database, batch_id: uuid.UUID) -> None:
    """Forget a claimed batch whose flow run could not be created: its files are new again."""
    with database.session() as session:
        session.execute(delete(ScanFile).where(ScanFile.batch_id == batch_id))
        session.execute(delete(ScanBatch).where(ScanBatch.id == batch_id))


def unstarted_batches(database: Database) -> list[tuple[ScanBatch, list[ScanFile]]]:
    """Claimed batches without a flow run (a scan stopped between claim and start), oldest
    first, with their files in name order."""
    with database.session() as session:
        batches = list(session.scalars(select(ScanBatch).where(ScanBatch.flow_run_id.is_(None))
                                       .order_by(ScanBatch.claimed_at)))
        return [(batch, list(session.scalars(select(ScanFile)
                                             .where(ScanFile.batch_id == batch.id)
                                             .order_by(ScanFile.name))))
                for batch in batches]


def batches_of(database: Database, scan_id: uuid.UUID) -> list[ScanBatch]:
    """The batches one scan took, in folder order."""
    with database.session() as session:
        return list(session.scalars(select(ScanBatch).where(ScanBatch.scan_id == scan_id)
                                    .order_by(ScanBatch.folder)))


def forget_paths(database: Database, case_name: str) -> int:
    """Blank the paths of the files scans took for case ``case_name`` (its purge): their keys
    stay, so that no later scan takes them again. Batches not started yet are left as they
    are: the next scan starts them. Returns how many files were forgotten."""
    started = select(ScanBatch.id).where(ScanBatch.case_name == case_name,
                                         ScanBatch.flow_run_id.is_not(None))
    with database.session() as session:
        result = session.execute(update(ScanFile).where(
            ScanFile.batch_id.in_(started), ScanFile.uri != "").values(uri="", name=""))
        return result.rowcount or 0
