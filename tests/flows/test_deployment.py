"""The way a user runs AIMA with Prefect: a real Prefect server, the work pools, ``prefect deploy``
from prefect.yaml, process workers, and flow runs of the deployments.

One server for the module. The CPU worker has the stores (embedded, in the default data
directory: no AIMA_DATA_DIR, as a new user has it) and ``AIMA_GPU_POOL=aima-gpu``; the GPU worker
has no store setting at all: it gets presigned URLs and nothing else (its one AIMA setting limits
the narrative model's replies). Each test uses its own case.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from aima.errors import StoreUnavailable
from aima.fusion import DOCUMENT
from aima.report import media_rows
from aima.settings import Settings
from aima.storage import open_stores
from aima.storage.cases import find_case, get_case
from aima.storage.database import Database
from aima.storage.models import GpuRun, Job, MediaItem, StageRun
from tests.mediagen import make_speech_video
from tests.services import free_port

ROOT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).parent / "prefect")
SAMPLE = ROOT / "samples" / "harbour"
#: The packaged narrative model (SmolLM2-135M) for one run; 256 reply tokens write a short
#: narrative in seconds. Its settings are the GPU worker's too: the parent knows a stored
#: narrative still holds only for the model the GPU machine would run.
NARRATIVE_MODEL = {"AIMA_LLM_ENABLED": "true", "AIMA_LLM_MAX_NEW_TOKENS": "256"}


class Stack:
    """A Prefect server with AIMA's pools and deployments, and a CPU and a GPU worker."""

    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}/api"
        self.xdg = root / "xdg"  # the worker user's $XDG_DATA_HOME
        self.data = self.xdg / "aima"  # AIMA's default data directory under it
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AIMA_"))}
        base.update(PREFECT_HOME=str(root / "prefect"), PREFECT_API_URL=self.api,
                    PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_WORKER_QUERY_SECONDS="2",
                    PREFECT_WORKER_PREFETCH_SECONDS="2",
                    PREFECT_WORKER_CANCELLATION_POLL_SECONDS="2")
        self.env = base
        self.cpu_env = {**base, "XDG_DATA_HOME": str(self.xdg), "AIMA_GPU_POOL": "aima-gpu",
                        "AIMA_GPU_CONCURRENCY_LIMIT": "aima-gpu", "AIMA_AUTO_APPROVE_USD": "5",
                        # about dispatching: test_analyze_cli.py runs the narrative model
                        "AIMA_LLM_ENABLED": "false"}
        # no store settings at all; the narrative model's reply limit, as the run asks for it
        self.gpu_env = {**base, "AIMA_LLM_MAX_NEW_TOKENS":
                        NARRATIVE_MODEL["AIMA_LLM_MAX_NEW_TOKENS"]}
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict) -> None:
        log = open(self.root / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(argv, env=env, cwd=self.root / "work",
                                                stdout=log, stderr=log, start_new_session=True)

    def stop(self, name: str, sig: int = signal.SIGINT) -> None:
        process = self.processes.pop(name)
        try:
            os.killpg(process.pid, sig)
            process.wait(20)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)

    def prefect(self, *argv: str, timeout: float = 180) -> str:
        result = subprocess.run([PREFECT, *argv], env=self.env, cwd=ROOT, capture_output=True,
                                text=True, timeout=timeout)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        return result.stdout

    def start_cpu_worker(self) -> None:
        self.start("cpu-worker", ["env", "--default-signal=INT", PREFECT, "worker", "start",
                                  "--pool", "aima-cpu"], self.cpu_env)

    def call(self, method: str, path: str, **kwargs):
        """The server's answer to one API call; a 503 (SQLite busy under load) is tried again."""
        for _ in range(10):
            response = httpx.request(method, self.api + path, timeout=30, **kwargs)
            if response.status_code != 503:
                return response.raise_for_status().json()
            time.sleep(1)
        return response.raise_for_status().json()

    def run(self, deployment: str, labels: dict | None = None, env: dict | None = None,
            **parameters) -> str:
        """Start a run of ``deployment``; ``env`` is added to its worker's environment."""
        flow, name = deployment.split("/")
        found = self.call("GET", f"/deployments/name/{flow}/{name}")
        return self.call("POST", f"/deployments/{found['id']}/create_flow_run",
                         json={"parameters": parameters, "labels": labels or {},
                               "job_variables": {"env": env} if env else {}})["id"]

    def flow_run(self, run_id: str) -> dict:
        return self.call("GET", f"/flow_runs/{run_id}")

    def wait(self, run_id: str, states: set[str], timeout_s: float = 300) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            run = self.flow_run(run_id)
            if run["state"]["type"] in states:
                return run
            time.sleep(1)
        raise AssertionError(f"run {run_id} still {run['state']['type']} after {timeout_s} s; "
                             f"cpu worker log:\n{self.log_tail('cpu-worker')}")

    def children(self, run_id: str) -> list[dict]:
        return self.call("POST", "/flow_runs/filter", json={
            "flow_runs": {"parent_flow_run_id": {"any_": [run_id]}}})

    def log_tail(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stores(self):
        """All four stores: only while no flow run holds the Milvus Lite file (a process just
        stopped may hold it for a few seconds more)."""
        deadline = time.monotonic() + 60
        while True:
            try:
                return open_stores(Settings(data_dir=self.data))
            except StoreUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def metadata(self) -> Database:
        """The metadata database alone, safe to read while a flow run works."""
        return Database(Settings(data_dir=self.data).database_url, migrate=False)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("prefect-stack"))
    (stack.root / "work").mkdir()
    try:
        stack.start("server", [PREFECT, "server", "start", "--host", "127.0.0.1", "--port",
                               str(stack.port)], stack.env)
        _wait_healthy(f"{stack.api}/health")
        stack.prefect("work-pool", "create", "aima-cpu", "--type", "process")
        stack.prefect("work-pool", "create", "aima-gpu", "--type", "process")
        stack.prefect("global-concurrency-limit", "create", "aima-gpu", "--limit", "1")
        stack.prefect("--no-prompt", "deploy", "--all")
        stack.start_cpu_worker()
        stack.start("gpu-worker", ["env", "--default-signal=INT", PREFECT, "worker", "start",
                                   "--pool", "aima-gpu"], stack.gpu_env)
        yield stack
    finally:
        for name in reversed(list(stack.processes)):
            stack.stop(name)


def test_a_deployment_run_dispatches_the_gpu_stages_to_the_gpu_pool(stack):
    run_id = stack.run("analyze-media/default", case="deployed", sources=[str(SAMPLE)])

    run = stack.wait(run_id, {"COMPLETED", "FAILED", "CRASHED"})

    assert run["state"]["type"] == "COMPLETED", stack.log_tail("cpu-worker")
    assert run["name"] == "deployed"  # runs are named after their case
    children = stack.children(run_id)
    assert children and {c["work_pool_name"] for c in children} == {"aima-gpu"}
    assert all(c["state"]["type"] == "COMPLETED" for c in children)
    with stack.stores() as stores:
        case = get_case(stores.metadata, "deployed")
        rows = media_rows(stores, case)
        costs = stores.documents.query(str(case.id), stage="gpu-cost")
        with stores.metadata.session() as session:
            stages = set(session.execute(
                select(MediaItem.original_name, StageRun.stage)
                .join(MediaItem, MediaItem.id == StageRun.media_id)
                .where(StageRun.status == "done", MediaItem.case_id == case.id)).all())
    assert {r["name"]: r["status"] for r in rows} == {
        "dock-photo.jpg": "done", "interview.mp4": "done", "radio-call.mp3": "done",
        "shift-notes.mp4": "rejected"}
    # GPU stages computed on the GPU worker, recorded by the parent
    assert {("interview.mp4", "transcribe"), ("interview.mp4", "diarize"),
            ("radio-call.mp3", "transcribe"), ("dock-photo.jpg", "faces")} <= stages
    assert costs and all(c.data["gpu_seconds"] > 0 and c.data["actual_usd"] >= 0
                         for c in costs)
    # two waves: the first GPU stages, then diarize (it needs the transcripts)
    assert len(children) == len(costs) == 2
    with stack.metadata().session() as session:  # where the Prometheus exporter reads them
        waves = session.scalars(select(GpuRun).where(GpuRun.case_id == case.id)).all()
    assert len(waves) == 2 and {w.pool for w in waves} == {"aima-gpu"}
    assert all(w.gpu_seconds > 0 and w.actual_source == "wall time" for w in waves)

    # The case outlives the worker's temporary directory: `aima report` reads it afterwards,
    # with the same (default) settings.
    report_path = stack.root / "deployed.json"
    env = {**stack.env, "XDG_DATA_HOME": str(stack.xdg)}
    shown = subprocess.run([sys.executable, "-m", "aima.cli", "report", "deployed", "--format",
                            "json", "--out", str(report_path)], env=env, capture_output=True,
                           text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr[-2000:]
    report = json.loads(report_path.read_text())
    assert len(report["media"]) == 4
    assert len(report["gpu_cost"]["runs"]) == 2 and report["gpu_cost"]["estimated_usd"] > 0


def test_the_narrative_is_written_on_the_gpu_pool_and_the_next_run_reuses_it(stack, tmp_path):
    folder = tmp_path / "narrated"
    folder.mkdir()
    shutil.copy(SAMPLE / "dock-photo.jpg", folder)
    run_id = stack.run("analyze-media/default", case="narrated", sources=[str(folder)],
                       env=NARRATIVE_MODEL)

    run = stack.wait(run_id, {"COMPLETED", "FAILED", "CRASHED"})

    assert run["state"]["type"] == "COMPLETED", stack.log_tail("cpu-worker")
    narrating = [child for child in stack.children(run_id)
                 if [job["stage"] for job in child["parameters"]["jobs"]] == ["fuse"]]
    assert len(narrating) == 1, stack.log_tail("cpu-worker")
    (child,) = narrating
    assert child["work_pool_name"] == "aima-gpu" and child["state"]["type"] == "COMPLETED"
    (job,) = child["parameters"]["jobs"]
    assert job["data"] == {} and job["data_url"]  # the report went as an object, by URL
    with stack.stores() as stores:
        case = get_case(stores.metadata, "narrated")
        document = stores.documents.get(str(case.id), *DOCUMENT)
        with stores.objects.open(f"cases/{case.id}/exports/report.json") as stream:
            report = json.load(stream)
        costs = [c.data["stages"] for c in stores.documents.query(str(case.id), stage="gpu-cost")]
        left = list(stores.objects.list(f"cases/{case.id}/work/"))
    assert job["case_id"] == str(case.id)
    # written by the packaged model inside the gpu-analysis run, recorded by the parent
    assert document["narrative"]["status"] == "written", document["narrative"].get("reason")
    assert document["model_id"].startswith("gguf:SmolLM2-135M-Instruct")
    assert (_at(child["start_time"]) <= _at(document["generated_at"])
            <= _at(child["end_time"]))
    assert report["narrative"]["status"] == "written"
    assert report["narrative"]["generated_at"] == document["generated_at"]
    assert ["fuse"] in costs and left == []
    with stack.metadata().session() as session:
        recorded = session.scalars(select(GpuRun.stages).where(GpuRun.case_id == case.id)).all()
    assert ["fuse"] in recorded

    again = stack.run("analyze-media/default", case="narrated", sources=[str(folder)],
                      env=NARRATIVE_MODEL)

    assert stack.wait(again, {"COMPLETED", "FAILED", "CRASHED"})["state"]["type"] == "COMPLETED"
    assert stack.children(again) == []  # the stored narrative holds: no machine for it
    with stack.stores() as stores:
        assert stores.documents.get(str(case.id), *DOCUMENT) == document


def test_gpu_work_above_the_threshold_waits_for_approval(stack, tmp_path):
    folder = tmp_path / "approve"
    make_speech_video(folder / "talk.mp4")
    # started by alice from the UI: the gateway (aima/gateway.py) stamps her on the run
    run_id = stack.run("analyze-media/default", case="approval", sources=[str(folder)],
                       auto_approve_usd=0.0, labels={"aima.actor": "alice"})

    paused = stack.wait(run_id, {"PAUSED", "COMPLETED", "FAILED", "CRASHED"})
    assert paused["state"]["type"] == "PAUSED", stack.log_tail("cpu-worker")
    assert not stack.children(run_id)  # nothing dispatched while waiting
    stack.call("POST", f"/flow_runs/{run_id}/resume", json={
        "run_input": {"approve": True, "reviewer": "reviewer-1"}})

    assert stack.wait(run_id, {"COMPLETED", "FAILED", "CRASHED"})["state"]["type"] == "COMPLETED"
    assert stack.children(run_id)
    with stack.stores() as stores:
        events = {(e.action, e.actor) for e in _audit(stores)
                  if e.case_id == get_case(stores.metadata, "approval").id}
    assert ("case.analyse", "alice") in events  # the UI user, not the worker's OS user
    assert ("case.gpu.approved", "reviewer-1") in events


def test_rejected_gpu_work_ends_the_run_without_gpu_work(stack, tmp_path):
    folder = tmp_path / "reject"
    make_speech_video(folder / "talk.mp4", text="Nothing here should reach a GPU.")
    run_id = stack.run("analyze-media/default", case="rejected", sources=[str(folder)],
                       auto_approve_usd=0.0)
    assert stack.wait(run_id, {"PAUSED", "COMPLETED"})["state"]["type"] == "PAUSED"
    stack.call("POST", f"/flow_runs/{run_id}/resume", json={
        "run_input": {"approve": False, "reviewer": "reviewer-2", "note": "too dear"}})

    assert stack.wait(run_id, {"COMPLETED", "FAILED", "CRASHED"})["state"]["type"] == "COMPLETED"
    assert not stack.children(run_id)
    with stack.stores() as stores:
        case = get_case(stores.metadata, "rejected")
        with stores.metadata.session() as session:
            skipped = dict(session.execute(
                select(StageRun.stage, StageRun.error)
                .where(StageRun.case_id == case.id, StageRun.status == "skipped")).all())
    assert "not approved by reviewer-2: too dear" in skipped["transcribe"]


def test_an_estimate_above_the_budget_fails_before_anything_is_dispatched(stack, tmp_path):
    folder = tmp_path / "budget"
    make_speech_video(folder / "talk.mp4", text="A budget of a tenth of a cent.")
    run_id = stack.run("analyze-media/default", case="over-budget", sources=[str(folder)],
                       budget_usd=0.001)

    run = stack.wait(run_id, {"COMPLETED", "FAILED", "CRASHED"})

    assert run["state"]["type"] == "FAILED"
    assert "over the budget" in run["state"]["message"] and "USD" in run["state"]["message"]
    assert not stack.children(run_id)


def test_a_cancelled_run_keeps_what_is_done_and_the_next_run_does_the_rest(stack, tmp_path):
    folder = tmp_path / "cancel"
    for index in range(3):
        make_speech_video(folder / f"talk-{index}.mp4", text=f"Recording number {index}.")
    run_id = stack.run("analyze-media/default", case="cancelled", sources=[str(folder)])
    stack.wait(run_id, {"RUNNING"})
    # halfway: the first GPU wave is recorded, diarization (the second) is not
    _wait_for(lambda: _stage_done(stack, "cancelled", "transcribe"), 240, "transcripts stored")

    stack.prefect("flow-run", "cancel", run_id)

    run = stack.wait(run_id, {"CANCELLED", "COMPLETED", "FAILED", "CRASHED"}, timeout_s=120)
    assert run["state"]["type"] == "CANCELLED"
    _wait_for(lambda: all(child["state"]["type"] in ("CANCELLED", "COMPLETED")
                          for child in stack.children(run_id)), 60,
              "every gpu-analysis run final, none left Cancelling or Running")
    with stack.stores() as stores:
        case = get_case(stores.metadata, "cancelled")
        with stores.metadata.session() as session:
            batch = session.scalars(select(Job).where(Job.flow_run_id == run_id)).one()
        before = _finished_stage_runs(stores, case.id)
    assert batch.status == "cancelled", stack.log_tail("cpu-worker")
    assert "files finished" in batch.error
    assert before

    again = stack.run("analyze-media/default", case="cancelled", sources=[str(folder)],
                      approve=True)
    assert stack.wait(again, {"COMPLETED", "FAILED", "CRASHED"})["state"]["type"] == "COMPLETED"
    with stack.stores() as stores:
        after = _finished_stage_runs(stores, case.id)
        rows = media_rows(stores, case)
    assert {key: after[key] for key in before} == before  # nothing finished was computed again
    assert all(row["status"] == "done" for row in rows)


def test_a_worker_killed_mid_run_resumes_without_recomputing(stack, tmp_path):
    folder = tmp_path / "killed"
    for index in range(3):
        make_speech_video(folder / f"talk-{index}.mp4", text=f"Statement {index} of three.")
    run_id = stack.run("analyze-media/default", case="killed", sources=[str(folder)])
    stack.wait(run_id, {"RUNNING"})
    _wait_for(lambda: _stage_done(stack, "killed", "transcribe"), 240, "transcripts stored")

    stack.stop("cpu-worker", signal.SIGKILL)  # the worker and its flow run process, mid-run
    with stack.stores() as stores:
        case = get_case(stores.metadata, "killed")
        before = _finished_stage_runs(stores, case.id)
    assert before
    stack.start_cpu_worker()
    again = stack.run("analyze-media/default", case="killed", sources=[str(folder)])

    assert stack.wait(again, {"COMPLETED", "FAILED", "CRASHED"})["state"]["type"] == "COMPLETED"
    with stack.stores() as stores:
        after = _finished_stage_runs(stores, case.id)
        rows = media_rows(stores, case)
    assert {key: after[key] for key in before} == before
    assert [row["status"] for row in rows] == ["done"] * 3


def _stage_done(stack: Stack, case_name: str, stage: str) -> bool:
    """True once some file of the case has ``stage`` done."""
    if not (stack.data / "aima.db").exists():
        return False
    metadata = stack.metadata()
    try:
        case = find_case(metadata, case_name)
        if case is None:
            return False
        with metadata.session() as session:
            return session.scalars(select(StageRun.id).where(
                StageRun.case_id == case.id, StageRun.stage == stage,
                StageRun.status == "done")).first() is not None
    except OperationalError:  # the flow run is still creating the database
        return False
    finally:
        metadata.engine.dispose()


def _finished_stage_runs(stores, case_id) -> dict:
    with stores.metadata.session() as session:
        rows = session.execute(
            select(StageRun.media_id, StageRun.stage, StageRun.attempts, StageRun.finished_at)
            .where(StageRun.case_id == case_id, StageRun.status == "done")).all()
    return {(media, stage): (attempts, finished) for media, stage, attempts, finished in rows}


def _audit(stores):
    from aima.storage import audit

    return audit.events(stores.metadata)


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def _wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout_s} s: {what}")


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

