"""WhisperX for the gpu profile: batched Whisper, wav2vec2 forced alignment, pyannote diarization.

Written against whisperx 3.x (3.8): ``whisperx.load_model``, ``whisperx.load_align_model``,
``whisperx.align`` and ``whisperx.diarize.DiarizationPipeline``. whisperx is imported only when a
:class:`WhisperXRecognizer` is built; it pins its own torch and torchaudio, so it lives in the GPU
worker image (``aima[gpu]``), not in the embedded install.

Diarization: the recognizer labels speakers with the :class:`~aima.speech.diarization.Diarizer`
it is given. :func:`pyannote_or` picks pyannote (:class:`PyannoteDiarizer`) when a Hugging Face
token is given, the hub is reachable and the gated pipeline loads; otherwise the embedded
diarization it falls back to, so a run never fails for want of a token.

Long files are transcribed and aligned window by window (30 minutes by default) with times
shifted by each window's offset (:class:`~aima.models.asr.WindowedRecognizer`). pyannote diarizes
the whole file at once (speaker labels must be consistent across the file): it holds the 16 kHz
track in memory, about 230 MB per hour, which the GPU machines have.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from aima.errors import AimaError
from aima.models.asr import CANDIDATES, WindowedRecognizer, WindowTranscript
from aima.models.base import Model
from aima.models.weights import is_online
from aima.speech.audio import AudioSource, AudioWindow
from aima.speech.diarization import Diarization, Diarizer, assign_speakers, speaker_centroids
from aima.speech.transcript import Segment, SpeakerTurn, Transcript, Word
from aima.speech.voices import VoiceEncoder

logger = logging.getLogger(__name__)

DiarizationBackend = Literal["pyannote", "embedded"]


class WhisperXUnavailable(AimaError):
    """whisperx is not installed in this environment."""


def import_whisperx() -> Any:
    """The ``whisperx`` module, or a clear error saying how to get it."""
    try:
        import whisperx
    except ImportError as exc:
        raise WhisperXUnavailable(
            f"whisperx is not installed ({exc}). It runs in the GPU worker image: "
            "pip install 'aima[gpu]'. Without it, use the embedded FasterWhisperRecognizer."
        ) from None
    return whisperx


def choose_diarization(hf_token: str | None, *, online: bool | None = None) -> DiarizationBackend:
    """pyannote needs a Hugging Face token and a reachable hub (its pipeline is gated)."""
    reachable = is_online() if online is None else online
    return "pyannote" if hf_token and reachable else "embedded"


class PyannoteDiarizer(Model):
    """A :class:`~aima.speech.diarization.Diarizer`: whisperx's pyannote ``DiarizationPipeline``.

    Words and segments take the speaker of the pyannote turns they overlap most
    (:func:`~aima.speech.diarization.assign_speakers`, as for the embedded diarization); voice
    centroids come from ``encoder``, so that case linking compares every file's speakers in one
    embedding space. ``factory`` defaults to ``whisperx.diarize.DiarizationPipeline``.
    """

    kind = "diarizer"

    def __init__(
        self,
        hf_token: str,
        encoder: VoiceEncoder,
        *,
        device: str = "cuda",
        model_name: str | None = None,
        factory: Callable[..., Any] | None = None,
    ):
        super().__init__()
        self.encoder = encoder
        self._token = hf_token
        self._device = device
        self._model_name = model_name
        self._factory = factory
        self._pipeline: Any = None

    @property
    def model_id(self) -> str:
        return f"pyannote/{self._model_name or 'whisperx-default'}/{self.encoder.model_id}"

    def _load(self) -> None:
        factory = self._factory
        if factory is None:
            import_whisperx()
            from whisperx.diarize import DiarizationPipeline as factory
        self._pipeline = factory(
            model_name=self._model_name, token=self._token, device=self._device
        )

    def diarize(
        self, audio: AudioSource, transcript: Transcript, *, num_speakers: int | None = None
    ) -> Diarization:
        self.load()
        whole = audio if isinstance(audio, np.ndarray) else str(audio)
        turns = turns_from_dataframe(self._pipeline(whole, num_speakers=num_speakers))
        centroids = speaker_centroids(self.encoder, audio, turns)
        return Diarization(assign_speakers(transcript, turns), centroids, self.model_id)


def pyannote_or(
    fallback: Diarizer,
    hf_token: str | None,
    encoder: VoiceEncoder,
    *,
    device: str = "cuda",
    model_name: str | None = None,
    factory: Callable[..., Any] | None = None,
) -> Diarizer:
    """pyannote, loaded now, when a token is given, the hub is reachable and the gated pipeline
    loads; otherwise ``fallback``. Loaded now because which of the two runs is part of the key
    the recognizer's transcripts are stored under."""
    if choose_diarization(hf_token) == "embedded":
        return fallback
    pyannote = PyannoteDiarizer(
        hf_token, encoder, device=device, model_name=model_name, factory=factory
    )
    try:
        pyannote.load()
    except Exception as exc:  # gated model not accepted, hub unreachable, pyannote missing
        logger.warning("pyannote diarization unavailable (%s); using embedded diarization", exc)
        return fallback
    return pyannote


class WhisperXRecognizer(WindowedRecognizer):
    """A :class:`~aima.models.asr.SpeechRecognizer` that also aligns words and labels speakers.

    Languages are detected per stretch of speech as for the embedded recognizer
    (:class:`~aima.models.asr.WindowedRecognizer`), with the faster-whisper model inside
    whisperx's pipeline; each run of one language is transcribed and aligned in that language.
    """

    def __init__(
        self,
        model: str | Path = "large-v3",
        *,
        device: str = "cuda",
        compute_type: str | None = None,
        batch_size: int = 16,
        diarizer: Diarizer | None = None,
        model_dir: str | None = None,
        window_s: float = 1800.0,
    ):
        super().__init__(window_s=window_s)
        self._whisperx = import_whisperx()
        self._model_path = str(model)
        self._device = device
        self._compute_type = compute_type or ("float16" if device == "cuda" else "int8")
        self._name = Path(str(model)).name
        self._batch_size = batch_size
        self._model_dir = model_dir
        self._model: Any = None
        self._aligners: dict[str, tuple[Any, Any] | None] = {}
        self.diarizer = diarizer

    @property
    def model_id(self) -> str:
        return f"whisperx/{self._name}/{self._compute_type}"

    @property
    def parameters(self) -> dict[str, Any]:
        if self.diarizer is None:
            diarization = "none"
        else:
            diarization = "pyannote" if isinstance(self.diarizer, PyannoteDiarizer) else "embedded"
        return {"alignment": "wav2vec2", "diarization": diarization}

    def _load(self) -> None:
        self._model = self._whisperx.load_model(
            self._model_path,
            self._device,
            compute_type=self._compute_type,
            download_root=self._model_dir,
        )

    def transcribe(
        self, audio: AudioSource, *, language: str | None = None, num_speakers: int | None = None
    ) -> Transcript:
        """Transcribe and align window by window, then label speakers over the whole file."""
        transcript = super().transcribe(audio, language=language)
        if self.diarizer is None or transcript.is_empty:
            return transcript
        return self.diarizer.diarize(audio, transcript, num_speakers=num_speakers).transcript

    def _detect_language(self, samples: np.ndarray) -> list[tuple[str, float]]:
        """whisperx's pipeline wraps a faster-whisper ``WhisperModel`` (``.model``): its
        ``detect_language`` gives the probabilities that whisperx's own method only prints."""
        _, _, candidates = self._model.model.detect_language(audio=samples)
        return [(language, float(p)) for language, p in candidates[:CANDIDATES]]

    def _transcribe_window(self, window: AudioWindow, language: str | None) -> WindowTranscript:
        result = self._model.transcribe(
            window.samples, batch_size=self._batch_size, language=language
        )
        if not result["segments"]:
            return WindowTranscript()
        heard = language or result["language"]
        aligned = self._align(result["segments"], window.samples, heard)
        segments = segments_from_whisperx(shift_segments(aligned, window.offset_s))
        return WindowTranscript(segments, heard, 1.0 if language else None)

    def _align(self, segments: list[dict], samples: Any, language: str) -> list[dict]:
        """Forced alignment of the words; the unaligned segments when no aligner is available."""
        if language not in self._aligners:
            try:
                self._aligners[language] = self._whisperx.load_align_model(
                    language_code=language, device=self._device, model_dir=self._model_dir
                )
            except Exception as exc:  # no wav2vec2 model for the language, or hub unreachable
                logger.warning(
                    "no word alignment for %r (%s); keeping Whisper's timing", language, exc
                )
                self._aligners[language] = None
        aligner = self._aligners[language]
        if aligner is None:
            return segments
        model, metadata = aligner
        aligned = self._whisperx.align(
            segments, model, metadata, samples, self._device, return_char_alignments=False
        )
        return aligned["segments"]


# --- conversion of whisperx results (plain dicts), testable without whisperx -----------------


def shift_segments(segments: Sequence[Mapping[str, Any]], offset_s: float) -> list[dict]:
    """Copies of whisperx segments with every start/end moved by ``offset_s`` seconds."""
    shifted = []
    for segment in segments:
        copy = _shift(segment, offset_s)
        if "words" in segment:
            copy["words"] = [_shift(word, offset_s) for word in segment["words"]]
        shifted.append(copy)
    return shifted


def _shift(item: Mapping[str, Any], offset_s: float) -> dict:
    copy = dict(item)
    for key in ("start", "end"):
        if copy.get(key) is not None:
            copy[key] = float(copy[key]) + offset_s
    return copy


def turns_from_dataframe(diarize_df: Any) -> list[SpeakerTurn]:
    """pyannote turns from whisperx's diarization DataFrame (columns start, end, speaker)."""
    turns = [
        SpeakerTurn(start=round(float(start), 3), end=round(float(end), 3), speaker=str(speaker))
        for start, end, speaker in zip(
            diarize_df["start"], diarize_df["end"], diarize_df["speaker"], strict=True
        )
    ]
    return sorted(turns, key=lambda t: (t.start, t.end, t.speaker))


def transcript_from_whisperx(
    result: Mapping[str, Any],
    *,
    duration_s: float,
    language_probability: float | None = None,
    turns: Sequence[SpeakerTurn] = (),
) -> Transcript:
    """A whisperx result (transcribed, maybe aligned, maybe with speakers) as a :class:`Transcript`.

    whisperx leaves out start/end/score of words it cannot align (digits, symbols); such a word
    gets the time between its neighbours. whisperx gives no language probability.
    """
    language = result.get("language")
    segments = [s.model_copy(update={"language": language,
                                     "language_probability": language_probability})
                for s in segments_from_whisperx(result.get("segments", []))]
    return Transcript(
        language=language,
        language_probability=language_probability,
        duration_s=round(duration_s, 3),
        segments=segments,
        turns=list(turns),
        languages=[language] if language and segments else [],
    )


def segments_from_whisperx(segments: Sequence[Mapping[str, Any]]) -> list[Segment]:
    """whisperx segments as :class:`Segment` objects; segments without text are left out."""
    converted = [_segment(segment) for segment in segments]
    return [segment for segment in converted if segment.text]


def _segment(segment: Mapping[str, Any]) -> Segment:
    start, end = float(segment["start"]), float(segment["end"])
    raw = [w for w in segment.get("words", []) if str(w.get("word", "")).strip()]
    known_starts = [w.get("start") for w in raw]
    words: list[Word] = []
    previous_end = start
    for index, word in enumerate(raw):
        following = next((s for s in known_starts[index + 1 :] if s is not None), end)
        w_start = max(_number(word.get("start"), previous_end), previous_end)
        w_end = max(_number(word.get("end"), following), w_start)
        score = word.get("score")
        words.append(
            Word(
                start=round(w_start, 3),
                end=round(w_end, 3),
                word=str(word["word"]).strip(),
                probability=None if score is None else float(score),
                speaker=word.get("speaker"),
            )
        )
        previous_end = w_end
    if words:
        start, end = min(start, words[0].start), max(end, words[-1].end)
    return Segment(
        start=round(start, 3),
        end=round(end, 3),
        text=str(segment.get("text", "")).strip(),
        words=words,
        speaker=segment.get("speaker"),
    )


def _number(value: Any, default: float) -> float:
    return default if value is None else float(value)
