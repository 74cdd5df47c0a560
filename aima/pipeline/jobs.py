"""Jobs: a batch is a parent job with one sub-job per source file."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from aima.pipeline.sources import SourceFile
from aima.storage.database import Database
from aima.storage.models import Job, MediaItem, utcnow


def start_batch(database: Database, case_id: uuid.UUID, sources: list[str],
                flow_run_id: str | None) -> uuid.UUID:
    with database.session() as session:
        job = Job(case_id=case_id, kind="batch", source="\n".join(sources), status="running",
                  flow_run_id=flow_run_id, started_at=utcnow())
        session.add(job)
        session.flush()
        return job.id


def add_file_jobs(database: Database, case_id: uuid.UUID, batch_id: uuid.UUID,
                  files: list[SourceFile]) -> list[uuid.UUID]:
    with database.session() as session:
        jobs = [Job(case_id=case_id, parent_id=batch_id, kind="file", source=f.uri,
                    status="pending") for f in files]
        session.add_all(jobs)
        session.flush()
        return [job.id for job in jobs]


def finish_job(database: Database, job_id: uuid.UUID, status: str, *,
               media_id: str | None = None, error: str | None = None) -> None:
    with database.session() as session:
        job = session.get(Job, job_id)
        job.status, job.error, job.finished_at = status, error, utcnow()
        if media_id is not None:
            job.media_id = uuid.UUID(media_id)


def set_media_status(database: Database, media_id: uuid.UUID | str, status: str,
                     code: str | None = None, reason: str | None = None,
                     probe: dict | None = None) -> None:
    """Set a media item's status (and error code and reason, cleared when not given)."""
    with database.session() as session:
        item = session.get(MediaItem, uuid.UUID(str(media_id)))
        item.status, item.error_code, item.error_reason = status, code, reason
        if probe is not None:
            item.probe = probe


@dataclass
class Share:
    """How much of a batch was finished."""

    case_id: uuid.UUID
    done: int
    total: int


def cancel_batch(database: Database, flow_run_id: str) -> Share | None:
    """Mark the batch of ``flow_run_id`` and its unfinished files ``cancelled``; what stays done
    stays. None when the flow run started no batch."""
    with database.session() as session:
        batch = session.scalars(select(Job).where(Job.kind == "batch",
                                                  Job.flow_run_id == flow_run_id)).first()
        if batch is None:
            return None
        files = session.scalars(select(Job).where(Job.parent_id == batch.id)).all()
        unfinished = [job for job in files if job.status in ("pending", "running")]
        for job in unfinished:
            job.status, job.finished_at = "cancelled", utcnow()
        done = len(files) - len(unfinished)
        batch.status, batch.finished_at = "cancelled", utcnow()
        batch.error = f"cancelled with {done} of {len(files)} files finished"
        return Share(batch.case_id, done, len(files))
