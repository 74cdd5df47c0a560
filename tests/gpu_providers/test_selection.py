"""Offer selection with live offers from both fake providers: every strategy and filter, and the
fallback to the next offer when the first cannot be rented.

For 24 GB and one GPU the fakes sell, on demand: RunPod RTX A5000 0.16 (community) / 0.29
(secure), RTX 4090 0.34 / 0.69, L4 0.43 (secure only), A100 1.19 / 1.64, H100 2.69 / 2.99, and
Vast.ai RTX 3090 0.18, RTX 4090 0.31, A100 1.10, H100 2.20 (tests/gpu_providers/fake_*.py).
"""

from __future__ import annotations

import pytest

from aima.gpu_providers.base import InstanceSpec, NoOfferLeft
from aima.gpu_providers.selection import STRATEGIES, OfferPolicy, choose, gather_offers, launch
from tests.gpu_providers.conftest import compute_for


def ranked(computes, **policy) -> list[tuple[str, str, str, float]]:
    """(provider, GPU, cloud, price) of each choice, best first."""
    policy = OfferPolicy(**policy)
    offers, problems = gather_offers(computes, policy)
    assert problems == {}
    return [(c.offer.provider, c.offer.gpu_model, c.offer.cloud, c.price_per_hour)
            for c in choose(offers, policy)]


def test_cheapest_orders_both_providers_offers_by_price(computes):
    choices = ranked(computes, min_vram_gb=24)
    assert choices[:4] == [("runpod", "RTX A5000", "community", 0.16),
                           ("vastai", "RTX 3090", "community", 0.18),
                           ("runpod", "RTX A5000", "secure", 0.29),
                           ("vastai", "RTX 4090", "community", 0.31)]
    assert [price for *_, price in choices] == sorted(price for *_, price in choices)
    assert len(choices) == 13


def test_provider_order_tries_each_provider_in_turn(computes):
    choices = ranked(computes, min_vram_gb=24, strategy="provider-order",
                     providers=("vastai", "runpod"))
    assert [provider for provider, *_ in choices] == ["vastai"] * 4 + ["runpod"] * 9
    assert choices[0] == ("vastai", "RTX 3090", "community", 0.18)
    assert choices[4] == ("runpod", "RTX A5000", "community", 0.16)


def test_fastest_available_puts_the_fastest_gpu_first_then_the_cheaper(computes):
    choices = ranked(computes, min_vram_gb=24, strategy="fastest-available")
    assert [gpu for _, gpu, *_ in choices[:6]] == ["H100 SXM"] * 3 + ["A100 SXM4", "A100 PCIe",
                                                                      "A100 PCIe"]
    assert choices[0] == ("vastai", "H100 SXM", "secure", 2.20)
    assert choices[-1] == ("vastai", "RTX 3090", "community", 0.18)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_applies_every_filter(computes, strategy):
    choices = ranked(computes, strategy=strategy, min_vram_gb=80, max_price_per_hour=2.5,
                     cloud="secure", min_reliability=0.999)
    assert sorted(choices) == [("runpod", "A100 PCIe", "secure", 1.64),
                               ("vastai", "A100 SXM4", "secure", 1.10)]


def test_filters_one_by_one(computes):
    assert {gpu for _, gpu, *_ in ranked(computes, min_vram_gb=80)} == {
        "A100 PCIe", "H100 SXM", "A100 SXM4"}
    assert all(price <= 0.3 for *_, price in ranked(computes, max_price_per_hour=0.3))
    community = ranked(computes, min_vram_gb=24, cloud="community")
    assert {cloud for *_, cloud, _ in community} == {"community"}
    assert ("vastai", "A100 SXM4", "secure", 1.10) not in community
    reliable = ranked(computes, min_vram_gb=24, min_reliability=0.99)
    assert ("vastai", "RTX 3090", "community", 0.18) not in reliable  # 0.962
    assert ("vastai", "RTX 4090", "community", 0.31) in reliable  # 0.995
    assert ("runpod", "RTX A5000", "community", 0.16) in reliable  # RunPod publishes none
    assert {p for p, *_ in ranked(computes, providers=("vastai",))} == {"vastai"}
    two = ranked(computes, min_vram_gb=24, gpu_count=2)
    assert ("vastai", "RTX 4090", "community", 0.62) in two
    assert ("runpod", "RTX 4090", "community", 0.68) in two


def test_interruptible_rentals_are_choices_only_when_allowed(computes):
    policy = OfferPolicy(min_vram_gb=24, interruptible=True)
    offers, _ = gather_offers(computes, policy)
    choices = choose(offers, policy)
    assert (choices[0].offer.provider, choices[0].offer.gpu_model) == ("vastai", "RTX 3090")
    assert choices[0].interruptible and choices[0].price_per_hour == 0.09
    assert any(not c.interruptible and c.offer.gpu_model == "RTX 3090" for c in choices)
    assert not any(c.interruptible for c in choose(offers, OfferPolicy(min_vram_gb=24)))


def test_a_provider_that_fails_leaves_the_others_offers(runpod, vastai):
    computes = {"runpod": compute_for(runpod, api_key="wrong"), "vastai": compute_for(vastai)}
    offers, problems = gather_offers(computes, OfferPolicy())
    assert set(problems) == {"runpod"} and {offer.provider for offer in offers} == {"vastai"}


SPEC = InstanceSpec(label="aima-fallback", image="img", command=["sleep", "30"])


def test_no_capacity_on_the_first_choice_rents_the_next(computes, runpod, vastai):
    policy = OfferPolicy(min_vram_gb=24)
    choices = choose(gather_offers(computes, policy)[0], policy)
    runpod.no_capacity_for("NVIDIA RTX A5000")

    instance, choice = launch(choices, computes, SPEC)
    assert (choice.offer.provider, choice.offer.gpu_model) == ("vastai", "RTX 3090")
    assert instance.provider == "vastai" and runpod.ledger.entries() == []
    assert [entry.offer_id for entry in vastai.ledger.running()] == ["7002"]


def test_a_create_that_keeps_failing_moves_on_to_the_next_offer(computes, runpod, vastai):
    policy = OfferPolicy(min_vram_gb=24, providers=("runpod",), strategy="provider-order")
    choices = choose(gather_offers(computes, policy)[0], policy)
    runpod.fail_creates(4, status=500)  # the first try and its 3 retries

    instance, choice = launch(choices, computes, SPEC)
    assert choice == choices[1] and instance.provider == "runpod"
    assert [entry.instance_id for entry in runpod.ledger.entries()] == [instance.instance_id]


def test_a_refused_key_skips_that_providers_offers(computes, runpod, vastai):
    policy = OfferPolicy(min_vram_gb=24)
    choices = choose(gather_offers(computes, policy)[0], policy)
    computes = {**computes, "runpod": compute_for(runpod, api_key="revoked")}

    instance, choice = launch(choices, computes, SPEC)
    assert choice.offer.provider == "vastai"
    assert len([r for r in runpod.requests if "mutation" in r["json"]["query"]]) == 1


def test_when_no_offer_can_be_rented_every_try_is_reported(computes, runpod, vastai):
    policy = OfferPolicy(min_vram_gb=80)
    choices = choose(gather_offers(computes, policy)[0], policy)
    runpod.no_capacity_for("NVIDIA A100 80GB PCIe", "NVIDIA H100 80GB HBM3")
    vastai.no_capacity_for("7003", "7004")

    with pytest.raises(NoOfferLeft) as raised:
        launch(choices, computes, SPEC, max_attempts=3)
    assert len(raised.value.attempts) == 3
    assert "A100 SXM4" in raised.value.attempts[0] and "no longer available" in str(raised.value)
    assert runpod.ledger.entries() == [] and vastai.ledger.entries() == []
