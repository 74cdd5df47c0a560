"""The order in which one analyze-media run takes its files through their stages.

Every file starts as one task: ingest, and with no GPU pool also all of its stages when they are
short (a picture, or a video or recording playing at most ``AIMA_ONE_TASK_MAX_S``:
:func:`aima.tasks.stages.analyse_file`). A longer file's stages then run as tasks of their own,
each as soon as the stages it needs are done, so a slow video does not hold back the others and a
file's independent stages run side by side; at most ``AIMA_CPU_CONCURRENCY`` tasks are in flight.
With a GPU pool, GPU stages are not run here: they gather until nothing else can run, then go out
together as one wave (:class:`aima.flows.analyze.GpuDispatch`: one machine start and model load
per wave).

Nothing here talks to Prefect. :class:`Tasks` says how a step is started and returns a future
(``add_done_callback`` and ``result``): Prefect's task futures in the flow, a thread pool's in the
orchestration benchmark's plain driver (``bench/bench_orchestration.py``), which so runs exactly
the flow's schedule without Prefect.
"""

from __future__ import annotations

import queue
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from aima.pipeline import jobs
from aima.pipeline.outcome import FileOutcome, StageOutcome
from aima.pipeline.sources import SourceFile
from aima.stages import registry
from aima.stages.base import MediaStage
from aima.stages.ingest import record_failure


@dataclass
class FileRun:
    """One file's way through its stages: which are done, which wait, which run."""

    job_id: uuid.UUID
    source: SourceFile
    media_id: str | None = None
    media_type: str | None = None
    waiting: list[MediaStage] = field(default_factory=list)  # not yet started
    finished: set[str] = field(default_factory=set)  # stage names done or skipped
    running: set[str] = field(default_factory=set)
    failed: bool = False  # a stage failed: nothing more starts

    def ready(self) -> list[MediaStage]:
        """The waiting stages whose needs (among this file's stages) are all finished."""
        mine = {s.name for s in self.waiting} | self.running | self.finished
        ready = [s for s in self.waiting
                 if all(need in self.finished or need not in mine for need in s.needs)]
        self.waiting = [s for s in self.waiting if s not in ready]
        return ready


class Future(Protocol):
    def result(self) -> Any: ...

    def add_done_callback(self, fn: Callable[[Any], None]) -> None: ...


class Tasks(Protocol):
    """How the scheduler starts a step; each call returns a future."""

    def analyse(self, run: FileRun, whole_file: bool) -> Future:
        """Ingest ``run``'s file, and run its stages too when ``whole_file`` and they are short:
        the future gives a :class:`FileOutcome` (or the ingest's :class:`StageOutcome`)."""

    def stage(self, run: FileRun, stage: MediaStage) -> Future:
        """Run one stage on ``run``'s item: the future gives a :class:`StageOutcome`."""


class GpuWaves(Protocol):
    def run_wave(self, wave: list[tuple[FileRun, MediaStage]]
                 ) -> Iterator[tuple[FileRun, MediaStage, StageOutcome]]: ...


def run_files(runs: list[FileRun], tasks: Tasks, stores, case_id: str, logger, *,
              concurrency: int, gpu: GpuWaves | None = None,
              file_ended: Callable[[], None] = lambda: None) -> int:
    """Take every file through ingest and its stages; returns how many tasks were started.

    ``file_ended`` is called once per file when it has nothing more to do.
    """
    todo: deque[tuple[FileRun, MediaStage | None]] = deque((run, None) for run in runs)
    gpu_wave: list[tuple[FileRun, MediaStage]] = []
    done_futures: queue.SimpleQueue = queue.SimpleQueue()
    in_flight: dict = {}
    started = 0

    def submit(run: FileRun, stage: MediaStage | None) -> None:
        nonlocal started
        future = tasks.analyse(run, gpu is None) if stage is None else tasks.stage(run, stage)
        started += 1
        in_flight[future] = (run, stage)
        # One callback per future; as_completed over all pending futures after each completion
        # would cost O(files^2) callbacks.
        future.add_done_callback(done_futures.put)

    def settle(run: FileRun, stage: MediaStage | None, outcome: StageOutcome) -> None:
        """Take one outcome: end the file, or queue its stages that are now ready."""
        if stage is not None:
            run.running.discard(stage.name)
            run.finished.add(stage.name)
        if outcome.ends_file and not run.failed:
            run.failed = True
            run.waiting = []
            log = logger.info if outcome.status == "duplicate" else logger.warning
            log("%s %s: %s", run.source.name, outcome.status,
                outcome.error or outcome.detail or outcome.error_code)
        if not run.failed:
            for next_stage in run.ready():
                run.running.add(next_stage.name)  # from now on, until its outcome is settled
                if gpu is not None and next_stage.device == "gpu":
                    gpu_wave.append((run, next_stage))
                else:
                    todo.append((run, next_stage))
        if not run.running and not run.waiting:
            if not run.failed:
                jobs.set_media_status(stores.metadata, run.media_id, "done")
                jobs.finish_job(stores.metadata, run.job_id, "done", media_id=run.media_id)
            file_ended()

    def ingested(run: FileRun, outcome: StageOutcome, ran_stages: bool) -> None:
        run.media_id, run.media_type = outcome.media_id, outcome.media_type
        run.waiting = registry.media_stages(outcome.media_type or "")
        if ran_stages:  # the task ran them all: their outcomes follow
            run.running = {s.name for s in run.waiting}
            run.waiting = []
        settle(run, None, outcome)

    while todo or in_flight or gpu_wave:
        while todo and len(in_flight) < concurrency:
            submit(*todo.popleft())
        if not in_flight:
            wave, gpu_wave[:] = list(gpu_wave), []
            for run, stage, outcome in gpu.run_wave(wave):
                if outcome.status == "failed":
                    finish_failed(stores, run, outcome)
                settle(run, stage, outcome)
            continue
        future = done_futures.get()
        run, stage = in_flight.pop(future)
        if stage is None:
            for one, outcome in file_outcomes(future, run, stores, case_id, ingested):
                settle(run, one, outcome)
        else:
            settle(run, stage, stage_outcome(future, run, stage, stores, case_id))
    return started


def file_outcomes(future, run: FileRun, stores, case_id: str,
                  ingested: Callable[[FileRun, StageOutcome, bool], None]
                  ) -> Iterator[tuple[MediaStage, StageOutcome]]:
    """Settle an analyse task: its ingest through ``ingested``, then (stage, outcome) for each
    stage it was to run: those it ran, then the rest as skipped when one failed. A task that
    raised in a stage fails the file at that stage; one that raised in ingest fails the file."""
    try:
        done = future.result()
    except Exception as exc:  # noqa: BLE001 - recorded, the batch goes on
        failed_at = getattr(exc, "aima_stage", None)
        if failed_at is None:  # ingest itself
            ingested(run, stage_outcome(_Raised(exc), run, None, stores, case_id), False)
            return
        ingest = StageOutcome(stage="ingest", status="done", media_id=exc.aima_media_id,
                              media_type=exc.aima_media_type)
        ingested(run, ingest, True)
        stages = registry.media_stages(run.media_type or "")
        outcomes = []
        for stage in stages:
            if stage.name == failed_at:
                break
            outcomes.append(StageOutcome(stage=stage.name, status="done", media_id=run.media_id,
                                         detail="done before a later stage failed"))
        outcomes.append(stage_outcome(_Raised(exc), run, registry.get(failed_at), stores,
                                      case_id))
    else:
        if isinstance(done, StageOutcome):  # an ingest task alone
            done = FileOutcome(ingest=done)
        ingested(run, done.ingest, done.stages is not None)
        if not done.stages:
            return
        stages = registry.media_stages(run.media_type or "")
        outcomes = done.stages
        for outcome in outcomes:
            if outcome.status == "failed":
                finish_failed(stores, run, outcome)
    by_name = {stage.name: stage for stage in stages}
    for outcome in outcomes:
        yield by_name[outcome.stage], outcome
    for stage in stages[len(outcomes):]:
        yield stage, StageOutcome(stage=stage.name, status="skipped", media_id=run.media_id,
                                  detail="an earlier stage failed")


class _Raised:
    """A finished future that raised ``exc`` (for :func:`stage_outcome`)."""

    def __init__(self, exc: BaseException):
        self.exc = exc

    def result(self):
        raise self.exc


def stage_outcome(future, run: FileRun, stage: MediaStage | None, stores,
                  case_id: str) -> StageOutcome:
    """A task's outcome; a task that raised becomes a ``failed`` outcome of its file.

    A task that failed for good (a non-transient error, or retries spent) fails its own file only,
    and the file keeps a media item with the reason, whatever the exception: no file given ever
    vanishes from the report. A stage that found bad media has recorded its reason itself.
    """
    try:
        outcome = future.result()
    except Exception as exc:  # noqa: BLE001 - recorded, the batch goes on
        outcome = failed(stores, case_id, run, stage.name if stage else "ingest", exc)
    if outcome.status == "failed":
        finish_failed(stores, run, outcome)
    return outcome


def failed(stores, case_id: str, run: FileRun, name: str, exc: BaseException) -> StageOutcome:
    """Fail ``run``'s file at step ``name`` (a stage, or ingest) for ``exc``."""
    code, reason = f"{name}_error", f"{name} failed: {describe(exc)}"
    if run.media_id is None:
        outcome = record_failure(stores, case_id, run.source, code, reason)
        run.media_id = outcome.media_id
        return outcome
    jobs.set_media_status(stores.metadata, run.media_id, "failed", code, reason)
    return StageOutcome(stage=name, status="failed", media_id=run.media_id,
                        error_code=code, error=reason)


def finish_failed(stores, run: FileRun, outcome: StageOutcome) -> None:
    jobs.finish_job(stores.metadata, run.job_id, "failed", media_id=run.media_id,
                    error=outcome.error)


def describe(exc: BaseException) -> str:
    """``Type: first line of the message``, for people."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
