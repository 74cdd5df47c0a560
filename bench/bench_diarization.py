"""Benchmark of AIMA's embedded diarization (aima.speech.diarization) on synthetic dialogues.

    .venv/bin/python bench/bench_diarization.py

Two dialogues made with espeak-ng voices ``en-us`` and ``en-us+f3`` with known turn times:

1. the tests' dialogue: 12 lines, the voices alternating, 0.6 s pauses;
2. 32 lines in a random order of speakers (a voice may keep the floor), pauses of 0.3-1.0 s.

Prints the diarization error rate (pyannote.metrics: missed speech + false alarm + confusion over
reference speech) without a collar and with the customary 0.25 s collar, the number of speakers
found and the time taken, and two ratios measured in the same run:

- against the target: DER without collar / 0.20 (exit 1 when above 1 for either dialogue);
- against a trivial baseline: the same diarizer told there is one speaker
  (``num_speakers=1``: the same transcript, speech regions and turn boundaries, every word given
  one label), i.e. "one speaker for everything". Its DER is the confusion a diarizer that tells
  no voices apart makes; the ratio shows how much of it the clustering removes.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aima.models.asr import FasterWhisperRecognizer  # noqa: E402
from aima.models.voices import ResemblyzerVoiceEncoder  # noqa: E402
from aima.speech.diarization import EmbeddedDiarizer  # noqa: E402
from tests.speech import speechgen  # noqa: E402
from tests.speech.scoring import der  # noqa: E402
from tests.speech.speechgen import DIALOGUE, SENTENCES, VOICE_A, VOICE_B, Turn  # noqa: E402

TARGET_DER = 0.20


def random_dialogue(seed: int = 7) -> tuple[np.ndarray, list[Turn]]:
    rng = random.Random(seed)
    parts, turns, position = [speechgen.silence(0.5)], [], 0.5
    for sentence in SENTENCES:
        voice = rng.choice([VOICE_A, VOICE_B])
        speech = speechgen.speak(sentence, voice)
        gap = rng.uniform(0.3, 1.0)
        duration = len(speech) / speechgen.RATE
        turns.append(Turn(round(position, 3), round(position + duration, 3), voice))
        parts += [speech, speechgen.silence(gap)]
        position += duration + gap
    return np.concatenate(parts), turns


def main() -> int:
    recognizer = FasterWhisperRecognizer.embedded()
    diarizer = EmbeddedDiarizer(ResemblyzerVoiceEncoder())
    alternating = speechgen.dialogue(
        [(VOICE_A if i % 2 == 0 else VOICE_B, t) for i, t in enumerate(DIALOGUE)]
    )
    cases = {"alternating, 12 lines": alternating, "random order, 32 lines": random_dialogue()}
    failed = False
    print(f"{diarizer.model_id}\n")
    print("dialogue                 audio s    DER  DER 0.25 s collar  speakers  ASR s  diar. s"
          "  DER one speaker  DER / target  DER / one speaker")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (samples, reference) in cases.items():
            path = speechgen.write(Path(tmp) / "dialogue.wav", samples)
            started = time.perf_counter()
            transcript = recognizer.transcribe(path)
            asr_s = time.perf_counter() - started
            started = time.perf_counter()
            result = diarizer.diarize(path, transcript)
            diarization_s = time.perf_counter() - started
            strict, collared = der(reference, result.turns, 0.0), der(reference, result.turns, 0.25)
            one = diarizer.diarize(path, transcript, num_speakers=1)  # the trivial baseline
            baseline = der(reference, one.turns, 0.0)
            failed |= strict > TARGET_DER
            print(
                f"{name:24} {len(samples) / speechgen.RATE:7.1f}  {strict:5.3f}  {collared:17.3f}  "
                f"{len(result.centroids):8d}  {asr_s:5.1f}  {diarization_s:7.1f}  {baseline:15.3f}"
                f"  {strict / TARGET_DER:12.2f}  {strict / baseline:17.2f}"
            )
    print(f"\ntarget: DER without collar <= {TARGET_DER:.2f}; baseline: one speaker for everything"
          " (same transcript and turn boundaries), same run")
    if failed:
        print(f"FAILED: DER above {TARGET_DER:.0%}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
