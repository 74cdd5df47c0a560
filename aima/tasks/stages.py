"""The Prefect tasks of the pipeline: ingest, one generic media-stage task and one case-stage task.

Thin wrappers: the work is in :mod:`aima.stages` and :mod:`aima.pipeline.runner`, which tests and
benchmarks call without Prefect.
"""

from __future__ import annotations

import uuid

from prefect import task

from aima.pipeline import jobs
from aima.pipeline.outcome import StageOutcome
from aima.pipeline.runner import run_case_stage, run_media_stage
from aima.pipeline.sources import SourceFile
from aima.stages.ingest import ingest_file
from aima.tasks import runtime
from aima.tasks.options import TASK_OPTIONS


@task(name="ingest", task_run_name="ingest {source.name}", **TASK_OPTIONS)
def ingest(case_id: str, source: SourceFile, job_id: uuid.UUID) -> StageOutcome:
    stores = runtime.stores()
    outcome = ingest_file(stores, stores.settings, case_id, source)
    if outcome.status in ("rejected", "duplicate"):
        jobs.finish_job(stores.metadata, job_id, outcome.status, media_id=outcome.media_id,
                        error=outcome.error)
    return outcome


@task(name="stage", task_run_name="{stage} {name}", **TASK_OPTIONS)
def media_stage(stage: str, media_id: str, name: str, reanalyse: bool = False) -> StageOutcome:
    """Run media stage ``stage`` on one item (``name`` is the file's name, shown in the UI)."""
    return run_media_stage(runtime.stores(), stage, media_id, models=runtime.model,
                           reanalyse=reanalyse)


@task(name="file-stages", task_run_name="analyse {name}", **TASK_OPTIONS)
def file_stages(stages: list[str], media_id: str, name: str,
                reanalyse: bool = False) -> list[StageOutcome]:
    """Run ``stages`` on one item in order, in one task run (a picture's stages are short).

    Stops after a stage that fails the file. A stage that raises is named on the exception
    (``aima_stage``); a retry runs the task again and the ledger reuses what is stored.
    """
    outcomes = []
    for stage in stages:
        try:
            outcome = run_media_stage(runtime.stores(), stage, media_id, models=runtime.model,
                                      reanalyse=reanalyse)
        except Exception as exc:
            exc.aima_stage = stage
            raise
        outcomes.append(outcome)
        if outcome.ends_file:
            break
    return outcomes


@task(name="case-stage", task_run_name="{stage}", **TASK_OPTIONS)
def case_stage(stage: str, case_id: str) -> StageOutcome:
    """Run case stage ``stage`` over the whole case."""
    return run_case_stage(runtime.stores(), stage, case_id, models=runtime.model)
