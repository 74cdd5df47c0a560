"""Benchmark of AIMA's speech recognition (aima.models.asr) against a direct faster-whisper call.

    .venv/bin/python bench/bench_asr.py [--repeats 2] [--sentences 8] [--runs 3]

Makes a clip of the 32 test sentences spoken by espeak-ng (``--repeats`` times, about two minutes
each) and transcribes it with

- AIMA: ``FasterWhisperRecognizer.transcribe`` (windowed streaming decode, hallucination filter,
  sentence splitting, conversion to the Transcript model), and
- faster-whisper directly: ``BatchedInferencePipeline.transcribe`` on the same file with the same
  model instance and the same settings (int8, beam 5, batch 8, Silero VAD, word timestamps),
  consuming its segment generator.

Prints each one's best wall time over ``--runs`` alternating runs (so that both meet the same load
on a shared machine), their ratio (target <= 1.10), the same for the process's CPU time (all
threads; steadier than wall time when other programs share the cores), the real-time factor
(wall time / audio time) and whether both produced the same text. Exits 1 when the wall-time
ratio misses the target.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aima.models.asr import FasterWhisperRecognizer  # noqa: E402
from bench._result import print_result  # noqa: E402
from tests.speech import speechgen  # noqa: E402

TARGET_RATIO = 1.10


def make_clip(directory: Path, repeats: int, sentences: int | None = None) -> tuple[Path, float]:
    parts = []
    for _ in range(repeats):
        for sentence in speechgen.SENTENCES[:sentences]:
            parts += [speechgen.speak(sentence), speechgen.silence(0.6)]
    samples = np.concatenate(parts)
    return speechgen.write(directory / "sentences.wav", samples), len(samples) / speechgen.RATE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=1, help="times the 32 sentences are spoken")
    parser.add_argument("--sentences", type=int, default=None,
                        help="speak only the first N of the 32 sentences (a shorter clip)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each, best one counts")
    args = parser.parse_args(argv)

    from faster_whisper import BatchedInferencePipeline

    with tempfile.TemporaryDirectory() as tmp:
        clip, audio_s = make_clip(Path(tmp), args.repeats, args.sentences)
        recognizer = FasterWhisperRecognizer.embedded()
        direct = BatchedInferencePipeline(recognizer.whisper)  # the very same model instance

        def run_direct() -> str:
            segments, _ = direct.transcribe(
                str(clip),
                word_timestamps=True,
                vad_filter=True,
                batch_size=8,
                beam_size=5,
            )
            return " ".join(segment.text.strip() for segment in segments)

        def run_aima() -> str:
            return recognizer.transcribe(clip).text

        run_aima()  # warm-up: page in the model, build caches
        wall: dict[str, list[float]] = {"aima": [], "direct": []}
        cpu: dict[str, list[float]] = {"aima": [], "direct": []}
        texts: dict[str, str] = {}
        for _ in range(args.runs):
            for name, run in (("direct", run_direct), ("aima", run_aima)):
                started, started_cpu = time.perf_counter(), time.process_time()
                texts[name] = run()
                wall[name].append(time.perf_counter() - started)
                cpu[name].append(time.process_time() - started_cpu)

    aima_s, direct_s = min(wall["aima"]), min(wall["direct"])
    ratio = aima_s / direct_s
    cpu_ratio = min(cpu["aima"]) / min(cpu["direct"])
    spoken = f"{args.repeats} x {len(speechgen.SENTENCES[:args.sentences])} espeak-ng sentences"
    print(f"audio                 {audio_s:8.1f} s  ({spoken})")
    print(f"model                 {recognizer.model_id}  {recognizer.parameters}")
    runs = f"best of {args.runs}"
    print(f"faster-whisper direct {direct_s:8.2f} s  wall, {runs}: {_list(wall['direct'])}")
    print(f"AIMA transcribe       {aima_s:8.2f} s  wall, {runs}: {_list(wall['aima'])}")
    print(f"ratio AIMA / direct   {ratio:8.3f}    wall time (target <= {TARGET_RATIO:.2f})")
    cpu_s = f"{min(cpu['aima']):.2f} s / {min(cpu['direct']):.2f} s"
    print(f"ratio AIMA / direct   {cpu_ratio:8.3f}    CPU time ({cpu_s})")
    print(f"real-time factor      {aima_s / audio_s:8.3f}    (AIMA wall time / audio time)")
    print(f"same text             {texts['aima'] == texts['direct']}")
    failed = ratio > TARGET_RATIO
    if failed:
        print("FAILED: AIMA is slower than the direct call by more than the target allows")
    print_result(ratio, "AIMA / direct faster-whisper, wall time", f"<= {TARGET_RATIO:.2f}",
                 not failed, audio_s=audio_s, aima_s=aima_s, direct_s=direct_s,
                 cpu_ratio=cpu_ratio, real_time_factor=aima_s / audio_s,
                 same_text=texts["aima"] == texts["direct"])
    return 1 if failed else 0


def _list(values: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


if __name__ == "__main__":
    sys.exit(main())
