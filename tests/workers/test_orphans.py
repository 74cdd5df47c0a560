"""Which rented machines the reaper terminates, against the fake RunPod's ledger."""

from __future__ import annotations

import uuid

import pytest
from prefect.client.schemas.objects import StateType
from pydantic import SecretStr

from aima.gpu_providers import open_compute
from aima.gpu_providers.base import (
    Credentials, Instance, InstanceSpec, InstanceState, Requirements,
)
from aima.workers.configuration import instance_label
from aima.workers.orphans import Owner, orphan_reason, owner_of, reap
from tests.gpu_providers.fakes import FakeRunPod


def test_labels_name_the_flow_run_and_attempt():
    flow_run_id = uuid.uuid4()
    assert owner_of(instance_label(flow_run_id, 3)) == (flow_run_id, 3)
    assert owner_of("aima-not-a-uuid-1") is None
    assert owner_of("my-own-pod") is None


@pytest.mark.parametrize("owner, attempt, uptime_s, reason", [
    (Owner(StateType.RUNNING, 1), 1, 60, None),
    (Owner(StateType.PENDING, 1), 1, 60, None),
    (Owner(StateType.PAUSED, 1), 1, 60, None),
    (Owner(StateType.COMPLETED, 1), 1, 60, "its flow run is Completed"),
    (Owner(StateType.CANCELLING, 1), 1, 60, "its flow run is Cancelling"),
    (Owner(StateType.SCHEDULED, 1), 1, 60, "its flow run is Scheduled"),
    (None, 1, 60, "its flow run no longer exists"),
    (Owner(StateType.RUNNING, 2), 1, 60, "its flow run is on attempt 2"),
    (Owner(StateType.RUNNING, 1), 1, 7200, "older than 3600 s (7200 s)"),
])
def test_orphan_reasons(owner, attempt, uptime_s, reason):
    instance = Instance(provider="vastai", instance_id="1", label="aima-x", uptime_s=uptime_s,
                        state=InstanceState.RUNNING, provider_status="running",
                        price_per_hour=0.2)
    assert orphan_reason(instance, owner, attempt, max_age_s=3600) == reason


def test_reap_terminates_orphans_leaves_the_rest_and_audits_each():
    with FakeRunPod(api_key="k").start() as fake:
        compute = open_compute("runpod", Credentials(api_key=SecretStr("k"),
                                                     base_url=fake.base_url))
        [offer] = [o for o in compute.offers(Requirements(min_vram_gb=24)) if o.cloud == "community"
                   and o.gpu_model == "RTX A5000"]
        running, finished = uuid.uuid4(), uuid.uuid4()
        labels = [instance_label(running, 1), instance_label(finished, 1), "someone-else"]
        for label in labels:
            compute.create(offer, InstanceSpec(label=label, image="i", command=["true"]))
        owners = {running: Owner(StateType.RUNNING, 1), finished: Owner(StateType.FAILED, 1)}
        audited = []

        reaped = reap({"runpod": compute}, owners.get, max_age_s=3600,
                      on_terminated=audited.append)

        assert reaped.checked == 2  # "someone-else" is not listed under the aima- prefix
        assert [o.flow_run_id for o in reaped.terminated] == [str(finished)]
        assert audited == reaped.terminated
        assert sorted(e.label for e in fake.ledger.running()) == sorted(
            [labels[0], "someone-else"])
        compute.close()

