"""The ``analyze-media`` flow: ingest and preprocess every file of a case, then write its report."""

from __future__ import annotations

import io
import json
import queue
import re
import uuid
from dataclasses import dataclass

from prefect import flow, get_run_logger
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.runtime import flow_run

from aima import jobs
from aima.report import build_report
from aima.sources import expand_sources
from aima.storage import audit
from aima.storage.cases import get_or_create_case
from aima.storage.objects import case_prefix
from aima.tasks import media, runtime, speech

#: Ingest outcomes after which a file has nothing more to do.
FILE_DONE = ("rejected", "duplicate")
#: The stages after ingest, in order, by media type; each task takes (media_id, name, reanalyse).
#: Images have no sound: no speech tasks for them (each task costs Prefect bookkeeping).
_WITH_SOUND = (media.preprocess, speech.transcribe, speech.diarize)
STAGES = {"image": (media.preprocess,), "audio": _WITH_SOUND, "video": _WITH_SOUND}


@flow(name="analyze-media", log_prints=True)
def analyze_media(case: str, sources: list[str], reanalyse: bool = False) -> dict:
    """Analyse the files under ``sources`` (files, folders, s3://bucket/prefix) into ``case``.

    Stages already stored for the same content are reused unless ``reanalyse`` is true. One bad
    file never stops the others: it ends ``rejected`` or ``failed`` with its reason.
    """
    logger = get_run_logger()
    stores = runtime.stores()
    try:
        settings = stores.settings
        the_case = get_or_create_case(stores.metadata, case)
        case_id = str(the_case.id)
        files = expand_sources(sources, settings)
        audit.record(stores.metadata, actor=settings.actor, action="case.analyse", case_id=case_id,
                     details={"sources": sources, "files": len(files), "reanalyse": reanalyse,
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

        # Each file goes through ingest, then the STAGES of its type in order, as soon as its
        # previous stage is done: a slow video does not hold back the other files.
        finished_futures: queue.SimpleQueue = queue.SimpleQueue()
        running: dict = {}

        def watch(future, run: _FileRun) -> None:
            # One callback per future; calling as_completed on all pending futures after each
            # completion would cost O(files^2) callbacks.
            running[future] = run
            future.add_done_callback(finished_futures.put)

        for source, job_id in zip(files, job_ids):
            watch(media.ingest.submit(case_id, source, job_id), _FileRun(job_id, source.name))
        while running:
            future = finished_futures.get()
            run = running.pop(future)
            result = _result(future, run, stores)
            if result is not None and run.stage < 0:  # ingest outcome
                run.media_id = result.media_id
                run.stages = STAGES.get(result.media_type, ())
                if result.status in FILE_DONE:
                    one_more()
                    continue
            elif result is None or result.status == "failed":
                one_more()
                continue
            run.stage += 1
            if run.stage < len(run.stages):
                task = run.stages[run.stage]
                watch(task.submit(run.media_id, run.name, reanalyse), run)
            else:
                jobs.set_media_status(stores.metadata, run.media_id, "done")
                jobs.finish_job(stores.metadata, run.job_id, "done", media_id=run.media_id)
                one_more()

        speakers = _link_speakers(case_id, stores, logger)
        report = build_report(stores, the_case)
        rows = report["media"]
        failures = sum(row["status"] in ("failed", "rejected") for row in rows)
        jobs.finish_job(stores.metadata, batch, "done" if not failures else "done_with_errors")
        report_key = f"{case_prefix(case_id)}exports/report.json"
        data = json.dumps(report, indent=2).encode()
        stores.objects.put_stream(report_key, io.BytesIO(data), length=len(data),
                                  content_type="application/json")
        _publish(case, rows, report["summary"])
        logger.info("case %s: %s", case, report["summary"]["by_status"])
        return {"case_id": case_id, "case": case, "report_key": report_key, "media": rows,
                "summary": report["summary"], "speakers": speakers}
    finally:
        runtime.close()


@dataclass
class _FileRun:
    """Where one file is in its chain of stages (-1: ingest)."""

    job_id: uuid.UUID
    name: str
    media_id: str | None = None
    stages: tuple = ()
    stage: int = -1

    @property
    def stage_name(self) -> str:
        return "ingest" if self.stage < 0 else self.stages[self.stage].name


def _result(future, run: _FileRun, stores):
    """A task's result, with the file's job and media item finished when it failed.

    A task that failed for good (a non-transient error, or retries spent) fails its own file only.
    A stage that reports bad media (``status == "failed"``) has set the item's reason itself.
    """
    try:
        result = future.result()
    except Exception as exc:  # noqa: BLE001 - recorded, the batch goes on
        reason = f"{run.stage_name} failed: {type(exc).__name__}: {exc}"
        if run.media_id is not None:
            jobs.set_media_status(stores.metadata, run.media_id, "failed",
                                  f"{run.stage_name}_error", reason)
        jobs.finish_job(stores.metadata, run.job_id, "failed", media_id=run.media_id, error=reason)
        return None
    if run.stage >= 0 and result.status == "failed":
        jobs.finish_job(stores.metadata, run.job_id, "failed", media_id=run.media_id,
                        error=getattr(result, "error", None))
    return result


def _link_speakers(case_id: str, stores, logger) -> int | None:
    """Case speakers across all files; a failure here is logged and leaves the files done."""
    if not stores.documents.query(case_id, stage="diarize"):
        return 0
    try:
        return speech.link_case_speakers.submit(case_id).result()
    except Exception as exc:  # noqa: BLE001 - the per-file results stay valid
        logger.error("linking speakers across the case failed: %s", exc)
        return None


def _publish(case: str, rows: list[dict], summary: dict) -> None:
    """A table and a markdown artifact on the flow run page."""
    table = [{k: row[k] for k in ("name", "type", "status", "error_code", "error", "id")}
             for row in rows]
    create_table_artifact(table, key=_artifact_key("files", case),
                          description=f"Every file of case {case} and what happened to it")
    lines = [f"# Case {case}", "", f"{summary['files']} files: "
             + ", ".join(f"{n} {status}" for status, n in summary["by_status"].items()), "",
             "| file | type | status | reason |", "|---|---|---|---|"]
    for row in rows:
        reason = (row["error"] or "").replace("|", "\\|")
        lines.append(f"| {row['name']} | {row['type'] or ''} | {row['status']} | {reason} |")
    create_markdown_artifact("\n".join(lines), key=_artifact_key("summary", case),
                             description=f"Analysis summary of case {case}")


def _artifact_key(kind: str, case: str) -> str:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    slug = re.sub(r"[^a-z0-9]+", "-", case.lower()).strip("-") or "case"
    return f"aima-{kind}-{slug}"[:100]
