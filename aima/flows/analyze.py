"""The ``analyze-media`` flow: every file of a case through the registry's stages, then the case
stages, then the report.

The flow only walks the stage registry (:mod:`aima.stages`) and dispatches tasks; what a stage
does is in its module, how it is run and stored is in :mod:`aima.pipeline.runner`.
"""

from __future__ import annotations

import io
import json
import queue
import re
import tempfile
import time
import uuid
from datetime import UTC, datetime
from collections import deque
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, pause_flow_run
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.concurrency.sync import concurrency
from prefect.deployments import run_deployment
from prefect.input import RunInput
from prefect.runtime import deployment, flow_run
from pydantic import Field

from aima.errors import ConfigError
from aima.pipeline import jobs
from aima.pipeline.ledger import StageLedger
from aima.pipeline.outcome import StageOutcome
from aima.pipeline.remote import RemoteJob, read_result, remote_job
from aima.pipeline.runner import complete_media_stage, prepare_media_stage
from aima.pipeline.sources import SourceFile, expand_sources
from aima.report import build_report, object_reader
from aima.report import versions as report_versions
from aima.report.exports import export
from aima.stages import registry
from aima.stages.base import MediaStage
from aima.stages.ingest import record_failure
from aima.storage import audit
from aima.storage.cases import get_or_create_case, set_case_context
from aima.storage.objects import case_prefix
from aima.tasks import runtime
from aima.tasks.stages import case_stage, file_stages, ingest, media_stage


@flow(name="analyze-media", flow_run_name="{case}", log_prints=True)
def analyze_media(case: str, sources: list[str], reanalyse: bool = False,
                  context: str | None = None,
                  model_profile: Literal["embedded", "gpu"] | None = None,
                  budget_usd: float | None = None, auto_approve_usd: float | None = None,
                  approve: bool = False) -> dict:
    """Analyse files, folders or an S3 prefix into one case and write the case's report.

    Stages already stored for the same content are reused, so a rerun (or a run after a
    cancelled or killed one) does only what is left. One bad file never stops the others: it
    ends ``rejected`` or ``failed`` with its reason.

    Args:
        case: Name of the case (created on first use); the run is named after it.
        sources: Files, folders (taken recursively) or s3://bucket/prefix, as the worker's machine
            sees them, e.g. ["/cases/harbour"] or ["s3://evidence/harbour/"].
        reanalyse: Compute every stage again even where a stored result exists.
        context: What the case is about, in the case owner's words; kept on the case and added to
            the vision and fusion prompts (stages whose prompt it changes are redone).
        model_profile: "embedded" (CPU models with bundled weights) or "gpu" (large hub models);
            empty: the AIMA_MODEL_PROFILE setting.
        budget_usd: Most this run may spend on GPU work (USD); an estimate above it fails the run
            before anything is dispatched. Empty: AIMA_BUDGET_USD.
        auto_approve_usd: GPU work estimated at or below this (USD) starts without asking; above
            it the run pauses until approved here in the UI. Empty: AIMA_AUTO_APPROVE_USD.
        approve: Approve the GPU work up front, whatever the estimate below the budget.
    """
    logger = get_run_logger()
    runtime.configure(model_profile=model_profile)
    stores = runtime.stores()
    try:
        settings = stores.settings
        _check_data_dir(settings)
        the_case = get_or_create_case(stores.metadata, case)
        case_id = str(the_case.id)
        if context is not None:
            set_case_context(stores.metadata, case_id, context)
            the_case.context = context
        files = expand_sources(sources, settings)
        audit.record(stores.metadata, actor=settings.actor, action="case.analyse", case_id=case_id,
                     details={"sources": sources, "files": len(files), "reanalyse": reanalyse,
                              "context": context, "model_profile": settings.model_profile,
                              "flow_run_id": str(flow_run.id) if flow_run.id else None})
        batch = jobs.start_batch(stores.metadata, the_case.id, sources,
                                 str(flow_run.id) if flow_run.id else None)
        job_ids = jobs.add_file_jobs(stores.metadata, the_case.id, batch, files)
        logger.info("case %s (%s): %d files to analyse", case, case_id, len(files))
        gpu = None
        if settings.gpu_pool:
            gpu = GpuDispatch(stores, case, case_id, logger, reanalyse=reanalyse,
                              budget_usd=settings.budget_usd if budget_usd is None else budget_usd,
                              auto_approve_usd=(settings.auto_approve_usd if auto_approve_usd
                                                is None else auto_approve_usd),
                              approve=approve)
        runs = [_FileRun(job_id, source) for source, job_id in zip(files, job_ids)]
        _run_files(runs, stores, case, case_id, logger, reanalyse=reanalyse, gpu=gpu)

        case_outcomes = _case_stages(case_id, stores, logger)
        report = build_report(stores, the_case)
        rows = report["media"]
        failures = sum(row["status"] in ("failed", "rejected") for row in rows)
        jobs.finish_job(stores.metadata, batch, "done" if not failures else "done_with_errors")
        exports = _write_exports(stores, case_id, report, logger)
        report_key = exports["json"]
        _publish(case, report, exports)
        logger.info("%s", final_line(case, case_id, report, exports))
        speakers = case_outcomes.get("link-speakers")
        return {"case_id": case_id, "case": case, "report_key": report_key,
                "report_version": report["case"]["report_version"], "exports": exports,
                "media": rows,
                "summary": report["summary"],
                "speakers": speakers.data.get("speakers") if speakers else None,
                "case_stages": {name: o.model_dump() if o else None
                                for name, o in case_outcomes.items()}}
    finally:
        runtime.close()


def _check_data_dir(settings) -> None:
    """A deployed run never keeps its embedded stores at a relative path: a process worker runs
    each flow run in a temporary directory that it deletes afterwards, data included."""
    relative = settings.relative_store_paths()
    if deployment.id and relative:
        raise ConfigError(relative[0], (
            "is a relative path: in a deployment run it would be resolved inside the worker's "
            "temporary directory and deleted with it. Use an absolute path (or leave "
            "AIMA_DATA_DIR unset: ~/.local/share/aima) in the worker's environment or the "
            "deployment's job variables"))


@dataclass
class _FileRun:
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


def _run_files(runs: list[_FileRun], stores, case: str, case_id: str, logger, *,
               reanalyse: bool, gpu: GpuDispatch | None) -> None:
    """Every file through ingest and then its stages, each stage as soon as the stages it needs
    are done (a slow video does not hold back the others, and a file's independent stages run
    side by side), at most ``AIMA_CPU_CONCURRENCY`` tasks at a time.

    With a GPU pool, GPU stages are not run here: they gather until nothing else can run, then
    go out together as one ``gpu-analysis`` run (one machine start and model load per wave).
    """
    settings = stores.settings
    progress = create_progress_artifact(
        0.0, key=_artifact_key("progress", case), description=f"Files analysed in case {case}")
    finished_files, shown_at = 0, time.monotonic()

    def file_ended() -> None:
        # An update is an API call made on this dispatch thread (~75 ms on a busy server): at
        # most one per PROGRESS_EVERY_S, and the last one.
        nonlocal finished_files, shown_at
        finished_files += 1
        now = time.monotonic()
        if now - shown_at >= PROGRESS_EVERY_S or finished_files == len(runs):
            update_progress_artifact(progress, 100.0 * finished_files / max(len(runs), 1))
            shown_at = now

    todo: deque[tuple[_FileRun, MediaStage | None]] = deque((run, None) for run in runs)
    gpu_wave: list[tuple[_FileRun, MediaStage]] = []
    done_futures: queue.SimpleQueue = queue.SimpleQueue()
    in_flight: dict = {}

    def submit(run: _FileRun, stage: MediaStage | list[MediaStage] | None) -> None:
        if stage is None:
            future = ingest.submit(case_id, run.source, run.job_id)
        elif isinstance(stage, list):
            future = file_stages.submit([s.name for s in stage], run.media_id, run.source.name,
                                        reanalyse)
        else:
            future = media_stage.submit(stage.name, run.media_id, run.source.name, reanalyse)
        in_flight[future] = (run, stage)
        # One callback per future; as_completed over all pending futures after each completion
        # would cost O(files^2) callbacks.
        future.add_done_callback(done_futures.put)

    def settle(run: _FileRun, stage: MediaStage | None, outcome: StageOutcome) -> None:
        """Take one outcome: end the file, or queue its stages that are now ready."""
        if stage is None:
            run.media_id, run.media_type = outcome.media_id, outcome.media_type
            run.waiting = registry.media_stages(outcome.media_type or "")
            if (gpu is None and outcome.media_type in ONE_TASK_PER_FILE and run.waiting
                    and not outcome.ends_file):
                # A picture's stages take milliseconds each: one task run for all of them
                # costs Prefect a fifth of what one per stage does.
                run.running = {s.name for s in run.waiting}
                todo.append((run, run.waiting))
                run.waiting = []
                return
        else:
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

    while todo or in_flight or gpu_wave:
        while todo and len(in_flight) < settings.cpu_concurrency:
            submit(*todo.popleft())
        if not in_flight:
            wave, gpu_wave[:] = list(gpu_wave), []
            for run, stage, outcome in gpu.run_wave(wave):
                _settle_failure(stores, case_id, run, stage, outcome)
                settle(run, stage, outcome)
            continue
        future = done_futures.get()
        run, stage = in_flight.pop(future)
        if isinstance(stage, list):
            for one, outcome in _file_outcomes(future, run, stage, stores, case_id):
                settle(run, one, outcome)
        else:
            settle(run, stage, _outcome(future, run, stage, stores, case_id))


#: Media types whose stages run as one task run per file when no GPU pool is set (the embedded
#: default): pictures, whose stages are short; a video's or a recording's stages stay task runs
#: of their own, each visible in the UI while it works.
ONE_TASK_PER_FILE = ("image",)

#: Seconds between two updates of the progress artifact.
PROGRESS_EVERY_S = 5.0


def _file_outcomes(future, run: _FileRun, stages: list[MediaStage], stores, case_id: str):
    """(stage, outcome) for each stage of a one-task file: those it ran, then the rest as
    skipped when a stage failed; a task that raised fails the file at the stage that raised."""
    try:
        outcomes = future.result()
    except Exception as exc:  # noqa: BLE001 - recorded, the batch goes on
        failed_at = getattr(exc, "aima_stage", None) or stages[0].name
        outcomes = []
        for stage in stages:
            if stage.name == failed_at:
                break
            outcomes.append(StageOutcome(stage=stage.name, status="done", media_id=run.media_id,
                                         detail="done before a later stage failed"))
        bad = _ExceptionFuture(exc)
        outcomes.append(_outcome(bad, run, registry.get(failed_at), stores, case_id))
    else:
        for outcome in outcomes:
            if outcome.status == "failed":
                _settle_failure(stores, case_id, run, registry.get(outcome.stage), outcome)
    by_name = {stage.name: stage for stage in stages}
    for outcome in outcomes:
        yield by_name[outcome.stage], outcome
    for stage in stages[len(outcomes):]:
        yield stage, StageOutcome(stage=stage.name, status="skipped", media_id=run.media_id,
                                  detail="an earlier stage failed")


class _ExceptionFuture:
    """A finished future that raised ``exc`` (for :func:`_outcome`)."""

    def __init__(self, exc: BaseException):
        self.exc = exc

    def result(self):
        raise self.exc


def _settle_failure(stores, case_id: str, run: _FileRun, stage: MediaStage,
                    outcome: StageOutcome) -> None:
    if outcome.status == "failed":
        jobs.finish_job(stores.metadata, run.job_id, "failed", media_id=run.media_id,
                        error=outcome.error)


class GpuDispatch:
    """The GPU stages of a case, sent to the ``gpu-analysis`` deployment in waves.

    Before the first wave the GPU work is estimated and checked against the budget, then
    approved (at once, up front with ``approve``, or by a person in the Prefect UI while the run
    waits). Each wave's cost is recorded, estimated and actual, for the report.
    """

    def __init__(self, stores, case: str, case_id: str, logger, *, reanalyse: bool,
                 budget_usd: float, auto_approve_usd: float, approve: bool):
        self.stores, self.case, self.case_id, self.logger = stores, case, case_id, logger
        self.settings = stores.settings
        self.reanalyse = reanalyse
        self.budget_usd, self.auto_approve_usd, self.approve = budget_usd, auto_approve_usd, approve
        self.approved: bool | None = None  # decided at the first wave
        self.rejection = ""
        self.spent_usd = 0.0
        self.pool_type = "process"
        self._check_server()

    def _check_server(self) -> None:
        """The deployment, its pool and the concurrency limit exist: a run finds out now, not
        after its CPU stages, and a misspelled name is an error, never an unlimited run."""
        from prefect.client.orchestration import get_client
        from prefect.exceptions import ObjectNotFound

        settings = self.settings
        with get_client(sync_client=True) as client:
            try:
                found = client.read_deployment_by_name(settings.gpu_deployment)
            except ObjectNotFound:
                raise ConfigError("AIMA_GPU_DEPLOYMENT", (
                    f"no deployment {settings.gpu_deployment!r} on the Prefect server: register "
                    "prefect.yaml's deployments (prefect --no-prompt deploy --all, or aima serve)"
                )) from None
            if found.work_pool_name != settings.gpu_pool:
                raise ConfigError("AIMA_GPU_POOL", (
                    f"is {settings.gpu_pool!r}, but deployment {settings.gpu_deployment!r} runs on "
                    f"pool {found.work_pool_name!r}: name that pool, or deploy it to this one"))
            self.pool_type = client.read_work_pool(found.work_pool_name).type
            if settings.gpu_concurrency_limit:
                try:
                    client.read_global_concurrency_limit_by_name(settings.gpu_concurrency_limit)
                except ObjectNotFound:
                    raise ConfigError("AIMA_GPU_CONCURRENCY_LIMIT", (
                        f"no global concurrency limit named {settings.gpu_concurrency_limit!r}: "
                        "create it (prefect global-concurrency-limit create NAME --limit N, or "
                        "aima serve) or unset the setting")) from None

    def run_wave(self, wave: list[tuple[_FileRun, MediaStage]]):
        """Compute and record one wave; yields (file run, stage, outcome) for each entry."""
        prepared = []
        for run, stage in wave:
            try:
                result = prepare_media_stage(self.stores, stage, run.media_id,
                                             models=runtime.model, reanalyse=self.reanalyse)
            except Exception as exc:  # noqa: BLE001 - this file fails alone
                yield run, stage, self._failed(run, stage, exc)
                continue
            if isinstance(result, StageOutcome):
                yield run, stage, result
            else:
                prepared.append((run, stage, result))
        if not prepared:
            return
        if not self._approved(prepared, wave):
            for run, stage, _ in prepared:
                StageLedger(self.stores.metadata).skip(
                    uuid.UUID(self.case_id), uuid.UUID(run.media_id), stage.name, self.rejection)
                yield run, stage, StageOutcome(stage=stage.name, status="skipped",
                                               media_id=run.media_id, detail=self.rejection)
            return
        jobs_and_keys = [remote_job(p.ctx, stage, p.item, p.plan,
                                    expires_s=self.settings.presigned_url_ttl_s)
                         for _, stage, p in prepared]
        seconds, child = self._dispatch([job for job, _ in jobs_and_keys],
                                        [run.source.name for run, _, _ in prepared])
        self._record_cost(seconds, child, prepared)
        for (run, stage, p), (job, key) in zip(prepared, jobs_and_keys):
            try:
                outcome = complete_media_stage(p, _Result(key))
            except Exception as exc:  # noqa: BLE001 - this file fails alone
                outcome = self._failed(run, stage, exc)
            yield run, stage, outcome

    def _failed(self, run: _FileRun, stage: MediaStage, exc: Exception) -> StageOutcome:
        code, reason = f"{stage.name}_error", f"{stage.name} failed: {_describe(exc)}"
        jobs.set_media_status(self.stores.metadata, run.media_id, "failed", code, reason)
        return StageOutcome(stage=stage.name, status="failed", media_id=run.media_id,
                            error_code=code, error=reason)

    def _approved(self, prepared, wave) -> bool:
        """Estimate, check the budget, and ask when the estimate is above the auto-approve
        threshold; the answer of the first wave holds for the run's later waves."""
        from aima.pipeline import cost

        per_item: dict[str, list[str]] = {}
        for run, stage, _ in prepared:
            per_item.setdefault(run.media_id, []).append(stage.name)
        if self.approved is None:  # the first wave: the later GPU stages of these files too
            for run, _, _ in prepared:
                later = [s.name for s in run.waiting if s.device == "gpu"]
                per_item[run.media_id] = sorted(set(per_item[run.media_id]) | set(later))
        first = self.approved is None
        later_waves = first and any(s.device == "gpu" for run, _, _ in prepared
                                    for s in run.waiting)
        estimate = cost.estimate(self.stores, per_item, self.settings,
                                 budget_usd=self.budget_usd, gpu_runs=2 if later_waves else 1)
        if self.spent_usd + estimate.usd > self.budget_usd:
            # the budget left for this wave: nothing of it is dispatched
            raise cost.BudgetExceeded(estimate, self.budget_usd - self.spent_usd)
        self.estimate = estimate
        if self.approved is not None:
            return self.approved
        decision = cost.decision(estimate, self.budget_usd, self.auto_approve_usd)
        if decision == "auto" or self.approve:
            self.approved = True
            self.logger.info("GPU work of case %s approved: estimate %.2f USD (budget %.2f)",
                             self.case, estimate.usd, self.budget_usd)
            return True
        self.logger.warning(
            "GPU work of case %s is estimated at %.2f USD, above the auto-approve threshold "
            "(%.2f USD): waiting for approval in the Prefect UI (Resume on the run's page)",
            self.case, estimate.usd, self.auto_approve_usd)
        answer = pause_flow_run(
            wait_for_input=GpuApproval.with_initial_data(
                description=estimate.markdown(), approve=False),
            timeout=int(self.settings.approval_timeout_s))
        self.approved = bool(answer.approve)
        who = answer.reviewer or "the reviewer"
        audit.record(self.stores.metadata, actor=answer.reviewer or self.settings.actor,
                     action="case.gpu.approved" if self.approved else "case.gpu.rejected",
                     case_id=self.case_id,
                     details={"estimate_usd": round(estimate.usd, 4), "note": answer.note,
                              "budget_usd": self.budget_usd})
        if not self.approved:
            self.rejection = f"GPU work not approved by {who}" + (
                f": {answer.note}" if answer.note else "")
            self.logger.warning("case %s: %s; the GPU stages are skipped", self.case,
                                self.rejection)
        return self.approved

    def _dispatch(self, jobs_: list[RemoteJob], names: list[str]) -> tuple[float, Any]:
        """One ``gpu-analysis`` run with ``jobs_``; its wall time in seconds and the run.

        On a rented pool (runpod, vastai) the run's budget is what is left of this run's: the
        worker terminates the machine when its cost reaches it.
        """
        settings = self.settings
        self.logger.info("case %s: %d GPU jobs to pool %s (%s)", self.case, len(jobs_),
                         settings.gpu_pool, settings.gpu_deployment)
        slot = (concurrency(settings.gpu_concurrency_limit, occupy=1, strict=True)
                if settings.gpu_concurrency_limit else nullcontext())
        with slot:
            started = time.monotonic()
            child = run_deployment(
                name=settings.gpu_deployment, timeout=None, poll_interval=2,
                parameters={"case": self.case, "jobs": [job.model_dump() for job in jobs_],
                            "names": names},
                flow_run_name=f"gpu {self.case}", tags=["aima", "gpu"],
                job_variables=({"budget_usd": round(self.budget_usd - self.spent_usd, 4)}
                               if self.pool_type in RENTED_POOL_TYPES else None))
            seconds = time.monotonic() - started
        if not child.state or not child.state.is_completed():
            state = child.state.name if child.state else "unknown"
            raise GpuRunFailed(f"the gpu-analysis run {child.name} ({child.id}) ended {state}: "
                               f"{child.state.message if child.state else ''}")
        return seconds, child

    def _record_cost(self, seconds: float, child, prepared) -> None:
        """The wave's estimate and actual cost: what the provider billed for the run's machines
        where it rented any, else its wall time times the price per GPU-hour."""
        from aima.pipeline import cost
        from aima.workers.cost import actual_cost_usd

        billed = None
        if self.pool_type in RENTED_POOL_TYPES:
            # the worker records the bill just after it has terminated the machine
            deadline = time.monotonic() + 30
            while (billed := actual_cost_usd(child.id)) is None and time.monotonic() < deadline:
                time.sleep(1)
        actual = billed if billed is not None else cost.actual_cost(
            seconds, self.estimate.price_per_hour)
        self.spent_usd += actual
        key = f"{flow_run.id or 'local'}-{uuid.uuid4().hex[:8]}"
        self.stores.documents.put(self.case_id, "gpu-cost", key, {
            "flow_run_id": str(flow_run.id) if flow_run.id else None,
            "pool": self.settings.gpu_pool, "jobs": len(prepared),
            "stages": sorted({stage.name for _, stage, _ in prepared}),
            "estimate": self.estimate.model_dump(mode="json"),
            "estimated_usd": round(self.estimate.usd, 4),
            "gpu_seconds": round(seconds, 1), "actual_usd": round(actual, 4),
            "actual_source": "provider" if billed is not None else "wall time",
            "price_per_hour": self.estimate.price_per_hour,
            "recorded_at": datetime.now(UTC).isoformat(),
        })


#: Work pool types whose machines are rented and billed (aima/workers/).
RENTED_POOL_TYPES = ("runpod", "vastai")


class GpuRunFailed(RuntimeError):
    """The gpu-analysis run did not complete (crashed, cancelled, failed as a whole)."""


class GpuApproval(RunInput):
    """A person's answer to a GPU cost estimate (the form on the paused run's page)."""

    approve: bool = Field(default=False, description="Start the GPU work as estimated.")
    reviewer: str | None = Field(default=None, description="Who decides (for the audit log).")
    note: str | None = Field(default=None, description="Why, for the audit log (optional).")


class _Result:
    """The executor of a stage whose compute already ran in a gpu-analysis run: its result is
    read back from the object store."""

    def __init__(self, result_key: str):
        self.result_key = result_key

    def compute(self, ctx, stage, item, plan, model):
        return read_result(ctx.stores.objects, stage.name, str(item.id), self.result_key)


@analyze_media.on_cancellation
def cancelled(flow, flow_run, state) -> None:  # noqa: F811 - Prefect passes these by name
    """``on_cancellation`` hook: the case keeps everything finished and is marked cancelled with
    the share done; the run's gpu-analysis runs are cancelled too. A later run resumes.

    Prefect runs it in the flow run's process, or in its worker's when the process is gone.
    """
    run = flow_run
    from aima.settings import load_settings
    from aima.storage import open_stores

    with open_stores(load_settings(**runtime.overrides())) as stores:
        share = jobs.cancel_batch(stores.metadata, str(run.id))
        if share is not None:
            audit.record(stores.metadata, actor=stores.settings.actor, action="case.cancelled",
                         case_id=str(share.case_id),
                         details={"flow_run_id": str(run.id), "files_done": share.done,
                                  "files": share.total})
    cancel_children(run.id)


def cancel_children(parent_id) -> int:
    """Cancel every unfinished flow run started from ``parent_id`` (its gpu-analysis runs)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId
    from prefect.states import Cancelled, Cancelling

    message = "its analyze-media run was cancelled"
    cancelled_runs = 0
    with get_client(sync_client=True) as client:
        children = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent_id])))
        for child in children:
            if not child.state or child.state.is_final():
                continue
            # A running one is stopped by its worker (which kills or terminates the machine and
            # marks it Cancelled); one not yet started has nothing to stop.
            state = (Cancelling(message=message) if child.state.is_running()
                     or child.state.is_paused() else Cancelled(message=message))
            client.set_flow_run_state(child.id, state, force=True)
            cancelled_runs += 1
    return cancelled_runs


def _outcome(future, run: _FileRun, stage: MediaStage | None, stores,
             case_id: str) -> StageOutcome:
    """A task's outcome; a task that raised becomes a ``failed`` outcome of its file.

    A task that failed for good (a non-transient error, or retries spent) fails its own file only,
    and the file keeps a media item with the reason, whatever the exception: no file given ever
    vanishes from the report. A stage that found bad media has recorded its reason itself.
    """
    try:
        outcome = future.result()
    except Exception as exc:  # noqa: BLE001 - recorded, the batch goes on
        name = stage.name if stage else "ingest"
        code, reason = f"{name}_error", f"{name} failed: {_describe(exc)}"
        if run.media_id is None:
            outcome = record_failure(stores, case_id, run.source, code, reason)
            run.media_id = outcome.media_id
        else:
            jobs.set_media_status(stores.metadata, run.media_id, "failed", code, reason)
            outcome = StageOutcome(stage=name, status="failed", media_id=run.media_id,
                                   error_code=code, error=reason)
    if outcome.status == "failed":
        jobs.finish_job(stores.metadata, run.job_id, "failed", media_id=run.media_id,
                        error=outcome.error)
    return outcome


def final_line(case: str, case_id: str, report: dict, exports: dict[str, str]) -> str:
    """The run's last log line, for people: files by status, persons, where the report is."""
    summary = report["summary"]
    statuses = ", ".join(f"{n} {status}" for status, n in summary["by_status"].items())
    persons = report.get("persons", [])
    speakers = sum("voice" in p.get("modalities", []) for p in persons)
    faces = sum("face" in p.get("modalities", []) for p in persons)
    return (f"case {case} ({case_id}): {summary['files']} files ({statuses}); "
            f"{speakers} speakers, {faces} persons by face; report version "
            f"{exports.get('version')} at {exports.get('json')}"
            + (f" and {exports['html']}" if exports.get("html") else ""))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _case_stages(case_id: str, stores, logger) -> dict[str, StageOutcome | None]:
    """The registry's case stages, each when some file has output of a stage it needs (or a
    case stage it needs has run).

    A failure here is logged and leaves the files' results as they are (outcome ``None``).
    """
    outcomes: dict[str, StageOutcome | None] = {}
    for stage in registry.case_stages():
        ran = {name for name, outcome in outcomes.items() if outcome is not None}
        # A need is met by a file stage's documents, or by a case stage that ran just now.
        if not any(need in ran or stores.documents.query(case_id, stage=need)
                   for need in stage.needs):
            continue
        try:
            outcomes[stage.name] = case_stage.submit(stage.name, case_id).result()
        except Exception as exc:  # noqa: BLE001 - the per-file results stay valid
            logger.error("case stage %s failed: %s", stage.name, exc)
            outcomes[stage.name] = None
    return outcomes


def _write_exports(stores, case_id: str, report: dict, logger) -> dict[str, str]:
    """Save the report as the case's next version, and the latest JSON and HTML beside it.

    The HTML export is a convenience: if it fails the JSON report still stands, and the failure
    is logged.
    """
    version = report_versions.save(stores, case_id, report)
    exports = {"version": str(version),
               "json_version": report_versions.object_key(case_id, version)}
    prefix = f"{case_prefix(case_id)}exports/"
    data = json.dumps(report, indent=2, ensure_ascii=False).encode()
    stores.objects.put_stream(prefix + "report.json", io.BytesIO(data), length=len(data),
                              content_type="application/json")
    exports["json"] = prefix + "report.json"
    try:
        with tempfile.TemporaryDirectory(prefix="aima-export-") as scratch:
            path = Path(scratch) / "report.html"
            export(report, "html", path, images=object_reader(stores))
            stores.objects.put_file(prefix + "report.html", path, content_type="text/html")
        exports["html"] = prefix + "report.html"
    except Exception as exc:  # noqa: BLE001 - the JSON report stands without its HTML view
        logger.warning("case %s: the HTML export failed: %s", case_id, _describe(exc))
    return exports


def _publish(case: str, report: dict, exports: dict[str, str]) -> None:
    """Artifacts on the flow run page: the summary and findings (markdown), and tables of the
    files, the persons and the timeline."""
    rows = report["media"]
    table = [{k: row[k] for k in ("name", "type", "status", "error_code", "error", "notes", "id")}
             for row in rows]
    create_table_artifact(table, key=_artifact_key("files", case),
                          description=f"Every file of case {case} and what happened to it")
    persons = [{"person": p.get("key") or p.get("label"), "label": p.get("label"),
                "modalities": ", ".join(p.get("modalities", [])),
                "appearances": len(p.get("appearances", [])),
                "files": len({a.get("media_id") for a in p.get("appearances", [])})}
               for p in report.get("persons", [])]
    if persons:
        create_table_artifact(persons, key=_artifact_key("persons", case),
                              description=f"Persons of case {case} (clustered within the case, "
                              "never identified)")
    timeline = [{"at_s": round(e["at"], 2), "file": e.get("name"), "kind": e.get("kind"),
                 "description": (e.get("description") or "")[:200],
                 "evidence": " ".join(e.get("evidence", [])[:5])}
                for e in report.get("timeline", [])[:ARTIFACT_TIMELINE_ROWS]]
    if timeline:
        create_table_artifact(timeline, key=_artifact_key("timeline", case),
                              description=f"Timeline of case {case} (first "
                              f"{ARTIFACT_TIMELINE_ROWS} events at most; the report has all)")
    create_markdown_artifact(summary_markdown(case, report, exports),
                             key=_artifact_key("summary", case),
                             description=f"Analysis summary of case {case}")


#: A table artifact is for reading on the run page; the report holds the whole timeline.
ARTIFACT_TIMELINE_ROWS = 500


def _cell(text) -> str:
    """Text safe inside a markdown table cell."""
    return str(text or "").replace("|", "\\|").replace("\n", " ")


def summary_markdown(case: str, report: dict, exports: dict[str, str]) -> str:
    """The run's markdown artifact: summary, narrative, findings, files and where the exports are."""
    summary = report["summary"]
    lines = [f"# Case {case}", "", f"{summary['files']} files: "
             + ", ".join(f"{n} {status}" for status, n in summary["by_status"].items()), ""]
    narrative = report.get("narrative") or {}
    if narrative.get("status") == "written":
        lines += ["## Summary", ""]
        if not narrative.get("summary_grounded", True):
            lines += ["**Unchecked draft:** this summary cites no evidence that exists in the "
                      "case; read it as the model's words, not as a finding.", ""]
        lines += [narrative.get("summary") or "", ""]
    else:
        lines += [f"No narrative was written: {narrative.get('reason') or 'no LLM ran'}.", ""]
    if report.get("requires_human_review"):
        lines += ["## Requires human review", ""]
        lines += [f"- {_cell(reason)}" for reason in report.get("review_reasons", [])]
        lines.append("")
    if summary.get("longest_unseen_s"):
        lines += [f"Longest span no stage looked at: {summary['longest_unseen_s']:.1f} s "
                  "(see the report's coverage).", ""]
    lines += ["## Files", "", "| file | type | status | reason |", "|---|---|---|---|"]
    for row in report["media"]:
        lines.append(f"| {_cell(row['name'])} | {row['type'] or ''} | {row['status']} | "
                     f"{_cell(row['error'] or row['notes'])} |")
    lines += ["", "## Exports", "", f"Report version {exports.get('version')}:", ""]
    lines += [f"- {kind}: `{key}`" for kind, key in exports.items() if kind != "version"]
    return "\n".join(lines)


def _artifact_key(kind: str, case: str) -> str:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    slug = re.sub(r"[^a-z0-9]+", "-", case.lower()).strip("-") or "case"
    return f"aima-{kind}-{slug}"[:100]
