"""Ingest of 200 small images through the analyze-media flow: wall time per file, and the share
of it that is Prefect overhead.

Baseline, measured in the same run: the same plain-Python functions the tasks call
(``ingest_file`` then ``preprocess_media``, file after file, no Prefect) on a fresh data
directory. Prefect's temporary server is started before timing (a warm-up flow), so its start-up
is not counted; it is printed separately.

    .venv/bin/python bench/bench_ingest.py [--files 200]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from PIL import Image, ImageDraw  # noqa: E402


def make_images(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    rng = random.Random(7)
    for n in range(count):
        image = Image.new("RGB", (96, 72), tuple(rng.randrange(256) for _ in range(3)))
        ImageDraw.Draw(image).text((8, 28), f"photo {n}", fill=(255, 255, 255))
        image.save(folder / f"photo-{n:04d}.{'jpg' if n % 2 else 'png'}")


def plain(folder: Path, data_dir: Path) -> float:
    from aima.ingest import ingest_file
    from aima.preprocess import preprocess_media
    from aima.settings import Settings
    from aima.sources import expand_sources
    from aima.storage import open_stores
    from aima.storage.cases import get_or_create_case

    settings = Settings(data_dir=data_dir)
    with open_stores(settings) as stores:
        started = time.perf_counter()
        case_id = str(get_or_create_case(stores.metadata, "bench").id)
        for source in expand_sources([str(folder)], settings):
            outcome = ingest_file(stores, settings, case_id, source)
            preprocess_media(stores, settings, outcome.media_id)
        return time.perf_counter() - started


def with_prefect(folder: Path, data_dir: Path) -> tuple[float, dict]:
    from aima.flows.analyze import analyze_media

    os.environ["AIMA_DATA_DIR"] = str(data_dir)
    started = time.perf_counter()
    result = analyze_media(case="bench", sources=[str(folder)])
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aima-bench-ingest-") as tmp:
        root = Path(tmp)
        make_images(root / "images", args.files)
        make_images(root / "warm-up", 2)

        from aima.flows.analyze import analyze_media

        started = time.perf_counter()
        os.environ["AIMA_DATA_DIR"] = str(root / "data-warm-up")
        analyze_media(case="warm-up", sources=[str(root / "warm-up")])
        startup = time.perf_counter() - started

        baseline = plain(root / "images", root / "data-plain")
        elapsed, result = with_prefect(root / "images", root / "data-prefect")
        statuses = {row["status"] for row in result["media"]}
        if statuses != {"done"} or len(result["media"]) != args.files:
            print(f"unexpected outcome: {len(result['media'])} files, statuses {statuses}")
            return 1

    n = args.files
    overhead = elapsed - baseline
    print(f"files:                         {n} small images (96x72 JPEG/PNG)")
    print(f"prefect temporary server start {startup:8.2f} s (once per process, not counted below)")
    print(f"plain functions (baseline):    {baseline:8.2f} s  {1000 * baseline / n:7.1f} ms/file")
    print(f"analyze-media flow:            {elapsed:8.2f} s  {1000 * elapsed / n:7.1f} ms/file")
    print(f"flow / baseline ratio:         {elapsed / baseline:8.2f}")
    print(f"prefect overhead:              {1000 * overhead / n:7.1f} ms/file = "
          f"{100 * overhead / elapsed:.0f} % of the flow's wall time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
