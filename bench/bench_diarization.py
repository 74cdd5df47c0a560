"""Benchmark of AIMA's embedded diarization (aima.speech.diarization): before and after.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_diarization.py [--inputs call espeak12 ...]

Inputs, each with known speaker turns (``tests/speech/corpus.py``, ``tests/speech/speechgen.py``):

1. a real telephone call between two women (30 s, pyannote.audio's sample; overlap included);
   three real women in conversation (the call's two, cut into their single-speaker stretches,
   and the voice of ALSA's speaker-test clips, which need Debian's alsa-utils), 36 s, turns of
   0.8-6 s, five under 2 s, and the same with every second change of speaker overlapping by 0.4 s;
2. two and three neural voices (Kokoro, pytest-audioeval's clips) in conversation, turns of
   1-4.5 s, 0.5 s pauses, and the same with every second change of speaker overlapping by 0.4 s;
3. the espeak-ng dialogues: 12 alternating lines, and 32 lines in a random order of speakers.

Every file is transcribed once (Whisper base, a language per stretch) and diarized by

- **before**: Resemblyzer windows (1.6 s, hop 0.8 s) over word phrases, agglomerative
  clustering at cosine distance 0.35 (what AIMA shipped before; without the later guard that
  joins clusters 0.6 alike, which on Resemblyzer's scores, 0.6-0.85 for any two voices, joins
  every speaker into one);
- **after**: ECAPA-TDNN windows (1.5 s, hop 0.75 s) over word phrases that stop at sentence
  ends, spectral clustering with the eigengap speaker count (AIMA's default now).

Printed per file and diarizer: DER (pyannote.metrics: missed speech + false alarm + confusion,
over reference speech) without collar and with the customary 0.25 s collar, the confusion part
alone (the diarizer's own error; missed speech is mostly words the recognizer did not return),
and the number of speakers found against the true number. Then two ratios in the same run: DER
(0.25 s collar) after / before, and after / the 0.20 target (exit 1 when a real conversation or
an espeak-ng dialogue misses it, or a speaker count is wrong after).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aima.models.asr import FasterWhisperRecognizer  # noqa: E402
from pyannote.core import Segment as Span  # noqa: E402
from pyannote.core import Timeline  # noqa: E402
from pyannote.metrics.diarization import DiarizationErrorRate  # noqa: E402

from aima.models.voices import EcapaVoiceEncoder, ResemblyzerVoiceEncoder  # noqa: E402
from aima.speech.diarization import EmbeddedDiarizer  # noqa: E402
from tests.speech import corpus, speechgen  # noqa: E402
from tests.speech.scoring import annotation, der  # noqa: E402
from tests.speech.speechgen import DIALOGUE, SENTENCES, VOICE_A, VOICE_B, Turn  # noqa: E402

from bench._result import print_result  # noqa: E402

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


def espeak(directory: Path, name: str, made: tuple[np.ndarray, list[Turn]]) -> corpus.Recording:
    samples, turns = made
    return corpus.Recording(speechgen.write(directory / f"{name}.wav", samples), turns)


#: Input name -> (option key for ``--inputs``, how to make it in a directory).
INPUTS = {
    "real call, 2 women": ("call", lambda d: corpus.phone_call()),
    "real, 3 women": ("real3", lambda d: corpus.three_women(d)),
    "real, 3 women, overlap": ("real3-overlap", lambda d: corpus.three_women(d, overlap_every=2)),
    "2 neural voices": ("neural2", lambda d: corpus.voice_conversation("two voices", d)),
    "2 neural, overlap": ("neural2-overlap", lambda d: corpus.voice_conversation(
        "two voices", d, overlap_every=2)),
    "3 neural voices": ("neural3", lambda d: corpus.voice_conversation("three voices", d)),
    "3 neural, overlap": ("neural3-overlap", lambda d: corpus.voice_conversation(
        "three voices", d, overlap_every=2)),
    "espeak, 12 alternating": ("espeak12", lambda d: espeak(d, "12 alternating", speechgen.dialogue(
        [(VOICE_A if i % 2 == 0 else VOICE_B, t) for i, t in enumerate(DIALOGUE)]))),
    "espeak, 32 random order": ("espeak32", lambda d: espeak(d, "32 random order",
                                                             random_dialogue())),
}


def inputs(directory: Path, keys: list[str] | None = None) -> dict[str, tuple[Path, list[Turn]]]:
    """The chosen inputs (all by default), made in ``directory``: name -> (path, true turns)."""
    found = {name: make(directory) for name, (key, make) in INPUTS.items()
             if keys is None or key in keys}
    return {name: (r.path, r.turns) for name, r in found.items()}


def confusion(reference, hypothesis) -> float:
    end = max(turn.end for turn in [*reference, *hypothesis])
    metric = DiarizationErrorRate(collar=0.25, skip_overlap=False)
    parts = metric(annotation(reference), annotation(hypothesis),
                   uem=Timeline([Span(0.0, end)]), detailed=True)
    return parts["confusion"] / parts["total"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", nargs="+", choices=[key for key, _ in INPUTS.values()],
                        help="which inputs to run (default: all)")
    args = parser.parse_args(argv)
    recognizer = FasterWhisperRecognizer.embedded()
    diarizers = {
        "before": EmbeddedDiarizer(ResemblyzerVoiceEncoder(), window_s=1.6, hop_s=0.8,
                                   clustering="ahc", threshold=0.35, split_at_segments=False,
                                   turn_gap_s=0.5, merge_similarity=1.0, min_window_s=0.0),
        "after": EmbeddedDiarizer(EcapaVoiceEncoder()),
    }
    print(f"before: {diarizers['before'].model_id}\nafter:  {diarizers['after'].model_id}\n")
    print("input                    audio s  speakers |  before: DER  DER .25  conf. found"
          " |   after: DER  DER .25  conf. found  diar. s | after/before  after/target")
    failed = False
    totals = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (path, reference) in inputs(Path(tmp), args.inputs).items():
            transcript = recognizer.transcribe(path)
            true_count = len({turn.voice for turn in reference})
            cells, collared = [], {}
            for which, diarizer in diarizers.items():
                started = time.perf_counter()
                result = diarizer.diarize(path, transcript)
                seconds = time.perf_counter() - started
                strict, collared[which] = der(reference, result.turns, 0.0), der(
                    reference, result.turns, 0.25)
                found = len(result.centroids)
                totals[which].append((collared[which], found != true_count))
                cells.append(f"{strict:5.2f}  {collared[which]:7.2f}  "
                             f"{confusion(reference, result.turns):5.2f}  {found:5d}"
                             + ("!" if found != true_count else " "))
                if which == "after":
                    cells[-1] += f"  {seconds:7.1f}"
                    failed |= found != true_count
                    if "neural" not in name:
                        failed |= collared[which] > TARGET_DER
            audio_s = reference[-1].end
            print(f"{name:24} {audio_s:7.1f}  {true_count:8d} | {cells[0]:>27} | {cells[1]:>36} |"
                  f" {collared['after'] / max(collared['before'], 1e-9):12.2f}"
                  f"  {collared['after'] / TARGET_DER:12.2f}")
    for which, rows in totals.items():
        print(f"{which}: mean DER (0.25 s collar) {np.mean([r[0] for r in rows]):.3f}, "
              f"wrong speaker counts {sum(r[1] for r in rows)}/{len(rows)}")
    print(f"\ntarget: DER (0.25 s collar) <= {TARGET_DER:.2f} and the right speaker count; "
          "'!' marks a wrong count")
    if failed:
        print("FAILED: a target is missed")
    mean = {which: float(np.mean([r[0] for r in rows])) for which, rows in totals.items()}
    print_result(mean["after"] / max(mean["before"], 1e-9),
                 "mean DER (0.25 s collar), after (ECAPA, spectral) / before (Resemblyzer)",
                 f"DER <= {TARGET_DER:.2f} on real talk and espeak-ng, right speaker counts",
                 not failed, inputs=len(totals["after"]), mean_der_after=mean["after"],
                 mean_der_before=mean["before"],
                 wrong_counts_after=sum(r[1] for r in totals["after"]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
