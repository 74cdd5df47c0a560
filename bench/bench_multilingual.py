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

Headline figures, all measured in the same run over all 27 clips:

- **token error rate** (TER): the corpus WER with Chinese and Japanese split into characters
  (the usual practice for unsegmented scripts), with the detected language (what a user gets);
- against a **baseline**: the same clips transcribed with English forced (a recogniser that
  ignores the language), and against the **oracle**: each clip's own language forced;
- **targets** (exit 1 when missed): language detection >= 80 % of the clips, and TER (detected)
  / TER (English forced) <= 0.75, i.e. handling the language must remove at least a quarter of
  the errors of ignoring it. Both are regression guards for the embedded Whisper base model, not
  quality claims.
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
from bench._result import print_result, print_skipped  # noqa: E402

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


TARGET_DETECTION = 0.80  # share of clips whose language is detected
TARGET_TER_RATIO = 0.75  # TER with the detected language / TER with English forced
UNSEGMENTED = {"zh", "ja"}  # scripts without spaces: scored per character


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(" " if unicodedata.category(ch)[0] in "PSZ" else ch for ch in text)
    return " ".join(kept.split())


def no_spaces(text: str) -> str:
    return text.replace(" ", "")


def tokens(text: str, language: str) -> str:
    """Words, or characters (space-separated) for Chinese and Japanese."""
    return " ".join(no_spaces(text)) if language in UNSEGMENTED else text


def token_error_rate(rows: dict[str, list[dict]], key: str) -> float:
    """Corpus WER over every clip of every language, zh and ja scored per character."""
    refs, hyps = [], []
    for language, clips in rows.items():
        refs += [tokens(clip["reference"], language) for clip in clips]
        hyps += [tokens(clip[key], language) for clip in clips]
    return jiwer.wer(refs, hyps)


def error_rates(clips: list[dict], key: str) -> tuple[float, float]:
    """Corpus WER and CER (spaces ignored) of ``clip[key]`` against the references."""
    refs = [clip["reference"] for clip in clips]
    hyps = [clip[key] for clip in clips]
    wer = jiwer.wer(refs, hyps)
    cer = jiwer.cer([no_spaces(r) for r in refs], [no_spaces(h) for h in hyps])
    return wer, cer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", action="store_true", help="also print every clip's transcript")
    parser.add_argument("--languages", nargs="+", metavar="CODE",
                        help="only the clips of these languages, e.g. en fr zh (default: all 9)")
    args = parser.parse_args(argv)
    try:
        from pytest_audioeval.samples.registry import SampleRegistry
    except ImportError:
        print("pytest-audioeval is not installed: pip install pytest-audioeval==0.1.3")
        print_skipped("pytest-audioeval is not installed")
        return 2

    recognizer = FasterWhisperRecognizer.embedded()
    samples = [sample for sample in SampleRegistry().all()
               if not args.languages or sample.lang.value in args.languages]
    rows: dict[str, list[dict]] = defaultdict(list)
    for sample in samples:
        language = sample.lang.value
        detected = recognizer.transcribe(sample.audio_path)
        forced = recognizer.transcribe(sample.audio_path, language=language)
        english = recognizer.transcribe(sample.audio_path, language="en")  # the baseline
        rows[language].append(
            {
                "name": sample.name,
                "reference": normalise(sample.reference_text),
                "detected_language": detected.language,
                "probability": detected.language_probability or 0.0,
                "detected": normalise(detected.text),
                "forced": normalise(forced.text),
                "english": normalise(english.text),
            }
        )

    print(f"{recognizer.model_id}, {len(samples)} clips from pytest-audioeval\n")
    print("                         all clips                                          "
          "     without counting")
    print("lang  detected  mean p    WER    CER  WER forced  CER forced  WER en-forced  "
          "CER en-forced    WER    CER")
    correct = 0
    for language in sorted(rows):
        clips = rows[language]
        hits = sum(clip["detected_language"] == language for clip in clips)
        correct += hits
        mean_p = sum(clip["probability"] for clip in clips) / len(clips)
        wer, cer = error_rates(clips, "detected")
        forced_wer, forced_cer = error_rates(clips, "forced")
        english_wer, english_cer = error_rates(clips, "english")
        words_wer, words_cer = error_rates(
            [c for c in clips if c["name"] not in COUNTING], "detected"
        )
        print(
            f"{language:4}  {hits}/{len(clips)}       {mean_p:5.2f}  {wer:5.2f}  {cer:5.2f}  "
            f"{forced_wer:10.2f}  {forced_cer:10.2f}  {english_wer:13.2f}  {english_cer:13.2f}  "
            f"{words_wer:5.2f}  {words_cer:5.2f}"
        )
    detection = correct / len(samples)
    ter = token_error_rate(rows, "detected")
    ter_oracle = token_error_rate(rows, "forced")
    ter_english = token_error_rate(rows, "english")
    print(f"\nlanguage detection: {correct}/{len(samples)} correct ({detection:.0%}; "
          f"target >= {TARGET_DETECTION:.0%})")
    print(f"token error rate (WER; zh and ja per character), all {len(samples)} clips:")
    print(f"  detected language (AIMA)        {ter:6.3f}")
    print(f"  English forced (baseline)       {ter_english:6.3f}   AIMA / baseline "
          f"{ter / ter_english:5.2f} (target <= {TARGET_TER_RATIO})")
    print(f"  own language forced (oracle)    {ter_oracle:6.3f}   AIMA / oracle   "
          f"{ter / ter_oracle:5.2f}")
    failed = detection < TARGET_DETECTION or ter / ter_english > TARGET_TER_RATIO
    if args.clips:
        print()
        for language in sorted(rows):
            for clip in rows[language]:
                print(
                    f"{language} {clip['name']:18} detected {clip['detected_language']} "
                    f"({clip['probability']:.2f}): {clip['detected']!r} "
                    f"| forced: {clip['forced']!r} | English: {clip['english']!r} "
                    f"| reference: {clip['reference']!r}"
                )
    if failed:
        print("FAILED: a target is missed")
    print_result(ter / ter_english, "token error rate, language detected / English forced",
                 f"<= {TARGET_TER_RATIO}; detection >= {TARGET_DETECTION:.0%}", not failed,
                 clips=len(samples), detection=detection, token_error_rate=ter,
                 english_forced=ter_english, oracle=ter_oracle)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
