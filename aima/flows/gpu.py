"""The ``gpu-analysis`` flow: the GPU stages' compute halves of one case, on a GPU work pool.

``analyze-media`` sends it here (``run_deployment``) when ``AIMA_GPU_POOL`` is set: a run per
wave of media stages, and one for the case narrative (``fuse``) after the files. A run gets
one :class:`~aima.pipeline.remote.RemoteJob` per stage and file (or one case job), each with
presigned URLs for its inputs, outputs and result, and nothing else: no database, document or
vector store credentials reach the GPU machine. It computes the jobs one after another on its one
GPU, each model loaded once, and writes every result where the job says; the parent flow run
reads the results back and records them. A job that fails for good writes its reason instead, so
that one broken file fails alone.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task

from aima.pipeline.remote import RemoteJob, load_job_model, run_job, write_failure
from aima.tasks.options import TASK_OPTIONS

_models: dict[tuple[str, str], Any] = {}  # (kind, profile) -> model, loaded once per process


@task(name="gpu-job", task_run_name="{job.stage} {name}", **TASK_OPTIONS)
def compute_job(job: RemoteJob, name: str) -> None:
    """Compute one job (``name`` is the file's name, shown in the UI)."""
    model = None
    if job.model_kind:
        key = (job.model_kind, job.model_profile)
        if key not in _models:
            _models[key] = load_job_model(*key)
        model = _models[key]
    run_job(job, model)


@flow(name="gpu-analysis", flow_run_name="gpu {case}", log_prints=True)
def gpu_analysis(case: str, jobs: list[RemoteJob], names: list[str] | None = None) -> dict:
    """Compute the GPU stages of one case's files, given presigned URLs only.

    Args:
        case: The case the jobs belong to (names the run; nothing is looked up by it).
        jobs: One job per stage and file (or one for the case), made by analyze-media: stage,
            model kind and profile, parameters, and presigned URLs for the inputs, the outputs
            and the result.
        names: The files' names (or the case's), one per job, shown as the task runs' names.
    """
    logger = get_run_logger()
    names = names or [job.subject for job in jobs]
    failed = 0
    for job, name in zip(jobs, names):
        try:
            compute_job(job, name)
        except Exception as exc:  # noqa: BLE001 - this file fails alone, the others go on
            failed += 1
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
            logger.warning("%s %s failed: %s", job.stage, name, reason)
            write_failure(job, reason)
    logger.info("case %s: %d GPU jobs computed, %d failed", case, len(jobs) - failed, failed)
    return {"jobs": len(jobs), "failed": failed}
