"""Multilingual benchmark of AIMA's embedded speech recognition (Whisper base, int8, CPU).

    .venv/bin/python bench/bench_multilingual.py [--clips]

Runs over the 27 recorded clips with reference transcripts that ship in ``pytest-audioeval``
0.1.3 (3 clips in each of 9 languages: counting, a greeting, a pangram) and prints per language:

- language detection: how many clips were detected as their language, and the mean probability;
- WER and CER with the detected language (what a user gets), and with the language forced;
- WER and CER (detected language) without the counting clips.

Texts are compared after Unicode NFKC, case folding and removal of punctuation and symbols. CER
ignores spaces, which makes it meaningful for Chinese and Japanese (written without spaces, so
their WER counts whole sentences). Counting clips are hard on WER: Whisper may write "1 2 3"
where the reference says "one two three"; no normaliser here maps digits to words.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

import jiwer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aima.models.asr import FasterWhisperRecognizer  # noqa: E402

#: the clips that count from one to ten, per language, in pytest-audioeval 0.1.3
COUNTING = {
    "counting",
    "conteo",
    "comptage",
    "ginti",
    "conteggio",
    "kazoeru",
    "liczenie",
    "contagem",
    "jishu",
}


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(" " if unicodedata.category(ch)[0] in "PSZ" else ch for ch in text)
    return " ".join(kept.split())


def no_spaces(text: str) -> str:
    return text.replace(" ", "")


def error_rates(clips: list[dict], key: str) -> tuple[float, float]:
    """Corpus WER and CER (spaces ignored) of ``clip[key]`` against the references."""
    refs = [clip["reference"] for clip in clips]
    hyps = [clip[key] for clip in clips]
    wer = jiwer.wer(refs, hyps)
    cer = jiwer.cer([no_spaces(r) for r in refs], [no_spaces(h) for h in hyps])
    return wer, cer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", action="store_true", help="also print every clip's transcript")
    args = parser.parse_args()
    try:
        from pytest_audioeval.samples.registry import SampleRegistry
    except ImportError:
        print("pytest-audioeval is not installed: pip install pytest-audioeval==0.1.3")
        return 2

    recognizer = FasterWhisperRecognizer.embedded()
    samples = SampleRegistry().all()
    rows: dict[str, list[dict]] = defaultdict(list)
    for sample in samples:
        language = sample.lang.value
        detected = recognizer.transcribe(sample.audio_path)
        forced = recognizer.transcribe(sample.audio_path, language=language)
        rows[language].append(
            {
                "name": sample.name,
                "reference": normalise(sample.reference_text),
                "detected_language": detected.language,
                "probability": detected.language_probability or 0.0,
                "detected": normalise(detected.text),
                "forced": normalise(forced.text),
            }
        )

    print(f"{recognizer.model_id}, {len(samples)} clips from pytest-audioeval\n")
    print("                         all clips                    without counting")
    print("lang  detected  mean p    WER    CER  WER forced  CER forced    WER    CER")
    correct = 0
    for language in sorted(rows):
        clips = rows[language]
        hits = sum(clip["detected_language"] == language for clip in clips)
        correct += hits
        mean_p = sum(clip["probability"] for clip in clips) / len(clips)
        wer, cer = error_rates(clips, "detected")
        forced_wer, forced_cer = error_rates(clips, "forced")
        words_wer, words_cer = error_rates(
            [c for c in clips if c["name"] not in COUNTING], "detected"
        )
        print(
            f"{language:4}  {hits}/{len(clips)}       {mean_p:5.2f}  {wer:5.2f}  {cer:5.2f}  "
            f"{forced_wer:10.2f}  {forced_cer:10.2f}  {words_wer:5.2f}  {words_cer:5.2f}"
        )
    print(f"\nlanguage detection: {correct}/{len(samples)} correct ({correct / len(samples):.0%})")
    if args.clips:
        print()
        for language in sorted(rows):
            for clip in rows[language]:
                print(
                    f"{language} {clip['name']:18} detected {clip['detected_language']} "
                    f"({clip['probability']:.2f}): {clip['detected']!r} "
                    f"| forced: {clip['forced']!r} | reference: {clip['reference']!r}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
