"""Speech recognition: a small protocol, the windowed base every recognizer shares, faster-whisper.

:class:`FasterWhisperRecognizer` runs faster-whisper's ``BatchedInferencePipeline`` (the batched
decoding WhisperX made known) with its bundled Silero VAD and word timestamps. Long recordings are
decoded and transcribed one window at a time (10 minutes by default, cut in a pause; see
:mod:`aima.speech.audio`), so memory stays bounded whatever the file's length; segment and word
times are shifted by each window's offset.

Segments: the batched pipeline decodes each VAD chunk (up to 30 s) in one pass. Decoding with
timestamp tokens would split chunks into sentences, but in one pass Whisper then sometimes stops
at a timestamp and leaves the rest of the chunk untranscribed (sequential decoding would seek on
and continue; batched decoding cannot). So chunks are decoded without timestamp tokens, as
faster-whisper's batched default and WhisperX do, and each chunk's text is split into
sentence-like segments at the word timestamps: after a word ending a sentence (``.?!`` and the
CJK full stops), or at a pause of at least 1 s.

Language (:class:`WindowedRecognizer`, shared with WhisperX): a forced language is used for every
window. Otherwise the language is detected on the first window that contains speech and then kept
for the rest of the file, as Whisper itself does with its first 30 seconds.

No speech, no text: the batched pipeline skips Whisper's own no-speech and repetition checks, and
on noise that the VAD lets through Whisper base "hears" a "you", a row of dots or a counting loop.
A segment is dropped when its text has no letter or digit, or when Whisper rates it more likely
non-speech than speech (no-speech probability above 0.6) and it is also unconvincing: average
log-probability below -1 (Whisper's own rule), a gzip compression ratio above 2.4 (Whisper's
repetition threshold) or a mean word probability below 0.5. Silence and noise therefore give an
empty transcript rather than an invented one.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from aima.models.base import Model
from aima.models.weights import WHISPER_BASE, resolve_weights
from aima.speech.audio import AudioSource, AudioWindow, iter_windows
from aima.speech.transcript import Segment, SpeakerTurn, Transcript, Word

__all__ = [
    "FasterWhisperRecognizer",
    "Segment",
    "SpeakerTurn",
    "SpeechRecognizer",
    "Transcript",
    "WindowTranscript",
    "WindowedRecognizer",
    "Word",
]

NO_SPEECH_PROB = 0.6
LOW_AVG_LOGPROB = -1.0
REPETITIVE_COMPRESSION_RATIO = 2.4
LOW_WORD_PROBABILITY = 0.5
SENTENCE_ENDS = (".", "?", "!", "…", "。", "？", "！")
PAUSE_SPLIT_S = 1.0


@runtime_checkable
class SpeechRecognizer(Protocol):
    """Turns audio into a :class:`Transcript` with word timestamps and the spoken language."""

    @property
    def model_id(self) -> str:
        """Identifies the model and weights; part of the key under which results are stored."""
        ...

    @property
    def parameters(self) -> dict[str, Any]:
        """Settings that change the output; the rest of the storage key."""
        ...

    def transcribe(self, audio: AudioSource, *, language: str | None = None) -> Transcript:
        """Transcribe a file path or 16 kHz mono float32 samples; ``language`` forces a language."""
        ...


@dataclass(frozen=True)
class WindowTranscript:
    """What a recognizer heard in one window: segments in file time, and the language it heard
    (``None`` when it cannot tell; a probability of ``None`` when the model gives none)."""

    segments: list[Segment] = field(default_factory=list)
    language: str | None = None
    language_probability: float | None = None


class WindowedRecognizer(Model):
    """A recognizer that reads audio window by window and keeps the first language it hears.

    Subclasses transcribe one window (:meth:`_transcribe_window`). A forced language is used for
    every window (probability 1.0); otherwise the language of the first window with speech is
    kept for the rest of the file, as Whisper itself does with its first 30 seconds.
    """

    kind = "asr"

    def __init__(self, *, window_s: float):
        super().__init__()
        self._window_s = window_s

    def transcribe(self, audio: AudioSource, *, language: str | None = None) -> Transcript:
        """Transcribe a file path or 16 kHz mono float32 samples; ``language`` forces a language."""
        self.load()
        detected: tuple[str | None, float | None] | None = (language, 1.0) if language else None
        segments: list[Segment] = []
        duration = 0.0
        for window in iter_windows(audio, window_s=self._window_s):
            duration = window.offset_s + window.duration_s
            heard = self._transcribe_window(window, detected[0] if detected else None)
            if heard.segments and detected is None:
                detected = (heard.language, heard.language_probability)
            segments.extend(heard.segments)
        language_code, probability = detected if detected else (None, None)
        return Transcript(
            language=language_code,
            language_probability=probability,
            duration_s=round(duration, 3),
            segments=segments,
        )

    @abstractmethod
    def _transcribe_window(self, window: AudioWindow, language: str | None) -> WindowTranscript:
        """One window's segments, their times shifted by ``window.offset_s``."""


class FasterWhisperRecognizer(WindowedRecognizer):
    """Whisper through faster-whisper (CTranslate2): int8 on CPU, float16 on CUDA."""

    def __init__(
        self,
        model: str | Path,
        *,
        name: str | None = None,
        device: Literal["auto", "cpu", "cuda"] = "auto",
        compute_type: str | None = None,
        cpu_threads: int = 0,
        batch_size: int = 8,
        beam_size: int = 5,
        window_s: float = 600.0,
    ):
        super().__init__(window_s=window_s)
        self._model = str(model)
        self._device = _pick_device(device)
        self._compute_type = compute_type or ("float16" if self._device == "cuda" else "int8")
        self._name = name or Path(str(model)).name
        self._cpu_threads = cpu_threads
        self._batch_size = batch_size
        self._beam_size = beam_size
        self._whisper: Any = None
        self._pipeline: Any = None

    @classmethod
    def embedded(
        cls,
        *,
        local_path: str | Path | None = None,
        profile: Literal["embedded", "gpu"] = "embedded",
        cache_dir: str | Path | None = None,
        **options: Any,
    ) -> FasterWhisperRecognizer:
        """Whisper base from a local path, the hub (gpu profile, online) or the bundled packages."""
        weights = resolve_weights(
            WHISPER_BASE, local_path=local_path, profile=profile, cache_dir=cache_dir
        )
        options.setdefault("name", WHISPER_BASE.name if weights.source == "bundled" else None)
        return cls(weights.location, **options)

    @property
    def model_id(self) -> str:
        return f"faster-whisper/{self._name}/{self._compute_type}"

    @property
    def parameters(self) -> dict[str, Any]:
        return {"beam_size": self._beam_size, "vad": "silero", "window_s": self._window_s}

    @property
    def whisper(self) -> Any:
        """The loaded faster-whisper ``WhisperModel``."""
        self.load()
        return self._whisper

    def _load(self) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        self._whisper = WhisperModel(
            self._model,
            device=self._device,
            compute_type=self._compute_type,
            cpu_threads=self._cpu_threads,
        )
        self._pipeline = BatchedInferencePipeline(self._whisper)

    def _transcribe_window(self, window: AudioWindow, language: str | None) -> WindowTranscript:
        raw, info = self._pipeline.transcribe(
            window.samples,
            language=language,
            word_timestamps=True,
            vad_filter=True,
            batch_size=self._batch_size,
            beam_size=self._beam_size,
        )
        kept = [segment for segment in raw if not is_hallucination(segment)]
        segments = [part for segment in kept for part in to_segments(segment, window.offset_s)]
        return WindowTranscript(segments, info.language, float(info.language_probability))


def is_hallucination(segment: Any) -> bool:
    """True for a faster-whisper segment that is noise read as words (see the module docstring)."""
    if not any(character.isalnum() for character in segment.text):
        return True
    if segment.no_speech_prob <= NO_SPEECH_PROB:
        return False
    words = segment.words or []
    word_probability = sum(w.probability for w in words) / len(words) if words else 1.0
    return (
        segment.avg_logprob < LOW_AVG_LOGPROB
        or segment.compression_ratio > REPETITIVE_COMPRESSION_RATIO
        or word_probability < LOW_WORD_PROBABILITY
    )


def to_segments(segment: Any, offset_s: float = 0.0) -> list[Segment]:
    """A faster-whisper segment (a whole VAD chunk) as sentence-like :class:`Segment` objects.

    Times are shifted by ``offset_s``. Words never overlap or go back in time (a word starts no
    earlier than the previous one ends), and a segment spans exactly its words, so every consumer
    can rely on ``segment.start <= word.start <= word.end <= segment.end``, in order.
    """
    raw = [word for word in segment.words or [] if word.word.strip()]
    if not raw:  # no word timestamps: keep Whisper's segment as it is
        start, end = float(segment.start) + offset_s, float(segment.end) + offset_s
        text = segment.text.strip()
        return [Segment(start=round(start, 3), end=round(end, 3), text=text)] if text else []
    words = _words(raw, offset_s)
    groups: list[list[int]] = [[]]
    for index, word in enumerate(words):
        groups[-1].append(index)
        following = words[index + 1] if index + 1 < len(words) else None
        if following and (
            word.word.endswith(SENTENCE_ENDS) or following.start - word.end >= PAUSE_SPLIT_S
        ):
            groups.append([])
    return [
        Segment(
            start=words[group[0]].start,
            end=words[group[-1]].end,
            text="".join(raw[i].word for i in group).strip(),  # Whisper's own spacing (CJK: none)
            words=[words[i] for i in group],
        )
        for group in groups
    ]


def _words(words: Iterable[Any], offset_s: float) -> list[Word]:
    result: list[Word] = []
    previous_end = float("-inf")
    for word in words:
        text = word.word.strip()
        if not text:
            continue
        start = max(round(float(word.start) + offset_s, 3), previous_end)
        end = max(round(float(word.end) + offset_s, 3), start)
        result.append(Word(start=start, end=end, word=text, probability=float(word.probability)))
        previous_end = end
    return result


def _pick_device(device: str) -> str:
    if device != "auto":
        return device
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
