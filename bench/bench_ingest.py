"""Ingest of 200 small images through the analyze-media flow against the same work without
Prefect, and Prefect's own cost per task run.

Equal work on both sides. Each timed run starts on a fresh data directory and covers the same
steps: open the stores (with the migrations of a new database), create the case, expand the
sources, the audit event and the batch and file jobs, per file ``ingest`` then ``preprocess``
(images get no speech stages) and the job bookkeeping, the check for case stages, build the
report and write it to the object store, close the stores. The flow (``analyze_media``) does this
through Prefect task runs (plus its progress, table and markdown artifacts, which exist only in
Prefect); the baseline calls the same plain functions file after file in this process. Runs
alternate (flow, baseline, flow, baseline, ...) so that both meet the same load on a shared
machine, and the best of ``--rounds`` of each counts. Prefect's temporary server is started
first by a warm-up flow and is not counted. A flow run's time runs until the server has recorded
all its task runs (task-run states reach the server as events, processed after the tasks have
returned: Prefect's work too); the time until it returned to the caller is printed beside it.
The server's later event persistence is waited out (its process back under 10 % of a core)
before the baseline starts, so that it does not slow the baseline down; that wait is printed.

Prefect's own overhead, apart from AIMA's bookkeeping, is measured separately in the same run:

- per task run: inside one flow run, ``2 x files`` empty tasks with AIMA's task options
  (retries with the transient-error condition, no cache, no persisted result, a templated run
  name), submitted all at once and waited for the way the flow does, against the same empty
  function called as often;
- per flow run: an empty flow against an empty function call.

Everything alternates round by round (flow, baseline, empty tasks, plain calls, empty flow). Each
figure is given as wall time and as CPU time (this process's threads plus Prefect's server
process, whose share is printed too): on a shared machine the CPU figures move much less. The
baseline's own time is split into store opening, per-file work and report, which is AIMA's work
and bookkeeping. Target: none (Prefect's cost depends on its server); the ratio flow / baseline is
printed, and the flow's overhead is checked against what the empty task runs predict.

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.bench_ingest [--files 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402

from bench._result import print_result  # noqa: E402


def pipeline_api():
    """(ingest_file, preprocess(stores, settings, media_id), jobs, task options)."""
    from aima.pipeline import jobs
    from aima.pipeline.runner import run_media_stage
    from aima.stages.ingest import ingest_file
    from aima.tasks.options import TASK_OPTIONS

    def preprocess(stores, settings, media_id):
        return run_media_stage(stores, "preprocess", media_id, reanalyse=False)

    return ingest_file, preprocess, jobs, TASK_OPTIONS


# --- input ------------------------------------------------------------------------------------


def make_images(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    rng = random.Random(7)
    for n in range(count):
        image = Image.new("RGB", (96, 72), tuple(rng.randrange(256) for _ in range(3)))
        ImageDraw.Draw(image).text((8, 28), f"photo {n}", fill=(255, 255, 255))
        image.save(folder / f"photo-{n:04d}.{'jpg' if n % 2 else 'png'}")


# --- the two sides ----------------------------------------------------------------------------


#: CPU seconds of Prefect's server process, by measurement (see ``since``)
SERVER_CPU: dict[str, list[float]] = {}


def clock() -> tuple[float, float, float]:
    """Wall time; CPU time of this process (all threads) plus its children (Prefect's server);
    the children's part."""
    server = _children_cpu_s()
    return time.perf_counter(), time.process_time() + server, server


def since(start: tuple[float, float, float], name: str | None = None) -> tuple[float, float]:
    """(wall, CPU) since ``start``; the server's CPU share is kept under ``name``."""
    wall, cpu, server = clock()
    if name:
        SERVER_CPU.setdefault(name, []).append(server - start[2])
    return wall - start[0], cpu - start[1]


def baseline(case: str, sources: list[str]) -> tuple[tuple[float, float], dict]:
    """The flow's work without Prefect (same steps, same order per file): (wall, CPU), phases."""
    from aima.flows.analyze import open_batch
    from aima.report import build_report
    from aima.settings import load_settings
    from aima.storage import open_stores
    from aima.storage.objects import case_prefix

    ingest_file, preprocess, jobs, _ = pipeline_api()
    start = clock()
    stores = open_stores(load_settings())  # the flow: runtime.stores(), same settings source
    opened = time.perf_counter()
    try:
        settings = stores.settings
        the_case, batch, runs = open_batch(stores, case, sources)
        case_id = str(the_case.id)
        for run in runs:
            outcome = ingest_file(stores, settings, case_id, run.source)
            if outcome.status in ("rejected", "duplicate", "failed"):
                jobs.finish_job(stores.metadata, run.job_id, outcome.status,
                                media_id=outcome.media_id, error=outcome.error)
                continue
            done = preprocess(stores, settings, outcome.media_id)
            if done.status == "failed":
                jobs.finish_job(stores.metadata, run.job_id, "failed", media_id=outcome.media_id,
                                error=getattr(done, "error", None))
                continue
            jobs.set_media_status(stores.metadata, outcome.media_id, "done")
            jobs.finish_job(stores.metadata, run.job_id, "done", media_id=outcome.media_id)
        stores.documents.query(case_id, stage="diarize")  # the flow's check for case stages
        worked = time.perf_counter()
        report = build_report(stores, the_case)
        failures = sum(row["status"] in ("failed", "rejected") for row in report["media"])
        jobs.finish_job(stores.metadata, batch, "done" if not failures else "done_with_errors")
        data = json.dumps(report, indent=2).encode()
        stores.objects.put_stream(f"{case_prefix(case_id)}exports/report.json", io.BytesIO(data),
                                  length=len(data), content_type="application/json")
    finally:
        stores.close()
    took = since(start, "plain")
    phases = {"open": opened - start[0], "files": worked - opened,
              "report": start[0] + took[0] - worked}
    return took, {"phases": phases, "media": report["media"]}


_children: list[Path] = []


def _children_cpu_s() -> float:
    """CPU seconds used so far by this process's children (Prefect's temporary server).

    The children are looked up once (a scan of /proc takes milliseconds), then only read.
    """
    if not _children:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == os.getpid():
                    _children.append(stat)
            except (OSError, IndexError, ValueError):
                continue
    total = 0.0
    for stat in _children:
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime+stime
    return total


def wait_server_quiet(timeout_s: float = 120.0) -> float:
    """Wait until Prefect's server (a child process) uses under 10 % of a core; seconds waited.

    After the task runs are recorded it may still persist their events; that work must not spill
    into what is timed next. Where the server is not a child process, this returns at once.
    """
    started = time.perf_counter()
    before = _children_cpu_s()
    while time.perf_counter() - started < timeout_s:
        time.sleep(0.5)
        now = _children_cpu_s()
        if now - before < 0.05:
            break
        before = now
    return time.perf_counter() - started


def wait_recorded(flow_run_id, expected: int, timeout_s: float = 600.0) -> None:
    """Wait until Prefect's server has recorded ``expected`` completed task runs of the flow run.

    Task-run states reach the server as events, sent and processed in the background after the
    tasks themselves have returned: that work is Prefect's too, and on a shared machine it would
    otherwise spill into whatever is timed next.
    """
    from prefect.client.orchestration import get_client

    body = {"task_runs": {"flow_run_id": {"any_": [str(flow_run_id)]},
                          "state": {"type": {"any_": ["COMPLETED"]}}}}
    deadline = time.monotonic() + timeout_s
    with get_client(sync_client=True) as client:
        while client._client.post("/task_runs/count", json=body).json() < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server recorded fewer than {expected} task runs")
            time.sleep(0.05)


def with_flow(case: str, sources: list[str], tasks: int):
    """Wall seconds until the flow returned; (wall, CPU) until the server recorded its ``tasks``
    task runs; the flow's result."""
    from aima.flows.analyze import analyze_media

    start = clock()
    state = analyze_media(case=case, sources=sources, return_state=True)
    returned = time.perf_counter() - start[0]
    wait_recorded(state.state_details.flow_run_id, tasks)
    return returned, since(start, "flow"), state.result()


class EmptyWork:
    """Prefect's own cost: empty task runs with AIMA's task options, an empty flow run, and the
    same empty functions called plainly."""

    def __init__(self):
        import queue

        from prefect import flow, task

        *_, options = pipeline_api()

        def nothing(stage: str, media_id: str, name: str, reanalyse: bool = False) -> None:
            return None

        self.nothing = nothing
        empty_task = task(name="bench-empty", task_run_name="{stage} {name}", **options)(nothing)

        @flow(name="bench-empty-tasks")
        def many_tasks(count: int) -> float:
            done: queue.SimpleQueue = queue.SimpleQueue()
            started = time.perf_counter()
            pending = set()
            for n in range(count):  # submitted at once, collected by callback, as the flow does
                future = empty_task.submit("preprocess", str(n), f"photo-{n:04d}.jpg")
                pending.add(future)
                future.add_done_callback(done.put)
            while pending:
                future = done.get()
                future.result()
                pending.discard(future)
            return time.perf_counter() - started

        @flow(name="bench-empty-flow")
        def empty_flow() -> None:
            return None

        self.many_tasks, self.empty_flow = many_tasks, empty_flow
        self.tasks(2)  # warm-up: the first run of a new flow or task registers it
        self.flow()

    def tasks(self, count: int) -> tuple[float, tuple[float, float]]:
        """Wall seconds until the flow had every result; (wall, CPU) of the whole flow run until
        the server recorded the task runs."""
        start = clock()
        state = self.many_tasks(count, return_state=True)
        wait_recorded(state.state_details.flow_run_id, count)
        return state.result(), since(start, "tasks")

    def plain_calls(self, count: int) -> tuple[float, float]:
        start = clock()
        for n in range(count):
            self.nothing("preprocess", str(n), f"photo-{n:04d}.jpg")
        return since(start)

    def flow(self) -> tuple[float, float]:
        start = clock()
        self.empty_flow()
        return since(start, "empty_flow")

    def plain_flow(self) -> tuple[float, float]:
        start = clock()
        self.empty_flow.fn()
        return since(start)


# --- driver -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each side")
    args = parser.parse_args(argv)
    n = args.files
    m: dict[str, list] = {key: [] for key in (
        "flow", "returned", "quiet", "plain", "tasks", "in_flow", "calls", "empty_flow",
        "plain_flow")}
    phases = []
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="aima-bench-ingest-") as tmp:
        root = Path(tmp)
        os.environ.setdefault("PREFECT_HOME", str(root / "prefect-home"))  # its own server DB
        make_images(root / "images", n)
        make_images(root / "warm-up", 2)
        sources = [str(root / "images")]

        from aima.flows.analyze import analyze_media

        started = time.perf_counter()
        os.environ["AIMA_DATA_DIR"] = str(root / "data-warm-up")
        analyze_media(case="warm-up", sources=[str(root / "warm-up")])
        startup = time.perf_counter() - started
        os.environ["AIMA_DATA_DIR"] = str(root / "data-warm-up-plain")
        baseline("warm-up", [str(root / "warm-up")])  # imports and first-call costs, both sides
        empty = EmptyWork()

        for k in range(args.rounds):  # everything alternates, so that all meet the same load
            wait_server_quiet()
            os.environ["AIMA_DATA_DIR"] = str(root / f"data-flow-{k}")
            returned, took, result = with_flow("bench", sources, 2 * n)
            if not _all_done(result["media"], n, "flow"):
                return 1
            m["flow"].append(took)
            m["returned"].append(returned)
            m["quiet"].append(wait_server_quiet())
            os.environ["AIMA_DATA_DIR"] = str(root / f"data-plain-{k}")
            took, result = baseline("bench", sources)
            if not _all_done(result["media"], n, "baseline"):
                return 1
            m["plain"].append(took)
            phases.append(result["phases"])
            wait_server_quiet()
            in_flow, took = empty.tasks(2 * n)
            m["in_flow"].append(in_flow)
            m["tasks"].append(took)
            wait_server_quiet()
            m["calls"].append(empty.plain_calls(2 * n))
            m["empty_flow"].append(empty.flow())
            m["plain_flow"].append(empty.plain_flow())

    def best(key: str) -> tuple[float, float]:  # best wall and best CPU, each over the rounds
        return min(w for w, _ in m[key]), min(c for _, c in m[key])

    def ms(seconds: float) -> str:
        return f"{1000 * seconds:.1f} ms"

    def runs(key: str) -> str:
        return ", ".join(f"{w:.2f}/{c:.2f}" for w, c in m[key])

    flow, plain = best("flow"), best("plain")
    tasks, calls = best("tasks"), best("calls")
    eflow, pflow = best("empty_flow"), best("plain_flow")
    phase = min(phases, key=lambda p: sum(p.values()))
    print(f"machine: {os.cpu_count()} cores; load average {load_start:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end")
    print(f"files: {n} small images (96x72 JPEG/PNG), 2 tasks each (ingest, preprocess)")
    print(f"prefect temporary server start: {startup:.2f} s (once per process, not counted)")
    print(f"best of {args.rounds} alternating rounds; each run on a fresh data directory with the "
          "stores opened and the report written inside the timer on both sides; wall s / CPU s "
          "(CPU: this process's threads + Prefect's server process)")
    print(f"  baseline, plain functions   {plain[0]:7.2f} s / {plain[1]:6.2f} s = "
          f"{ms(plain[0] / n)} / {ms(plain[1] / n)} per file   (runs {runs('plain')})")
    print(f"    wall by phase: open stores + migrations {phase['open']:.2f} s, files "
          f"{phase['files']:.2f} s, report {phase['report']:.2f} s (AIMA's work and bookkeeping)")
    print(f"  analyze-media flow          {flow[0]:7.2f} s / {flow[1]:6.2f} s = "
          f"{ms(flow[0] / n)} / {ms(flow[1] / n)} per file   (runs {runs('flow')})")
    print(f"    (until the server recorded all {2 * n} task runs; returned to the caller after "
          f"{min(m['returned']):.2f} s; server busy afterwards {min(m['quiet']):.1f} s, waited "
          "out, not counted)")
    print(f"    CPU of Prefect's server process: flow {_runs(SERVER_CPU['flow'][-args.rounds:])} s;"
          f" baseline {_runs(SERVER_CPU['plain'][-args.rounds:])} s; {2 * n} empty tasks "
          f"{_runs(SERVER_CPU['tasks'][-args.rounds:])} s; empty flow "
          f"{_runs(SERVER_CPU['empty_flow'][-args.rounds:])} s")
    print(f"  flow / baseline             {flow[0] / plain[0]:7.2f} wall, "
          f"{flow[1] / plain[1]:.2f} CPU")
    over = (flow[0] - plain[0], flow[1] - plain[1])
    print(f"  Prefect overhead            {over[0]:7.2f} s / {over[1]:6.2f} s = "
          f"{ms(over[0] / n)} / {ms(over[1] / n)} per file = {100 * over[0] / flow[0]:.0f} % of "
          "the flow's wall time")
    per_flow = (eflow[0] - pflow[0], eflow[1] - pflow[1])
    per_task = tuple((tasks[i] - eflow[i] - calls[i]) / (2 * n) for i in (0, 1))
    print("Prefect's own cost, empty work, AIMA's task options (wall / CPU), same rounds:")
    print(f"  empty flow run              {ms(per_flow[0])} / {ms(per_flow[1])}   "
          f"(plain call {1e6 * pflow[0]:.0f} µs; runs {runs('empty_flow')})")
    print(f"  per task run                {ms(per_task[0])} / {ms(per_task[1])}   ({2 * n} empty "
          f"tasks in one flow run until recorded, less the empty flow run and {ms(calls[0])} of "
          f"plain calls; the flow had every result after {ms(min(m['in_flow']) / (2 * n))} per "
          f"task; runs {runs('tasks')})")
    predicted = (per_flow[0] + 2 * n * per_task[0], per_flow[1] + 2 * n * per_task[1])
    print(f"  predicted overhead, 1 flow run + {2 * n} task runs: {predicted[0]:.2f} s / "
          f"{predicted[1]:.2f} s; measured {over[0]:.2f} s / {over[1]:.2f} s; rest (artifacts, "
          f"logging, hand-offs) {over[0] - predicted[0]:+.2f} s / {over[1] - predicted[1]:+.2f} s")
    print_result(flow[0] / plain[0], "analyze-media flow / the same work in plain functions, wall",
                 None, None, files=n, flow_s=flow[0], plain_s=plain[0],
                 overhead_ms_per_file=1000 * over[0] / n, overhead_share=over[0] / flow[0],
                 task_run_ms=1000 * per_task[0], flow_run_ms=1000 * per_flow[0])
    return 0


def _runs(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _all_done(media: list[dict], n: int, side: str) -> bool:
    statuses = {row["status"] for row in media}
    if statuses != {"done"} or len(media) != n:
        print(f"unexpected {side} outcome: {len(media)} files, statuses {statuses}")
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
