"""Known-file hash sets: import of a million hashes (time, peak memory), and ingest of a 100-file
case with and without a million-hash set, side by side.

1. **Import.** A plain-text list of generated hashes (a third each md5, sha1 and sha256, as in a
   mixed export) is imported with ``aima.hashsets.store.import_file``, each import in a fresh
   process so that its peak RSS is its own: wall time, hashes per second, and the growth of the
   peak RSS over the process's RSS before the import (the store, SQLAlchemy and the driver are
   loaded first). The same is done with a tenth of the list: a streamed import's memory must not
   grow with the list (SQLite's page cache is raised to a bounded 64 MiB during an import).
2. **Ingest.** 100 small images (96x72 JPEG/PNG) are ingested (``ingest_file``: validate, hash
   sha256+md5+sha1 in one read, look the hashes up, sniff, store) into a fresh case of two data
   directories: one without hash sets, one holding the million-hash set (category known-benign,
   with the md5 of 10 of the files among them). Runs alternate (without, with, ...) and the best
   of ``--rounds`` of each counts. The look-up alone (``match`` on the 1M set) is timed too.
3. **Hashing.** sha256 alone (``hashlib.file_digest``) against sha256+md5+sha1 in one read
   (``hashes_of``) over a 64 MiB file in the page cache: the cost of the two extra digests.

Targets (exit 1 when missed): ingest with the 1M set / without <= 1.10 (the look-up must not slow
ingest measurably); peak RSS growth of any import <= 96 MiB: SQLite's bounded 64 MiB page cache
and a few batches (holding a million hashes as Python strings alone would take about 110 MiB,
and the growth would rise with the list). With
``--postgresql`` the import and the ingest are also measured on a PostgreSQL server started from
the Debian binaries as in the tests.

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.bench_hashsets [--hashes 1000000] [--rounds 7] \
        [--postgresql]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._result import print_result  # noqa: E402

TARGET_INGEST_RATIO = 1.10
#: SQLite's page cache during an import (64 MiB) and room for the batches and the parser.
TARGET_PEAK_MIB = 96
FILES = 100
KNOWN_FILES = 10


# --- input ------------------------------------------------------------------------------------


def make_images(folder: Path, count: int) -> list[Path]:
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True)
    rng = random.Random(11)
    paths = []
    for n in range(count):
        image = Image.new("RGB", (96, 72), tuple(rng.randrange(256) for _ in range(3)))
        ImageDraw.Draw(image).text((8, 28), f"photo {n}", fill=(255, 255, 255))
        paths.append(folder / f"photo-{n:04d}.{'jpg' if n % 2 else 'png'}")
        image.save(paths[-1])
    return paths


def write_hash_list(path: Path, count: int, known: list[str]) -> None:
    """``count`` generated hashes, md5/sha1/sha256 in turn, with the ``known`` md5s spread in."""
    algorithms = ("md5", "sha1", "sha256")
    every = max(1, count // max(1, len(known)))
    with open(path, "w") as handle:
        handle.write(f"# {count} generated hashes\n")
        for n in range(count - len(known)):
            seed = n.to_bytes(8, "little")
            handle.write(hashlib.new(algorithms[n % 3], seed).hexdigest() + "\n")
            if n % every == 0 and n // every < len(known):
                handle.write(known[n // every] + "\n")


# --- import in a fresh process -----------------------------------------------------------------


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def child_import(url: str, path: str, name: str) -> None:
    """Import ``path`` as set ``name`` into ``url``; print time and memory as JSON.

    The peak RSS is reset just before the import (Linux: ``5`` into ``/proc/self/clear_refs``),
    so that what loading the modules and migrating the database took does not count.
    """
    from aima.hashsets.store import import_file
    from aima.storage.database import Database

    database = Database(url)
    with database.session() as session:  # everything imported and connected before
        session.connection()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    before = _status_mib("VmRSS")
    started = time.perf_counter()
    info = import_file(database, name, path, category="known-benign", actor="bench")
    took = time.perf_counter() - started
    peak = _status_mib("VmHWM")
    database.dispose()
    print(json.dumps({"seconds": took, "entries": info.entries, "rss_before_mib": before,
                      "peak_mib": peak, "growth_mib": peak - before}))


def run_import(url: str, path: Path, name: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "bench.bench_hashsets", "--child-import", url,
                           str(path), name], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"import failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- ingest with and without the set -----------------------------------------------------------


def ingest_case(stores, files: list[Path], case_name: str) -> tuple[float, list]:
    from aima.pipeline.sources import SourceFile
    from aima.stages.ingest import ingest_file
    from aima.storage.cases import get_or_create_case

    case = get_or_create_case(stores.metadata, case_name)
    started, cpu = time.perf_counter(), time.process_time()
    outcomes = [ingest_file(stores, stores.settings, str(case.id),
                            SourceFile(uri=str(path), name=path.name)) for path in files]
    return (time.perf_counter() - started, time.process_time() - cpu), outcomes


def time_lookups(database, count: int = 1000) -> float:
    from aima.hashsets.store import match

    rng = random.Random(3)
    hashes = [(rng.randbytes(32).hex(), rng.randbytes(16).hex(), rng.randbytes(20).hex())
              for _ in range(count)]
    started = time.perf_counter()
    for sha256, md5, sha1 in hashes:
        match(database, sha256, md5, sha1)
    return (time.perf_counter() - started) / count


def time_hashing(root: Path) -> tuple[float, float, int]:
    from aima.stages.ingest import hashes_of, sha256_of

    path = root / "blob.bin"
    size = 64 << 20
    with open(path, "wb") as handle:
        for _ in range(size >> 20):
            handle.write(os.urandom(1 << 20))
    one, three = [], []
    for _ in range(3):
        started = time.perf_counter()
        sha256_of(path)
        one.append(time.perf_counter() - started)
        started = time.perf_counter()
        hashes_of(path)
        three.append(time.perf_counter() - started)
    path.unlink()
    return min(one), min(three), size


def measure_backend(label: str, root: Path, urls: tuple[str, str], files: list[Path],
                    lists: dict[int, Path], rounds: int) -> dict:
    """Imports (fresh processes) and the side-by-side ingest on one database backend."""
    from aima.settings import Settings
    from aima.storage import open_stores

    small, large = sorted(lists)
    without_url, with_url = urls
    imports = {small: run_import(with_url, lists[small], "bench-small")}
    _remove(with_url, "bench-small")
    imports[large] = run_import(with_url, lists[large], "bench-1m")

    def settings(name: str, url: str | None) -> Settings:
        extra = {"database_url": url} if url else {}
        return Settings(data_dir=root / f"data-{label}-{name}", **extra)

    times: dict[str, list[tuple[float, float]]] = {"without": [], "with": []}
    matched = 0
    with open_stores(settings("without", without_url)) as plain, \
            open_stores(settings("with", with_url)) as known:
        sides = {"without": plain, "with": known}
        for stores in sides.values():
            ingest_case(stores, files[:5], "warm-up")  # first-call costs on both sides
        for k in range(rounds):
            order = ("without", "with") if k % 2 == 0 else ("with", "without")
            for side in order:  # alternating, and each side first every other round
                took, outcomes = ingest_case(sides[side], files, f"round-{k}")
                times[side].append(took)
                if any(o.status != "done" for o in outcomes):
                    raise RuntimeError(f"unexpected outcomes: {[o.status for o in outcomes]}")
                if side == "with":
                    matched = sum(1 for o in outcomes if o.data.get("hash_matches"))
        lookup_with = time_lookups(known.metadata)
        lookup_without = time_lookups(plain.metadata)
    return {"imports": imports, "times": times, "matched": matched,
            "lookup_with": lookup_with, "lookup_without": lookup_without}


def _remove(url: str, name: str) -> None:
    from aima.hashsets.store import remove
    from aima.storage.database import Database

    database = Database(url)
    try:
        remove(database, name, actor="bench")
    finally:
        database.dispose()


# --- driver -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hashes", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=7, help="alternating ingest runs per side")
    parser.add_argument("--postgresql", action="store_true",
                        help="also measure on a PostgreSQL server (Debian binaries, as the tests)")
    parser.add_argument("--child-import", nargs=3, metavar=("URL", "FILE", "NAME"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_import:
        child_import(*args.child_import)
        return 0

    load_start = os.getloadavg()[0]
    results = {}
    with tempfile.TemporaryDirectory(prefix="aima-bench-hashsets-") as tmp:
        root = Path(tmp)
        files = make_images(root / "images", FILES)
        known = [hashlib.md5(path.read_bytes()).hexdigest() for path in files[:KNOWN_FILES]]
        lists = {}
        for count in (args.hashes // 10, args.hashes):
            lists[count] = root / f"hashes-{count}.txt"
            write_hash_list(lists[count], count, known)
        hash_one, hash_three, blob = time_hashing(root)
        backends = [("sqlite", (None, f"sqlite:///{root / 'data-sqlite-with' / 'aima.db'}"))]
        server = None
        if args.postgresql:
            from tests.services import PostgresServer

            server = PostgresServer().start()
            backends.append(("postgresql", (server.create_database(), server.create_database())))
        try:
            (root / "data-sqlite-with").mkdir()
            for label, urls in backends:
                results[label] = measure_backend(label, root, urls, files, lists, args.rounds)
        finally:
            if server is not None:
                server.stop()
        sizes = {count: path.stat().st_size for count, path in lists.items()}

    failed = False
    headline: dict[str, float] = {}
    print(f"machine: {os.cpu_count()} cores; load average {load_start:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end")
    print(f"hashing {blob >> 20} MiB (page cache): sha256 alone "
          f"{blob / hash_one / 2**20:.0f} MiB/s; sha256+md5+sha1 in one read "
          f"{blob / hash_three / 2**20:.0f} MiB/s (x{hash_three / hash_one:.2f} the time)")
    for label, result in results.items():
        print(f"{label}:")
        for count, figures in sorted(result["imports"].items()):
            print(f"  import {count:>9,} hashes ({sizes[count] / 2**20:5.1f} MiB text): "
                  f"{figures['seconds']:6.2f} s = {count / figures['seconds']:9,.0f} hashes/s; "
                  f"peak RSS +{figures['growth_mib']:.0f} MiB over {figures['rss_before_mib']:.0f}"
                  f" MiB before ({figures['entries']:,} stored)")
        small, large = sorted(result["imports"])
        growth = max(figures["growth_mib"] for figures in result["imports"].values())
        if growth > TARGET_PEAK_MIB:
            print(f"  TARGET MISSED: peak RSS growth {growth:.0f} MiB (<= {TARGET_PEAK_MIB})")
            failed = True
        best = {side: (min(w for w, _ in result["times"][side]),
                       min(c for _, c in result["times"][side])) for side in ("without", "with")}
        ratio = best["with"][0] / best["without"][0]
        runs = "; ".join(f"{side}: " + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in
                                                 result["times"][side])
                         for side in ("without", "with"))
        print(f"  ingest {FILES} files, best of {len(result['times']['with'])} alternating rounds,"
              " wall / CPU of this process:")
        for side, what in (("without", "no hash set"), ("with", f"the {large:,}-hash set")):
            wall, cpu = best[side]
            print(f"    with {what:<22} {wall:6.2f} s / {cpu:5.2f} s = {1000 * wall / FILES:5.1f}"
                  f" / {1000 * cpu / FILES:5.1f} ms per file")
        print(f"    ratio {ratio:.2f} wall, {best['with'][1] / best['without'][1]:.2f} CPU (target "
              f"<= {TARGET_INGEST_RATIO} wall); {result['matched']} files matched (expected "
              f"{KNOWN_FILES})  [runs {runs}]")
        print(f"  one look-up (match, 3 hashes): {1000 * result['lookup_with']:.2f} ms with the "
              f"set, {1000 * result['lookup_without']:.2f} ms with no set")
        if ratio > TARGET_INGEST_RATIO or result["matched"] != KNOWN_FILES:
            print("  TARGET MISSED: ingest ratio or matches")
            failed = True
        headline |= {f"{label}_ingest_ratio": ratio, f"{label}_import_s": result["imports"][large][
            "seconds"], f"{label}_import_peak_growth_mib": growth,
            f"{label}_matched": result["matched"]}
    print_result(headline["sqlite_ingest_ratio"],
                 f"ingest with / without a {args.hashes:,}-hash set, SQLite, wall time",
                 f"<= {TARGET_INGEST_RATIO}; import peak RSS growth <= {TARGET_PEAK_MIB} MiB",
                 not failed, hashes=args.hashes, **headline)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
