"""SQLAlchemy 2 models of the metadata store (cases, media, jobs, stage runs, persons, audit).

The schema itself is owned by the Alembic migrations in ``aima/storage/migrations``; these classes
must match them (a test compares the two). Every id is a UUID; the same id names a case or a media
item in every store.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSONType, list[Any]: JSONType}


class Case(Base):
    """A set of media that one case owner analyses together."""

    __tablename__ = "cases"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | purging
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # What the case owner tells the models about the case (added to vision and fusion prompts).
    context: Mapped[str | None] = mapped_column(Text)

    media: Mapped[list[MediaItem]] = relationship(
        back_populates="case", cascade="all, delete-orphan", passive_deletes=True
    )


class MediaItem(Base):
    """One distinct file (by content) of a case. The same bytes twice are one item."""

    __tablename__ = "media_items"
    __table_args__ = (UniqueConstraint("case_id", "sha256", name="uq_media_case_sha256"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str | None] = mapped_column(String(64))  # None when the file could not be read
    media_type: Mapped[str | None] = mapped_column(String(10))  # image | video | audio
    format: Mapped[str | None] = mapped_column(String(20))
    mime: Mapped[str | None] = mapped_column(String(100))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    original_name: Mapped[str] = mapped_column(Text)
    source_uri: Mapped[str] = mapped_column(Text)
    object_key: Mapped[str | None] = mapped_column(Text)
    probe: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    # md5 and sha1 beside sha256 (one read of the file), for the known-file hash sets.
    md5: Mapped[str | None] = mapped_column(String(32))
    sha1: Mapped[str | None] = mapped_column(String(40))
    # The hash sets the file was found in at ingest: [{"set": name, "category": ...}].
    hash_matches: Mapped[list[Any] | None] = mapped_column(JSONType)

    case: Mapped[Case] = relationship(back_populates="media")


class Job(Base):
    """A unit of requested work. A batch is a parent job with one sub-job per file."""

    __tablename__ = "jobs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), index=True
    )
    media_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("media_items.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(30))  # batch | file
    source: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StageRun(Base):
    """One stage applied to one media item with one model and parameter set."""

    __tablename__ = "stage_runs"
    __table_args__ = (
        UniqueConstraint("media_id", "stage", "model_id", "params_hash", name="uq_stage_run_key"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    media_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("media_items.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(40))
    model_id: Mapped[str] = mapped_column(String(200), default="")
    params_hash: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_s: Mapped[float | None] = mapped_column(Float)
    error_code: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    output_ref: Mapped[str | None] = mapped_column(Text)


class CasePerson(Base):
    """A person told apart within one case (by face and/or voice clusters). Never an identity."""

    __tablename__ = "case_persons"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    cluster_key: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    appearances: Mapped[list[PersonAppearance]] = relationship(
        back_populates="person", cascade="all, delete-orphan", passive_deletes=True
    )


class PersonAppearance(Base):
    """Where a case person is seen or heard: a media item, a time range and the evidence ids."""

    __tablename__ = "person_appearances"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_persons.id", ondelete="CASCADE"), index=True
    )
    media_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("media_items.id", ondelete="CASCADE"))
    modality: Mapped[str] = mapped_column(String(10))  # face | voice
    start_s: Mapped[float | None] = mapped_column(Float)
    end_s: Mapped[float | None] = mapped_column(Float)
    evidence: Mapped[list[Any]] = mapped_column(JSONType, default=list)

    person: Mapped[CasePerson] = relationship(back_populates="appearances")


class PersonEdit(Base):
    """A reviewer's manual change to case persons (merge, split, rename), kept across reruns."""

    __tablename__ = "person_edits"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEvent(Base):
    """Who did what, when, to which case. Outlives the case: no foreign key on purpose."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_case_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class DocumentRow(Base):
    """Analysis documents when AIMA_DOCUMENTS_URL=sql (the embedded default)."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("case_id", "stage", "key", name="uq_document_key"),
        Index("ix_documents_case_media", "case_id", "media_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(36))
    media_id: Mapped[str | None] = mapped_column(String(36))
    stage: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class HashSet(Base):
    """A list of known file hashes (e.g. known-benign, known-relevant), shared by every case.

    Hash sets hold hashes only, never biometrics or case data; see :mod:`aima.hashsets`.
    """

    __tablename__ = "hash_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    category: Mapped[str] = mapped_column(String(60))
    format: Mapped[str] = mapped_column(String(10))  # text | csv | nsrl | vic
    source_name: Mapped[str | None] = mapped_column(Text)  # the imported file's name
    entries: Mapped[int] = mapped_column(BigInteger, default=0)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(100))


def AsciiKey(length: int):  # noqa: N802 - a type, named like one
    """ASCII keys compared byte by byte: PostgreSQL's "C" collation, not the server's locale."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class HashSetEntry(Base):
    """One hash of a hash set. The key starts with (algorithm, hash): the look-up at ingest."""

    __tablename__ = "hash_set_entries"
    # SQLite: the key is the table (no second b-tree beside it): half the writes of an import.
    __table_args__ = {"sqlite_with_rowid": False}

    algorithm: Mapped[str] = mapped_column(AsciiKey(6), primary_key=True)  # md5|sha1|sha256
    hash: Mapped[str] = mapped_column(AsciiKey(64), primary_key=True)  # lowercase hex
    set_id: Mapped[int] = mapped_column(
        ForeignKey("hash_sets.id", ondelete="CASCADE"), primary_key=True
    )


class GpuRun(Base):
    """One wave of GPU work that an analysis sent to a GPU pool: its seconds and what it cost.

    Spend is billing, not case data: a purge keeps the row and only detaches it from the case
    (``ON DELETE SET NULL``), so the GPU seconds and spend the exporter reports do not fall when
    a case is purged. See :mod:`aima.storage.gpu_usage`.
    """

    __tablename__ = "gpu_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    flow_run_id: Mapped[str | None] = mapped_column(String(64))  # the analyze-media run
    pool: Mapped[str] = mapped_column(String(200))  # the work pool (AIMA_GPU_POOL)
    pool_type: Mapped[str] = mapped_column(String(40))  # process | runpod | vastai
    stages: Mapped[list[Any]] = mapped_column(JSONType, default=list)  # stage names
    gpu_seconds: Mapped[float] = mapped_column(Float)  # wall time of the gpu-analysis run
    estimated_usd: Mapped[float] = mapped_column(Float)
    actual_usd: Mapped[float] = mapped_column(Float)
    actual_source: Mapped[str] = mapped_column(String(20))  # provider | wall time
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# Tables kept in modules of their own, on the same metadata (Alembic compares them all).
from aima.storage import scans as _scans  # noqa: E402,F401 - registers scans, scan_batches, scan_files
