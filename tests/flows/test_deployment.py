"""The way a user runs AIMA with Prefect: a real Prefect server, the work pool, ``prefect deploy``
from prefect.yaml, a process worker, and ``prefect deployment run``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from aima.settings import Settings
from aima.storage import open_stores
from aima.report import media_rows
from aima.storage.cases import get_case
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).parent / "prefect")


def test_deploy_from_prefect_yaml_and_run_through_a_worker(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AIMA_"))}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", AIMA_DATA_DIR=str(tmp_path / "aima-data"),
               # about deploying: test_analyze_cli.py runs the narrative on the same kind of case
               AIMA_LLM_ENABLED="false")
    processes = []

    def start(*argv):
        process = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        processes.append(process)
        return process

    def prefect(*argv, timeout=180):
        result = subprocess.run([PREFECT, *argv], env=env, cwd=ROOT, capture_output=True,
                                text=True, timeout=timeout)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        return result.stdout

    try:
        start(PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port))
        _wait_healthy(f"http://127.0.0.1:{port}/api/health")
        prefect("work-pool", "create", "aima-local", "--type", "process")
        prefect("--no-prompt", "deploy", "--all")
        start("env", "--default-signal=INT", PREFECT, "worker", "start", "--pool", "aima-local")
        output = prefect("deployment", "run", "analyze-media/analyze-media", "--param",
                         "case=deployed", "--param", f'sources=["{ROOT / "samples" / "harbour"}"]',
                         "--watch", "--watch-timeout", "240", timeout=300)
        assert "Completed" in output
    finally:
        for process in reversed(processes):
            try:
                os.killpg(process.pid, signal.SIGINT)
                process.wait(20)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    with open_stores(Settings(data_dir=tmp_path / "aima-data")) as stores:
        rows = media_rows(stores, get_case(stores.metadata, "deployed"))
    assert {r["name"]: r["status"] for r in rows} == {
        "dock-photo.jpg": "done", "interview.mp4": "done", "radio-call.mp3": "done",
        "shift-notes.mp4": "rejected"}


def _wait_healthy(url: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"Prefect server not healthy within {timeout_s} s")
