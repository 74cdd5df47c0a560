"""The Prometheus exporter serves the metadata store's figures over HTTP, on SQLite and on
PostgreSQL, and says which store AIMA cannot reach; scraped as Prometheus scrapes it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from urllib.parse import urlsplit

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete

from aima.monitoring.exporter import Exporter
from aima.settings import Settings
from aima.storage.models import Case
from tests.monitoring.casedata import fill_case
from tests.services import free_port


def scrape(url: str) -> tuple[str, dict[str, dict[tuple, float]]]:
    """The page and its samples: {metric sample name: {sorted label items: value}}."""
    response = httpx.get(url, timeout=30)
    response.raise_for_status()
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return response.text, samples


def value(samples, name: str, **labels) -> float:
    return samples[name][tuple(sorted(labels.items()))]


@pytest.fixture
def exporter_for(tmp_path):
    started: list[Exporter] = []

    def start(**settings) -> Exporter:
        exporter = Exporter(Settings(data_dir=tmp_path / "aima-data", **settings),
                            host="127.0.0.1", port=0)
        started.append(exporter)
        return exporter

    yield start
    for exporter in started:
        exporter.stop()


def test_the_figures_of_a_case_are_scraped_from_the_metadata_store(database, exporter_for):
    fill_case(database)
    exporter = exporter_for(database_url=database.url)

    page, samples = scrape(exporter.url)

    assert value(samples, "aima_media_items", status="done", media_type="image") == 1
    assert value(samples, "aima_media_items", status="done", media_type="video") == 1
    assert value(samples, "aima_media_items", status="rejected", media_type="unknown") == 1
    assert samples["aima_media_failed_items"] == {
        (("error_code", "decode_error"), ("status", "failed")): 1,
        (("error_code", "unsupported_type"), ("status", "rejected")): 1,
    }
    assert value(samples, "aima_stage_runs", stage="transcribe", status="running") == 1
    # The histogram holds finished runs only: the running one has no duration yet.
    assert value(samples, "aima_stage_duration_seconds_count", stage="faces", status="done") == 2
    assert value(samples, "aima_stage_duration_seconds_sum", stage="faces", status="done") == 7.4
    assert value(samples, "aima_stage_duration_seconds_bucket", stage="faces", status="done",
                 le="0.5") == 1
    assert value(samples, "aima_stage_duration_seconds_bucket", stage="faces", status="done",
                 le="5.0") == 1
    assert value(samples, "aima_stage_duration_seconds_bucket", stage="faces", status="done",
                 le="10.0") == 2
    assert value(samples, "aima_stage_duration_seconds_bucket", stage="transcribe",
                 status="failed", le="30.0") == 0
    assert value(samples, "aima_stage_duration_seconds_bucket", stage="transcribe",
                 status="failed", le="+Inf") == 1
    assert value(samples, "aima_jobs", kind="file", status="pending") == 2
    assert value(samples, "aima_jobs", kind="batch", status="running") == 1
    assert value(samples, "aima_queue_depth") == 2
    assert 9 * 60 < value(samples, "aima_queue_oldest_pending_seconds") < 60 * 60
    assert value(samples, "aima_exporter_read_ok") == 1
    backend = database.dialect
    assert value(samples, "aima_store_up", store="metadata", backend=backend) == 1
    assert value(samples, "aima_store_up", store="documents", backend="sql") == 1
    assert value(samples, "aima_store_up", store="vectors", backend="milvus-lite") == 1
    assert value(samples, "aima_store_up", store="objects", backend="local") == 1
    password = urlsplit(database.url).password
    assert not password or password not in page


def test_gpu_seconds_and_spend_are_summed_by_pool_and_outlive_a_purged_case(database,
                                                                            exporter_for):
    fill_case(database)
    exporter = exporter_for(database_url=database.url)
    with database.session() as session:  # as aima purge removes the case's metadata rows
        session.execute(delete(Case))

    _, samples = scrape(exporter.url)

    assert "aima_media_items" not in samples  # the case's media went with it
    assert value(samples, "aima_gpu_seconds", pool="gpu-runpod") == 150
    assert value(samples, "aima_gpu_seconds", pool="local-gpu") == 60
    assert value(samples, "aima_gpu_spend_usd", pool="gpu-runpod") == pytest.approx(0.30)
    assert value(samples, "aima_gpu_spend_usd", pool="local-gpu") == pytest.approx(0.0333)
    assert "aima_gpu_instances" not in samples  # no provider has an API key here


def test_an_empty_store_has_an_empty_queue(database, exporter_for):
    _, samples = scrape(exporter_for(database_url=database.url).url)

    assert value(samples, "aima_queue_depth") == 0
    assert value(samples, "aima_queue_oldest_pending_seconds") == 0
    assert "aima_media_items" not in samples  # no item, no series


def test_a_store_aima_cannot_reach_is_down_and_the_others_stay_up(database, exporter_for):
    exporter = exporter_for(database_url=database.url, connect_timeout_s=1,
                            documents_url=f"mongodb://127.0.0.1:{free_port()}")

    _, samples = scrape(exporter.url)

    assert value(samples, "aima_store_up", store="documents", backend="mongodb") == 0
    assert value(samples, "aima_store_up", store="metadata", backend=database.dialect) == 1
    assert value(samples, "aima_exporter_read_ok") == 1


def test_without_the_metadata_database_only_the_outage_is_reported(exporter_for):
    exporter = exporter_for(
        database_url=f"postgresql+psycopg://aima:s3cret-pw@127.0.0.1:{free_port()}/aima",
        connect_timeout_s=1)

    page, samples = scrape(exporter.url)

    assert value(samples, "aima_exporter_read_ok") == 0
    assert value(samples, "aima_store_up", store="metadata", backend="postgresql") == 0
    assert value(samples, "aima_store_up", store="documents", backend="sql") == 0
    assert "aima_queue_depth" not in samples
    assert "s3cret-pw" not in page


def test_python_m_exporter_serves_until_terminated(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'meta.db'}"
    from aima.storage.database import Database

    Database(database_url).dispose()  # migrated, as `aima db upgrade` leaves it
    environment = {**os.environ, "AIMA_DATABASE_URL": database_url,
                   "AIMA_DATA_DIR": str(tmp_path), "AIMA_EXPORTER_PORT": "0"}
    process = subprocess.Popen([sys.executable, "-m", "aima.monitoring.exporter"],
                               env=environment, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        url = None
        for line in process.stderr:
            if found := re.search(r"serving AIMA's figures on (http://\S+)", line):
                url = found.group(1)
                break
        assert url, "the exporter did not say where it serves"
        _, samples = scrape(url)
        assert value(samples, "aima_queue_depth") == 0
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
