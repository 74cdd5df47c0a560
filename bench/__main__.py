"""One entry point for every benchmark of ``bench/``: ``python -m bench``.

    .venv/bin/python -m bench                      # small preset: under 5 minutes on 2 cores
    .venv/bin/python -m bench --preset large       # the inputs of bench/README.md's figures
    .venv/bin/python -m bench --list               # what each preset runs
    .venv/bin/python -m bench --only asr ocr --json figures.json

Each benchmark runs in its own process (``python -m bench.bench_<name> ARGS``, arguments from
``bench/_registry.py``) under a timeout, its output shown as it comes under a header. Each prints
its figures and its ratio against a baseline measured in the same run, and last a
``RESULT {json}`` line (``bench/_result.py``) from which the summary table is filled: status, wall
time, headline ratio and what it compares, target.

Statuses: ``ok`` (ran; target met or none), ``missed`` (ran, a target missed), ``error`` (a
non-zero exit without a missed target, or no ``RESULT`` line after a failure), ``timeout``,
``skipped`` (the benchmark said it cannot run here) and ``large only`` (no small arguments).
Exit status: 1 when a benchmark ended in error or timeout, else 2 when a target was missed, else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._registry import PRESETS, Benchmark, benchmarks
from bench._result import parse_result

ROOT = Path(__file__).resolve().parents[1]
KILL_GRACE_S = 10.0  #: between SIGTERM and SIGKILL at a timeout
READER_GRACE_S = 5.0  #: for the last output after the benchmark's process ended


@dataclass
class Outcome:
    """What one benchmark run came to."""

    name: str
    status: str
    arguments: list[str] | None
    wall_s: float | None = None
    returncode: int | None = None
    result: dict[str, Any] | None = None
    note: str = ""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = select(benchmarks(), args.only)
    if args.list:
        print_list(chosen)
        return 0
    machine = describe_machine()
    print(f"{machine['date']}: preset {args.preset}; {machine['cpus']} CPUs "
          f"({machine['cpu_model']}), load average {machine['load_average']}; "
          f"commit {machine['commit']}", flush=True)
    started = time.perf_counter()
    outcomes = [run(benchmark, args.preset) for benchmark in chosen]
    total_s = time.perf_counter() - started
    print_summary(outcomes, total_s)
    if args.json:
        record = {"preset": args.preset, "date": machine.pop("date"), "machine": machine,
                  "total_s": round(total_s, 1), "benchmarks": [asdict(o) for o in outcomes]}
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
        print(f"written: {args.json}")
    statuses = {outcome.status for outcome in outcomes}
    return 1 if statuses & {"error", "timeout"} else 2 if "missed" in statuses else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.split("\n\n")[0],
        epilog="Exit status: 1 error or timeout, 2 a target missed, 0 otherwise.")
    parser.add_argument("--preset", choices=PRESETS, default="small",
                        help="small: shrunk inputs, under 5 minutes on 2 cores (default); "
                             "large: the inputs of bench/README.md's figures")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="run only these benchmarks (names as --list shows them)")
    parser.add_argument("--list", action="store_true",
                        help="list the benchmarks and their arguments per preset, run nothing")
    parser.add_argument("--json", metavar="OUT", help="also write the outcomes to this JSON file")
    return parser.parse_args(argv)


def select(available: list[Benchmark], only: list[str] | None) -> list[Benchmark]:
    """The benchmarks named by ``--only`` (all by default); exits naming the known ones."""
    if not only:
        return available
    by_name = {benchmark.name: benchmark for benchmark in available}
    wanted = [name.removeprefix("bench_").removesuffix(".py") for name in only]
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        sys.exit(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(by_name)}")
    return [by_name[name] for name in wanted]


def print_list(chosen: list[Benchmark]) -> None:
    for benchmark in chosen:
        print(f"{benchmark.name}  ({benchmark.module})")
        for preset in PRESETS:
            arguments = benchmark.arguments(preset)
            if arguments is None:
                print(f"  {preset:<6} not run")
            else:
                print(f"  {preset:<6} {' '.join(arguments) or '(no arguments)'}   "
                      f"[timeout {benchmark.timeout_s(preset):.0f} s]")
        if benchmark.note:
            print(f"  note   {benchmark.note}")


def run(benchmark: Benchmark, preset: str) -> Outcome:
    """Run one benchmark in its own process group, echoing its output; kill it at its timeout."""
    arguments = benchmark.arguments(preset)
    if arguments is None:
        print(f"\n=== {benchmark.name}: not in the {preset} preset ({benchmark.note})", flush=True)
        return Outcome(benchmark.name, "large only", None, note=benchmark.note)
    command = [sys.executable, "-m", benchmark.module, *arguments]
    timeout_s = benchmark.timeout_s(preset)
    print(f"\n=== {benchmark.name}: {' '.join(command[1:])}   (timeout {timeout_s:.0f} s)",
          flush=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, errors="replace",
                               start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=_echo, args=(process.stdout, lines), daemon=True)
    reader.start()
    timed_out = False
    try:
        returncode = process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        returncode = _stop(process)
    except KeyboardInterrupt:  # the benchmark has its own session: stop it too
        _stop(process)
        raise
    wall_s = round(time.perf_counter() - started, 1)
    reader.join(READER_GRACE_S)  # a server it left behind may hold the pipe: do not wait on it
    try:
        result = parse_result("".join(lines))
    except json.JSONDecodeError as error:
        result, note = None, f"unreadable RESULT line: {error}"
    else:
        note = "" if result is not None else "printed no RESULT line"
    status = _status(returncode, result, timed_out)
    return Outcome(benchmark.name, status, list(arguments), wall_s, returncode, result, note)


def _echo(stream, lines: list[str]) -> None:
    """Copy the benchmark's output to ours as it comes, and keep it."""
    for line in stream:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line)


def _stop(process: subprocess.Popen) -> int:
    """SIGTERM to the benchmark's whole process group, SIGKILL if it stays; its exit status."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            return process.wait(KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            continue
    return process.wait()


def _status(returncode: int, result: dict[str, Any] | None, timed_out: bool) -> str:
    if timed_out:
        return "timeout"
    if result is not None and "skipped" in result:
        return "skipped"
    if result is not None and result.get("met") is False:
        return "missed"
    return "ok" if returncode == 0 else "error"


def print_summary(outcomes: list[Outcome], total_s: float) -> None:
    print(f"\n=== summary ({total_s:.0f} s in all)")
    rows = [("benchmark", "status", "wall s", "ratio", "ratio of (same-run baseline)   [target]",
             "-")]
    for outcome in outcomes:
        result = outcome.result or {}
        ratio = result.get("ratio")
        rows.append((
            outcome.name, outcome.status,
            "-" if outcome.wall_s is None else f"{outcome.wall_s:.1f}",
            "-" if ratio is None else f"{ratio:#.3g}",
            result.get("ratio_of") or result.get("skipped") or outcome.note or "-",
            result.get("target") or "-",
        ))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
              + "  " + row[4] + ("" if row[5] == "-" else f"   [target {row[5]}]"))


def describe_machine() -> dict[str, Any]:
    """Date, CPUs, CPU model, load average and commit: what a figure needs beside it."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                                capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
            "cpu_model": model, "load_average": " ".join(f"{v:.1f}" for v in os.getloadavg()),
            "python": platform.python_version(), "commit": commit}


if __name__ == "__main__":
    sys.exit(main())
