"""Voice embeddings as the speech code uses them: the encoder protocol and unit-length vectors.

A voice embedding is a unit-length vector; the cosine similarity of two embeddings says how alike
two voices sound. Diarization (:mod:`aima.speech.diarization`) and case speaker linking
(:mod:`aima.speech.speakers`) are given an encoder through :class:`VoiceEncoder`; the encoders
themselves are models (:mod:`aima.models.voices`). Embeddings never identify who a person is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class VoiceEncoder(Protocol):
    """Maps speech (16 kHz mono float32) to L2-normalised voice embeddings."""

    @property
    def model_id(self) -> str:
        """Identifies model and weights: embeddings of different ids are not comparable."""
        ...

    @property
    def dimension(self) -> int: ...

    def embed(self, wav: np.ndarray) -> np.ndarray:
        """One embedding, shape ``(dimension,)``, for a whole utterance."""
        ...

    def embed_segments(self, wav: np.ndarray, spans: Sequence[tuple[float, float]]) -> np.ndarray:
        """One embedding per ``(start, end)`` span in seconds, shape ``(len(spans), dimension)``."""
        ...


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    array = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(array, axis=-1, keepdims=True)
    return array / np.where(norms == 0.0, 1.0, norms)
