"""Voice encoders: the Resemblyzer implementation of :class:`~aima.speech.voices.VoiceEncoder`.

:class:`ResemblyzerVoiceEncoder` is Resemblyzer's GE2E encoder (256 dimensions, Apache-2.0); its
weights ship inside the ``resemblyzer`` wheel, so it works offline on CPU. It embeds 1.6 s partial
utterances; a longer span is the normalised mean of its partials, a shorter one is zero-padded.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

import numpy as np

from aima.models.base import Model
from aima.speech.audio import SAMPLE_RATE
from aima.speech.voices import VoiceEncoder, l2_normalise

__all__ = ["ResemblyzerVoiceEncoder", "VoiceEncoder", "l2_normalise"]

_PARTIAL_SAMPLES = 160 * SAMPLE_RATE // 100  # 160 mel frames of 10 ms = 1.6 s
_PARTIAL_HOP = _PARTIAL_SAMPLES // 2
_TARGET_DBFS = -30.0  # Resemblyzer's training loudness


class ResemblyzerVoiceEncoder(Model):
    """Resemblyzer's 256-d voice encoder with its bundled weights, on CPU by default."""

    kind = "voices"

    def __init__(self, device: str = "cpu", batch_size: int = 64):
        super().__init__()
        self._device = device
        self._batch_size = batch_size
        self._model_id = f"resemblyzer-{version('resemblyzer')}"
        self._encoder: Any = None
        self._mel: Any = None

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        return 256

    def _load(self) -> None:
        with warnings.catch_warnings():  # webrtcvad imports the deprecated pkg_resources
            warnings.simplefilter("ignore")
            from resemblyzer import VoiceEncoder as _Encoder
            from resemblyzer.audio import wav_to_mel_spectrogram

        self._mel = wav_to_mel_spectrogram
        self._encoder = _Encoder(device=self._device, verbose=False)
        self._encoder.eval()

    def embed(self, wav: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from resemblyzer.audio import trim_long_silences

        samples = _normalise_volume(np.asarray(wav, dtype=np.float32))
        trimmed = trim_long_silences(samples) if len(samples) > _PARTIAL_SAMPLES else samples
        return self._embed_clips([trimmed if len(trimmed) else samples])[0]

    def embed_segments(self, wav: np.ndarray, spans: Sequence[tuple[float, float]]) -> np.ndarray:
        samples = np.asarray(wav, dtype=np.float32)
        clips = []
        for start, end in spans:
            lo = max(int(round(start * SAMPLE_RATE)), 0)
            hi = max(int(round(end * SAMPLE_RATE)), lo)
            clips.append(_normalise_volume(samples[lo:hi]))
        return self._embed_clips(clips)

    def _embed_clips(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        """Cut each clip into 1.6 s partials, embed all partials in batches, average per clip."""
        if not clips:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.load()
        import torch

        partials: list[np.ndarray] = []
        owners: list[int] = []
        for index, clip in enumerate(clips):
            for partial in _partials(clip):
                partials.append(self._mel(partial))
                owners.append(index)
        embeddings = np.empty((len(partials), self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for lo in range(0, len(partials), self._batch_size):
                batch = torch.from_numpy(np.stack(partials[lo : lo + self._batch_size]))
                embeddings[lo : lo + len(batch)] = self._encoder(batch).cpu().numpy()
        sums = np.zeros((len(clips), self.dimension), dtype=np.float64)
        np.add.at(sums, np.asarray(owners), embeddings)
        return l2_normalise(sums).astype(np.float32)


def _partials(clip: np.ndarray) -> list[np.ndarray]:
    """1.6 s pieces with 50 % overlap covering the clip; the last one is zero-padded."""
    if len(clip) <= _PARTIAL_SAMPLES:
        return [np.pad(clip, (0, _PARTIAL_SAMPLES - len(clip)))]
    starts = list(range(0, len(clip) - _PARTIAL_SAMPLES + 1, _PARTIAL_HOP))
    if starts[-1] + _PARTIAL_SAMPLES < len(clip):
        starts.append(len(clip) - _PARTIAL_SAMPLES)  # cover the tail without padding
    return [clip[start : start + _PARTIAL_SAMPLES] for start in starts]


def _normalise_volume(samples: np.ndarray) -> np.ndarray:
    """Raise quiet speech to -30 dBFS (never lower loud speech), as Resemblyzer was trained."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    if rms <= 1e-6:
        return samples
    gain_db = _TARGET_DBFS - 20.0 * np.log10(rms)
    return samples * np.float32(10.0 ** (gain_db / 20.0)) if gain_db > 0 else samples
