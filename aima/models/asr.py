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
window. Otherwise each window is split into runs of one language (:mod:`aima.speech.languages`)
and each run is transcribed in its own language; every segment says which language it was heard in.

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
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from aima.models.base import Model
from aima.models.weights import WHISPER_BASE, resolve_weights
from aima.speech.audio import SAMPLE_RATE, AudioSource, AudioWindow, iter_windows
from aima.speech.languages import (
    DOUBTFUL_BELOW, doubtful_spans, language_runs, mean_word_probability, unheard_spans,
)
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
CANDIDATES = 3  # languages a doubtful stretch is heard again in, at most
MIN_CANDIDATE_PROBABILITY = 0.1
SURER_BY = 0.05


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
    """A recognizer that reads audio window by window and hears a language per stretch of speech.

    Subclasses transcribe one window in a given language (:meth:`_transcribe_window`) and detect
    the language of a piece of audio (:meth:`_detect_language`). A forced language is used for
    every window (probability 1.0). Otherwise each window is split into runs of one language
    (:mod:`aima.speech.languages`: Silero VAD regions, detection per 30 s chunk), each run is
    transcribed in its own language, and stretches Whisper is unsure of get second opinions in
    other likely languages. Every segment carries its language; the transcript's ``language`` is
    the language of most of the speech and ``languages`` lists all of them.
    """

    kind = "asr"

    def __init__(self, *, window_s: float):
        super().__init__()
        self._window_s = window_s

    def transcribe(self, audio: AudioSource, *, language: str | None = None) -> Transcript:
        """Transcribe a file path or 16 kHz mono float32 samples; ``language`` forces a language."""
        self.load()
        segments: list[Segment] = []
        duration = 0.0
        for window in iter_windows(audio, window_s=self._window_s):
            duration = window.offset_s + window.duration_s
            segments.extend(self._transcribe_languages(window, language))
        return _with_languages(segments, round(duration, 3), language)

    def _transcribe_runs(
        self, window: AudioWindow, language: str, probability: float
    ) -> list[Segment]:
        """``window`` transcribed in ``language``; each segment labelled with it."""
        heard = self._transcribe_window(window, language)
        return [_labelled(s, language, probability) for s in heard.segments]

    def _transcribe_languages(self, window: AudioWindow, forced: str | None) -> list[Segment]:
        if forced:
            return self._transcribe_runs(window, forced, 1.0)
        runs = language_runs(
            speech_regions(window.samples), window.duration_s,
            lambda start, end: self._detect_language(_cut(window, start, end).samples)[0],
        )
        if not runs:  # no speech the VAD can find: let the model have its say
            heard = self._transcribe_window(window, None)
            return [_labelled(s, heard.language, heard.language_probability)
                    for s in heard.segments]
        segments: list[Segment] = []
        for run in runs:
            part = window if len(runs) == 1 else _cut(window, run.start, run.end)
            segments += self._transcribe_runs(part, run.language, run.probability)
        return self._second_opinions(window, segments)

    def _second_opinions(self, window: AudioWindow, segments: list[Segment]) -> list[Segment]:
        """Stretches that sound unlike their language (:func:`doubtful_spans`) are heard again in
        the other languages the detector finds likely for them alone; the words Whisper is
        clearly surer of (mean word probability higher by :data:`SURER_BY`) replace the old."""
        offset = window.offset_s
        local = [s.model_copy(update={"start": s.start - offset, "end": s.end - offset})
                 for s in segments]
        spans = doubtful_spans(local, window.duration_s) + [
            (span, span) for span in unheard_spans(speech_regions(window.samples), local)]
        for (start, end), (lo, hi) in spans:
            old = [s for s in segments if start + offset <= s.start and s.end <= end + offset]
            language_now = old[0].language if old else None
            span = _cut(window, lo, hi)
            candidates = [
                self._transcribe_runs(span, language, probability)
                for language, probability in self._detect_language(_cut(window, start, end).samples)
                if language != language_now and probability >= MIN_CANDIDATE_PROBABILITY
            ]
            regions = speech_regions(span.samples)
            if len(regions) > 1:  # each region in its own language
                runs = language_runs(regions, span.duration_s, lambda a, b: self._detect_language(
                    _cut(span, a, b).samples)[0], chunk_s=0.0)
                candidates.append([
                    segment for run in runs
                    for segment in self._transcribe_runs(_cut(span, run.start, run.end),
                                                         run.language, run.probability)])
            best = old
            best_score = mean_word_probability(old) + SURER_BY if old else DOUBTFUL_BELOW
            for new in candidates:
                if new and mean_word_probability(new) > best_score:
                    best, best_score = new, mean_word_probability(new)
            if best is not old:
                segments = sorted([s for s in segments if s not in old] + best,
                                  key=lambda s: (s.start, s.end))
        return segments

    @abstractmethod
    def _transcribe_window(self, window: AudioWindow, language: str | None) -> WindowTranscript:
        """One window's segments, their times shifted by ``window.offset_s``."""

    @abstractmethod
    def _detect_language(self, samples: np.ndarray) -> list[tuple[str, float]]:
        """The languages of (the first 30 s of) ``samples`` with their probabilities, likeliest
        first (at least one)."""


def speech_regions(samples: np.ndarray) -> list[tuple[float, float]]:
    """Silero VAD speech regions in seconds, with the options faster-whisper's batched pipeline
    uses (regions of at most 30 s, pauses of 160 ms split them)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(max_speech_duration_s=30.0, min_silence_duration_ms=160)
    return [(r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE)
            for r in get_speech_timestamps(samples, options)]


def _cut(window: AudioWindow, start: float, end: float) -> AudioWindow:
    lo, hi = int(round(start * SAMPLE_RATE)), int(round(end * SAMPLE_RATE))
    return AudioWindow(window.offset_s + lo / SAMPLE_RATE, window.samples[lo:hi])


def _labelled(segment: Segment, language: str | None, probability: float | None) -> Segment:
    return segment.model_copy(update={"language": language, "language_probability": probability})


def _with_languages(segments: list[Segment], duration_s: float, forced: str | None) -> Transcript:
    """The transcript, its main language (most seconds of speech) and every language heard."""
    seconds: dict[str, float] = defaultdict(float)
    weighted: dict[str, float] = defaultdict(float)
    for segment in segments:
        if segment.language:
            length = max(segment.end - segment.start, 1e-3)
            seconds[segment.language] += length
            weighted[segment.language] += length * (segment.language_probability or 0.0)
    languages = sorted(seconds, key=lambda code: -seconds[code])
    if forced:
        main, probability = forced, 1.0
    elif languages:
        main = languages[0]
        probability = round(weighted[main] / seconds[main], 4)
    else:
        main, probability = None, None
    return Transcript(language=main, language_probability=probability, duration_s=duration_s,
                      segments=segments, languages=languages or ([forced] if forced else []))


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

    def _detect_language(self, samples: np.ndarray) -> list[tuple[str, float]]:
        _, _, candidates = self._whisper.detect_language(audio=samples)
        return [(language, float(p)) for language, p in candidates[:CANDIDATES]]

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
