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
import uuid
from dataclasses import dataclass
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.runtime import flow_run

from aima.pipeline import jobs
from aima.pipeline.outcome import StageOutcome
from aima.pipeline.sources import SourceFile, expand_sources
from aima.report import build_report, object_reader
from aima.report import versions as report_versions
from aima.report.exports import export
from aima.stages import registry
from aima.stages.ingest import record_failure
from aima.storage import audit
from aima.storage.cases import get_or_create_case, set_case_context
from aima.storage.objects import case_prefix
from aima.tasks import runtime
from aima.tasks.stages import case_stage, ingest, media_stage


@flow(name="analyze-media", log_prints=True)
def analyze_media(case: str, sources: list[str], reanalyse: bool = False,
                  context: str | None = None) -> dict:
    """Analyse the files under ``sources`` (files, folders, s3://bucket/prefix) into ``case``.

    Stages already stored for the same content are reused unless ``reanalyse`` is true. One bad
    file never stops the others: it ends ``rejected`` or ``failed`` with its reason. ``context``
    (what the case is about, in the case owner's words) is kept on the case and added to the
    vision and fusion prompts; stages whose prompt it changes are redone.
    """
    logger = get_run_logger()
    stores = runtime.stores()
    try:
        settings = stores.settings
        the_case = get_or_create_case(stores.metadata, case)
        case_id = str(the_case.id)
        if context is not None:
            set_case_context(stores.metadata, case_id, context)
            the_case.context = context
        files = expand_sources(sources, settings)
        audit.record(stores.metadata, actor=settings.actor, action="case.analyse", case_id=case_id,
                     details={"sources": sources, "files": len(files), "reanalyse": reanalyse,
                              "context": context,
                              "flow_run_id": str(flow_run.id) if flow_run.id else None})
        batch = jobs.start_batch(stores.metadata, the_case.id, sources,
                                 str(flow_run.id) if flow_run.id else None)
        job_ids = jobs.add_file_jobs(stores.metadata, the_case.id, batch, files)
        logger.info("case %s (%s): %d files to analyse", case, case_id, len(files))

        progress = create_progress_artifact(
            0.0, key=_artifact_key("progress", case), description=f"Files analysed in case {case}")
        finished, shown = 0, 0.0

        def one_more() -> None:
            # One API call per whole percent at most: per-file updates cost more than small files.
            nonlocal finished, shown
            finished += 1
            percent = 100.0 * finished / max(len(files), 1)
            if percent - shown >= 1.0 or finished == len(files):
                update_progress_artifact(progress, percent)
                shown = percent

        # Each file goes through ingest, then the registry's stages for its media type in order,
        # each as soon as its previous stage is done: a slow video does not hold back the others.
        finished_futures: queue.SimpleQueue = queue.SimpleQueue()
        running: dict = {}

        def watch(future, run: _FileRun) -> None:
            # One callback per future; calling as_completed on all pending futures after each
            # completion would cost O(files^2) callbacks.
            running[future] = run
            future.add_done_callback(finished_futures.put)

        for source, job_id in zip(files, job_ids):
            watch(ingest.submit(case_id, source, job_id), _FileRun(job_id, source))
        while running:
            future = finished_futures.get()
            run = running.pop(future)
            outcome = _outcome(future, run, stores, case_id)
            if run.stage < 0:
                run.media_id = outcome.media_id
                run.stages = [s.name for s in registry.media_stages(outcome.media_type or "")]
            if outcome.ends_file:
                one_more()
                continue
            run.stage += 1
            if run.stage < len(run.stages):
                watch(media_stage.submit(run.stages[run.stage], run.media_id, run.source.name,
                                         reanalyse), run)
            else:
                jobs.set_media_status(stores.metadata, run.media_id, "done")
                jobs.finish_job(stores.metadata, run.job_id, "done", media_id=run.media_id)
                one_more()

        case_outcomes = _case_stages(case_id, stores, logger)
        report = build_report(stores, the_case)
        rows = report["media"]
        failures = sum(row["status"] in ("failed", "rejected") for row in rows)
        jobs.finish_job(stores.metadata, batch, "done" if not failures else "done_with_errors")
        exports = _write_exports(stores, case_id, report, logger)
        report_key = exports["json"]
        _publish(case, report, exports)
        logger.info("case %s: %s", case, report["summary"]["by_status"])
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


@dataclass
class _FileRun:
    """Where one file is in its chain of stages (-1: ingest)."""

    job_id: uuid.UUID
    source: SourceFile
    media_id: str | None = None
    stages: list[str] | None = None
    stage: int = -1

    @property
    def stage_name(self) -> str:
        return "ingest" if self.stage < 0 else self.stages[self.stage]


def _outcome(future, run: _FileRun, stores, case_id: str) -> StageOutcome:
    """A task's outcome; a task that raised becomes a ``failed`` outcome of its file.

    A task that failed for good (a non-transient error, or retries spent) fails its own file only,
    and the file keeps a media item with the reason, whatever the exception: no file given ever
    vanishes from the report. A stage that found bad media has recorded its reason itself.
    """
    try:
        outcome = future.result()
    except Exception as exc:  # noqa: BLE001 - recorded, the batch goes on
        code, reason = f"{run.stage_name}_error", f"{run.stage_name} failed: {_describe(exc)}"
        if run.media_id is None:
            outcome = record_failure(stores, case_id, run.source, code, reason)
            run.media_id = outcome.media_id
        else:
            jobs.set_media_status(stores.metadata, run.media_id, "failed", code, reason)
            outcome = StageOutcome(stage=run.stage_name, status="failed", media_id=run.media_id,
                                   error_code=code, error=reason)
    if outcome.status == "failed":
        jobs.finish_job(stores.metadata, run.job_id, "failed", media_id=run.media_id,
                        error=outcome.error)
    return outcome


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
    rows, summary = report["media"], report["summary"]
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
