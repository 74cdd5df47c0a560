"""The ``batch-scan`` flow: start ``analyze-media`` for every new batch of files under a folder or
``s3://bucket/prefix``, and record what was taken so that no later scan takes a file twice.

What is new, how batches are formed and recorded is in :mod:`aima.pipeline.scan`; this flow adds
the Prefect side: the deployment runs (fire-and-forget), progress, logs and the artifact.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    update_progress_artifact,
)
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.runtime import flow_run
from prefect.settings import PREFECT_UI_URL

from aima.errors import NotFound
from aima.pipeline.scan import Batch, ScanResult, StartedRun, run_scan
from aima.tasks import runtime


@flow(name="batch-scan", flow_run_name="scan {source}", log_prints=True)
def batch_scan(source: str, deployment: str = "analyze-media/default", case_prefix: str = "",
               dry_run: bool = False) -> dict:
    """Start an analysis for every batch of new files under a folder or S3 prefix.

    A file is new when no earlier scan took it and no case holds it yet. New files are grouped
    by their top-level folder under the source; each group becomes one run of the analysis
    deployment into the case named after the folder. Unreadable files are logged as warnings
    and left for a later scan.

    Args:
        source: The folder to scan, as the worker that runs this flow sees it (e.g.
            /cases/incoming), or an S3 prefix (s3://bucket/incoming).
        deployment: The analysis deployment each batch is started on, as FLOW/NAME.
        case_prefix: Put before each folder name to name its case (e.g. "nightly-" makes the
            folder harbour the case nightly-harbour).
        dry_run: Only list the batches that would be started: nothing is started or recorded.
    """
    logger = get_run_logger()
    stores = runtime.stores()
    try:
        _check_deployment(deployment)
        progress = create_progress_artifact(0.0, description=f"Files checked under {source}")
        shown = 0.0

        def checked(done: int, total: int) -> None:
            # One API call per whole percent at most, as in analyze-media.
            nonlocal shown
            percent = 100.0 * done / max(total, 1)
            if percent - shown >= 1.0 or done == total:
                update_progress_artifact(progress, percent)
                shown = percent

        result = run_scan(stores.metadata, stores.settings, source, _starter, deployment=deployment,
                          case_prefix=case_prefix, dry_run=dry_run,
                          flow_run_id=str(flow_run.id) if flow_run.id else None, log=logger,
                          progress=checked)
        create_markdown_artifact(batches_markdown(result), key="aima-batch-scan",
                                 description=f"Batches started by the scan of {source}")
        if result.failed:  # the others are started and recorded; the run shows what went wrong
            raise RuntimeError(
                f"{len(result.failed)} of {len(result.plan.batches)} batches could not be started "
                f"on {deployment} (first: {result.failed[0].case}: {result.failed[0].error}); "
                "their files are left for the next scan")
        return _summary(result)
    finally:
        runtime.close()


def _check_deployment(name: str) -> None:
    """Fail before anything is recorded when the analysis deployment does not exist."""
    with get_client(sync_client=True) as client:
        try:
            client.read_deployment_by_name(name)
        except ObjectNotFound:
            raise NotFound(f"no deployment named {name!r} on the Prefect server: create it with "
                           "`prefect deploy --all` (or `aima serve`), or pass the right "
                           "FLOW/NAME as the deployment parameter") from None


def _starter(batch: Batch) -> StartedRun:
    """Create the batch's analysis run and return at once (a worker picks it up later). The
    claimed batch id is the idempotency key: a resumed batch gets the run it already has."""
    run = run_deployment(name=batch.deployment, timeout=0, as_subflow=False,
                         parameters={"case": batch.case, "sources": batch.sources},
                         idempotency_key=f"batch-scan:{batch.id}", tags=["aima", "batch-scan"])
    return StartedRun(id=str(run.id), name=run.name)


def _run_link(batch: Batch) -> str:
    """The flow run's name, linked to its page when the UI address is known."""
    ui = PREFECT_UI_URL.value()
    label = batch.flow_run_name or batch.flow_run_id or ""
    return f"[{label}]({ui.rstrip('/')}/runs/flow-run/{batch.flow_run_id})" if ui else label


def _cell(text) -> str:
    return str(text or "").replace("|", "\\|").replace("\n", " ")


def batches_markdown(result: ScanResult) -> str:
    """The run's artifact: the summary line and a table of the batches started."""
    lines = [f"# Scan of {_cell(result.plan.source)}", "", result.summary(), ""]
    rows = ([("resumed", b) for b in result.resumed] + [("started", b) for b in result.started]
            + [(f"not started: {b.error}", b) for b in result.failed]
            + [("taken by another scan", b) for b in result.contended])
    if result.dry_run:
        rows = [("dry run", b) for b in result.plan.batches]
    if rows:
        lines += ["| folder | case | files | analysis run | status |", "|---|---|---|---|---|"]
        lines += [f"| {_cell(b.folder)} | {_cell(b.case)} | {len(b.files)} | "
                  f"{_cell(_run_link(b)) if b.flow_run_id else ''} | {_cell(status)} |"
                  for status, b in rows]
    else:
        lines.append("No new files: nothing was started.")
    if result.plan.unreadable:
        lines += ["", "## Not taken (unreadable)", "", "| file | reason |", "|---|---|"]
        lines += [f"| {_cell(name)} | {_cell(reason)} |" for name, reason in result.plan.unreadable]
    return "\n".join(lines)


def _summary(result: ScanResult) -> dict:
    plan = result.plan
    return {"scan_id": str(result.scan_id) if result.scan_id else None,
            "source": plan.source, "dry_run": result.dry_run, "files_found": plan.found,
            "files_new": plan.new, "files_known": plan.known, "files_in_case": plan.in_case,
            "files_settling": plan.settling, "unreadable": [list(u) for u in plan.unreadable],
            "batches": [{"folder": b.folder, "case": b.case, "files": len(b.files),
                         "flow_run_id": b.flow_run_id, "flow_run_name": b.flow_run_name,
                         "error": b.error, "status": status}
                        for status, group in (("resumed", result.resumed),
                                              ("started", result.started),
                                              ("failed", result.failed),
                                              ("contended", result.contended),
                                              ("planned", result.plan.batches
                                               if result.dry_run else []))
                        for b in group],
            "summary": result.summary()}
