"""A real Prefect server, the fake RunPod and Vast.ai APIs, and AIMA's GPU workers started as a
user starts them (``prefect worker start --pool P``, in their own processes) for the tests here.

The fakes run each rented machine's command as a local process with only the machine's
environment, plus what an AIMA GPU image would provide (:data:`IMAGE_ENV`: the Python with
Prefect and this checkout on its path). The workers poll every second and watch their machines
every second, so a flow run goes through in seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.objects import FlowRun
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.utilities.callables import parameter_schema

from aima.workers import RunPodWorker, VastAIWorker
from aima.workers.configuration import job_template
from tests.gpu_providers.fakes import FakeProvider, FakeRunPod, FakeVastAI
from tests.services import free_port
from tests.workers.flows import gpu_probe

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RUNPOD_KEY = "rp_worker_test_Key-8f3a0c5d1e7b4a29"
VASTAI_KEY = "vast_worker_test_key_2b9d4e6f0a1c3e57"
STORE_SECRETS = {
    "AIMA_DATABASE_URL": "postgresql://aima:db-Pa55word@db.internal:5432/aima",
    "AIMA_DOCUMENTS_URL": "mongodb://aima:mongo-Pa55word@mongo.internal:27017",
    "AIMA_VECTORS_URL": "http://milvus.internal:19530",
    "AIMA_OBJECTS_URL": "s3://aima-objects",
    "AIMA_S3__SECRET_KEY": "s3-Secret-Key-0123456789",
    "AIMA_S3__ACCESS_KEY": "AKIAIOSFODNN7EXAMPLE",
}
IMAGE_ENV = {"PATH": f"{BIN}:/usr/bin:/bin", "PYTHONPATH": str(ROOT),
             "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
POOL_DEFAULTS = dict(poll_interval_s=1, cancel_grace_s=2, start_timeout_s=60, budget_usd=5.0)
DEADLINE_S = 120


@dataclass
class Stack:
    """Everything one provider's tests use."""

    provider: str
    fake: FakeProvider
    pool: str
    deployment_id: object
    worker_log: Path
    trace_dir: Path


def wait_until(condition: Callable[[], object], timeout_s: float, what: str) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout_s:.0f} s: {what}")


@contextmanager
def prefect_server(home: Path) -> Iterator[str]:
    """``prefect server start`` on a free loopback port, home in ``home``; yields the API URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AIMA_"))}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_API_URL=url)
    log = home / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                                   "--port", str(port)], env=env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: _healthy(f"{url}/health") or server.poll() is not None, 120,
                   "the Prefect server answers /api/health")
        assert server.poll() is None, log.read_text()[-2000:]
        yield url
    finally:
        _stop(server)


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory):
    """A Prefect server; this process's client points at it."""
    with prefect_server(tmp_path_factory.mktemp("prefect-home")) as url, \
            temporary_settings({PREFECT_API_URL: url}):
        yield url


@pytest.fixture(scope="session")
def client(prefect_api):
    with get_client(sync_client=True) as opened:
        yield opened


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(20)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


#: The entry point pyproject.toml declares (``[project.entry-points."prefect.collections"]``).
ENTRY_POINT = "[prefect.collections]\naima = aima.workers\n"


def entry_point_dir(path: Path) -> Path:
    """A directory that, on PYTHONPATH, declares :data:`ENTRY_POINT` as an installed package
    does, so that an unmodified ``prefect`` finds AIMA's worker types by it."""
    info = path / "aima_worker_types-0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: aima-worker-types\nVersion: 0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINT)
    return path


class Worker:
    """``prefect worker start --pool POOL`` in its own process group, as a user runs it: plain
    Prefect, which finds the pool's worker type through the entry point."""

    def __init__(self, pool: str, api_url: str, fake: FakeProvider, home: Path,
                 query_s: float = 1):
        self.log = home / f"worker-{pool}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AIMA_"))}
        env.update(
            STORE_SECRETS, PREFECT_API_URL=api_url, PREFECT_HOME=str(home / "prefect"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_WORKER_QUERY_SECONDS=str(query_s),
            PREFECT_WORKER_PREFETCH_SECONDS="0", PREFECT_WORKER_ENABLE_CANCELLATION="true",
            PREFECT_WORKER_CANCELLATION_POLL_SECONDS="1",
            PYTHONPATH=f"{ROOT}:{entry_point_dir(home / 'entry-point')}",
            AIMA_DATA_DIR=str(home / "aima-data"), AIMA_GPU_API_RETRIES="3",
            **{f"AIMA_{fake.provider.upper()}_API_KEY": fake.api_key,
               f"AIMA_{fake.provider.upper()}_API_URL": fake.base_url})
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                ["env", "--default-signal=INT", str(BIN / "prefect"), "worker", "start",
                 "--pool", pool], env=env, cwd=home, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        _stop(self.process)

    def kill(self) -> None:
        """SIGKILL: the worker gets no chance to end its machines."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def make_pool(client: SyncPrefectClient, worker_class, name: str, api_url: str,
              results: Path, **defaults) -> None:
    env = {**STORE_SECRETS, "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(results)}
    client.create_work_pool(WorkPoolCreate(
        name=name, type=worker_class.type,
        base_job_template=job_template(worker_class, prefect_api_url=api_url, env=env,
                                       **{**POOL_DEFAULTS, **defaults})), overwrite=True)


def make_deployment(client: SyncPrefectClient, pool: str, name: str):
    flow_id = client.create_flow_from_name("gpu-probe")
    return client.create_deployment(
        flow_id=flow_id, name=name, entrypoint="tests.workers.flows:gpu_probe",
        work_pool_name=pool, pull_steps=[], parameter_openapi_schema=parameter_schema(
            gpu_probe).model_dump_for_openapi())


def _stack(request, provider: str, fake_class, key: str, worker_class) -> Stack:
    prefect_api = request.getfixturevalue("prefect_api")
    client = request.getfixturevalue("client")
    home = request.getfixturevalue("tmp_path_factory").mktemp(f"gpu-{provider}")
    fake = fake_class(api_key=key, run_commands=True, workdir=home / "machines",
                      base_env=IMAGE_ENV).start()
    request.addfinalizer(fake.stop)
    pool = f"gpu-{provider}"
    make_pool(client, worker_class, pool, prefect_api, home / "results")
    deployment_id = make_deployment(client, pool, provider)
    worker = Worker(pool, prefect_api, fake, home)
    request.addfinalizer(worker.stop)
    trace = home / "trace"
    trace.mkdir()
    return Stack(provider=provider, fake=fake, pool=pool, deployment_id=deployment_id,
                 worker_log=worker.log, trace_dir=trace)


@pytest.fixture(scope="session")
def stacks(request) -> dict[str, Stack]:
    """Both providers' stacks, their workers starting side by side."""
    return {"runpod": _stack(request, "runpod", FakeRunPod, RUNPOD_KEY, RunPodWorker),
            "vastai": _stack(request, "vastai", FakeVastAI, VASTAI_KEY, VastAIWorker)}


@pytest.fixture(scope="session")
def runpod_stack(stacks) -> Stack:
    return stacks["runpod"]


@pytest.fixture(scope="session")
def vastai_stack(stacks) -> Stack:
    return stacks["vastai"]


def start_probe(client: SyncPrefectClient, stack: Stack, key: str, sleep_s: float = 0.0,
                **job_variables) -> FlowRun:
    return client.create_flow_run_from_deployment(
        stack.deployment_id, parameters={"key": key, "trace_dir": str(stack.trace_dir),
                                         "sleep_s": sleep_s},
        job_variables=job_variables or None)


def wait_final(client: SyncPrefectClient, flow_run_id, timeout_s: float = DEADLINE_S) -> FlowRun:
    def final():
        run = client.read_flow_run(flow_run_id)
        return run if run.state and run.state.is_final() else None
    return wait_until(final, timeout_s, f"flow run {flow_run_id} reaches a final state")


def wait_state(client: SyncPrefectClient, flow_run_id, name: str, timeout_s: float = DEADLINE_S):
    def reached():
        run = client.read_flow_run(flow_run_id)
        return run if run.state and run.state.name == name else None
    return wait_until(reached, timeout_s, f"flow run {flow_run_id} is {name}")


def machines_of(stack: Stack, flow_run_id) -> list:
    """The fake's ledger entries of the flow run's machines, oldest first."""
    prefix = f"aima-{flow_run_id}-"
    return sorted((entry for entry in stack.fake.ledger.entries()
                   if entry.label.startswith(prefix)), key=lambda entry: entry.started_at)


def all_terminated(stack: Stack, flow_run_id, count: int | None = None) -> list:
    """Wait until the flow run's machines (``count`` of them) are all terminated; they are
    returned, each with its billed seconds recorded."""
    def done():
        entries = machines_of(stack, flow_run_id)
        if entries and (count is None or len(entries) == count) and not any(
                entry.running for entry in entries):
            return entries
        return None
    entries = wait_until(done, 30, f"the machines of {flow_run_id} are terminated")
    assert all(entry.billed_seconds > 0 for entry in entries)
    return entries


def recorded_env(stack: Stack, key: str, run_count: int = 1) -> dict:
    return json.loads((stack.trace_dir / f"env-{key}-{run_count}.json").read_text())


def hold(stack: Stack, key: str) -> Path:
    """Hold the probe ``key`` in its wait (until the returned file is removed)."""
    held = stack.trace_dir / f"hold-{key}"
    held.touch()
    return held


def stages_computed(stack: Stack, key: str) -> int:
    return len(list(stack.trace_dir.glob(f"stage-{key}-*")))
