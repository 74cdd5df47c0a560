"""The fault matrix of a rented machine, each case ending with the fake provider's ledger showing
every machine of the run terminated and its billed seconds recorded.

Cases whose flow run never needs to start give the machine ``sleep 60`` as its command (the
pool's ``command`` variable): the worker's decisions do not depend on what the machine runs.
"""

from __future__ import annotations

from prefect.states import Cancelling

from aima.workers.cost import rentals
from tests.workers.conftest import (
    all_terminated, hold, machines_of, stages_computed, start_probe, wait_final, wait_until,
)

IDLE = "sleep 60"  # a machine that never starts the flow run


def test_a_failed_create_is_retried_and_a_sold_out_offer_skipped(client, runpod_stack):
    fake = runpod_stack.fake
    fake.faults.echo_auth = True  # error bodies quote the key: the secret-leak test looks for it
    fake.fail_creates(1, status=503)
    fake.no_capacity_for("NVIDIA RTX A5000")  # the cheapest fitting offer
    try:
        run = start_probe(client, runpod_stack, "sold-out")
        final = wait_final(client, run.id)
    finally:
        fake.faults.echo_auth = False
        fake.faults.no_capacity.clear()

    assert final.state.is_completed(), final.state.message
    [machine] = all_terminated(runpod_stack, run.id, count=1)
    assert machine.offer_id == "NVIDIA GeForce RTX 4090"  # the next cheapest: community, $0.34/h
    creates = [r["json"]["variables"]["input"] for r in fake.requests
               if r["json"] and "podFindAndDeploy" in r["json"]["query"]]
    tried = [(pod["gpuTypeId"], pod["cloudType"]) for pod in creates
             if pod["name"] == f"aima-{run.id}-1"]
    assert tried == [("NVIDIA RTX A5000", "COMMUNITY"),  # HTTP 503, retried:
                     ("NVIDIA RTX A5000", "COMMUNITY"),  # sold out, and so is
                     ("NVIDIA RTX A5000", "SECURE"),  # its secure-cloud offer; next:
                     ("NVIDIA GeForce RTX 4090", "COMMUNITY")]


def test_a_machine_lost_mid_run_is_replaced_and_finished_stages_are_not_recomputed(
        client, runpod_stack):
    held = hold(runpod_stack, "lost")
    run = start_probe(client, runpod_stack, "lost", sleep_s=60)
    wait_until(lambda: (runpod_stack.trace_dir / "sleeping-lost").exists(), 90,
               "the flow run reaches its wait on the first machine")
    [first] = machines_of(runpod_stack, run.id)
    runpod_stack.fake.kill(first.instance_id)  # the host is taken away (preempted)
    held.unlink()

    final = wait_final(client, run.id)

    assert final.state.is_completed(), final.state.message
    machines = all_terminated(runpod_stack, run.id, count=2)
    assert [m.label for m in machines] == [f"aima-{run.id}-1", f"aima-{run.id}-2"]
    assert stages_computed(runpod_stack, "lost") == 1  # the retry read the stored result
    [retry] = [state for state in client.read_flow_run_states(run.id)
               if state.name == "AwaitingRetry"]
    assert retry.message.startswith(f"GPU machine runpod:{machines[0].instance_id} was lost")
    assert [r.ended for r in rentals(run.id)] == ["lost", "finished"]


def test_a_machine_that_never_starts_the_run_is_retried_then_the_run_crashes(
        client, vastai_stack):
    run = start_probe(client, vastai_stack, "never", command=IDLE, start_timeout_s=2,
                      instance_retries=1)

    final = wait_final(client, run.id)

    assert final.state.is_crashed()
    assert "never started the flow run" in final.state.message
    all_terminated(vastai_stack, run.id, count=2)
    assert [r.ended for r in rentals(run.id)] == ["not started", "not started"]


def test_cancelling_a_pending_run_terminates_its_machine(client, runpod_stack):
    run = start_probe(client, runpod_stack, "cancel-pending", command=IDLE)
    wait_until(lambda: machines_of(runpod_stack, run.id), 60, "a machine is rented")
    assert client.read_flow_run(run.id).state.type.value == "PENDING"

    client.set_flow_run_state(run.id, Cancelling(message="cancelled by the test"))
    all_terminated(runpod_stack, run.id, count=1)  # fails unless terminated within 30 s

    assert wait_final(client, run.id).state.is_cancelled()


def test_cancelling_a_running_run_terminates_its_machine(client, vastai_stack):
    hold(vastai_stack, "cancel-running")
    run = start_probe(client, vastai_stack, "cancel-running", sleep_s=60)
    wait_until(lambda: (vastai_stack.trace_dir / "sleeping-cancel-running").exists(), 90,
               "the flow run is running on its machine")

    client.set_flow_run_state(run.id, Cancelling(message="cancelled by the test"))
    all_terminated(vastai_stack, run.id, count=1)  # fails unless terminated within 30 s

    assert wait_final(client, run.id).state.is_cancelled()


def test_a_run_that_reaches_its_budget_is_terminated_and_fails(client, runpod_stack):
    budget = 0.0001  # 2.25 s of an RTX A5000 at $0.16/h
    run = start_probe(client, runpod_stack, "budget", command=IDLE, budget_usd=budget)

    final = wait_final(client, run.id)

    assert final.state.is_failed()
    assert "GPU budget of $0.0001 reached" in final.state.message
    [machine] = all_terminated(runpod_stack, run.id, count=1)
    [rental] = rentals(run.id)
    assert rental.ended == "budget" and rental.cost_usd >= budget
    assert machine.cost_usd >= budget


def test_a_machine_past_its_ttl_is_terminated_and_the_run_fails_as_timed_out(
        client, vastai_stack):
    run = start_probe(client, vastai_stack, "ttl", command=IDLE, instance_ttl_s=2)

    final = wait_final(client, run.id)

    assert final.state.is_failed()
    assert final.state.message.startswith("Timed out")
    all_terminated(vastai_stack, run.id, count=1)
