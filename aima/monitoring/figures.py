"""The counts behind AIMA's metrics, read from the metadata store in one short transaction.

Everything here is a count or a sum over rows that exist now: a purged case takes its rows, and
so its share of the figures, with it. Prometheus sees such a drop as a counter reset, which is
why :mod:`aima.monitoring.collector` exposes the row counts as gauges and the alert rules compare
them with ``delta`` rather than ``increase``. The GPU seconds and spend are the exception
among the sums: a purge keeps their rows (``gpu_runs``), detached from the case, so they fall
only when rows are removed by hand; they are gauges all the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Float, case, cast, func, literal, select
from sqlalchemy.orm import Session

from aima.storage.database import Database
from aima.storage.models import GpuRun, Job, MediaItem, StageRun

# Upper bounds (seconds) of the stage-duration histogram: from a quick probe to an hour of speech.
DURATION_BUCKETS: tuple[float, ...] = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
FAILED_MEDIA = ("failed", "rejected")  # media statuses that carry an error code


@dataclass(frozen=True)
class StageDurations:
    """Finished runs of one stage: how many, their summed seconds, cumulative bucket counts."""

    stage: str
    status: str
    count: int
    total_s: float
    buckets: tuple[int, ...]  # runs with duration <= DURATION_BUCKETS[i]


@dataclass
class Figures:
    media: dict[tuple[str, str], int] = field(default_factory=dict)  # (status, media type)
    media_failed: dict[tuple[str, str], int] = field(default_factory=dict)  # (status, code)
    stage_runs: dict[tuple[str, str], int] = field(default_factory=dict)  # (stage, status)
    durations: list[StageDurations] = field(default_factory=list)
    jobs: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, status)
    queue_depth: int = 0  # file jobs waiting to start
    oldest_pending_age_s: float = 0.0  # 0 when nothing waits
    gpu_seconds: dict[str, float] = field(default_factory=dict)  # by GPU pool
    gpu_spend_usd: dict[str, float] = field(default_factory=dict)  # by GPU pool (actual cost)


def read_figures(database: Database, now: datetime | None = None) -> Figures:
    """All of AIMA's figures, from one read-only transaction."""
    now = now or datetime.now(UTC)
    with database.session() as session:
        figures = Figures(
            media=_grouped(session, MediaItem.status,
                           func.coalesce(MediaItem.media_type, "unknown")),
            media_failed=_grouped(session, MediaItem.status,
                                  func.coalesce(MediaItem.error_code, "unknown"),
                                  where=MediaItem.status.in_(FAILED_MEDIA)),
            stage_runs=_grouped(session, StageRun.stage, StageRun.status),
            durations=_durations(session),
            jobs=_grouped(session, Job.kind, Job.status),
        )
        pending = select(func.count(), func.min(Job.created_at)).where(
            Job.kind == "file", Job.status == "pending")
        count, oldest = session.execute(pending).one()
        gpu = select(GpuRun.pool, func.sum(GpuRun.gpu_seconds), func.sum(GpuRun.actual_usd)
                     ).group_by(GpuRun.pool)
        for pool, seconds, spend in session.execute(gpu):
            figures.gpu_seconds[pool] = float(seconds or 0)
            figures.gpu_spend_usd[pool] = float(spend or 0)
    figures.queue_depth = count
    if oldest is not None:
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)  # SQLite drops the zone
        figures.oldest_pending_age_s = max(0.0, (now - oldest).total_seconds())
    return figures


def _grouped(session: Session, *columns, where=None) -> dict[tuple[str, ...], int]:
    query = select(*columns, func.count()).group_by(*columns)
    if where is not None:
        query = query.where(where)
    return {tuple(str(v) for v in row[:-1]): row[-1] for row in session.execute(query)}


def _durations(session: Session) -> list[StageDurations]:
    """Finished (done or failed) stage runs per stage: count, sum and histogram buckets.

    One query: each bucket is a ``SUM(CASE WHEN duration_s <= bound ...)`` column, so the store
    does the counting whatever the number of runs.
    """
    duration = StageRun.duration_s
    bucket_columns = [
        func.sum(case((duration <= bound, 1), else_=0)) for bound in DURATION_BUCKETS
    ]
    query = (
        select(StageRun.stage, StageRun.status, func.count(),
               func.coalesce(func.sum(cast(duration, Float)), literal(0.0)), *bucket_columns)
        .where(StageRun.status.in_(("done", "failed")), duration.is_not(None))
        .group_by(StageRun.stage, StageRun.status)
        .order_by(StageRun.stage, StageRun.status)
    )
    return [
        StageDurations(stage=row[0], status=row[1], count=row[2], total_s=float(row[3]),
                       buckets=tuple(int(n or 0) for n in row[4:]))
        for row in session.execute(query)
    ]
