"""A worker that goes away: stopped, it ends its machine and hands the run back for a retry;
SIGKILLed, it leaves its machine running, which the ``gpu-reaper`` flow keeps while its flow run
is still running there and terminates (audit-logged) once the run is over."""

from __future__ import annotations

from aima.flows.reaper import gpu_reaper
from aima.settings import Settings
from aima.storage import audit, open_metadata
from aima.workers import RunPodWorker
from tests.workers.conftest import (
    Worker, all_terminated, hold, machines_of, make_deployment, make_pool, wait_final, wait_until,
)


def test_the_reaper_terminates_the_machine_of_a_killed_worker_once_its_run_is_over(
        client, prefect_api, runpod_stack, tmp_path, monkeypatch):
    fake = runpod_stack.fake
    make_pool(client, RunPodWorker, "gpu-orphans", prefect_api, tmp_path / "results")
    deployment_id = make_deployment(client, "gpu-orphans", "orphans")
    worker = Worker("gpu-orphans", prefect_api, fake, tmp_path)
    try:
        held = hold(runpod_stack, "orphan")
        run = client.create_flow_run_from_deployment(deployment_id, parameters={
            "key": "orphan", "trace_dir": str(runpod_stack.trace_dir), "sleep_s": 60})
        wait_until(lambda: (runpod_stack.trace_dir / "sleeping-orphan").exists(), 90,
                   "the flow run is running on its machine")
        worker.kill()
    finally:
        worker.stop()
    monkeypatch.setenv("AIMA_DATA_DIR", str(tmp_path / "aima-data"))
    monkeypatch.setenv("AIMA_RUNPOD_API_KEY", fake.api_key)
    monkeypatch.setenv("AIMA_RUNPOD_API_URL", fake.base_url)
    for name in ("AIMA_DATABASE_URL", "AIMA_VASTAI_API_KEY", "AIMA_VASTAI_API_URL"):
        monkeypatch.delenv(name, raising=False)

    assert gpu_reaper()["terminated"] == 0  # the run is still going on that machine
    [machine] = machines_of(runpod_stack, run.id)
    assert machine.running
    held.unlink()
    assert wait_final(client, run.id).state.is_completed()  # no worker ends its machine now
    assert machines_of(runpod_stack, run.id)[0].running

    assert gpu_reaper()["terminated"] == 1

    all_terminated(runpod_stack, run.id, count=1)
    assert not fake.ledger.running()
    database = open_metadata(Settings(data_dir=tmp_path / "aima-data"))
    try:
        [event] = [e for e in audit.events(database) if e.action == "gpu.instance.terminated"]
    finally:
        database.dispose()
    assert event.actor == "gpu-reaper"
    assert event.details["instance"] == f"runpod:{machine.instance_id}"
    assert event.details["flow_run_id"] == str(run.id)
    assert event.details["reason"] == "its flow run is Completed"


def test_a_stopped_worker_ends_its_machine_and_hands_the_run_back(
        client, prefect_api, runpod_stack, tmp_path):
    make_pool(client, RunPodWorker, "gpu-stopping", prefect_api, tmp_path / "results")
    deployment_id = make_deployment(client, "gpu-stopping", "stopping")
    worker = Worker("gpu-stopping", prefect_api, runpod_stack.fake, tmp_path)
    try:
        run = client.create_flow_run_from_deployment(
            deployment_id, parameters={"key": "stopping", "trace_dir": str(tmp_path)},
            job_variables={"command": "sleep 60"})
        wait_until(lambda: machines_of(runpod_stack, run.id), 60, "a machine is rented")
    finally:
        worker.stop()  # SIGINT, as Ctrl-C or `docker stop` send

    all_terminated(runpod_stack, run.id, count=1)
    state = client.read_flow_run(run.id).state
    assert state.name == "AwaitingRetry"  # the next worker to poll the pool rents a new machine
    assert "the worker watching it stopped" in state.message
