"""The ``analyze-media`` flow: every file of a case through the registry's stages, then the case
stages, then the report.

The flow only walks the stage registry (:mod:`aima.stages`) and dispatches tasks; what a stage
does is in its module, how it is run and stored is in :mod:`aima.pipeline.runner`.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
import time
import uuid
from datetime import UTC, datetime
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Literal, NamedTuple

from prefect import flow, get_run_logger, pause_flow_run
from prefect.context import FlowRunContext
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
from aima.pipeline.remote import RemoteJob, case_job, read_result, remote_job
from aima.pipeline.runner import (
    SplitCaseStage, complete_case_stage, complete_media_stage, prepare_case_stage,
    prepare_media_stage,
)
from aima.pipeline.sources import expand_sources
from aima.report import build_report, object_reader
from aima.report import versions as report_versions
from aima.report.exports import export
from aima.stages import registry
from aima.stages.base import CaseStage, MediaStage
from aima.storage import audit
from aima.storage.cases import get_or_create_case, set_case_context
from aima.storage.models import Case
from aima.storage.objects import case_prefix
from aima.tasks import runtime
from aima.gateway import actor_label
from aima.flows.scheduling import FileRun, describe, failed, run_files
from aima.tasks.stages import analyse_file, case_stage, ingest, media_stage


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
    # Started from the UI through AIMA's gateway: the person logged in there is the actor.
    runtime.configure(model_profile=model_profile, actor=_ui_actor(FlowRunContext.get()))
    stores = runtime.stores()
    try:
        settings = stores.settings
        _check_data_dir(settings)
        the_case, batch, runs = open_batch(
            stores, case, sources, reanalyse=reanalyse, context=context,
            flow_run_id=str(flow_run.id) if flow_run.id else None)
        case_id = str(the_case.id)
        logger.info("case %s (%s): %d files to analyse", case, case_id, len(runs))
        gpu = None
        if settings.gpu_pool:
            gpu = GpuDispatch(stores, case, case_id, logger, reanalyse=reanalyse,
                              budget_usd=settings.budget_usd if budget_usd is None else budget_usd,
                              auto_approve_usd=(settings.auto_approve_usd if auto_approve_usd
                                                is None else auto_approve_usd),
                              approve=approve)
        _run_files(runs, stores, case, case_id, logger, reanalyse=reanalyse, gpu=gpu)

        case_outcomes = _case_stages(case_id, stores, logger, gpu)
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


class OpenedBatch(NamedTuple):
    """What :func:`open_batch` made: the case, its batch job and one :class:`FileRun` a file."""

    case: Case
    batch: uuid.UUID
    runs: list[FileRun]


def open_batch(stores, case: str, sources: list[str], *, reanalyse: bool = False,
               context: str | None = None, flow_run_id: str | None = None) -> OpenedBatch:
    """The opening of an analysis: the case (created on first use; ``context`` kept on it when
    given), the files of ``sources``, the ``case.analyse`` audit event, the batch job and a
    pending job a file.

    The flow opens every run with it, and so do the benchmarks that time the flow's work without
    Prefect (bench/bench_orchestration.py, bench/bench_ingest.py).
    """
    settings = stores.settings
    the_case = get_or_create_case(stores.metadata, case)
    case_id = str(the_case.id)
    if context is not None:
        set_case_context(stores.metadata, case_id, context)
        the_case.context = context
    files = expand_sources(sources, settings)
    audit.record(stores.metadata, actor=settings.actor, action="case.analyse", case_id=case_id,
                 details={"sources": sources, "files": len(files), "reanalyse": reanalyse,
                          "context": context, "model_profile": settings.model_profile,
                          "flow_run_id": flow_run_id})
    batch = jobs.start_batch(stores.metadata, the_case.id, sources, flow_run_id)
    job_ids = jobs.add_file_jobs(stores.metadata, the_case.id, batch, files)
    return OpenedBatch(the_case, batch,
                       [FileRun(job_id, source) for source, job_id in zip(files, job_ids)])


def _ui_actor(context) -> str | None:
    """The user the gateway (:mod:`aima.gateway`) stamped on this flow run; None when the run was
    not started by a person through it (the CLI, a schedule, the API port): then the
    ``AIMA_ACTOR`` of this process is the actor."""
    return actor_label(context.flow_run.labels if context and context.flow_run else None)


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


def _run_files(runs: list[FileRun], stores, case: str, case_id: str, logger, *,
               reanalyse: bool, gpu: GpuDispatch | None) -> None:
    """The files through their stages as Prefect tasks (:mod:`aima.flows.scheduling` says in
    which order), with a progress artifact on the run's page."""
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

    run_files(runs, PrefectTasks(case_id, reanalyse, settings.one_task_max_s), stores, case_id,
              logger, concurrency=settings.cpu_concurrency, gpu=gpu, file_ended=file_ended)


class PrefectTasks:
    """The scheduler's steps as Prefect task runs (see :class:`aima.flows.scheduling.Tasks`)."""

    def __init__(self, case_id: str, reanalyse: bool, one_task_max_s: float):
        self.case_id, self.reanalyse, self.one_task_max_s = case_id, reanalyse, one_task_max_s

    def analyse(self, run: FileRun, whole_file: bool):
        if not whole_file:
            return ingest.submit(self.case_id, run.source, run.job_id)
        return analyse_file.submit(self.case_id, run.source, run.job_id, self.reanalyse,
                                   self.one_task_max_s)

    def stage(self, run: FileRun, stage: MediaStage):
        return media_stage.submit(stage.name, run.media_id, run.source.name, self.reanalyse)


#: Seconds between two updates of the progress artifact.
PROGRESS_EVERY_S = 5.0


class GpuDispatch:
    """The GPU stages of a case, sent to the ``gpu-analysis`` deployment in waves: the media
    stages' while the files go through, then the narrative (``fuse``) after the case stages
    that it needs, when a language model is configured (without one it is not written, inline).

    Before the first wave the GPU work is estimated, the narrative included, and checked against
    the budget, then approved (at once, up front with ``approve``, or by a person in the Prefect
    UI while the run waits). Each wave is checked against what is left of the budget, and its
    cost recorded, estimated and actual, for the report.
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

    def run_wave(self, wave: list[tuple[FileRun, MediaStage]]):
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
        if not self._approved(prepared):
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
        self._record_cost(seconds, child, [stage.name for _, stage, _ in prepared])
        for (run, stage, p), (job, key) in zip(prepared, jobs_and_keys):
            try:
                outcome = complete_media_stage(p, _Result(key))
            except Exception as exc:  # noqa: BLE001 - this file fails alone
                outcome = self._failed(run, stage, exc)
            yield run, stage, outcome

    def _failed(self, run: FileRun, stage: MediaStage, exc: Exception) -> StageOutcome:
        return failed(self.stores, self.case_id, run, stage.name, exc)

    def takes(self, stage: CaseStage) -> bool:
        """Whether case stage ``stage`` goes to the GPU pool: a GPU stage in halves
        (:class:`~aima.pipeline.runner.SplitCaseStage`) with a model to run. Without one (the
        narrative with ``AIMA_LLM_ENABLED=false``) it runs inline: no machine for nothing."""
        if stage.device != "gpu" or stage.model is None or not isinstance(stage, SplitCaseStage):
            return False
        return bool(getattr(runtime.model(stage.model), "available", True))

    def run_case_stage(self, stage: CaseStage) -> StageOutcome:
        """Compute a GPU case stage in a ``gpu-analysis`` run of its own and record it here, as
        the inline ``case_stage`` task would. A stored result still valid for the case's facts is
        reused without dispatching (judged with this process's model settings: where the GPU
        worker's differ, only the GPU run finds it valid); rejected GPU work skips it."""
        prepared = prepare_case_stage(self.stores, stage, self.case_id, models=runtime.model)
        if isinstance(prepared, StageOutcome):
            return prepared
        if not self._decide({}, [stage.name], gpu_runs=1):
            return StageOutcome(stage=stage.name, status="skipped", detail=self.rejection)
        job = case_job(self.stores, stage, self.case_id, prepared.data,
                       expires_s=self.settings.presigned_url_ttl_s)
        try:
            seconds, child = self._dispatch([job.job], [f"case {self.case}"])
            self._record_cost(seconds, child, [stage.name])
            computed = read_result(self.stores.objects, stage.name, job.job.subject,
                                   job.result_key)
        finally:
            self.stores.objects.delete_prefix(job.work_prefix)
        return complete_case_stage(prepared, computed)

    def _approved(self, prepared) -> bool:
        """Estimate this wave (the first: with the files' later GPU stages and the case's GPU
        stages), check the budget, and ask when the estimate is above the auto-approve
        threshold; the answer of the first wave holds for the run's later waves."""
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
        case_stages = self._case_stages_ahead() if first else []
        return self._decide(per_item, case_stages,
                            gpu_runs=1 + later_waves + bool(case_stages))

    def _case_stages_ahead(self) -> list[str]:
        """The GPU case stages this run will send after its files; one whose model cannot be
        had fails alone when its turn comes, and is not counted."""
        ahead = []
        for stage in registry.case_stages():
            try:
                if self.takes(stage):
                    ahead.append(stage.name)
            except Exception:  # noqa: BLE001 - reported when the stage runs
                continue
        return ahead

    def _decide(self, per_item: dict[str, list[str]], case_stages: list[str], *,
                gpu_runs: int) -> bool:
        """Estimate the named work, fail when it is over what is left of the budget, and decide
        (the first time) or apply the earlier decision."""
        from aima.pipeline import cost
        from aima.workers.pricing import live_price

        # A rented pool is priced at the offer it would rent now; no offer, or a provider that
        # cannot be asked, stops the run here, before anything is rented.
        live = (live_price(self.settings.gpu_pool, self.settings)
                if self.pool_type in RENTED_POOL_TYPES else None)
        estimate = cost.estimate(self.stores, per_item, self.settings,
                                 price_per_hour=live.price_per_hour if live else None,
                                 budget_usd=self.budget_usd, case_stages=case_stages,
                                 gpu_runs=gpu_runs)
        if live is not None:
            self.logger.info("case %s: GPU work priced at the live offer %s", self.case,
                             live.describe())
            estimate.notes.append(
                f"Priced at the offer pool {live.pool} would rent first now ({live.strategy}): "
                f"{live.describe()}. If it is taken, the next fitting offer is rented; the "
                "recorded cost is the provider's bill.")
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

    def _record_cost(self, seconds: float, child, stages: list[str]) -> None:
        """The wave's estimate and actual cost (``stages``: one name per job): what the provider
        billed for the run's machines where it rented any, else its wall time times the price
        per machine-hour."""
        from aima.pipeline import cost
        from aima.storage.gpu_usage import record_gpu_run
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
            "pool": self.settings.gpu_pool, "jobs": len(stages),
            "stages": sorted(set(stages)),
            "estimate": self.estimate.model_dump(mode="json"),
            "estimated_usd": round(self.estimate.usd, 4),
            "gpu_seconds": round(seconds, 1), "actual_usd": round(actual, 4),
            "actual_source": "provider" if billed is not None else "wall time",
            "price_per_hour": self.estimate.price_per_hour,
            "recorded_at": datetime.now(UTC).isoformat(),
        })
        # the same figures where the Prometheus exporter reads them (aima/monitoring)
        record_gpu_run(self.stores.metadata, case_id=self.case_id, flow_run_id=flow_run.id,
                       pool=self.settings.gpu_pool, pool_type=self.pool_type,
                       stages=sorted(set(stages)),
                       gpu_seconds=seconds, estimated_usd=self.estimate.usd, actual_usd=actual,
                       actual_source="provider" if billed is not None else "wall time")


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
    Only the metadata database is opened: the jobs and the audit log are there, and an embedded
    Milvus Lite file admits one process at a time.
    """
    run = flow_run
    from aima.settings import load_settings
    from aima.storage import open_metadata

    ui_actor = actor_label(run.labels)
    settings = load_settings(**(runtime.overrides() | ({"actor": ui_actor} if ui_actor else {})))
    metadata = open_metadata(settings)
    try:
        share = jobs.cancel_batch(metadata, str(run.id))
        if share is not None:
            audit.record(metadata, actor=settings.actor, action="case.cancelled",
                         case_id=str(share.case_id),
                         details={"flow_run_id": str(run.id), "files_done": share.done,
                                  "files": share.total})
    finally:
        metadata.dispose()
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


def _case_stages(case_id: str, stores, logger,
                 gpu: GpuDispatch | None = None) -> dict[str, StageOutcome | None]:
    """The registry's case stages, each when some file has output of a stage it needs (or a
    case stage it needs has run): inline as tasks, or on the GPU pool when ``gpu`` takes it
    (the narrative, with a language model configured).

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
            if gpu is not None and gpu.takes(stage):
                outcomes[stage.name] = gpu.run_case_stage(stage)
            else:
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
        logger.warning("case %s: the HTML export failed: %s", case_id, describe(exc))
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
