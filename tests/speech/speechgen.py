"""Speech with known content and known timing, made with espeak-ng and sox.

Every clip is 16 kHz mono 16-bit PCM. Utterances are trimmed of the silence espeak-ng puts around
them, so that the times this module reports are where speech really starts and ends. The voices,
the first lines of the dialogue, silence and the command runner are those of generated evaluation
cases (:mod:`aima.eval.material`, :mod:`aima.eval.media`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from aima.eval import material
from aima.eval.media import RATE, run, silence

VOICE_A = material.VOICE_A  # a male American voice
VOICE_B = material.VOICE_B  # a female variant: window embeddings 0.5 cosine from VOICE_A, not 0.75

#: 32 plain English sentences for the word error rate test (no digits, no names: one spelling each)
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call the office before noon tomorrow.",
    "The meeting was moved to the second floor.",
    "She left her keys on the kitchen table.",
    "We drove along the coast for three hours.",
    "The children played in the park until dark.",
    "He forgot to lock the back door last night.",
    "The train to the city was late again this morning.",
    "Our friends bought a new red car.",
    "The doctor said the results look normal.",
    "I will send you the report by email.",
    "The river was cold and very deep.",
    "They painted the fence white last summer.",
    "My brother works at the hospital downtown.",
    "The store closes early on public holidays.",
    "Please turn off the lights when you leave.",
    "The package arrived with a broken lid.",
    "She reads the newspaper every morning.",
    "The weather will be sunny and warm this week.",
    "We need more paper for the printer.",
    "The dog barked at the man in the blue coat.",
    "He opened the window to let in some fresh air.",
    "The teacher asked the students to be quiet.",
    "The bridge was closed because of the storm.",
    "I saw two men walking toward the bank.",
    "The phone rang while we were having dinner.",
    "Nobody answered the door when I knocked.",
    "The bus stops in front of the library.",
    "He wrote his name at the top of the page.",
    "The garden is full of flowers in the spring.",
    "They agreed to meet again next Friday.",
    "The lawyer read the letter out loud.",
]

#: alternating lines of a two-voice dialogue (voice A starts): generated cases' eight, then four
DIALOGUE = [
    *material.DIALOGUE,
    "Did you hear anything unusual after he left?",
    "Only the rain on the roof and a barking dog.",
    "Thank you, that is all for now.",
    "You are welcome, call me if you need anything.",
]

#: one voice reading three sentences the dialogue does not use (for the case speaker tests)
MONOLOGUE_A = (
    "The weather will be sunny and warm this week. We need more paper for the printer. "
    "The bus stops in front of the library."
)
MONOLOGUE_B = (
    "She reads the newspaper every morning. The garden is full of flowers in the spring. "
    "They agreed to meet again next Friday."
)


@dataclass(frozen=True)
class Turn:
    """Reference speech: who (the espeak-ng voice) spoke when."""

    start: float
    end: float
    voice: str


def speak(text: str, voice: str = VOICE_A, speed: int = 150) -> np.ndarray:
    """``text`` spoken by ``voice`` as 16 kHz float32 samples, silence trimmed at both ends."""
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "raw.wav", Path(tmp) / "out.wav"
        run("espeak-ng", "-v", voice, "-s", str(speed), "-w", raw, text)
        trim = ["silence", "1", "0.02", "0.5%", "reverse"]
        # -R: sox's dither noise is the same on every run, so every run hears the same audio
        run("sox", "-R", raw, "-r", str(RATE), "-c", "1", "-b", "16", out, *trim, *trim)
        samples, _ = sf.read(out, dtype="float32")
    return samples


def write(path: Path, samples: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples, RATE, subtype="PCM_16")
    return path


def dialogue(
    lines: list[tuple[str, str]], gap_s: float = 0.6, lead_s: float = 0.5
) -> tuple[np.ndarray, list[Turn]]:
    """``(voice, text)`` lines spoken in turn with ``gap_s`` pauses; the samples and the turns."""
    parts = [silence(lead_s)]
    turns = []
    position = lead_s
    for voice, text in lines:
        speech = speak(text, voice)
        duration = len(speech) / RATE
        turns.append(Turn(round(position, 3), round(position + duration, 3), voice))
        parts += [speech, silence(gap_s)]
        position += duration + gap_s
    return np.concatenate(parts), turns
