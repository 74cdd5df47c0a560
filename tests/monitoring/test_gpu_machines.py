"""The exporter counts AIMA's rented GPU machines at the loopback RunPod and Vast.ai fakes and,
with their flow runs read from a real Prefect server, those the gpu-reaper would terminate,
without terminating any; it counts the failed runs of AIMA's flows; and a provider or Prefect
it cannot reach is a 0 in ``aima_gpu_listing_ok``, never an error."""

from __future__ import annotations

import logging
import uuid

import pytest
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.states import Crashed, Failed, Running
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from aima.flows.analyze import analyze_media
from aima.flows.reaper import gpu_reaper
from aima.gpu_providers import open_compute
from aima.gpu_providers.base import Credentials, InstanceSpec, Requirements
from aima.monitoring.collector import AimaCollector
from aima.settings import Settings
from aima.storage.database import Database
from aima.workers.configuration import instance_label
from tests.gpu_providers.fakes import FakeRunPod, FakeVastAI
from tests.services import free_port
from tests.workers.conftest import prefect_server

RUNPOD_KEY = "rp_monitor_test_Key-5c1e9a7b3d2f4e60"
VASTAI_KEY = "vast_monitor_test_key_7e3a1c5b9d0f2468"


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory):
    with prefect_server(tmp_path_factory.mktemp("prefect-home")) as url, \
            temporary_settings({PREFECT_API_URL: url}):
        yield url


@pytest.fixture
def fakes():
    with FakeRunPod(api_key=RUNPOD_KEY).start() as runpod, \
            FakeVastAI(api_key=VASTAI_KEY).start() as vastai:
        yield runpod, vastai


@pytest.fixture(autouse=True)
def no_keys_from_the_environment(monkeypatch):
    for name in ("AIMA_RUNPOD_API_KEY", "AIMA_RUNPOD_API_URL", "AIMA_VASTAI_API_KEY",
                 "AIMA_VASTAI_API_URL"):
        monkeypatch.delenv(name, raising=False)


def settings_for(tmp_path, runpod_url=None, vastai_url=None, **more) -> Settings:
    keys = {}
    if runpod_url:
        keys.update(runpod_api_key=RUNPOD_KEY, runpod_api_url=runpod_url)
    if vastai_url:
        keys.update(vastai_api_key=VASTAI_KEY, vastai_api_url=vastai_url)
    return Settings(data_dir=tmp_path / "aima-data", connect_timeout_s=2, **keys, **more)


def rent(fake, label: str) -> None:
    """A machine labelled ``label`` at the fake, as a GPU worker rents it."""
    compute = open_compute(fake.provider, Credentials(api_key=SecretStr(fake.api_key),
                                                      base_url=fake.base_url))
    try:
        offer = min(compute.offers(Requirements(min_vram_gb=16)), key=lambda o: o.price_per_hour)
        compute.create(offer, InstanceSpec(label=label, image="aima-gpu", command=["sleep"]))
    finally:
        compute.close()


class Scraper:
    """A collector scraped as Prometheus scrapes it, in this thread (so with this test's
    Prefect settings)."""

    def __init__(self, settings: Settings):
        self.collector = AimaCollector(settings)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)

    def scrape(self) -> tuple[str, dict[str, dict[tuple, float]]]:
        page = generate_latest(self.registry).decode()
        samples: dict[str, dict[tuple, float]] = {}
        for family in text_string_to_metric_families(page):
            for sample in family.samples:
                key = tuple(sorted(sample.labels.items()))
                samples.setdefault(sample.name, {})[key] = sample.value
        return page, samples

    def close(self) -> None:
        self.collector.close()


@pytest.fixture
def scraper_for():
    opened: list[Scraper] = []

    def make(settings: Settings) -> Scraper:
        opened.append(Scraper(settings))
        return opened[-1]

    yield make
    for scraper in opened:
        scraper.close()


def by_provider(samples, name: str) -> dict[str, float]:
    return {dict(labels)["provider"]: v for labels, v in samples.get(name, {}).items()}


def test_machines_alive_and_orphaned_are_counted_and_none_is_terminated(
        prefect_api, fakes, scraper_for, tmp_path):
    runpod, vastai = fakes
    with get_client(sync_client=True) as client:
        running = client.create_flow_run(analyze_media, parameters={}, state=Running())
        client.create_flow_run(analyze_media, parameters={}, state=Failed())
        client.create_flow_run(gpu_reaper, parameters={}, state=Crashed())
    rent(runpod, instance_label(running.id, 1))  # its flow run is running: needed
    rent(runpod, instance_label(uuid.uuid4(), 1))  # its flow run is gone: an orphan
    rent(runpod, "someone-elses-pod")  # not AIMA's: not counted
    scraper = scraper_for(settings_for(tmp_path, runpod.base_url, vastai.base_url))

    page, samples = scraper.scrape()

    assert by_provider(samples, "aima_gpu_instances") == {"runpod": 2, "vastai": 0}
    assert by_provider(samples, "aima_gpu_instances_orphaned") == {"runpod": 1, "vastai": 0}
    assert by_provider(samples, "aima_gpu_listing_ok") == {"runpod": 1, "vastai": 1}
    assert len(runpod.ledger.running()) == 3  # counted, not terminated
    failed = {(dict(k)["flow"], dict(k)["state"]): v
              for k, v in samples["aima_flow_runs_failed"].items()}
    assert failed[("analyze-media", "failed")] == 1
    assert failed[("gpu-reaper", "crashed")] == 1
    assert failed[("batch-scan", "failed")] == 0
    assert samples["aima_flow_runs_read_ok"][()] == 1
    assert RUNPOD_KEY not in page and VASTAI_KEY not in page


def test_providers_are_listed_once_per_interval(fakes, scraper_for, tmp_path):
    runpod, _ = fakes
    rent(runpod, instance_label(uuid.uuid4(), 1))
    scraper = scraper_for(settings_for(tmp_path, runpod.base_url,
                                       exporter_listing_interval_s=3600))
    _, first = scraper.scrape()
    asked = len(runpod.requests)
    rent(runpod, instance_label(uuid.uuid4(), 1))
    asked_with_the_rental = len(runpod.requests)

    _, second = scraper.scrape()

    assert by_provider(first, "aima_gpu_instances") == {"runpod": 1}
    assert asked > 0
    assert len(runpod.requests) == asked_with_the_rental  # not asked again within the hour
    assert by_provider(second, "aima_gpu_instances") == {"runpod": 1}  # the last listing
    _, fresh = scraper_for(settings_for(tmp_path, runpod.base_url,
                                        exporter_listing_interval_s=0)).scrape()
    assert by_provider(fresh, "aima_gpu_instances") == {"runpod": 2}


def test_a_provider_or_prefect_out_of_reach_is_reported_not_raised(fakes, scraper_for,
                                                                     tmp_path, caplog):
    runpod, _ = fakes
    rent(runpod, instance_label(uuid.uuid4(), 1))
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings = settings_for(tmp_path, runpod.base_url, vastai_url=nowhere)
    Database(settings.database_url).dispose()  # migrated, as `aima db upgrade` leaves it
    scraper = scraper_for(settings)

    with caplog.at_level(logging.WARNING), \
            temporary_settings({PREFECT_API_URL: f"{nowhere}/api"}):
        page, samples = scraper.scrape()

    # RunPod answers, but its machine's flow run cannot be judged without Prefect.
    assert by_provider(samples, "aima_gpu_instances") == {"runpod": 1}
    assert by_provider(samples, "aima_gpu_instances_orphaned") == {}
    assert by_provider(samples, "aima_gpu_listing_ok") == {"runpod": 0, "vastai": 0}
    assert samples["aima_flow_runs_read_ok"][()] == 0
    assert samples["aima_exporter_read_ok"][()] == 1  # the store's figures are unaffected
    assert "GPU machines at vastai not listed" in caplog.text
    assert "not read from Prefect" in caplog.text
    for secret in (RUNPOD_KEY, VASTAI_KEY):
        assert secret not in page and secret not in caplog.text


def test_without_keys_or_a_prefect_api_there_are_no_machine_series(scraper_for, tmp_path,
                                                                    caplog):
    scraper = scraper_for(settings_for(tmp_path))

    with caplog.at_level(logging.WARNING), \
            temporary_settings(restore_defaults={PREFECT_API_URL}):
        _, samples = scraper.scrape()

    for name in ("aima_gpu_instances", "aima_gpu_instances_orphaned", "aima_gpu_listing_ok"):
        assert name not in samples
    assert samples["aima_flow_runs_read_ok"][()] == 0  # and no temporary Prefect server
    assert "No Prefect API URL provided" in caplog.text
