"""Speech of known speakers that ships in packages: one real telephone call, and neural voices.

- **The real call** (:func:`phone_call`): 30 s of a real telephone conversation between two women
  ("Diane" and "Sheila"), with reference speaker turns (RTTM) and a reference transcript (STM).
  It ships as ``pyannote/audio/sample/`` in the ``pyannote.audio`` 4.0.7 wheel, installed with
  ``--no-deps`` (only its files are read; pyannote.audio itself is never imported).
- **A third real woman** (:func:`alsa_clip_speech`): the eight spoken clips ("Front left",
  "Rear center", ...) of ALSA's ``speaker-test``, 1.1-1.3 s of speech each, 48 kHz, that
  Debian's ``alsa-utils`` installs in ``/usr/share/sounds/alsa`` (GPL-2, the package's copyright
  file). They were committed to alsa-utils in 2005 with no note on who spoke them or how; they
  measure like one recorded woman (a noise floor under parts of them, pitch medians 175-220 Hz
  that vary from clip to clip, ECAPA 0.68 between two halves of her clips, 0.19-0.23 to the
  call's women), and Whisper base hears every clip right. They are cut to the call's telephone
  band and brought to its level, so that a diarizer cannot tell her by the channel instead of
  the voice. With the call's women cut into their single-speaker stretches
  (:func:`call_solo_pieces`), that makes three real people: :func:`three_women` is a
  conversation of the three, :func:`alsa_voice_file` her file alone.
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
from functools import cache
from importlib.metadata import distribution
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, resample_poly, sosfiltfilt

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


def gaps_between(speakers: list[str], gap_s: float, overlap_every: int = 0,
                 overlap_s: float = 0.4) -> list[float]:
    """Gaps for :func:`conversation`: ``gap_s`` after each turn, and every ``overlap_every``-th
    change of speaker an overlap of ``overlap_s`` instead (no overlap when it is 0)."""
    gaps, changes = [], 0
    for before, after in zip(speakers, speakers[1:]):
        changes += before != after
        overlapped = overlap_every and before != after and changes % overlap_every == 0
        gaps.append(-overlap_s if overlapped else gap_s)
    return gaps


def voice_conversation(
    name: str, directory: Path, gap_s: float = 0.5, overlap_every: int = 0, overlap_s: float = 0.4
) -> Recording:
    """One of :data:`CONVERSATIONS` as a file: ``gap_s`` between turns, and every
    ``overlap_every``-th change of speaker overlapping by ``overlap_s`` instead."""
    lines = CONVERSATIONS[name]
    turns = [(speaker, clip_speech(clip)) for speaker, clip in lines]
    samples, reference = conversation(
        turns, gaps_between([s for s, _ in turns], gap_s, overlap_every, overlap_s))
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


def call_solo_pieces(speaker: str, min_s: float = 0.3) -> list[np.ndarray]:
    """One woman's speech on the call where the other is not heard (by the reference turns), in
    order: her turns less every stretch of the other's turns, pieces under ``min_s`` dropped."""
    call = phone_call()
    samples, rate = sf.read(call.path, dtype="float32")
    assert rate == RATE
    others = [(t.start, t.end) for t in call.turns if t.voice != speaker]
    pieces = []
    for turn in call.turns:
        if turn.voice != speaker:
            continue
        spans = [(turn.start, turn.end)]
        for other_start, other_end in others:
            spans = [part for start, end in spans
                     for part in ((start, min(end, other_start)), (max(start, other_end), end))
                     if part[1] - part[0] > 0]
        pieces += [samples[int(start * RATE) : int(end * RATE)] for start, end in spans
                   if end - start >= min_s]
    return pieces


def call_speaker_file(speaker: str, directory: Path, gap_s: float = 0.5) -> Recording:
    """One woman of the call alone: her :func:`call_solo_pieces`, joined."""
    pieces = [(speaker, piece) for piece in call_solo_pieces(speaker)]
    mixed, reference = conversation(pieces, [gap_s] * (len(pieces) - 1))
    path = write(directory / f"call-{speaker.lower()}.wav", mixed)
    return Recording(path, reference)


# --- a third real woman: the voice of ALSA's speaker test ---------------------------------------

ALSA_SOUNDS = Path("/usr/share/sounds/alsa")
"""Where Debian's ``alsa-utils`` installs ``speaker-test``'s clips (``scripts/bootstrap``)."""
ALSA_SPEAKER = "ALSA voice"
#: her eight clips (``Noise.wav``, the ninth file there, is pink noise)
ALSA_CLIPS = ["Front_Center", "Front_Left", "Front_Right", "Rear_Center", "Rear_Left",
              "Rear_Right", "Side_Left", "Side_Right"]
TELEPHONE_BAND_HZ = (100.0, 3400.0)  # where the call has its energy


def alsa_clip_speech(name: str) -> np.ndarray:
    """One of :data:`ALSA_CLIPS` as the call sounds: 16 kHz, trimmed, telephone band, at the
    level of the call's speech."""
    path = ALSA_SOUNDS / f"{name}.wav"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the real-voice tests need Debian's alsa-utils "
                                "(apt-get install alsa-utils; scripts/bootstrap installs it)")
    samples, rate = sf.read(path, dtype="float32")
    narrow = sosfiltfilt(butter(6, TELEPHONE_BAND_HZ, btype="bandpass", fs=RATE, output="sos"),
                         resample_poly(samples, RATE, rate))
    speech = trim(narrow.astype(np.float32))
    return (speech * (_call_level() / _level(speech))).astype(np.float32)


def _level(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


@cache
def _call_level() -> float:
    """RMS of the call's single-speaker speech (both women)."""
    return _level(np.concatenate([piece for speaker in CALL_SPEAKERS.values()
                                  for piece in call_solo_pieces(speaker)]))


def alsa_voice_file(directory: Path, gap_s: float = 0.5) -> Recording:
    """The third woman alone: her eight clips, joined."""
    clips = [(ALSA_SPEAKER, alsa_clip_speech(name)) for name in ALSA_CLIPS]
    mixed, reference = conversation(clips, [gap_s] * (len(clips) - 1))
    path = write(directory / "alsa-voice.wav", mixed)
    text = " ".join(name.replace("_", " ").lower() for name in ALSA_CLIPS)
    return Recording(path, reference, text)


#: the conversation of the three women, turn by turn: a call woman and the number of one of her
#: :func:`call_solo_pieces` (Diane's are 0.4, 1.6, 3.5, 2.9 and 1.5 s long, Sheila's 0.8, 0.6,
#: 3.2 and 6.1 s), or the ALSA voice and the clips of her turn (1.1-1.3 s each)
THREE_WOMEN: list[tuple[str, int | tuple[str, ...]]] = [
    ("Diane", 2), (ALSA_SPEAKER, ("Front_Left", "Front_Right")), ("Sheila", 2),
    ("Diane", 1), (ALSA_SPEAKER, ("Front_Center",)), ("Sheila", 0), ("Diane", 3),
    (ALSA_SPEAKER, ("Rear_Left", "Rear_Right")), ("Sheila", 3), (ALSA_SPEAKER, ("Side_Left",)),
    ("Diane", 4), (ALSA_SPEAKER, ("Side_Right", "Rear_Center")),
]


def three_women(directory: Path, gap_s: float = 0.5, overlap_every: int = 0,
                overlap_s: float = 0.4) -> Recording:
    """Three real women in conversation (:data:`THREE_WOMEN`, 36 s, five turns under 2 s):
    ``gap_s`` between turns, every ``overlap_every``-th change of speaker an overlap of
    ``overlap_s`` instead. The ALSA voice's two clips in one turn are 0.3 s apart."""
    pieces = {speaker: call_solo_pieces(speaker) for speaker in CALL_SPEAKERS.values()}
    turns = []
    for speaker, part in THREE_WOMEN:
        if isinstance(part, int):
            turns.append((speaker, pieces[speaker][part]))
        else:
            pause = np.zeros(int(0.3 * RATE), dtype=np.float32)
            clips = [alsa_clip_speech(name) for name in part]
            joined = [piece for clip in clips for piece in (clip, pause)][:-1]
            turns.append((speaker, np.concatenate(joined)))
    samples, reference = conversation(
        turns, gaps_between([s for s, _ in turns], gap_s, overlap_every, overlap_s))
    suffix = f"-overlap{overlap_every}" if overlap_every else ""
    return Recording(write(directory / f"three-women{suffix}.wav", samples), reference)
