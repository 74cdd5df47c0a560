"""The benchmarks of ``bench/`` and the arguments each runs with in each preset: one table.

``python -m bench`` finds every ``bench/bench_*.py`` and looks it up here. The **small** preset
must finish within 5 minutes on 2 shared CPU cores all together, so its arguments shrink the
inputs (each benchmark still measures its baseline in the same run, on the smaller input); a
benchmark that cannot say anything useful in that time (a language model's reply, an hour of
audio, a Prefect server's polling) has no small arguments and runs only in the **large** preset,
which uses the arguments its figures in ``bench/README.md`` were measured with. A file that is not
in the table runs with no arguments in the large preset only, and ``--list`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PRESETS = ("small", "large")


@dataclass(frozen=True)
class Benchmark:
    """One benchmark script and how each preset runs it."""

    name: str  #: the file's name without ``bench_`` and ``.py``
    small: tuple[str, ...] | None  #: arguments in the small preset; None: large preset only
    large: tuple[str, ...] = ()
    small_timeout_s: float = 120.0
    large_timeout_s: float = 1800.0
    note: str = ""  #: why it is not in the small preset, or what its arguments cut

    @property
    def module(self) -> str:
        return f"bench.bench_{self.name}"

    def arguments(self, preset: str) -> tuple[str, ...] | None:
        """The command-line arguments for ``preset``; None when it does not run in it."""
        return self.small if preset == "small" else self.large

    def timeout_s(self, preset: str) -> float:
        return self.small_timeout_s if preset == "small" else self.large_timeout_s


TABLE: tuple[Benchmark, ...] = (
    Benchmark("keyframes", ("--minutes", "0.25", "--cut-minutes", "0.5", "--rounds", "2"),
              note="15 s of 720p and 30 s of cuts instead of 5 and 4 minutes"),
    Benchmark("near_duplicates", ("--no-videos", "--scale", "2000"),
              note="images only; 2,000 random hashes stacked instead of 20,000"),
    Benchmark("hashsets", ("--hashes", "50000", "--rounds", "2"), ("--postgresql",),
              note="50,000 hashes, SQLite only (large: 1 M hashes, SQLite and PostgreSQL)"),
    Benchmark("ocr", ("--sizes", "30", "--max-frames", "10", "--no-text", "2"),
              note="10 of the 135 frames, 2 of the 8 photos without text"),
    Benchmark("faces", ("--parts", "clustering"),
              note="case persons only; detection runs in the large preset"),
    Benchmark("vlm", ("--frames", "4", "--tokens", "512", "--models", "llava"),
              note="tiny LLaVA-1.5 only, 4 keyframes"),
    Benchmark("asr", ("--sentences", "12", "--runs", "2"),
              note="12 of the 32 sentences, best of 2 runs instead of 5"),
    Benchmark("multilingual", ("--languages", "fr"),
              note="the 3 French clips of the 27"),
    Benchmark("diarization", ("--inputs", "call"), large_timeout_s=1800,
              note="the real telephone call only, of the 7 inputs"),
    Benchmark("speaker_linking", None,
              note="about 4 minutes: embeds every piece with two voice models"),
    Benchmark("llm", ("--budget", "96", "--no-threads", "--no-long"),
              note="replies cut to 96 tokens (targets not judged), no thread or long-prompt runs"),
    Benchmark("fuse", None,
              note="several language-model calls, 1-3 minutes on 2 cores"),
    Benchmark("ingest", None,
              note="a Prefect temporary server and alternating flow runs: minutes"),
    Benchmark("long_audio", None, large_timeout_s=7200,
              note="1 h of speech and 3 h of near-silence: about 20 minutes"),
    Benchmark("orchestration", None, large_timeout_s=3600,
              note="the whole pipeline on PostgreSQL- and SQLite-backed Prefect servers"),
    Benchmark("gpu_worker", None,
              note="Prefect server, workers polling every 10 s, several flow runs"),
    Benchmark("scaling", None, large_timeout_s=10800,
              note="generated cases of 10, 40 and 160 files through aima analyze: about 25 min "
                   "on 2 cores"),
)


def discover() -> list[str]:
    """Names of the benchmark scripts in ``bench/``, sorted."""
    return sorted(path.stem.removeprefix("bench_") for path in BENCH_DIR.glob("bench_*.py"))


def benchmarks() -> list[Benchmark]:
    """Every benchmark script found, in the table's order, then any the table does not list."""
    found = set(discover())
    listed = [benchmark for benchmark in TABLE if benchmark.name in found]
    unlisted = [Benchmark(name, None, note="not in bench/_registry.py's table: large preset only,"
                          " no arguments") for name in sorted(found - {b.name for b in TABLE})]
    return listed + unlisted
