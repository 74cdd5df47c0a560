"""``aima serve`` as a user starts it, for the tests: its own process on a free port, its own
Prefect home, a prefect.yaml of the test's choosing, and Ctrl-C (SIGINT) to stop it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import yaml

from tests.services import free_port

ROOT = Path(__file__).resolve().parents[2]
READY = "AIMA on Prefect is running."

ANALYZE_MEDIA = {"name": "default", "entrypoint": "aima.flows.analyze:analyze_media",
                 "work_pool": {"name": "aima-cpu"}}
LINGER = {"name": "default", "entrypoint": "tests.ops.flows:linger",
          "work_pool": {"name": "aima-cpu"}}


def write_project(folder: Path, deployments: list[dict]) -> Path:
    """A prefect.yaml like AIMA's (flows imported from installed modules, nothing to pull)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {"name": "aima-test", "prefect-version": "3.8.8", "build": None, "push": None,
              "pull": [], "deployments": deployments}
    (folder / "prefect.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return folder


@dataclass
class Served:
    """A running ``aima serve``."""

    process: subprocess.Popen
    port: int
    output: Path  # its stdout and stderr
    dir: Path

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    @contextlib.contextmanager
    def client(self) -> Iterator:
        from prefect.client.orchestration import SyncPrefectClient

        with SyncPrefectClient(self.api_url) as client:
            yield client

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def child_running(self, *words: str) -> psutil.Process:
        """The descendant whose command line holds all ``words`` (e.g. "worker", "aima-cpu")."""
        for process in self.descendants():
            with contextlib.suppress(psutil.NoSuchProcess):
                if all(word in process.cmdline() for word in words):
                    return process
        raise AssertionError(f"no child process running {' '.join(words)}")


def serve_env(folder: Path, **extra: str) -> dict[str, str]:
    """A user's environment with nothing of the test session's Prefect or AIMA settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AIMA_"))}
    env.update(PREFECT_HOME=str(folder / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PYTHONPATH=str(ROOT),  # the workers import tests.ops.flows
               PYTHONUNBUFFERED="1", COLUMNS="250", AIMA_LLM_ENABLED="false",
               PREFECT_WORKER_QUERY_SECONDS="2",  # picks a new run up sooner than the 10 s default
               **extra)
    return env


def start_serve(folder: Path, *args: str, env: dict[str, str], timeout_s: float = 240) -> Served:
    """Start ``python -m aima.serve`` (what ``aima serve`` runs) in ``folder`` and wait until it
    says that everything runs."""
    port = free_port()
    output = folder / "serve.out"
    with open(output, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "aima.serve", "--port", str(port), "--project-dir",
             str(folder), *args],
            env=env, cwd=folder, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    served = Served(process, port, output, folder)
    deadline = time.monotonic() + timeout_s
    while READY not in served.text():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_serve(served)
            raise AssertionError(f"aima serve did not start:\n{served.text()[-4000:]}")
        time.sleep(0.5)
    return served


def stop_serve(served: Served, sig: int = signal.SIGINT,
               timeout_s: float = 90) -> tuple[int | None, list[psutil.Process]]:
    """Ctrl-C (SIGINT), or ``sig``, to ``aima serve`` alone: its children have process groups of
    their own. Returns its exit status and the processes it had started that still run (they
    are then killed)."""
    before = served.descendants()
    if served.process.poll() is None:
        served.process.send_signal(sig)
    try:
        served.process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()
    survivors = [p for p in before if _alive(p)]
    for process in survivors:  # never leave them to the rest of the test session
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    return served.process.returncode, survivors


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
