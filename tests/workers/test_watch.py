"""When a rented machine must go, decided from one look at the instance and the flow run."""

from __future__ import annotations

import pytest
from prefect.client.schemas.objects import StateType

from aima.gpu_providers.base import Instance, InstanceState
from aima.workers.watch import Limits, Verdict, Watch

LIMITS = Limits(budget_usd=1.0, instance_ttl_s=3600, start_timeout_s=600, cancel_grace_s=10)


def machine(state=InstanceState.RUNNING, uptime_s=60.0, price=3.6) -> Instance:
    return Instance(provider="runpod", instance_id="p1", label="aima-x-1", state=state,
                    provider_status=state.value, price_per_hour=price, uptime_s=uptime_s)


def watch(**limits) -> Watch:
    return Watch(Limits(**{**LIMITS.__dict__, **limits}), started_at=0.0, price_per_hour=3.6)


@pytest.mark.parametrize("state, instance, verdict", [
    (StateType.RUNNING, machine(), Verdict.WATCH),
    (StateType.PENDING, machine(InstanceState.STARTING), Verdict.WATCH),
    (StateType.PAUSED, machine(), Verdict.WATCH),
    (StateType.COMPLETED, machine(InstanceState.EXITED), Verdict.FINISHED),
    (StateType.FAILED, machine(), Verdict.FINISHED),
    (StateType.CRASHED, None, Verdict.FINISHED),
    (StateType.CANCELLED, machine(), Verdict.FINISHED),
    (None, machine(), Verdict.LEFT),  # the flow run was deleted
    (StateType.SCHEDULED, machine(), Verdict.LEFT),  # rescheduled by someone else
    (StateType.RUNNING, machine(InstanceState.EXITED), Verdict.LOST),
    (StateType.RUNNING, None, Verdict.LOST),
    (StateType.PENDING, machine(InstanceState.TERMINATED), Verdict.LOST),
])
def test_one_look_gives_the_verdict(state, instance, verdict):
    assert watch().step(state, instance, now=30.0) is verdict


def test_a_cancelled_run_gets_its_grace_unless_its_machine_already_stopped():
    watching = watch(cancel_grace_s=10)
    assert watching.step(StateType.CANCELLING, machine(), now=100.0) is Verdict.WATCH
    assert watching.step(StateType.CANCELLING, machine(), now=105.0) is Verdict.WATCH
    assert watching.step(StateType.CANCELLING, machine(), now=110.0) is Verdict.CANCELLED
    stopped = watch(cancel_grace_s=10)
    assert stopped.step(StateType.CANCELLING, machine(InstanceState.EXITED),
                        now=100.0) is Verdict.CANCELLED


def test_the_budget_counts_earlier_machines_and_the_providers_uptime():
    # $3.60/h: 900 s cost $0.90, plus $0.15 spent by an earlier attempt
    watching = watch(budget_usd=1.0, spent_before_usd=0.15)
    assert watching.step(StateType.RUNNING, machine(uptime_s=700), now=700.0) is Verdict.WATCH
    assert watching.step(StateType.RUNNING, machine(uptime_s=900), now=900.0) is Verdict.BUDGET
    assert watch(budget_usd=None).step(StateType.RUNNING, machine(uptime_s=10**6),
                                       now=10.0) is Verdict.WATCH


def test_a_machine_past_its_ttl_or_that_never_starts_the_run_must_go():
    assert watch(instance_ttl_s=100).step(StateType.RUNNING, machine(), now=100.0) \
        is Verdict.TIMED_OUT
    never = watch(start_timeout_s=600)
    assert never.step(StateType.PENDING, machine(), now=599.0) is Verdict.WATCH
    assert never.step(StateType.PENDING, machine(), now=600.0) is Verdict.NOT_STARTED
    started = watch(start_timeout_s=600)
    assert started.step(StateType.RUNNING, machine(), now=10.0) is Verdict.WATCH
    assert started.step(StateType.PAUSED, machine(), now=900.0) is Verdict.WATCH
    assert {v for v in Verdict if v.retryable} == {Verdict.LOST, Verdict.NOT_STARTED}
