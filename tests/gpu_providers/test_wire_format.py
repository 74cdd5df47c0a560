"""What goes over the wire to each provider, and how its answers become one ``Offer`` type."""

from __future__ import annotations

import pytest

from aima.gpu_providers.base import InstanceSpec, Offer, Requirements
from tests.gpu_providers.fake_runpod import GPU_TYPES
from tests.gpu_providers.fake_vastai import OFFERS

TRICKY = 'quote " brace { } } {"input": {"name": "x"}} mutation { podTerminate } \\'


def test_runpod_values_travel_as_graphql_variables_never_in_the_query_text(computes, runpod):
    compute = computes["runpod"]
    offer = next(offer for offer in compute.offers(Requirements()) if offer.cloud == "community")
    spec = InstanceSpec(label='aima-"label"-{1}', image="img:1", command=["run", "it's"],
                        env={"TRICKY": TRICKY, "PLAIN": "1"}, disk_gb=30)
    instance = compute.create(offer, spec)

    entry = runpod.ledger.get(instance.instance_id)
    assert entry.env == {"TRICKY": TRICKY, "PLAIN": "1"} and entry.label == 'aima-"label"-{1}'
    assert entry.command == "run 'it'\"'\"'s'" and entry.disk_gb == 30
    sent = next(r["json"] for r in runpod.requests if "podFindAndDeploy" in r["json"]["query"])
    assert sent["variables"]["input"] == {
        "name": 'aima-"label"-{1}', "imageName": "img:1", "cloudType": "COMMUNITY",
        "gpuTypeId": offer.offer_id, "gpuCount": 1, "containerDiskInGb": 30, "volumeInGb": 0,
        "dockerArgs": "run 'it'\"'\"'s'",
        "env": [{"key": "TRICKY", "value": TRICKY}, {"key": "PLAIN", "value": "1"}]}
    for query in runpod.queries():
        assert "TRICKY" not in query and "aima-" not in query and offer.offer_id not in query
    compute.terminate(instance.instance_id)
    terminate = next(r["json"] for r in runpod.requests if "podTerminate" in r["json"]["query"])
    assert terminate["variables"] == {"input": {"podId": instance.instance_id}}


def test_runpod_gpu_types_become_one_offer_per_cloud_priced_for_all_gpus(computes):
    offers = computes["runpod"].offers(Requirements(min_vram_gb=24, gpu_count=2))

    by_cloud = {(offer.offer_id, offer.cloud): offer for offer in offers}
    assert by_cloud[("NVIDIA GeForce RTX 4090", "secure")] == Offer(
        provider="runpod", offer_id="NVIDIA GeForce RTX 4090", gpu_model="RTX 4090", gpu_count=2,
        vram_gb=24, price_per_hour=1.38, interruptible_price_per_hour=0.40, reliability=None,
        region=None, cloud="secure")
    assert by_cloud[("NVIDIA GeForce RTX 4090", "community")].price_per_hour == 0.68
    assert ("NVIDIA L4", "secure") in by_cloud and ("NVIDIA L4", "community") not in by_cloud
    assert by_cloud[("NVIDIA L4", "secure")].interruptible_price_per_hour is None
    assert all(offer.vram_gb >= 24 for offer in offers)  # the 16 GB RTX A4000 is left out
    assert len(offers) == sum(bool(t["securePrice"]) + bool(t["communityPrice"])
                              for t in GPU_TYPES if t["memoryInGb"] >= 24)


def test_vastai_search_and_rental_bodies(computes, vastai):
    compute = computes["vastai"]
    offers = compute.offers(Requirements(min_vram_gb=24))

    search = next(r for r in vastai.requests if r["path"] == "/api/v0/bundles/")
    assert search["json"] == {"gpu_ram": {"gte": 24000}, "num_gpus": {"eq": 1},
                              "rentable": {"eq": True}, "order": [["dph_total", "asc"]],
                              "type": "on-demand", "limit": 200}
    assert [offer.price_per_hour for offer in offers] == sorted(o.price_per_hour for o in offers)

    offer = next(offer for offer in offers if offer.offer_id == "7001")
    spec = InstanceSpec(label="aima-7", image="img:2", command=["python", "-c", "print('x')"],
                        env={"TRICKY": TRICKY}, disk_gb=50)
    instance = compute.create(offer, spec, interruptible=True)
    rent = next(r for r in vastai.requests if r["method"] == "PUT")
    assert rent["path"] == "/api/v0/asks/7001/"
    assert rent["json"] == {"client_id": "me", "image": "img:2", "env": {"TRICKY": TRICKY},
                            "disk": 50, "onstart": "python -c 'print('\"'\"'x'\"'\"')'",
                            "label": "aima-7", "price": 0.18}
    compute.list_by_label("aima-")
    listing = [r for r in vastai.requests if r["path"] == "/api/v0/instances/"]
    assert listing and all(r["params"] == {"owner": "me"} for r in listing)
    compute.terminate(instance.instance_id)
    assert vastai.requests[-1]["method"] == "DELETE"
    assert vastai.requests[-1]["path"] == f"/api/v0/instances/{instance.instance_id}/"


@pytest.mark.parametrize(("offer_id", "expected"), [
    ("7001", dict(gpu_model="RTX 4090", vram_gb=24, price_per_hour=0.31,
                  interruptible_price_per_hour=0.18, reliability=0.995, region="Norway, NO",
                  cloud="community")),
    ("7003", dict(gpu_model="A100 SXM4", vram_gb=80, price_per_hour=1.10,
                  interruptible_price_per_hour=0.55, reliability=0.999, region="Texas, US",
                  cloud="secure")),
])
def test_vastai_offers_are_normalised(computes, offer_id, expected):
    offers = {offer.offer_id: offer for offer in computes["vastai"].offers(Requirements())}
    assert offers[offer_id] == Offer(provider="vastai", offer_id=offer_id, gpu_count=1, **expected)
    assert "7005" not in offers  # two GPUs, one asked for
    assert len(offers) == sum(offer["num_gpus"] == 1 for offer in OFFERS)


def test_both_providers_answer_in_one_offer_type(computes):
    offers = [offer for compute in computes.values()
              for offer in compute.offers(Requirements(min_vram_gb=80))]
    assert {offer.provider for offer in offers} == {"runpod", "vastai"}
    assert {offer.gpu_model for offer in offers} == {"A100 PCIe", "H100 SXM", "A100 SXM4"}
    assert all(isinstance(offer, Offer) and offer.vram_gb == 80 for offer in offers)
