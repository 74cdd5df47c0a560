"""The Prefect tasks of the pipeline: a file's ingest (with its stages when they are short), one
generic media-stage task and one case-stage task.

Thin wrappers: the work is in :mod:`aima.stages` and :mod:`aima.pipeline.runner`, which tests and
benchmarks call without Prefect.
"""

from __future__ import annotations

import uuid

from prefect import task

from aima.pipeline import jobs
from aima.pipeline.outcome import FileOutcome, StageOutcome
from aima.pipeline.runner import run_case_stage, run_media_stage
from aima.pipeline.sources import SourceFile
from aima.stages import registry
from aima.stages.ingest import ingest_file
from aima.tasks import runtime
from aima.tasks.options import TASK_OPTIONS


@task(name="ingest", task_run_name="ingest {source.name}", **TASK_OPTIONS)
def ingest(case_id: str, source: SourceFile, job_id: uuid.UUID) -> StageOutcome:
    """Ingest one file (with a GPU pool: its stages then run as tasks and waves of their own)."""
    return _ingest(runtime.stores(), case_id, source, job_id)


@task(name="analyse-file", task_run_name="analyse {source.name}", **TASK_OPTIONS)
def analyse_file(case_id: str, source: SourceFile, job_id: uuid.UUID, reanalyse: bool = False,
                 one_task_max_s: float = 0.0) -> FileOutcome:
    """Ingest one file and, when its stages are short, run them all here in one task run.

    Short: a picture, or a video or recording that plays at most ``one_task_max_s`` seconds
    (``AIMA_ONE_TASK_MAX_S``). A task run costs Prefect tens of milliseconds of bookkeeping,
    as much as a picture's stages themselves; a longer file's stages are left to the flow, which
    runs each as a task of its own (visible in the UI while it works, the file's independent
    stages side by side).

    Stops after a stage that fails the file. A stage that raises is named on the exception
    (``aima_stage``, with the item's ``aima_media_id`` and ``aima_media_type``); a retry runs the
    task again, and ingest and the ledger reuse what is stored.
    """
    stores = runtime.stores()
    outcome = _ingest(stores, case_id, source, job_id)
    stages = registry.media_stages(outcome.media_type or "")
    duration = outcome.data.get("duration_s")
    short = outcome.media_type == "image" or (duration is not None and duration <= one_task_max_s)
    if outcome.ends_file or not stages:
        return FileOutcome(ingest=outcome, stages=[])
    if not short:
        return FileOutcome(ingest=outcome)
    return FileOutcome(ingest=outcome, stages=run_in_order(
        stores, [s.name for s in stages], outcome.media_id, outcome.media_type, reanalyse))


def _ingest(stores, case_id: str, source: SourceFile, job_id: uuid.UUID) -> StageOutcome:
    outcome = ingest_file(stores, stores.settings, case_id, source)
    if outcome.status in ("rejected", "duplicate"):
        jobs.finish_job(stores.metadata, job_id, outcome.status, media_id=outcome.media_id,
                        error=outcome.error)
    return outcome


def run_in_order(stores, stages: list[str], media_id: str, media_type: str | None,
                 reanalyse: bool) -> list[StageOutcome]:
    """Run ``stages`` (in the registry's order) on one item; stop after one that ends the file."""
    outcomes = []
    for stage in stages:
        try:
            outcome = run_media_stage(stores, stage, media_id, models=runtime.model,
                                      reanalyse=reanalyse)
        except Exception as exc:
            exc.aima_stage, exc.aima_media_id, exc.aima_media_type = stage, media_id, media_type
            raise
        outcomes.append(outcome)
        if outcome.ends_file:
            break
    return outcomes


@task(name="stage", task_run_name="{stage} {name}", **TASK_OPTIONS)
def media_stage(stage: str, media_id: str, name: str, reanalyse: bool = False) -> StageOutcome:
    """Run media stage ``stage`` on one item (``name`` is the file's name, shown in the UI)."""
    return run_media_stage(runtime.stores(), stage, media_id, models=runtime.model,
                           reanalyse=reanalyse)


@task(name="case-stage", task_run_name="{stage}", **TASK_OPTIONS)
def case_stage(stage: str, case_id: str) -> StageOutcome:
    """Run case stage ``stage`` over the whole case."""
    return run_case_stage(runtime.stores(), stage, case_id, models=runtime.model)
