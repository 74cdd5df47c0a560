"""Prefect tasks of the media stages: thin wrappers around aima.ingest and aima.preprocess."""

from __future__ import annotations

import uuid

from prefect import task
from prefect.cache_policies import NO_CACHE

from aima import jobs
from aima.ingest import FileOutcome, ingest_file
from aima.preprocess import PreprocessOutcome, preprocess_media
from aima.sources import SourceFile
from aima.tasks import runtime
from aima.tasks.retry import retry_transient

# Results are reused through the stage-run ledger (keyed by content, purged with the case), not
# through Prefect's result cache: hence NO_CACHE.
COMMON = dict(
    retries=3, retry_delay_seconds=[1, 5, 20], retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE, persist_result=False,
)


@task(name="ingest", task_run_name="ingest {source.name}", **COMMON)
def ingest(case_id: str, source: SourceFile, job_id: uuid.UUID) -> FileOutcome:
    stores = runtime.stores()
    outcome = ingest_file(stores, stores.settings, case_id, source)
    if outcome.status in ("rejected", "duplicate"):
        jobs.finish_job(stores.metadata, job_id, outcome.status, media_id=outcome.media_id,
                        error=outcome.error)
    return outcome


@task(name="preprocess", task_run_name="preprocess {name}", **COMMON)
def preprocess(media_id: str, name: str, reanalyse: bool = False) -> PreprocessOutcome:
    """Preprocess one media item (``name`` is the file's name, shown in the Prefect UI)."""
    stores = runtime.stores()
    return preprocess_media(stores, stores.settings, media_id, reanalyse=reanalyse)
