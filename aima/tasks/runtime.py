"""The settings and open stores of this process, shared by the tasks that run in it.

Prefect runs a flow's tasks in threads of one process by default; they share one set of store
clients (each is thread-safe, and a Milvus Lite file can only be opened by one process anyway).
"""

from __future__ import annotations

import threading

from aima.settings import Settings, load_settings
from aima.storage import Stores, open_stores

_lock = threading.Lock()
_stores: Stores | None = None
_speech: dict = {}  # SpeechModels by model settings, loaded on first use, kept for the process


def stores() -> Stores:
    global _stores
    with _lock:
        if _stores is None:
            _stores = open_stores(load_settings())
        return _stores


def settings() -> Settings:
    return stores().settings


def speech_models():
    """The speech models of the settings' profile (loaded once: they take seconds to load)."""
    from aima.models.speech import load_speech_models

    current = settings()
    key = (current.model_profile, current.asr_model, str(current.model_cache_dir))
    with _lock:
        if key not in _speech:
            _speech[key] = load_speech_models(current)
        return _speech[key]


def close() -> None:
    """Close the stores (at the end of a flow run, or between tests)."""
    global _stores
    with _lock:
        if _stores is not None:
            _stores.close()
            _stores = None
