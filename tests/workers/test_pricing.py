"""The live price of a rented GPU pool: real work pools of type runpod and vastai (and process) on a
real Prefect server, offers from the loopback RunPod and Vast.ai fakes, and the cost estimate of a
real ingested case priced with it.

Expected prices are worked out from the fakes' catalogues (tests/gpu_providers/fake_*.py): RunPod
prices per GPU (secure, community and the lowest bid), Vast.ai per offer (``dph_total``).
"""

from __future__ import annotations

import uuid

import pytest
from prefect.client.schemas.actions import WorkPoolCreate
from pydantic import SecretStr

from aima.errors import ConfigError
from aima.pipeline.cost import SECONDS_PER_UNIT, estimate
from aima.pipeline.sources import SourceFile
from aima.settings import Settings
from aima.stages.ingest import ingest_file
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case
from aima.workers import RunPodWorker, VastAIWorker
from aima.workers.configuration import job_template
from aima.workers.pricing import LivePrice, PriceUnavailable, live_price
from tests.gpu_providers.fakes import GPU_TYPES, OFFERS, FakeRunPod, FakeVastAI
from tests.mediagen import quadrant_image
from tests.services import free_port

RUNPOD_KEY = "rp_pricing_test_Key-5c2e9a7f1b3d4e60"
VASTAI_KEY = "vast_pricing_test_key_9e1f3a5c7b2d4f68"
API_URL = "https://prefect.example.org/api"


@pytest.fixture(scope="module")
def fakes():
    with FakeRunPod(api_key=RUNPOD_KEY).start() as runpod, \
            FakeVastAI(api_key=VASTAI_KEY).start() as vastai:
        yield {"runpod": runpod, "vastai": vastai}


def settings_for(fakes, tmp_path, **overrides) -> Settings:
    values = dict(data_dir=tmp_path / "aima", runpod_api_key=RUNPOD_KEY,
                  runpod_api_url=fakes["runpod"].base_url, vastai_api_key=VASTAI_KEY,
                  vastai_api_url=fakes["vastai"].base_url, gpu_api_retries=0,
                  gpu_api_timeout_s=5, gpu_deployment=f"gpu-analysis/{uuid.uuid4().hex[:8]}")
    return Settings(**{**values, **overrides})


def make_pool(client, worker_class, **defaults) -> str:
    name = f"price-{worker_class.type}-{uuid.uuid4().hex[:8]}"
    client.create_work_pool(WorkPoolCreate(
        name=name, type=worker_class.type,
        base_job_template=job_template(worker_class, prefect_api_url=API_URL, **defaults)))
    return name


def deploy(client, settings: Settings, pool: str, **job_variables) -> None:
    """``settings.gpu_deployment`` on ``pool``, overriding the pool's defaults."""
    flow, name = settings.gpu_deployment.split("/")
    client.create_deployment(flow_id=client.create_flow_from_name(flow), name=name,
                             entrypoint="aima.flows.gpu:gpu_analysis", work_pool_name=pool,
                             pull_steps=[], job_variables=job_variables)


def runpod_on_demand(min_vram_gb: int) -> list[tuple[float, dict]]:
    """(price, GPU type) of every on-demand RunPod rental of one GPU with that much memory."""
    return [(price, gpu) for gpu in GPU_TYPES if gpu["memoryInGb"] >= min_vram_gb
            for price in (gpu["securePrice"], gpu["communityPrice"]) if price]


def test_a_runpod_pool_pays_the_cheapest_fitting_offer(client, fakes, tmp_path):
    pool = make_pool(client, RunPodWorker, min_vram_gb=24)

    live = live_price(pool, settings_for(fakes, tmp_path), client=client)

    price, gpu = min(runpod_on_demand(24), key=lambda pair: pair[0])
    assert live == LivePrice(pool=pool, provider="runpod", gpu=gpu["displayName"], gpu_count=1,
                             cloud="community", offer_id=gpu["id"], interruptible=False,
                             price_per_hour=price, strategy="cheapest",
                             fitting=len(runpod_on_demand(24)))
    assert live.describe() == (f"RunPod {gpu['displayName']} at ${price:.2f}/h (community, on "
                               f"demand), offer {gpu['id']}")
    assert fakes["runpod"].ledger.entries() == []  # only asked, nothing rented


def test_the_deployments_job_variables_override_the_pools_as_in_the_worker(client, fakes,
                                                                           tmp_path):
    pool = make_pool(client, RunPodWorker, min_vram_gb=24)
    settings = settings_for(fakes, tmp_path)
    deploy(client, settings, pool, interruptible=True, cloud="secure", min_vram_gb=80)

    live = live_price(pool, settings, client=client)

    bid, gpu = min((gpu["minimumBidPrice"], gpu) for gpu in GPU_TYPES
                   if gpu["memoryInGb"] >= 80 and gpu["securePrice"] and gpu["minimumBidPrice"])
    assert (live.gpu, live.offer_id, live.cloud, live.interruptible, live.price_per_hour) == (
        gpu["displayName"], gpu["id"], "secure", True, bid)
    assert "(secure, interruptible)" in live.describe()


def test_a_deployment_on_another_pool_changes_nothing(client, fakes, tmp_path):
    pool = make_pool(client, RunPodWorker, min_vram_gb=24)
    settings = settings_for(fakes, tmp_path)
    deploy(client, settings, make_pool(client, RunPodWorker), min_vram_gb=80)

    live = live_price(pool, settings, client=client)

    assert live.price_per_hour == min(price for price, _ in runpod_on_demand(24))


def test_a_vastai_pool_applies_its_reliability_filter(client, fakes, tmp_path):
    pool = make_pool(client, VastAIWorker, min_vram_gb=24, min_reliability=0.99)

    live = live_price(pool, settings_for(fakes, tmp_path), client=client)

    fitting = [offer for offer in OFFERS if offer["num_gpus"] == 1
               and offer["gpu_ram"] >= 24_000 and offer["reliability"] >= 0.99]
    cheapest = min(fitting, key=lambda offer: offer["dph_total"])
    assert (live.provider, live.gpu, live.offer_id, live.price_per_hour, live.fitting) == (
        "vastai", cheapest["gpu_name"], str(cheapest["id"]), cheapest["dph_total"], len(fitting))
    assert min(offer["dph_total"] for offer in OFFERS if offer["num_gpus"] == 1
               and offer["gpu_ram"] >= 24_000) < live.price_per_hour  # a less reliable host


def test_a_machine_of_several_gpus_is_priced_whole(client, fakes, tmp_path):
    pool = make_pool(client, VastAIWorker, min_vram_gb=24, gpu_count=2)

    live = live_price(pool, settings_for(fakes, tmp_path), client=client)

    [pair] = [offer for offer in OFFERS if offer["num_gpus"] == 2]
    assert (live.gpu_count, live.price_per_hour) == (2, pair["dph_total"])
    assert live.describe().startswith(
        f"Vast.ai 2x {pair['gpu_name']} at ${pair['dph_total']:.2f}/h for the machine")


def test_a_strategy_other_than_cheapest_is_followed(client, fakes, tmp_path):
    pool = make_pool(client, RunPodWorker, providers=["runpod", "vastai"], min_vram_gb=24,
                     strategy="provider-order")
    settings = settings_for(fakes, tmp_path)
    deploy(client, settings, pool, providers=["vastai", "runpod"])

    live = live_price(pool, settings, client=client)

    assert (live.provider, live.strategy) == ("vastai", "provider-order")
    assert live.price_per_hour == min(offer["dph_total"] for offer in OFFERS
                                      if offer["num_gpus"] == 1 and offer["gpu_ram"] >= 24_000)


def test_no_fitting_offer_stops_before_renting(client, fakes, tmp_path):
    cheapest = min(price for price, _ in runpod_on_demand(24))
    pool = make_pool(client, RunPodWorker, min_vram_gb=24, max_price_per_hour=cheapest / 2)

    with pytest.raises(ConfigError) as raised:
        live_price(pool, settings_for(fakes, tmp_path), client=client)

    message = str(raised.value)
    assert raised.value.setting == "AIMA_GPU_POOL"
    assert f"no offer of runpod fits work pool {pool!r}'s filters" in message
    assert f"max_price_per_hour={cheapest / 2}" in message
    assert "nothing was rented" in message and RUNPOD_KEY not in message
    assert fakes["runpod"].ledger.entries() == []


@pytest.mark.parametrize("problem", ["unreachable", "key refused"])
def test_a_provider_that_cannot_be_asked_gives_no_price(client, fakes, tmp_path, problem):
    pool = make_pool(client, VastAIWorker, min_vram_gb=24)
    settings = (settings_for(fakes, tmp_path, vastai_api_url=f"http://127.0.0.1:{free_port()}")
                if problem == "unreachable"
                else settings_for(fakes, tmp_path, vastai_api_key=SecretStr("vast_wrong_key_1")))

    with pytest.raises(PriceUnavailable) as raised:
        live_price(pool, settings, client=client)

    message = str(raised.value)
    assert f"offers of work pool {pool!r} could not be read" in message
    assert ("ConnectError" if problem == "unreachable" else "the API key was refused") in message
    assert VASTAI_KEY not in message and "vast_wrong_key_1" not in message


def test_a_pool_whose_providers_have_no_key_here_is_a_config_error(client, fakes, tmp_path):
    pool = make_pool(client, RunPodWorker)

    with pytest.raises(ConfigError, match="AIMA_RUNPOD_API_KEY or the RunPodCredentials block"):
        live_price(pool, settings_for(fakes, tmp_path, runpod_api_key=None), client=client)


def test_a_pool_its_worker_could_not_configure_is_a_config_error(client, fakes, tmp_path):
    name = f"price-runpod-{uuid.uuid4().hex[:8]}"  # no prefect_api_url: no worker can run it
    client.create_work_pool(WorkPoolCreate(name=name, type="runpod",
                                           base_job_template=job_template(RunPodWorker)))

    with pytest.raises(ConfigError, match=f"work pool {name!r} has invalid job variables "
                                          r"\(prefect_api_url: "):
        live_price(name, settings_for(fakes, tmp_path), client=client)
    assert fakes["runpod"].ledger.entries() == []


def test_a_process_pool_keeps_the_setting_price(client, fakes, tmp_path):
    name = f"price-process-{uuid.uuid4().hex[:8]}"
    client.create_work_pool(WorkPoolCreate(name=name, type="process"))
    asked = len(fakes["runpod"].requests) + len(fakes["vastai"].requests)

    assert live_price(name, settings_for(fakes, tmp_path)) is None  # its own Prefect client
    assert len(fakes["runpod"].requests) + len(fakes["vastai"].requests) == asked
    with pytest.raises(ConfigError, match="no work pool named 'no-such-pool'"):
        live_price("no-such-pool", settings_for(fakes, tmp_path), client=client)


def test_the_estimate_is_priced_at_the_live_offer(client, fakes, tmp_path):
    settings = settings_for(fakes, tmp_path, gpu_startup_s=120.0, gpu_price_per_hour=9.0)
    live = live_price(make_pool(client, VastAIWorker, min_vram_gb=24), settings, client=client)
    quadrant_image(320, 240).save(tmp_path / "photo.jpg", quality=90)
    with open_stores(settings) as stores:
        case = get_or_create_case(stores.metadata, "pricing")
        outcome = ingest_file(stores, settings, str(case.id),
                              SourceFile(uri=str(tmp_path / "photo.jpg"), name="photo.jpg"))
        wanted = {outcome.media_id: ["describe", "faces"]}

        priced = estimate(stores, wanted, settings, price_per_hour=live.price_per_hour)
        fallback = estimate(stores, wanted, settings)

    gpu_seconds = SECONDS_PER_UNIT["describe"][1] + SECONDS_PER_UNIT["faces"][1] + 120.0
    assert (priced.price_source, priced.price_per_hour) == ("offer", live.price_per_hour)
    assert priced.gpu_seconds == pytest.approx(gpu_seconds)
    assert priced.usd == pytest.approx(gpu_seconds / 3600 * live.price_per_hour)
    assert "(live offer)" in priced.markdown()
    assert (fallback.price_source, fallback.price_per_hour) == ("setting", 9.0)
    assert fallback.usd == pytest.approx(gpu_seconds / 3600 * 9.0)
