"""The embedded diarizer as a model: ECAPA voice embeddings of sliding windows, clustered.

The clustering itself is plain domain code (:class:`aima.speech.diarization.EmbeddedDiarizer`);
this class gives it a voice encoder model, loads that encoder once on first use, and exposes
``encoder``, whose ``model_id`` and ``dimension`` case speaker linking needs (the voices of every
file of a case must come from the same encoder to be compared).
"""

from __future__ import annotations

from typing import Any

from aima.models.base import Model
from aima.models.voices import EcapaVoiceEncoder
from aima.speech.audio import AudioSource
from aima.speech.diarization import Diarization, EmbeddedDiarizer
from aima.speech.transcript import Transcript

__all__ = ["ClusteringDiarizer"]


class ClusteringDiarizer(Model):
    """A :class:`~aima.speech.diarization.Diarizer`: voice windows (ECAPA by default) + spectral
    clustering with an eigengap speaker count.

    ``options`` are :class:`~aima.speech.diarization.EmbeddedDiarizer`'s (``clustering``, ...).
    """

    kind = "diarizer"

    def __init__(self, encoder: Model | None = None, **options: Any):
        super().__init__()
        self.encoder = encoder or EcapaVoiceEncoder()
        self._clustering = EmbeddedDiarizer(self.encoder, **options)

    @property
    def model_id(self) -> str:
        return self._clustering.model_id

    @property
    def parameters(self) -> dict[str, Any]:
        return self._clustering.parameters

    def _load(self) -> None:
        self.encoder.load()

    def diarize(
        self, audio: AudioSource, transcript: Transcript, *, num_speakers: int | None = None
    ) -> Diarization:
        self.load()
        return self._clustering.diarize(audio, transcript, num_speakers=num_speakers)
