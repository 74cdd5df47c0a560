"""A flow run deployed to a ``runpod`` pool and one to a ``vastai`` pool, each run by AIMA's worker
on a machine rented from the fake provider: the flow really runs there, with the pool's
environment minus every store credential and API key, and the machine is terminated with the run
and its cost recorded on the flow run."""

from __future__ import annotations

import pytest

from aima.workers.cost import actual_cost_usd, rentals
from tests.workers.conftest import (
    STORE_SECRETS, all_terminated, recorded_env, start_probe, wait_final, wait_until,
)


@pytest.mark.parametrize("provider", ["runpod", "vastai"])
def test_a_flow_run_completes_on_a_rented_machine_without_store_credentials(
        request, client, prefect_api, provider):
    stack = request.getfixturevalue(f"{provider}_stack")
    run = start_probe(client, stack, f"happy-{provider}")

    final = wait_final(client, run.id)

    assert final.state.is_completed(), final.state.message
    [machine] = all_terminated(stack, run.id, count=1)
    assert final.infrastructure_pid == f"{provider}:{machine.instance_id}"
    assert machine.label == f"aima-{run.id}-1"
    # the cheapest fitting offer of the pool's policy (24 GB, any cloud, on demand)
    assert machine.offer_id == {"runpod": "NVIDIA RTX A5000", "vastai": "7002"}[provider]
    env = recorded_env(stack, f"happy-{provider}")
    assert env["PREFECT_API_URL"] == prefect_api
    assert env["PREFECT__FLOW_RUN_ID"] == str(run.id)
    assert "PREFECT_HOME" not in machine.env  # the worker's own home stays on its machine
    assert "PREFECT_RESULTS_LOCAL_STORAGE_PATH" in machine.env  # the pool asked for it
    for name in [*STORE_SECRETS, "AIMA_RUNPOD_API_KEY", "AIMA_VASTAI_API_KEY"]:
        assert name not in machine.env and name not in env
    # the cost is recorded just after the machine is terminated
    [rental] = wait_until(lambda: rentals(run.id) or None, 30, "the machine's cost recorded")
    assert (rental.provider, rental.instance_id, rental.ended) == (provider, machine.instance_id,
                                                                  "finished")
    assert rental.cost_usd == pytest.approx(machine.cost_usd, abs=0.0005)
    assert actual_cost_usd(run.id) == rental.cost_usd
