"""``aima-eval`` (or ``python -m aima.eval``): make a known-truth case, or score AIMA on one.

    python -m aima.eval generate CASE_DIR [--size tiny|small|medium] [--files N] [--seed S]
    python -m aima.eval score CASE_DIR [--json OUT] [--data-dir DIR] [--set NAME=VALUE ...]

``score`` runs ``aima analyze`` on ``CASE_DIR/media`` with the embedded default, prints one
table of metrics (each with its valid range, and a note saying what it counted or why it could
not be computed) and, with ``--json``, writes the same as JSON. Exit status: 0 scored, 1 the
analysis failed, 2 bad arguments or a folder that is no generated case.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from aima.eval.generate import SIZES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aima-eval", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("generate", help="make a case folder (media/ and truth.json)")
    make.add_argument("case_dir", type=Path)
    make.add_argument("--size", choices=list(SIZES), default="tiny",
                      help="tiny: one of everything (9 files); small: 20; medium: 40")
    make.add_argument("--files", type=int, help="this many files instead (e.g. 10, 40, 160)")
    make.add_argument("--seed", type=int, default=0)
    score = commands.add_parser("score", help="analyse a generated case and score the report")
    score.add_argument("case_dir", type=Path)
    score.add_argument("--json", type=Path, dest="json_out", help="also write the scores here")
    score.add_argument("--data-dir", type=Path, help="keep AIMA's stores (and the analysis "
                       "log, analyze.log) here instead of a temporary directory; one that holds "
                       "the case already reuses its stored results, so the timings then "
                       "measure a rerun")
    score.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                       help="a setting for the analysis, e.g. AIMA_LLM_MAX_NEW_TOKENS=512 "
                       "(default: none; the embedded default)")
    score.add_argument("--timeout", type=float, help="stop the analysis after this many seconds")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "generate":
        return _generate(args)
    return _score(args)


def _generate(args) -> int:
    from aima.eval.generate import generate

    started = time.perf_counter()
    try:
        truth = generate(args.case_dir, size=args.size, seed=args.seed, files=args.files)
    except (ValueError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bad = sum(1 for f in truth.files if not f.usable)
    print(f"{args.case_dir}: {len(truth.files)} files ({bad} bad), "
          f"{truth.media_minutes * 60:.0f} s of video and audio, languages "
          f"{', '.join(truth.languages())}; made in {time.perf_counter() - started:.1f} s")
    return 0


def _score(args) -> int:
    from rich.console import Console

    from aima.eval.score import AnalysisFailed, score_case, table

    settings = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or not name:
            print(f"error: --set {item!r}: expected NAME=VALUE", file=sys.stderr)
            return 2
        settings[name] = value
    try:
        card = score_case(args.case_dir, data_dir=args.data_dir, settings=settings,
                          timeout_s=args.timeout)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except AnalysisFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    Console(width=max(Console().width, 160)).print(table(card))
    if args.json_out:
        args.json_out.write_text(json.dumps(card.to_json(), indent=2) + "\n")
        print(f"wrote {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
