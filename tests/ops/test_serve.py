"""``aima serve``: a Prefect server with AIMA's pools, concurrency limit, deployments and workers,
started as one and stopped as one by Ctrl-C, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import psutil
import psycopg
import pytest

from aima.errors import ConfigError
from aima.ops.processes import Children
from aima.serve import (
    ServeError,
    check_port_free,
    read_project,
    server_database_url,
    wait_healthy,
)
from aima.settings import Settings
from tests.ops.serving import LINGER, serve_env, start_serve, stop_serve, write_project
from tests.services import free_port


def test_serve_creates_pools_limit_and_deployments_and_starts_a_polling_worker(served):
    assert httpx.get(f"{served.api_url}/health", timeout=10).json() is True
    with served.client() as client:
        pools = {pool.name: pool.type for pool in client.read_work_pools()}
        limit = client.read_global_concurrency_limit_by_name("aima-gpu")
        flows = {flow.id: flow.name for flow in client.read_flows()}
        deployments = {f"{flows[d.flow_id]}/{d.name}": d.work_pool_name
                       for d in client.read_deployments()}
        cpu_workers = client.read_workers_for_work_pool("aima-cpu")
        gpu_workers = client.read_workers_for_work_pool("aima-gpu")

    assert pools == {"aima-cpu": "process", "aima-gpu": "process"}
    assert (limit.limit, limit.active) == (2, True)
    assert deployments == {"analyze-media/default": "aima-cpu", "linger/on-gpu-pool": "aima-gpu"}
    assert [worker.status for worker in cpu_workers] == ["ONLINE"]
    assert gpu_workers == []  # no --gpu-worker: the pool waits for a worker elsewhere

    output = served.text()
    assert f"Prefect UI   http://127.0.0.1:{served.port}" in output
    assert "prefect deployment run 'analyze-media/default'" in output
    worker_env = served.child_running("worker", "aima-cpu").environ()
    assert worker_env["PREFECT_API_URL"] == served.api_url
    # relative AIMA_DATA_DIR=aima-data, made absolute: flow runs live in temporary directories
    assert worker_env["AIMA_DATA_DIR"] == str(served.dir / "aima-data")
    # and there the .env file beside prefect.yaml is not found: its settings travel along
    assert worker_env["AIMA_CPU_CONCURRENCY"] == "3"


def test_on_postgresql_ctrl_c_stops_the_server_the_workers_and_a_running_flow(postgres, tmp_path):
    database = postgres.create_database()  # postgresql+psycopg://: aima serve makes it asyncpg
    folder = write_project(tmp_path, [LINGER])
    served = start_serve(folder, "--gpu-worker", env=serve_env(
        folder, AIMA_PREFECT_DATABASE_URL=database, AIMA_DATA_DIR=str(tmp_path / "aima-data"),
        AIMA_DATABASE_URL=f"sqlite:///{tmp_path / 'aima.db'}"))
    try:
        assert httpx.get(f"{served.api_url}/health", timeout=10).json() is True
        with psycopg.connect(database.replace("postgresql+psycopg", "postgresql")) as connection:
            pools = {row[0] for row in connection.execute("SELECT name FROM work_pool")}
        assert pools == {"aima-cpu", "aima-gpu"}  # Prefect's state is in PostgreSQL

        cpu = served.child_running("worker", "aima-cpu").environ()
        gpu = served.child_running("worker", "aima-gpu").environ()
        logs = [path.read_text() for path in (folder / "prefect" / "aima-serve").glob("*.log")]
        assert logs and not any(postgres.password in text for text in [served.text(), *logs])
        for env in (cpu, gpu):  # the database password reaches the server only
            assert not any(postgres.password in value for value in env.values())
        assert cpu["AIMA_GPU_POOL"] == "aima-gpu" and "AIMA_DATABASE_URL" in cpu
        assert "AIMA_DATABASE_URL" not in gpu  # the GPU worker has no store settings

        pid_file = tmp_path / "flow-run.pid"
        with served.client() as client:
            deployment = client.read_deployment_by_name("linger/default")
            client.create_flow_run_from_deployment(deployment.id,
                                                   parameters={"pid_file": str(pid_file)})
        _wait_for(pid_file, served)
        flow_run = psutil.Process(int(pid_file.read_text()))
        assert flow_run in served.descendants()
    finally:
        returncode, survivors = stop_serve(served)

    assert returncode == 0, served.text()[-3000:]
    assert survivors == []
    assert not flow_run.is_running()
    assert served.text().rstrip().endswith("stopped")
    with psycopg.connect(database.replace("postgresql+psycopg", "postgresql")) as connection:
        states = connection.execute("SELECT state_type FROM flow_run").fetchall()
    assert states == [("CRASHED",)]  # not left Running: prefect flow-run retry picks it up


def test_a_port_in_use_is_refused_naming_the_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ServeError, match=f"127.0.0.1:{port} .*choose another --port"):
            check_port_free("127.0.0.1", port)


def test_a_folder_without_prefect_yaml_is_refused_with_one_line(tmp_path):
    with pytest.raises(ServeError, match="no prefect.yaml in .*--project-dir"):
        read_project(tmp_path)
    result = subprocess.run([sys.executable, "-m", "aima.serve", "--project-dir", str(tmp_path)],
                            capture_output=True, text=True, env=serve_env(tmp_path), timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: no prefect.yaml in {tmp_path}")
    assert "Traceback" not in result.stderr


def test_the_prefect_database_url_gets_prefects_driver_and_is_never_echoed():
    url = server_database_url(Settings(prefect_database_url="postgresql://u:s3cret@db:5433/p"))
    assert url == "postgresql+asyncpg://u:s3cret@db:5433/p"
    for wrong in ("mysql://u:s3cret@db/p", "u:s3cret@db/p"):
        with pytest.raises(ConfigError, match="AIMA_PREFECT_DATABASE_URL: expected") as error:
            server_database_url(Settings(prefect_database_url=wrong))
        assert "s3cret" not in str(error.value)


def test_a_server_that_never_answers_fails_with_the_tail_of_its_log(tmp_path):
    children = Children(tmp_path / "logs")
    server = children.start("server", [sys.executable, "-c", "print('migrating the database', "
                                       "flush=True); import time; time.sleep(120)"],
                            env=os.environ, cwd=tmp_path)
    try:
        with pytest.raises(ServeError, match="(?s)not become healthy within 2 s.*migrating the "):
            wait_healthy(f"http://127.0.0.1:{free_port()}/api", server, timeout_s=1.5)
    finally:
        children.stop_all(grace_s=10)
    assert not server.running()


def test_a_server_that_exits_fails_with_its_status_and_output(tmp_path):
    children = Children(tmp_path / "logs")
    server = children.start("server", ["sh", "-c", "echo 'address already in use'; exit 3"],
                            env=os.environ, cwd=tmp_path)
    with pytest.raises(ServeError, match="(?s)exited with status 3 while starting.*address alr"):
        wait_healthy(f"http://127.0.0.1:{free_port()}/api", server, timeout_s=60)


def _wait_for(path, served, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"the flow run did not start:\n{served.text()[-3000:]}")
        time.sleep(0.3)
    while not path.read_text():
        time.sleep(0.1)
