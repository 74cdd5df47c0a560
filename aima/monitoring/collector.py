"""AIMA's figures as Prometheus metric families, computed afresh on every scrape (the rented
GPU machines and the failed flow runs: at most once per ``AIMA_EXPORTER_LISTING_INTERVAL_S``).

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
``aima_gpu_seconds{pool}``                    seconds of the gpu-analysis runs by GPU pool (rows
                                              of ``gpu_runs``, one per GPU wave of an analysis)
``aima_gpu_spend_usd{pool}``                  their actual cost in USD: the provider's bill, or
                                              wall time x price where none is known
``aima_store_up{store,backend}``              1 when AIMA reaches the store with its credentials
``aima_exporter_read_ok``                     1 when the figures above could be read
``aima_gpu_instances{provider}``              AIMA-labelled machines alive at the provider (not
                                              from the store: listed at the provider)
``aima_gpu_instances_orphaned{provider}``     of those, the ones the gpu-reaper would terminate
                                              (flow run over, gone or on a later attempt; too old)
``aima_gpu_listing_ok{provider}``             1 when the provider and the flow runs of its
                                              machines could be read at the last listing
``aima_flow_runs_failed{flow,state}``         runs of AIMA's flows that ended failed or crashed
                                              (not from the store: runs the Prefect server keeps)
``aima_flow_runs_read_ok``                    1 when Prefect's flow runs could be read
``aima_exporter_scrape_seconds``              time this scrape took
============================================  =====================================================

The GPU machines are listed at each provider that has an API key here
(:mod:`aima.monitoring.gpu_instances`); without a key there are no ``aima_gpu_*`` instance or
listing series. A purge keeps the ``gpu_runs`` rows (detached from the case): spend is billing,
not case data. The flow runs are counted by :mod:`aima.monitoring.flow_runs`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from aima.monitoring.figures import DURATION_BUCKETS, Figures, read_figures
from aima.monitoring.flow_runs import FailedFlowRuns, read_failed_flow_runs
from aima.monitoring.gpu_instances import ProviderMachines, list_machines
from aima.monitoring.periodic import Every
from aima.monitoring.stores import check_stores
from aima.settings import Settings
from aima.storage.database import Database

logger = logging.getLogger(__name__)


class AimaCollector(Collector):
    """Reads the metadata store when Prometheus scrapes; keeps none of its figures between
    scrapes (only the last reading of the GPU machines and failed flow runs, for the listing
    interval, which is renewed beside the store's reading).

    The database is opened lazily and reopened after a failure, so an exporter started before
    PostgreSQL is ready recovers by itself. It never migrates the schema: it may run with a
    read-only role.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self._database: Database | None = None
        interval = settings.exporter_listing_interval_s
        self.gpu_machines = Every(interval, lambda: list_machines(settings))
        self.failed_flow_runs = Every(interval, lambda: read_failed_flow_runs(settings))

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
        with ThreadPoolExecutor(max_workers=2) as pool:  # the providers and Prefect, meanwhile
            machines = pool.submit(copy_context().run, self.gpu_machines.current)
            failed_runs = pool.submit(copy_context().run, self.failed_flow_runs.current)
            yield from self._store_metrics()
            yield from gpu_machine_metrics(machines.result())
            yield from flow_run_metrics(failed_runs.result())
        yield _gauge("aima_exporter_scrape_seconds", "Seconds this scrape took.",
                     [((), time.monotonic() - started)])

    def _store_metrics(self) -> Iterator[Metric]:
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
    yield _gauge("aima_gpu_seconds", "Seconds of GPU work (gpu-analysis runs) by GPU pool.",
                 [((pool,), v) for pool, v in figures.gpu_seconds.items()], labels=("pool",))
    yield _gauge("aima_gpu_spend_usd", "Actual cost of the GPU work in USD by GPU pool.",
                 [((pool,), v) for pool, v in figures.gpu_spend_usd.items()], labels=("pool",))


def gpu_machine_metrics(machines: list[ProviderMachines]) -> Iterator[Metric]:
    """The metric families of the last listing of the rented GPU machines."""
    yield _gauge("aima_gpu_instances", "AIMA-labelled GPU machines alive at the provider.",
                 [((m.provider,), m.instances) for m in machines if m.instances is not None],
                 labels=("provider",))
    yield _gauge("aima_gpu_instances_orphaned",
                 "AIMA's GPU machines that no flow run needs (the gpu-reaper terminates them).",
                 [((m.provider,), m.orphaned) for m in machines if m.orphaned is not None],
                 labels=("provider",))
    yield _gauge("aima_gpu_listing_ok", "1 when the provider's machines and their flow runs "
                 "could be read at the last listing.",
                 [((m.provider,), int(m.ok)) for m in machines], labels=("provider",))


def flow_run_metrics(failed: FailedFlowRuns) -> Iterator[Metric]:
    """The metric families of the last count of failed flow runs."""
    yield _gauge("aima_flow_runs_failed", "Runs of AIMA's flows that ended Failed or Crashed, "
                 "as the Prefect server keeps them.", failed.counts.items(),
                 labels=("flow", "state"))
    yield _gauge("aima_flow_runs_read_ok", "1 when the flow runs could be read from Prefect.",
                 [((), int(failed.ok))])


def _gauge(name: str, documentation: str, samples,
           labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in samples:
        family.add_metric(list(label_values), value)
    return family


def _bound(seconds: float) -> str:
    return repr(float(seconds))
