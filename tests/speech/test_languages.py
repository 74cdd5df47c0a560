"""A language per stretch of speech: a file in English then German comes out in both."""

from __future__ import annotations

import re

import jiwer
import numpy as np
import pytest

from aima.speech.languages import language_runs
from tests.speech import speechgen
from tests.speech.speechgen import SENTENCES

GERMAN = ("Guten Morgen. Ich wohne seit zehn Jahren in einem kleinen Haus am Rand der Stadt. "
          "Mein Bruder arbeitet im Krankenhaus. "
          "Am Wochenende fahren wir oft mit dem Fahrrad an den See.")


def words(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w' ]", " ", text.lower())).strip()


@pytest.fixture(scope="module")
def english_then_german(speech_dir):
    """Four English sentences (espeak-ng en-us), then German (espeak-ng de, slower: Whisper base
    understands espeak-ng's German only at 120 words a minute)."""
    english = speechgen.speak(" ".join(SENTENCES[:4]), "en-us")
    german = speechgen.speak(GERMAN, "de", speed=120)
    switch = 0.5 + len(english) / speechgen.RATE + 0.4
    samples = np.concatenate([speechgen.silence(0.5), english, speechgen.silence(0.8), german,
                              speechgen.silence(0.5)])
    return speechgen.write(speech_dir / "english-then-german.wav", samples), switch


@pytest.fixture(scope="module")
def bilingual_transcript(recognizer, english_then_german):
    return recognizer.transcribe(english_then_german[0])


def test_each_half_is_transcribed_in_its_own_language(bilingual_transcript, english_then_german):
    _, switch = english_then_german
    transcript = bilingual_transcript

    assert set(transcript.languages) == {"en", "de"}
    for segment in transcript.segments:
        assert segment.language == ("en" if segment.end < switch else "de"), segment
        assert 0.0 < segment.language_probability <= 1.0
    german = " ".join(s.text for s in transcript.segments if s.language == "de")
    wer = jiwer.wer(words(GERMAN), words(german))
    print(f"WER of the German half: {wer:.3f}: {german!r}")
    assert wer <= 0.25
    english = " ".join(s.text for s in transcript.segments if s.language == "en")
    assert jiwer.wer(words(" ".join(SENTENCES[:4])), words(english)) <= 0.15


def test_a_forced_language_is_one_language_everywhere(recognizer, english_then_german):
    transcript = recognizer.transcribe(english_then_german[0], language="en")

    assert (transcript.language, transcript.language_probability) == ("en", 1.0)
    assert transcript.languages == ["en"]
    assert {(s.language, s.language_probability) for s in transcript.segments} == {("en", 1.0)}


def test_runs_join_chunks_of_one_language_and_meet_in_the_pauses():
    detected = {(0.0, 20.0): ("en", 0.9), (21.0, 45.0): ("en", 0.7), (46.0, 60.0): ("de", 0.8)}
    regions = [(0.0, 10.0), (11.0, 20.0), (21.0, 45.0), (46.0, 60.0)]

    runs = language_runs(regions, 62.0, lambda start, end: detected[(start, end)])

    assert [(r.start, r.end, r.language) for r in runs] == [(0.0, 45.5, "en"), (45.5, 62.0, "de")]
    assert runs[0].probability == pytest.approx((19 * 0.9 + 24 * 0.7) / 43, abs=1e-3)
    assert language_runs([], 5.0, lambda start, end: ("en", 1.0)) == []
