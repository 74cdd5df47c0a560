"""The one base class of every model AIMA runs, after Immich's ``InferenceModel``.

A :class:`Model` knows who it is without loading anything: ``model_id`` (model and weights) and
``parameters`` (the settings that change its output) make up the key under which its results are
stored, so a stage can tell whether its output already exists before a single weight is read.
:meth:`Model.load` reads the weights once, on first use (each kind's call starts with it) or
when called; concurrent callers wait for the one load. Subclasses implement :meth:`Model._load`
and their kind's call: ``transcribe`` (asr), ``embed``/``embed_segments`` (voices), ``diarize``
(diarizer). Models are built by :func:`aima.models.factory.load_model`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Any, ClassVar


class Model(ABC):
    """A model of one kind (``asr``, ``voices``, ``diarizer``, ...) whose weights load lazily."""

    kind: ClassVar[str]
    """The factory's name for what the model does; see :data:`aima.models.factory.MODEL_KINDS`."""

    def __init__(self) -> None:
        self._load_lock = threading.Lock()
        self._loaded = False

    @property
    @abstractmethod
    def model_id(self) -> str:
        """Identifies model and weights; part of the key under which results are stored."""

    @property
    def parameters(self) -> dict[str, Any]:
        """The settings that change the output; the rest of the storage key."""
        return {}

    @property
    def loaded(self) -> bool:
        return self._loaded

    def load(self) -> None:
        """Read the weights, once: later calls (from any thread) return at once."""
        if self._loaded:
            return
        with self._load_lock:
            if not self._loaded:
                self._load()
                self._loaded = True

    @abstractmethod
    def _load(self) -> None:
        """Read the weights and build what the kind's call runs on."""

    def __repr__(self) -> str:
        state = "loaded" if self._loaded else "not loaded"
        return f"<{type(self).__name__} {self.model_id} ({state})>"
