"""Overhead of AIMA's ``runpod`` worker against Prefect's own ``process`` worker, on loopback.

    .venv/bin/python bench/bench_gpu_worker.py [--runs 3] [--query-s 10] [--poll-s 5]

Starts a Prefect server, the fake RunPod API (tests/gpu_providers/fake_runpod.py: its "machines"
are local processes), a ``runpod`` pool with its worker and a ``process`` pool with Prefect's
process worker, both polling with Prefect's default interval (``--query-s``,
PREFECT_WORKER_QUERY_SECONDS, 10 s) and the GPU worker watching its machines every ``--poll-s``
seconds (the pool's ``poll_interval_s``, default 5). Both pools run the same tiny flow
(tests/workers/flows.py) with the same command, wrapped to note when it starts and ends::

    sh -c 'date > start; prefect flow-run execute; date > end'

and ``--runs`` flow runs go to each pool, alternating, one at a time. For each run it measures

- start: from the time the run was scheduled to the machine's (or process's) command starting;
- stop: from the flow run's end (its end time on the server) to the infrastructure being gone:
  the machine terminated (the fake's ledger) or the process's command ended.

Prints the median and worst of each with the polling intervals, the ratio of the GPU worker's
median to the process worker's (both met the same load in the same run), and whether both GPU
figures meet the target of 15 s; exits 1 when one does not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prefect.client.orchestration import get_client  # noqa: E402
from prefect.client.schemas.actions import WorkPoolCreate  # noqa: E402
from prefect.settings import PREFECT_API_URL, temporary_settings  # noqa: E402
from prefect.workers.process import ProcessWorker  # noqa: E402

from aima.workers import RunPodWorker  # noqa: E402
from bench._result import print_result  # noqa: E402
from aima.workers.configuration import job_template  # noqa: E402
from tests.gpu_providers.fakes import FakeRunPod  # noqa: E402
from tests.workers import conftest as stack  # noqa: E402

TARGET_S = 15.0
WRAPPED = ("sh -c 'date +%s.%N > \"$BENCH_TRACE/start-$PREFECT__FLOW_RUN_ID\"; "
           "prefect flow-run execute; date +%s.%N > \"$BENCH_TRACE/end-$PREFECT__FLOW_RUN_ID\"'")


def process_worker(pool: str, api_url: str, query_s: float, home: Path) -> subprocess.Popen:
    """Prefect's process worker, started as the tests start AIMA's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "AIMA_"))}
    env.update(PREFECT_API_URL=api_url, PREFECT_HOME=str(home / "prefect-process"),
               PREFECT_WORKER_QUERY_SECONDS=str(query_s), PREFECT_WORKER_PREFETCH_SECONDS="0",
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    with (home / "process-worker.log").open("wb") as log:
        return subprocess.Popen(["env", "--default-signal=INT", str(stack.BIN / "prefect"),
                                 "worker", "start", "--pool", pool, "--type", "process"], env=env,
                                cwd=home, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def make_pools(client, api_url: str, trace: Path, poll_s: float) -> None:
    """The two pools, running the same wrapped command with the same environment."""
    env = {**stack.IMAGE_ENV, "BENCH_TRACE": str(trace)}
    client.create_work_pool(WorkPoolCreate(name="bench-runpod", type="runpod",
                                           base_job_template=job_template(
                                               RunPodWorker, prefect_api_url=api_url, env=env,
                                               command=WRAPPED, poll_interval_s=poll_s)))
    process = ProcessWorker.get_default_base_job_template()
    process["variables"]["properties"]["env"]["default"] = env
    process["variables"]["properties"]["command"]["default"] = WRAPPED
    client.create_work_pool(WorkPoolCreate(name="bench-process", type="process",
                                           base_job_template=process))


def measure(client, deployment_id, trace: Path, fake: FakeRunPod | None) -> tuple[float, float]:
    """(scheduled -> command start, run end -> infrastructure gone) of one flow run, seconds."""
    run = client.create_flow_run_from_deployment(deployment_id, parameters={
        "key": "bench", "trace_dir": str(trace), "sleep_s": 0})
    final = stack.wait_final(client, run.id, timeout_s=300)
    assert final.state.is_completed(), final.state.message
    started = float(stack.wait_until(lambda: _read(trace / f"start-{run.id}"), 60, "start"))
    if fake is None:
        gone = float(stack.wait_until(lambda: _read(trace / f"end-{run.id}"), 60, "exit"))
    else:
        label = f"aima-{run.id}-1"
        gone = stack.wait_until(lambda: next((entry.ended_at for entry in fake.ledger.entries()
                                              if entry.label == label and entry.ended_at), None),
                                60, "the machine is terminated")
    return started - final.expected_start_time.timestamp(), gone - final.end_time.timestamp()


def _read(path: Path) -> str | None:
    text = path.read_text().strip() if path.exists() else ""
    return text or None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="flow runs per worker")
    parser.add_argument("--query-s", type=float, default=10.0,
                        help="PREFECT_WORKER_QUERY_SECONDS of both workers (Prefect's default)")
    parser.add_argument("--poll-s", type=float, default=5.0,
                        help="the runpod pool's poll_interval_s (AIMA's default)")
    args = parser.parse_args(argv)

    timings: dict[str, list[tuple[float, float]]] = {"runpod": [], "process": []}
    with tempfile.TemporaryDirectory(prefix="aima-bench-gpu-") as tmp:
        home = Path(tmp)
        trace = home / "trace"
        trace.mkdir()
        with stack.prefect_server(home) as api_url, \
                temporary_settings({PREFECT_API_URL: api_url}), \
                get_client(sync_client=True) as client, \
                FakeRunPod(api_key=stack.RUNPOD_KEY, run_commands=True, workdir=home / "machines",
                           base_env=stack.IMAGE_ENV).start() as fake:
            make_pools(client, api_url, trace, args.poll_s)
            gpu = stack.make_deployment(client, "bench-runpod", "bench-runpod")
            local = stack.make_deployment(client, "bench-process", "bench-process")
            workers = [stack.Worker("bench-runpod", api_url, fake, home, query_s=args.query_s)
                       .process, process_worker("bench-process", api_url, args.query_s, home)]
            try:
                for _ in range(args.runs):  # alternating: both meet the same load
                    timings["runpod"].append(measure(client, gpu, trace, fake))
                    timings["process"].append(measure(client, local, trace, None))
            finally:
                for worker in workers:
                    stack._stop(worker)
    return report(timings, args)


def report(timings: dict[str, list[tuple[float, float]]], args) -> int:
    def column(name: str, index: int) -> list[float]:
        return [pair[index] for pair in timings[name]]

    print(f"polling: both workers query every {args.query_s:g} s (PREFECT_WORKER_QUERY_SECONDS); "
          f"the runpod worker watches its machine every {args.poll_s:g} s (poll_interval_s); "
          f"{args.runs} runs each")
    print(f"{'':28}{'scheduled -> command start':>30}{'run end -> infrastructure gone':>34}")
    for name, label in (("runpod", "runpod worker (fake RunPod)"),
                        ("process", "process worker (baseline)")):
        cells = [f"median {statistics.median(column(name, i)):5.1f} s, worst "
                 f"{max(column(name, i)):5.1f} s" for i in (0, 1)]
        print(f"{label:28}{cells[0]:>30}{cells[1]:>34}")
    ratios = [statistics.median(column("runpod", i)) / max(statistics.median(column("process", i)),
                                                           0.001) for i in (0, 1)]
    print(f"{'ratio runpod / process':28}{ratios[0]:>29.2f}x{ratios[1]:>33.2f}x")
    worst = [max(column("runpod", i)) for i in (0, 1)]
    met = all(value <= TARGET_S for value in worst)
    print(f"target: <= {TARGET_S:g} s each for the runpod worker: "
          f"{'met' if met else 'MISSED'} (worst start {worst[0]:.1f} s, "
          f"worst stop {worst[1]:.1f} s)")
    print_result(ratios[0], "runpod worker / process worker, scheduled -> command start (median)",
                 f"<= {TARGET_S:g} s start and stop (worst)", met, stop_ratio=ratios[1],
                 worst_start_s=worst[0], worst_stop_s=worst[1], query_s=args.query_s,
                 poll_s=args.poll_s)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
