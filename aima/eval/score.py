"""The report of a generated case compared with its truth: one table of metrics.

    python -m aima.eval score CASE_DIR [--json OUT]

:func:`score_case` runs ``aima analyze`` on the case's ``media/`` with the embedded default (a
separate process, as a user runs it, with its own temporary data directory and Prefect home),
measures its wall time and peak memory, reads the JSON report it wrote and hands it to
:func:`score_report`, which needs nothing but the report and the truth (so a test can score a
report that is wrong on purpose). Every metric has a valid range; one that cannot be computed
has value ``None`` and says why in its note.
"""

from __future__ import annotations

import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aima.eval.measure import (
    bad_input, faces_and_persons, grounding, keyframes, near_duplicates, ocr, speech,
)
from aima.eval.truth import MEDIA_DIR, Truth, read_truth


@dataclass
class Metric:
    """One figure of the score table."""

    name: str
    value: float | None
    low: float
    high: float | None  #: None: no upper bound
    unit: str = ""
    better: str = ""  #: "higher", "lower" or "" (a measurement)
    note: str = ""

    def in_range(self) -> bool:
        return (self.value is not None and math.isfinite(self.value) and self.value >= self.low
                and (self.high is None or self.value <= self.high))


@dataclass
class Run:
    """How the analysis went: its command, exit status, wall time and peak memory."""

    command: list[str]
    returncode: int
    wall_s: float
    peak_rss_mib: float
    data_dir: str
    report_path: str | None
    log_tail: str = ""


@dataclass
class Scorecard:
    case: str
    files: int
    media_minutes: float
    metrics: list[Metric] = field(default_factory=list)
    run: Run | None = None

    def metric(self, name: str) -> Metric:
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        run = asdict(self.run) if self.run else None
        if run and run["returncode"] == 0:
            del run["log_tail"]  # kept for a failed run only
        return {"case": self.case, "files": self.files,
                "media_minutes": round(self.media_minutes, 3), "run": run,
                "metrics": [{"name": m.name, "value": _rounded(m.value),
                             "range": [m.low, m.high], "unit": m.unit, "better": m.better,
                             "note": m.note} for m in self.metrics]}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


# --- comparing a report with the truth -----------------------------------------------------


def score_report(truth: Truth, report: dict[str, Any], run: Run | None = None,
                 case: str = "") -> Scorecard:
    """Every metric of the report against the truth (and of the run, when given)."""
    card = Scorecard(case=case or report.get("case", {}).get("name", ""), files=len(truth.files),
                     media_minutes=truth.media_minutes, run=run)
    for part in (speech, faces_and_persons, keyframes, ocr, near_duplicates, bad_input,
                 grounding):
        for name, value, low, high, unit, better, note in part(truth, report):
            card.metrics.append(Metric(name, value, low, high, unit, better, note))
    card.metrics += _run_metrics(truth, run)
    return card


def _run_metrics(truth: Truth, run: Run | None) -> list[Metric]:
    if run is None:
        reason = "no analysis run was measured (a report was scored on its own)"
        return [Metric("wall_s_per_media_minute", None, 0, None, "s/min", "lower", reason),
                Metric("peak_memory_mib", None, 0, None, "MiB", "lower", reason)]
    minutes = truth.media_minutes
    per_minute = Metric("wall_s_per_media_minute", run.wall_s / minutes if minutes else None, 0,
                        None, "s/min", "lower",
                        f"{run.wall_s:.1f} s of `aima analyze` (Prefect's start included) for "
                        f"{minutes * 60:.1f} s of video and audio; pictures count no time"
                        if minutes else "the case has no video or audio")
    peak = Metric("peak_memory_mib", run.peak_rss_mib, 0, None, "MiB", "lower",
                  "highest resident memory of `aima analyze` and its child processes together "
                  "(Prefect's temporary server included), sampled every 0.2 s")
    return [per_minute, peak]


# --- running the analysis --------------------------------------------------------------------


def run_analysis(media_dir: Path, *, data_dir: Path, case: str = "eval",
                 settings: dict[str, str] | None = None, timeout_s: float | None = None) -> Run:
    """``aima analyze MEDIA_DIR --case CASE`` in a child process with the embedded default:
    every ``AIMA_*`` and ``PREFECT_*`` variable of this process is dropped (but the model cache),
    the stores and the Prefect home live in ``data_dir``, ``settings`` are added last."""
    import psutil

    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIMA_", "PREFECT_")) or k == "AIMA_MODEL_CACHE_DIR"}
    env.update(AIMA_DATA_DIR=str(data_dir), PREFECT_HOME=str(data_dir / "prefect-home"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120", PYTHONUNBUFFERED="1",
               COLUMNS="200")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.update(settings or {})
    command = [sys.executable, "-m", "aima.cli", "analyze", str(media_dir), "--case", case]
    log_path = data_dir / "analyze.log"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                 cwd=data_dir)
        peak = _watch(psutil.Process(child.pid), child, started, timeout_s)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if after > before:  # this run set the children's record: its largest single process (KiB)
        peak = max(peak, after * 1024)
    output = log_path.read_text(errors="replace")
    found = re.search(r"case .* id ([0-9a-f-]{36})", output)
    report = None
    if found:
        path = data_dir / "objects" / "cases" / found.group(1) / "exports" / "report.json"
        report = str(path) if path.is_file() else None
    return Run(command=command, returncode=child.returncode, wall_s=round(wall, 3),
               peak_rss_mib=round(peak / 2**20, 1), data_dir=str(data_dir), report_path=report,
               log_tail=output[-3000:])


def _watch(process, child: subprocess.Popen, started: float, timeout_s: float | None) -> int:
    """Wait for ``child``, sampling the resident memory of it and its descendants; the peak."""
    import psutil

    peak = 0
    while child.poll() is None:
        total = 0
        try:
            for member in [process, *process.children(recursive=True)]:
                try:
                    total += member.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        peak = max(peak, total)
        if timeout_s is not None and time.perf_counter() - started > timeout_s:
            for member in [*process.children(recursive=True), process]:
                try:
                    member.kill()
                except psutil.Error:
                    pass
            child.wait()
            break
        time.sleep(0.2)
    return peak


def score_case(case_dir: Path, *, data_dir: Path | None = None,
               settings: dict[str, str] | None = None, timeout_s: float | None = None) -> Scorecard:
    """Analyse a generated case and score its report (see the module docstring). Raises
    :class:`AnalysisFailed` when ``aima analyze`` fails or writes no report."""
    case_dir = Path(case_dir)
    truth = read_truth(case_dir)
    scratch = None
    if data_dir is None:
        scratch = tempfile.TemporaryDirectory(prefix="aima-eval-")
        data_dir = Path(scratch.name)
    try:
        run = run_analysis(case_dir / MEDIA_DIR, data_dir=Path(data_dir), case=case_dir.name
                           or "eval", settings=settings, timeout_s=timeout_s)
        if run.returncode != 0 or run.report_path is None:
            raise AnalysisFailed(run)
        report = json.loads(Path(run.report_path).read_text(encoding="utf-8"))
        card = score_report(truth, report, run, case=case_dir.name)
        if scratch is not None:
            run.data_dir = "(temporary, removed)"
            run.report_path = None
        return card
    finally:
        if scratch is not None:
            scratch.cleanup()


class AnalysisFailed(RuntimeError):
    def __init__(self, run: Run):
        self.run = run
        why = (f"exit status {run.returncode}" if run.returncode
               else "it printed no case id or wrote no report")
        super().__init__(f"aima analyze failed ({why}); the end of its output:\n{run.log_tail}")


# --- the table -----------------------------------------------------------------------------


def table(card: Scorecard):
    """The score table as a rich Table: metric, value, valid range, better, note."""
    from rich.table import Table

    title = (f"{card.case}: {card.files} files, {card.media_minutes * 60:.0f} s of video and "
             "audio" + (f"; aima analyze {card.run.wall_s:.0f} s" if card.run else ""))
    result = Table(title=title, title_justify="left")
    for column in ("metric", "value", "range", "better", "note"):
        result.add_column(column, overflow="fold", no_wrap=column != "note")
    for m in card.metrics:
        value = "n/a" if m.value is None else (f"{m.value:.0f}" if m.unit in ("MiB", "count")
                                               else f"{m.value:.3f}")
        high = "inf" if m.high is None else f"{m.high:g}"
        result.add_row(m.name, f"{value} {m.unit}".strip() if m.unit not in ("", "count")
                       else value, f"[{m.low:g}, {high}]", m.better, m.note)
    return result
