"""The stage runner: one way to run any stage, with its result stored under a content key.

:func:`run_media_stage` does, for every media stage: look the item up, ask the stage for its
plan, build the content key (media item, stage, model id, parameters and code version), reuse a
``done`` run of that key from the ledger, else run the stage's compute half (here, or through an
executor elsewhere), upload its files, record its result in the stores, and return one
:class:`~aima.pipeline.outcome.StageOutcome`. Bad media found by a stage (``BadMedia``) marks the
item ``failed`` with its code and reason; any other exception is recorded in the ledger and
raised, for the Prefect task to retry when it is transient.

:func:`run_case_stage` runs a case stage here. A case stage split into halves
(:class:`SplitCaseStage`: the narrative) can have its compute half run elsewhere:
:func:`prepare_case_stage`, the compute (on a GPU pool: :func:`aima.pipeline.remote.case_job`),
then :func:`complete_case_stage`. Case stages have no ledger run (a stage run belongs to a media
item): a case stage keeps what says whether it is still valid in its own document (the fuse
document's input key).
"""

from __future__ import annotations

import mimetypes
import threading
from collections.abc import Callable
from dataclasses import dataclass
from contextlib import nullcontext
from typing import Any, Protocol, runtime_checkable

from aima.hashsets.store import skip_reason
from aima.media.errors import BadMedia
from aima.pipeline.jobs import set_media_status
from aima.pipeline.ledger import StageFailed, StageLedger, stage_key
from aima.pipeline.outcome import StageOutcome
from aima.pipeline.scratch import scratch_dir
from aima.stages import registry
from aima.stages.base import (
    CaseStage, ComputeRequest, Computed, MediaStage, Plan, Skip, StageContext, Summary,
)
from aima.storage import Stores
from aima.triage.representatives import left_to_representative
from aima.storage.models import MediaItem
from aima.storage.objects import case_prefix

#: Model kind -> loaded model (aima.tasks.runtime.model in a flow run).
ModelSource = Callable[[str], Any]

#: One inference at a time per process: on a CPU two models at once only fight for the same cores,
#: and one model instance serves every task thread.
INFERENCE_LOCK = threading.Lock()


class Executor(Protocol):
    """Runs a stage's compute half and puts its files into the object store."""

    def compute(self, ctx: StageContext, stage: MediaStage, item: MediaItem, plan: Plan,
                model: Any) -> Computed: ...


class LocalExecutor:
    """Compute in this process: inputs fetched into scratch space, outputs uploaded from it."""

    def compute(self, ctx: StageContext, stage: MediaStage, item: MediaItem, plan: Plan,
                model: Any) -> Computed:
        stores = ctx.stores
        with scratch_dir(ctx.settings, stage.name) as scratch:
            inputs = {}
            for name, key in plan.inputs.items():
                inputs[name] = scratch / "in" / name
                inputs[name].parent.mkdir(exist_ok=True)
                stores.objects.get_file(key, inputs[name])
            workdir = scratch / "out"
            workdir.mkdir()
            request = ComputeRequest(media_id=str(item.id), media_type=item.media_type,
                                     params=plan.params, data=plan.data, inputs=inputs,
                                     workdir=workdir)
            with INFERENCE_LOCK if stage.model else nullcontext():
                computed = stage.compute(request, model)
            upload_outputs(stores, str(item.case_id), plan, computed)
        computed.files = {}  # uploaded; the local copies are gone with the scratch directory
        return computed


def upload_outputs(stores: Stores, case_id: str, plan: Plan, computed: Computed) -> None:
    prefix = case_prefix(case_id)
    for stale in plan.replaces:  # a redo starts clean
        stores.objects.delete_prefix(prefix + stale)
    for relative, path in computed.files.items():
        content_type = mimetypes.guess_type(relative)[0] or "application/octet-stream"
        stores.objects.put_file(prefix + relative, path, content_type=content_type)


@dataclass
class Prepared:
    """A media stage ready to compute: what :func:`prepare_media_stage` found out."""

    ctx: StageContext
    stage: MediaStage
    item: MediaItem
    plan: Plan
    key: str
    model: Any

    def outcome(self, status: str, summary: Summary = Summary(), **fields) -> StageOutcome:
        return _outcome(self.stage, self.item, str(self.item.id), status, summary, **fields)


def run_media_stage(stores: Stores, stage: str | MediaStage, media_id: str, *,
                    models: ModelSource | None = None, reanalyse: bool = False,
                    executor: Executor | None = None) -> StageOutcome:
    """Run one media stage on one item, or reuse its stored result (see the module docstring)."""
    prepared = prepare_media_stage(stores, stage, media_id, models=models, reanalyse=reanalyse)
    if isinstance(prepared, StageOutcome):
        return prepared
    return complete_media_stage(prepared, executor or LocalExecutor())


def prepare_media_stage(stores: Stores, stage: str | MediaStage, media_id: str, *,
                        models: ModelSource | None = None,
                        reanalyse: bool = False) -> Prepared | StageOutcome:
    """Everything before the compute half: the item, the skips, the plan and its content key.

    Returns the final outcome when nothing is left to compute (skipped, or a stored result of
    the same key reused), else a :class:`Prepared` for :func:`complete_media_stage`. Models are
    not loaded here: a plan needs only their id and parameters.
    """
    stage = registry.get(stage) if isinstance(stage, str) else stage
    ctx = StageContext(stores)
    item = ctx.item(media_id)

    def outcome(status: str, summary: Summary = Summary(), **fields) -> StageOutcome:
        return _outcome(stage, item, str(media_id), status, summary, **fields)

    if item is None or item.status == "rejected":
        return outcome("skipped", Summary("not ingested"))
    if item.media_type not in stage.media_types:
        return outcome("skipped", Summary(f"{stage.name} does not apply to {item.media_type} files"))
    known = skip_reason(stores, item)  # a file in a known-benign hash set is set aside
    if not known and stage.name != "preprocess":  # preprocess makes the perceptual hashes
        known = left_to_representative(stores, item)  # None unless the setting asks for it
    if known:
        StageLedger(stores.metadata).skip(item.case_id, item.id, stage.name, known)
        return outcome("skipped", Summary(known))
    model = _model(stage, models)
    plan = stage.plan(ctx, item, model)
    ledger = StageLedger(stores.metadata)
    if isinstance(plan, Skip):
        ledger.skip(item.case_id, item.id, stage.name, plan.reason)
        return outcome("skipped", Summary(plan.reason))
    key = stage_key(item.case_id, item.id, stage.name, stage.version, plan.model_id, plan.params)
    if not reanalyse and ledger.done(key) is not None:
        return outcome("done", stage.stored_summary(ctx, item), reused=True,
                       output_ref=_output_ref(stage, media_id))
    return Prepared(ctx, stage, item, plan, key, model)


def complete_media_stage(prepared: Prepared, executor: Executor) -> StageOutcome:
    """Compute (through ``executor``) and record a prepared stage, under a ledger run."""
    ctx, stage, item = prepared.ctx, prepared.stage, prepared.item
    stores = ctx.stores
    set_media_status(stores.metadata, item.id, "processing")
    try:
        with StageLedger(stores.metadata).run(prepared.key) as run:
            try:
                computed = executor.compute(ctx, stage, item, prepared.plan, prepared.model)
            except BadMedia as bad:
                raise StageFailed(bad.code, bad.reason) from None
            summary = stage.record(ctx, item, prepared.plan, computed)
            run["output_ref"] = _output_ref(stage, item.id)
            run["remote_s"] = computed.remote_s
    except StageFailed as failed:
        set_media_status(stores.metadata, item.id, "failed", failed.code, failed.reason)
        return prepared.outcome("failed", error_code=failed.code, error=failed.reason)
    summary = Summary(summary.detail, summary.data, computed.warnings + summary.warnings)
    return prepared.outcome("done", summary, output_ref=_output_ref(stage, item.id))


def _outcome(stage: MediaStage, item: MediaItem | None, media_id: str, status: str,
             summary: Summary = Summary(), **fields) -> StageOutcome:
    return StageOutcome(stage=stage.name, status=status, media_id=media_id,
                        media_type=item.media_type if item else None, detail=summary.detail,
                        data=summary.data, warnings=summary.warnings, **fields)


def _output_ref(stage: MediaStage, media_id) -> str:
    return f"documents:{stage.name}/{media_id}"


def run_case_stage(stores: Stores, stage: str | CaseStage, case_id: str, *,
                   models: ModelSource | None = None) -> StageOutcome:
    """Run one case stage over the whole case."""
    stage = registry.get(stage) if isinstance(stage, str) else stage
    summary = stage.run(StageContext(stores), case_id, _model(stage, models))
    return _case_outcome(stage, summary)


@runtime_checkable
class SplitCaseStage(Protocol):
    """A case stage in halves like a media stage, so that its compute can run away from the
    stores: ``prepare`` reads them (the compute's JSON input, or the stored result's
    :class:`Summary` when nothing is left to compute), ``compute`` works from
    ``request.data`` alone, ``record`` stores what it computed."""

    def prepare(self, ctx: StageContext, case_id: str, model: Any) -> dict[str, Any] | Summary: ...

    def compute(self, request: ComputeRequest, model: Any) -> Computed: ...

    def record(self, ctx: StageContext, case_id: str, computed: Computed) -> Summary: ...


@dataclass
class PreparedCase:
    """A split case stage ready to compute: what :func:`prepare_case_stage` found out."""

    ctx: StageContext
    stage: CaseStage
    case_id: str
    data: dict[str, Any]  # the compute half's input: JSON
    model: Any


def prepare_case_stage(stores: Stores, stage: str | CaseStage, case_id: str, *,
                       models: ModelSource | None = None) -> PreparedCase | StageOutcome:
    """Everything before a split case stage's compute half; the final outcome (``reused``) when
    the stored result stands. The model is not loaded: ``prepare`` reads its id only."""
    stage = registry.get(stage) if isinstance(stage, str) else stage
    if not isinstance(stage, SplitCaseStage):
        raise TypeError(f"case stage {stage.name} has no compute half of its own; run it with "
                        "run_case_stage")
    ctx = StageContext(stores)
    model = _model(stage, models)
    ready = stage.prepare(ctx, case_id, model)
    if isinstance(ready, Summary):
        return _case_outcome(stage, ready, reused=True)
    return PreparedCase(ctx, stage, str(case_id), ready, model)


def complete_case_stage(prepared: PreparedCase, computed: Computed) -> StageOutcome:
    """Record what a prepared case stage's compute half gave, as :func:`run_case_stage` would."""
    summary = prepared.stage.record(prepared.ctx, prepared.case_id, computed)
    summary = Summary(summary.detail, summary.data, computed.warnings + summary.warnings)
    return _case_outcome(prepared.stage, summary)


def _case_outcome(stage: CaseStage, summary: Summary, **fields) -> StageOutcome:
    return StageOutcome(stage=stage.name, status="done", detail=summary.detail, data=summary.data,
                        warnings=summary.warnings, output_ref=f"documents:{stage.name}/case",
                        **fields)


def _model(stage, models: ModelSource | None) -> Any:
    if stage.model is None:
        return None
    if models is None:
        raise ValueError(f"stage {stage.name} needs a {stage.model!r} model: pass models=")
    return models(stage.model)
