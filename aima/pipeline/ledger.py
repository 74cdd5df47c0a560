"""The stage-run ledger: which stage ran on which media item, with which model and parameters.

A stage's output is stored under a content key: the media item (one per distinct sha256 in a case),
the stage name, the model id and a hash of the parameters plus the stage's code version. A stage
whose key already has a ``done`` run is skipped, which makes a rerun of the same case, or a run
resumed after a crash, recompute nothing that is already stored.

This ledger lives in the metadata store, not in Prefect's result cache, on purpose: purging a case
removes its ledger with it, so no cache can point at deleted outputs.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from aima.storage.database import Database
from aima.storage.models import StageRun, utcnow

SKIPPED = "skipped"


def params_hash(version: str, params: dict[str, Any]) -> str:
    """A stable hash of a stage's parameters and code version (``Stage.version``).

    Bump a stage's version when its code changes what it produces: stored outputs are then redone.
    """
    payload = json.dumps({"v": version, "p": params}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class StageKey:
    case_id: uuid.UUID
    media_id: uuid.UUID
    stage: str
    model_id: str
    params_hash: str

    @property
    def where(self) -> tuple:
        return (
            StageRun.media_id == self.media_id,
            StageRun.stage == self.stage,
            StageRun.model_id == self.model_id,
            StageRun.params_hash == self.params_hash,
        )


def stage_key(case_id, media_id, stage: str, version: str, model_id: str,
              params: dict[str, Any]) -> StageKey:
    return StageKey(uuid.UUID(str(case_id)), uuid.UUID(str(media_id)), stage, model_id,
                    params_hash(version, params))


class StageFailed(Exception):
    """Raised inside :meth:`StageLedger.run` to record a failure with a code and keep going."""

    def __init__(self, code: str, reason: str):
        self.code = code
        self.reason = reason
        super().__init__(reason)


class StageLedger:
    def __init__(self, database: Database):
        self.database = database

    def done(self, key: StageKey) -> StageRun | None:
        """The completed run for this key, if any."""
        with self.database.session() as session:
            return session.scalars(
                select(StageRun).where(*key.where, StageRun.status == "done")
            ).one_or_none()

    def runs(self, media_id) -> list[StageRun]:
        with self.database.session() as session:
            return list(
                session.scalars(
                    select(StageRun)
                    .where(StageRun.media_id == uuid.UUID(str(media_id)))
                    .order_by(StageRun.started_at)
                )
            )

    def skip(self, case_id, media_id, stage: str, reason: str) -> None:
        """Record that ``stage`` did not apply to the item and why (shown in the report).

        One ``skipped`` row per item and stage, rewritten only when the reason changes, so that a
        rerun that skips again changes nothing.
        """
        key = StageKey(uuid.UUID(str(case_id)), uuid.UUID(str(media_id)), stage, SKIPPED, SKIPPED)
        with self.database.session() as session:
            run = session.scalars(select(StageRun).where(*key.where)).one_or_none()
            if run is not None and run.status == SKIPPED and run.error == reason:
                return
            if run is None:
                run = StageRun(case_id=key.case_id, media_id=key.media_id, stage=stage,
                               model_id=SKIPPED, params_hash=SKIPPED, attempts=0)
                session.add(run)
            run.status, run.error_code, run.error = SKIPPED, SKIPPED, reason
            run.started_at = run.finished_at = utcnow()
            run.duration_s = 0.0

    def latest(self, case_id) -> dict[tuple[str, str], StageRun]:
        """The most recent run of every (media id, stage) of a case."""
        with self.database.session() as session:
            runs = session.scalars(
                select(StageRun).where(StageRun.case_id == uuid.UUID(str(case_id)))).all()
        latest: dict[tuple[str, str], StageRun] = {}
        for run in runs:
            key, stamp = (str(run.media_id), run.stage), run.finished_at or run.started_at
            other = latest.get(key)
            other_stamp = other and (other.finished_at or other.started_at)
            if other is None or (stamp is not None and (other_stamp is None or other_stamp <= stamp)):
                latest[key] = run
        return latest

    @contextmanager
    def run(self, key: StageKey) -> Iterator[dict[str, Any]]:
        """Record one attempt of a stage: running, then done (or failed with the error).

        The body may set ``record["output_ref"]``, and ``record["remote_s"]``: seconds the
        compute took on another machine (a GPU job), added to the run's duration, which would
        otherwise time only reading the result back and recording it. A :class:`StageFailed` raised in the body is
        recorded and re-raised; any other exception is recorded as ``error`` and re-raised too.
        """
        started = time.monotonic()
        with self.database.session() as session:
            run = session.scalars(select(StageRun).where(*key.where)).one_or_none()
            if run is None:
                run = StageRun(
                    case_id=key.case_id, media_id=key.media_id, stage=key.stage,
                    model_id=key.model_id, params_hash=key.params_hash, attempts=0,
                )
                session.add(run)
            run.status, run.attempts, run.started_at = "running", run.attempts + 1, utcnow()
            run.finished_at = run.error = run.error_code = None
            session.flush()
            run_id = run.id
        record: dict[str, Any] = {}
        try:
            yield record
        except BaseException as exc:
            code, reason = (
                (exc.code, exc.reason) if isinstance(exc, StageFailed) else ("error", _describe(exc))
            )
            self._finish(run_id, started, "failed", error_code=code, error=reason)
            raise
        self._finish(run_id, started, "done", output_ref=record.get("output_ref"),
                     remote_s=record.get("remote_s"))

    def _finish(self, run_id, started: float, status: str, *, remote_s: float | None = None,
                **fields) -> None:
        with self.database.session() as session:
            run = session.get(StageRun, run_id)
            run.status = status
            run.finished_at = utcnow()
            run.duration_s = round(time.monotonic() - started + (remote_s or 0.0), 4)
            for name, value in fields.items():
                setattr(run, name, value)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
