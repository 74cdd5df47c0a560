"""Scaling of the whole pipeline: generated cases of 10, 40 and 160 mixed files through
``aima analyze`` with the embedded default.

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.bench_scaling                  # 10, 40, 160 files
    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.bench_scaling --files 10 40    # a quicker look
    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.bench_scaling --set AIMA_LLM_MAX_NEW_TOKENS=512

Each case is made by ``aima.eval.generate`` (``--files N``: rounds of a video with faces, text
and an English dialogue or its re-muxed copy, an audio file (espeak-ng in four languages, the
real telephone call, two neural voices), a photo with two faces, a text picture, a photo and its
altered copy, a silent cut video and a bad file) and analysed by ``aima.eval.score.score_case``:
``aima analyze`` in its own process with a fresh data directory and Prefect home, so each size
pays the same start (Prefect's temporary server, model loads). Printed per size: files, minutes
of video and audio, wall time, time per file and per media minute, peak resident memory of the
analysis and its children, where the time went (start, the files, the case stages, fuse: from
the analysis log's task-run times) and a few quality figures of the same run (the scorer's).
Then each size against the smallest: files, wall time, time per file and peak memory ratios,
and the growth exponent ``log(wall ratio) / log(files ratio)`` (1: linear).

On the project's 2-core VM under other jobs' load the three sizes took about 25 min
(2026-11-26, commit fdd1f97), 11 min of it the 160-file case's narrative; before fusion packed
files into shared calls and llama.cpp's prompt cache was turned off, 1 h 40 min and 6.4 GiB
(BENCHMARKS.md).

Headline ratio: wall time per file at the largest size / at the smallest. The fixed start is
shared by fewer files in the small case, so a pipeline that grows linearly stays at or below 1.
Target: <= 1.0 (no worse than linear); exit status 1 when missed.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aima.eval.generate import generate  # noqa: E402
from aima.eval.score import Scorecard, score_case  # noqa: E402
from bench._result import print_result  # noqa: E402

QUALITY = ("wer_en", "der", "person_purity", "near_duplicate_precision", "keyframe_cut_recall",
           "bad_input_accuracy")
_FINISHED = re.compile(r"^(\d\d:\d\d:\d\d\.\d+) \| \w+ +\| Task run '([^']+)' - Finished")
_BEGUN = re.compile(r"^(\d\d:\d\d:\d\d\.\d+) \| \w+ +\| Flow run '[^']+' - Beginning flow run")
CASE_STAGES = ("link-speakers", "link-persons", "near-duplicates", "fuse")


def phases(log: str, wall_s: float) -> dict[str, float | None]:
    """Seconds of the start (process and Prefect up to the flow run), the files (until the last
    file task), the case stages but fuse, and fuse, from the log's times; None where a time is
    missing from the log."""
    begun, last_file, finished = None, None, {}
    for line in log.splitlines():
        if (match := _BEGUN.match(line)) and begun is None:
            begun = _seconds(match.group(1))
        elif match := _FINISHED.match(line):
            moment, task = _seconds(match.group(1)), match.group(2)
            if task in CASE_STAGES:
                finished[task] = moment
            else:
                last_file = moment
    if begun is None or last_file is None or "fuse" not in finished:
        return {"start": None, "files": None, "case": None, "fuse": None}
    before_fuse = max([t for task, t in finished.items() if task != "fuse"] or [last_file])
    return {"start": None if wall_s is None else round(wall_s - (finished["fuse"] - begun), 1),
            "files": round(last_file - begun, 1), "case": round(before_fuse - last_file, 1),
            "fuse": round(finished["fuse"] - before_fuse, 1)}


def _seconds(clock: str) -> float:
    moment = datetime.strptime(clock, "%H:%M:%S.%f")
    return moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6


def run_size(files: int, work: Path, settings: dict[str, str]) -> tuple[Scorecard, dict]:
    started = time.perf_counter()
    case = work / f"case-{files}"
    generate(case, files=files)
    made_s = time.perf_counter() - started
    card = score_case(case, data_dir=work / f"data-{files}", settings=settings)
    log = (work / f"data-{files}" / "analyze.log").read_text(errors="replace")
    return card, {"made_s": made_s, **phases(log, card.run.wall_s)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, nargs="+", default=[10, 40, 160])
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for every analysis (default: the embedded default)")
    parser.add_argument("--keep", type=Path, help="keep the cases, AIMA's data directories "
                        "(analysis logs, reports) and each size's score table as JSON in this new "
                        "folder")
    args = parser.parse_args(argv)
    sizes = sorted(set(args.files))
    settings = dict(item.split("=", 1) for item in args.set)
    print(f"cases of {', '.join(map(str, sizes))} files, embedded default"
          + (f" with {settings}" if settings else "") + "\n")
    results: list[tuple[int, Scorecard, dict]] = []
    with tempfile.TemporaryDirectory(prefix="aima-bench-scaling-") as tmp:
        work = args.keep or Path(tmp)
        for files in sizes:
            card, split = run_size(files, work, settings)
            results.append((files, card, split))
            if args.keep:
                (work / f"scores-{files}.json").write_text(json.dumps(card.to_json(), indent=2))
            run = card.run
            print(f"{files:4d} files: made in {split['made_s']:.0f} s, {card.media_minutes:.1f} "
                  f"media minutes; analysed in {run.wall_s:.0f} s, peak {run.peak_rss_mib:.0f} MiB",
                  flush=True)

    print("\nfiles  media min   wall s  s/file  s/media min  peak MiB |  start  files  case"
          "   fuse (s)")
    for files, card, split in results:
        run = card.run
        cells = "  ".join(f"{split[k]:5.0f}" if split[k] is not None else "    ?"
                          for k in ("start", "files", "case", "fuse"))
        print(f"{files:5d}  {card.media_minutes:9.1f}  {run.wall_s:7.0f}  {run.wall_s / files:6.1f}"
              f"  {run.wall_s / card.media_minutes:11.1f}  {run.peak_rss_mib:8.0f} | {cells}")

    print("\nquality in the same runs (the scorer's figures):")
    print("files  " + "  ".join(f"{name:>24}" for name in QUALITY))
    for files, card, _ in results:
        values = {m.name: m.value for m in card.metrics}
        print(f"{files:5d}  " + "  ".join(
            f"{values[name]:24.3f}" if values.get(name) is not None else f"{'n/a':>24}"
            for name in QUALITY))

    base_files, base, _ = results[0]
    print(f"\nagainst {base_files} files:")
    print("files  files ratio  wall ratio  per-file ratio  peak ratio  growth exponent")
    figures = {}
    for files, card, split in results:
        wall_ratio = card.run.wall_s / base.run.wall_s
        files_ratio = files / base_files
        per_file = wall_ratio / files_ratio
        peak = card.run.peak_rss_mib / base.run.peak_rss_mib
        exponent = math.log(wall_ratio) / math.log(files_ratio) if files_ratio > 1 else None
        print(f"{files:5d}  {files_ratio:11.1f}  {wall_ratio:10.2f}  {per_file:14.2f}  "
              f"{peak:10.2f}  " + (f"{exponent:15.2f}" if exponent is not None else f"{'-':>15}"))
        figures[f"wall_s_{files}"] = card.run.wall_s
        figures[f"peak_mib_{files}"] = card.run.peak_rss_mib
        figures[f"fuse_s_{files}"] = split["fuse"]
        if exponent is not None:
            figures[f"growth_exponent_{files}"] = exponent
    top_files, top, _ = results[-1]
    ratio = (top.run.wall_s / top_files) / (base.run.wall_s / base_files)
    met = ratio <= 1.0 if top_files > base_files else None
    if met is False:
        print("\nMISSED: time per file grows with the case (worse than linear); the split above "
              "says which part grows")
    print_result(ratio, f"wall time per file, {top_files} / {base_files} files", "<= 1.0", met,
                 **figures)
    return 1 if met is False else 0


if __name__ == "__main__":
    sys.exit(main())
