"""The contract every GPU provider meets (RunPod and Vast.ai, each against its loopback fake):
rent, watch, find by label and terminate, with every second billed until terminate; transient
failures retried without ever starting a second machine; refusals not retried."""

from __future__ import annotations

import pytest

from aima.gpu_providers.base import (
    BadCredentials, Compute, InstanceSpec, InstanceState, NoCapacity, ProviderError,
    ProviderUnavailable, Requirements, parse_infrastructure_pid,
)
from tests.gpu_providers.conftest import compute_for


def spec(label: str = "aima-run-1", **overrides) -> InstanceSpec:
    fields = {"label": label, "image": "ghcr.io/example/aima-gpu:1",
              "command": ["sh", "-c", "echo started; sleep 30"], "env": {"STAGE": "describe"}}
    return InstanceSpec(**{**fields, **overrides})


def cheapest(compute: Compute, min_vram_gb: int = 24):
    return min(compute.offers(Requirements(min_vram_gb=min_vram_gb)),
               key=lambda offer: offer.price_per_hour)


def creates(fake) -> list[dict]:
    """The create requests the fake received."""
    if fake.provider == "vastai":
        return [r for r in fake.requests if r["method"] == "PUT" and "/asks/" in r["path"]]
    return [r for r in fake.requests if "mutation podFindAndDeploy" in r["json"]["query"]
            or "mutation podRent" in r["json"]["query"]]


def test_an_instance_is_rented_watched_found_by_label_and_terminated(provider):
    compute, fake = provider
    assert isinstance(compute, Compute)
    offer = cheapest(compute)

    instance = compute.create(offer, spec())
    assert instance.provider == fake.provider and instance.label == "aima-run-1"
    assert instance.infrastructure_pid == f"{fake.provider}:{instance.instance_id}"
    assert parse_infrastructure_pid(instance.infrastructure_pid) == (fake.provider,
                                                                     instance.instance_id)
    assert instance.state in (InstanceState.STARTING, InstanceState.RUNNING)
    assert instance.price_per_hour == pytest.approx(offer.price_per_hour)

    entry = fake.ledger.get(instance.instance_id)
    assert (entry.offer_id, entry.label, entry.image) == (offer.offer_id, "aima-run-1",
                                                          "ghcr.io/example/aima-gpu:1")
    assert compute.status(instance.instance_id).state == InstanceState.RUNNING
    assert [found.instance_id for found in compute.list_by_label("aima-run-")] == [
        instance.instance_id]
    assert compute.list_by_label("aima-other-") == []

    compute.terminate(instance.instance_id)
    assert compute.status(instance.instance_id) is None
    assert compute.list_by_label("aima-") == []
    assert fake.ledger.running() == []
    assert entry.status == "terminated" and entry.billed_seconds > 0
    assert entry.cost_usd == pytest.approx(offer.price_per_hour * entry.billed_seconds / 3600)
    compute.terminate(instance.instance_id)  # already gone: no error


def test_the_command_runs_with_exactly_the_given_environment(provider):
    compute, fake = provider
    tricky = 'say "hi" {braces} }{ $(not run) `nor this` \\ back\nslash'
    instance = compute.create(cheapest(compute), spec(
        command=["sh", "-c", 'printf "%s|" "$TRICKY"; env'], env={"TRICKY": tricky}))

    entry = fake.ledger.get(instance.instance_id)
    assert entry.wait() == 0
    value, _, environment = entry.output().partition("|")
    assert value == tricky
    assert entry.env == {"TRICKY": tricky}
    names = {line.split("=", 1)[0] for line in environment.splitlines() if "=" in line}
    assert "PYTEST_CURRENT_TEST" not in names  # nothing of this machine's environment leaks in
    assert compute.status(instance.instance_id).state == InstanceState.EXITED
    assert fake.ledger.running() == [entry]  # an ended command is billed until terminated
    compute.terminate(instance.instance_id)
    assert fake.ledger.running() == []


def test_a_killed_instance_shows_exited_and_stays_billed_until_terminated(provider):
    compute, fake = provider
    instance = compute.create(cheapest(compute), spec())
    fake.kill(instance.instance_id)

    assert compute.status(instance.instance_id).state == InstanceState.EXITED
    assert len(fake.ledger.running()) == 1
    compute.terminate(instance.instance_id)
    assert fake.ledger.running() == []


def test_an_interruptible_rental_bids_the_offers_interruptible_price(provider):
    compute, fake = provider
    offer = next(offer for offer in compute.offers(Requirements(min_vram_gb=24))
                 if offer.interruptible_price_per_hour)
    instance = compute.create(offer, spec(), interruptible=True)

    entry = fake.ledger.get(instance.instance_id)
    assert entry.interruptible
    assert entry.price_per_hour == pytest.approx(offer.interruptible_price_per_hour)
    compute.terminate(instance.instance_id)


def test_server_errors_on_create_are_retried_and_one_machine_starts(provider):
    compute, fake = provider
    fake.fail_creates(2, status=503)
    instance = compute.create(cheapest(compute), spec())

    assert len(creates(fake)) == 3
    assert [entry.instance_id for entry in fake.ledger.entries()] == [instance.instance_id]


def test_a_lost_create_reply_does_not_start_a_second_machine(provider):
    compute, fake = provider
    fake.lose_create_replies(1)  # the machine starts, the reply is a 503
    instance = compute.create(cheapest(compute), spec(label="aima-lost-reply"))

    assert len(creates(fake)) == 1
    assert [entry.instance_id for entry in fake.ledger.labelled("aima-lost-reply")] == [
        instance.instance_id]


def test_creates_that_keep_failing_end_in_a_transient_error_and_no_machine(provider):
    compute, fake = provider
    fake.fail_creates(10, status=502)
    with pytest.raises(ProviderUnavailable) as raised:
        compute.create(cheapest(compute), spec())
    assert raised.value.transient and raised.value.status == 502
    assert len(creates(fake)) == 4  # the first try and 3 retries
    assert fake.ledger.entries() == []


def test_a_refused_create_is_not_retried(provider):
    compute, fake = provider
    fake.fail_creates(1, status=400)
    with pytest.raises(ProviderError) as raised:
        compute.create(cheapest(compute), spec())
    assert not raised.value.transient and raised.value.status == 400
    assert len(creates(fake)) == 1 and fake.ledger.entries() == []


def test_an_offer_that_is_gone_raises_no_capacity(provider):
    compute, fake = provider
    offer = cheapest(compute)
    fake.no_capacity_for(offer.offer_id)
    with pytest.raises(NoCapacity):
        compute.create(offer, spec())
    assert len(creates(fake)) == 1 and fake.ledger.entries() == []


def test_rate_limits_and_timeouts_are_retried_with_backoff(provider):
    _, fake = provider
    compute = compute_for(fake, timeout_s=0.3)
    fake.rate_limit(2)
    assert compute.offers(Requirements(min_vram_gb=24))
    fake.slow_down(1, seconds=1.0)  # past the client's 0.3 s timeout
    assert compute.offers(Requirements(min_vram_gb=24))
    assert len(fake.requests) == 5  # 2 answered 429, 1 timed out, 2 answered
    compute.close()


def test_a_refused_key_is_not_retried_and_names_where_the_key_comes_from(provider):
    _, fake = provider
    compute = compute_for(fake, api_key="not-the-key")
    with pytest.raises(BadCredentials) as raised:
        compute.offers(Requirements())
    setting = "AIMA_RUNPOD_API_KEY" if fake.provider == "runpod" else "AIMA_VASTAI_API_KEY"
    assert setting in str(raised.value) and raised.value.status == 401
    assert len(fake.requests) == 1
    compute.close()
