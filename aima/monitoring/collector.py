"""AIMA's figures as Prometheus metric families, computed afresh on every scrape.

============================================  =====================================================
metric                                        what it counts (rows of the metadata store now)
============================================  =====================================================
``aima_media_items{status,media_type}``       media items by status (pending, ingested,
                                              processing, done, failed, rejected) and type
``aima_media_failed_items{status,error_code}``  failed and rejected items by their error code
``aima_stage_runs{stage,status}``             stage runs by stage and status
``aima_stage_duration_seconds{stage,status}``   histogram of finished (done/failed) stage runs
``aima_jobs{kind,status}``                    batch and file jobs by status
``aima_queue_depth``                          file jobs waiting to start (status pending)
``aima_queue_oldest_pending_seconds``         age of the oldest waiting file job (0: none)
``aima_store_up{store,backend}``              1 when AIMA reaches the store with its credentials
``aima_exporter_read_ok``                     1 when the figures above could be read
``aima_exporter_scrape_seconds``              time this scrape took
============================================  =====================================================

GPU seconds, spend and instances alive are not in the metadata store yet; they join this table
when the GPU dispatch records them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from aima.monitoring.figures import DURATION_BUCKETS, Figures, read_figures
from aima.monitoring.stores import check_stores
from aima.settings import Settings
from aima.storage.database import Database

logger = logging.getLogger(__name__)


class AimaCollector(Collector):
    """Reads the metadata store when Prometheus scrapes; keeps no figures between scrapes.

    The database is opened lazily and reopened after a failure, so an exporter started before
    PostgreSQL is ready recovers by itself. It never migrates the schema: it may run with a
    read-only role.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self._database: Database | None = None

    def _open(self) -> Database | None:
        if self._database is None:
            try:
                self._database = Database(self.settings.database_url, migrate=False,
                                          connect_timeout_s=self.settings.connect_timeout_s)
            except Exception as exc:  # StoreUnavailable, driver errors: reported as a metric
                logger.warning("metadata database not readable: %s", exc)
        return self._database

    def collect(self) -> Iterator[Metric]:
        started = time.monotonic()
        database = self._open()
        figures = None
        if database is not None:
            try:
                figures = read_figures(database)
            except Exception as exc:
                logger.warning("reading AIMA's figures failed: %s", type(exc).__name__)
                self.close()
                database = None
        if figures is not None:
            yield from figure_metrics(figures)
        yield _gauge("aima_exporter_read_ok", "1 when AIMA's figures could be read from the "
                     "metadata store.", [((), 1 if figures is not None else 0)])
        yield _gauge(
            "aima_store_up", "1 when AIMA reaches the store with its own credentials.",
            [((c.store, c.backend), int(c.up)) for c in check_stores(self.settings, database)],
            labels=("store", "backend"))
        yield _gauge("aima_exporter_scrape_seconds", "Seconds this scrape took.",
                     [((), time.monotonic() - started)])

    def close(self) -> None:
        if self._database is not None:
            self._database.dispose()
            self._database = None


def figure_metrics(figures: Figures) -> Iterator[Metric]:
    """The metric families of one reading of the figures."""
    yield _gauge("aima_media_items", "Media items by status and media type.",
                 figures.media.items(), labels=("status", "media_type"))
    yield _gauge("aima_media_failed_items", "Failed and rejected media items by error code.",
                 figures.media_failed.items(), labels=("status", "error_code"))
    yield _gauge("aima_stage_runs", "Stage runs by stage and status.",
                 figures.stage_runs.items(), labels=("stage", "status"))
    durations = HistogramMetricFamily(
        "aima_stage_duration_seconds", "Duration of finished stage runs (done or failed).",
        labels=("stage", "status"))
    for run in figures.durations:
        buckets = [(_bound(b), n) for b, n in zip(DURATION_BUCKETS, run.buckets, strict=True)]
        durations.add_metric([run.stage, run.status], [*buckets, ("+Inf", run.count)],
                             run.total_s)
    yield durations
    yield _gauge("aima_jobs", "Jobs by kind (batch, file) and status.",
                 figures.jobs.items(), labels=("kind", "status"))
    yield _gauge("aima_queue_depth", "File jobs waiting to start.", [((), figures.queue_depth)])
    yield _gauge("aima_queue_oldest_pending_seconds",
                 "Age of the oldest file job waiting to start (0 when none waits).",
                 [((), figures.oldest_pending_age_s)])


def _gauge(name: str, documentation: str, samples,
           labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in samples:
        family.add_metric(list(label_values), value)
    return family


def _bound(seconds: float) -> str:
    return repr(float(seconds))
