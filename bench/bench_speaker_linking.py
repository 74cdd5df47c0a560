"""Calibration of case speaker linking: voice scores of the same and of different speakers.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_speaker_linking.py

Case linking (:mod:`aima.speech.speakers`) compares the voice centroids of speakers heard in
different files: the mean ECAPA embedding of a speaker's 1.5 s windows, as the diarize stage
stores it. This benchmark builds such centroids for pieces of speech whose speaker is known, and
prints the cosine scores of every pair of pieces of the same speaker and of different speakers:

- **real voices**: the two women of the real telephone call (``tests/speech/corpus.py``), each
  woman's turns cut into two files (first half, second half of the call), and the third real
  woman, the voice of ALSA's speaker-test clips (Debian's ``alsa-utils``), her eight clips cut
  into two files the same way;
- **neural voices**: the Kokoro voices of pytest-audioeval, one piece per clip (1-4.5 s);
- **espeak-ng voices**: four voices (an American male and female, a German male, a British
  male, each with its own variant), two different passages each.

Pairs from different sources are all different speakers. espeak-ng's male variants sound alike
to a speaker model (one synthesizer), so espeak-ng pairs of different voices are printed but left
out of the counts below. Then, for the thresholds in
``aima.speech.speakers`` (merge at or above ``LINK_SCORE``; report a candidate between
``CANDIDATE_SCORE`` and ``LINK_SCORE``), it prints how many same-speaker pairs would be merged,
held as candidates or kept apart, and how many different-speaker pairs would be merged (the
error that must not happen: two people made one). Baseline in the same run: Resemblyzer's
centroids with the threshold it used before (cosine 0.8).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aima.models.voices import EcapaVoiceEncoder, ResemblyzerVoiceEncoder  # noqa: E402
from aima.speech.diarization import embed_spans, sliding_windows  # noqa: E402
from aima.speech.speakers import CANDIDATE_SCORE, LINK_SCORE  # noqa: E402
from aima.speech.voices import l2_normalise  # noqa: E402
from bench._result import print_result  # noqa: E402
from tests.speech import corpus, speechgen  # noqa: E402

RESEMBLYZER_LINK = 0.8  # cosine similarity; the distance threshold 0.2 used before

#: espeak-ng voices; its male variants are one synthetic voice to a speaker model (ECAPA scores
#: 0.8-0.94 between ``en-us``, ``de+m3`` and ``en-gb+m7``), so espeak-ng pairs are printed but
#: not counted as people merged
ESPEAK = {
    "espeak en-us": ("en-us", "en"), "espeak en-us+f3": ("en-us+f3", "en"),
    "espeak de+m3": ("de+m3", "de"), "espeak en-gb+m7": ("en-gb+m7", "en"),
}
PASSAGES = {
    "en": ["The weather will be sunny and warm this week. We need more paper for the printer.",
           "She reads the newspaper every morning. They agreed to meet again next Friday."],
    "de": ["Guten Morgen. Ich wohne seit zehn Jahren in einem kleinen Haus am Rand der Stadt.",
           "Mein Bruder arbeitet im Krankenhaus. Am Wochenende fahren wir an den See."],
}


def pieces(directory: Path) -> list[tuple[str, str, corpus.Recording]]:
    """(source, speaker, recording) for every piece of speech."""
    found = []
    for speaker in corpus.CALL_SPEAKERS.values():
        whole = corpus.call_speaker_file(speaker, directory)
        half = len(whole.turns) // 2
        for part, turns in (("a", whole.turns[:half]), ("b", whole.turns[half:])):
            found.append(("real", speaker, corpus.Recording(whole.path, turns)))
    alsa = corpus.alsa_voice_file(directory)
    half = len(alsa.turns) // 2
    for turns in (alsa.turns[:half], alsa.turns[half:]):
        found.append(("real", corpus.ALSA_SPEAKER, corpus.Recording(alsa.path, turns)))
    for speaker, clips in corpus.VOICES.items():
        for clip in clips:
            found.append(("neural", speaker, corpus.monologue(speaker, directory, [clip])))
    for name, (voice, language) in ESPEAK.items():
        for number, text in enumerate(PASSAGES[language]):
            samples = np.concatenate([speechgen.silence(0.3), speechgen.speak(text, voice, 140),
                                      speechgen.silence(0.3)])
            path = speechgen.write(directory / f"{voice}-{number}.wav", samples)
            found.append(("espeak", name, corpus.Recording(
                path, [speechgen.Turn(0.3, len(samples) / speechgen.RATE - 0.3, name)])))
    return found


def centroid(encoder, recording: corpus.Recording) -> np.ndarray:
    windows = [w for t in recording.turns for w in sliding_windows(t.start, t.end, 1.5, 0.75)]
    return l2_normalise(embed_spans(encoder, str(recording.path), sorted(windows)).mean(axis=0))


def scores(encoder, found) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    vectors = [centroid(encoder, recording) for _, _, recording in found]
    same: dict[str, list[float]] = {}
    different: dict[str, list[float]] = {}
    for (i, (source_i, speaker_i, _)), (j, (source_j, speaker_j, _)) in itertools.combinations(
        enumerate(found), 2
    ):
        score = float(vectors[i] @ vectors[j])
        if speaker_i == speaker_j:
            same.setdefault(source_i, []).append(score)
        else:
            key = source_i if source_i == source_j else "across sources"
            different.setdefault(key, []).append(score)
    return same, different


def describe(values: list[float]) -> str:
    array = np.asarray(values)
    quantiles = np.quantile(array, [0.0, 0.05, 0.5, 0.95, 1.0])
    return f"{len(array):5d}  " + "  ".join(f"{q:5.2f}" for q in quantiles)


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).parse_args(argv)
    figures: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        found = pieces(Path(tmp))
        encoders = {"ECAPA (AIMA)": (EcapaVoiceEncoder(), LINK_SCORE),
                    "Resemblyzer (before)": (ResemblyzerVoiceEncoder(), RESEMBLYZER_LINK)}
        failed = False
        for name, (encoder, link) in encoders.items():
            same, different = scores(encoder, found)
            print(f"\n{name}: cosine scores of voice centroids")
            print("pairs                          count    min     5%    50%    95%    max")
            for source, values in same.items():
                print(f"same speaker, {source:16}  {describe(values)}")
            for source, values in different.items():
                print(f"different, {source:19}  {describe(values)}")
            all_same = np.concatenate([np.asarray(v) for v in same.values()])
            all_different = np.concatenate(
                [np.asarray(v) for k, v in different.items() if k != "espeak"])
            merged_wrongly = int(np.sum(all_different >= link))
            linked = int(np.sum(all_same >= link))
            print(f"link at >= {link:.2f}: {linked}/{len(all_same)} same-speaker pairs linked, "
                  f"{merged_wrongly}/{len(all_different)} different-speaker pairs merged "
                  f"(the highest different-speaker score: {all_different.max():.2f})")
            key = name.split()[0].lower()
            figures |= {f"{key}_same_linked": linked, f"{key}_different_merged": merged_wrongly}
            if name.startswith("ECAPA"):
                candidates = int(np.sum((all_same >= CANDIDATE_SCORE) & (all_same < link)))
                near = int(np.sum((all_different >= CANDIDATE_SCORE) & (all_different < link)))
                print(f"candidates (>= {CANDIDATE_SCORE:.2f}, < {link:.2f}): {candidates} "
                      f"same-speaker pairs, {near} different-speaker pairs")
                failed |= merged_wrongly > 0
    if failed:
        print("FAILED: two different speakers would be merged")
    print_result(figures["ecapa_same_linked"] / max(1, figures["resemblyzer_same_linked"]),
                 "same-speaker pairs linked, ECAPA / Resemblyzer (before)",
                 "no different-speaker pair merged", not failed, **figures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
