"""The settings, open stores and loaded models of this process, shared by its task runs.

Prefect runs a flow's tasks in threads of one process by default; they share one set of store
clients (each is thread-safe, and a Milvus Lite file can only be opened by one process anyway) and
one instance of each model (they take seconds to load). Secrets a model needs (the Hugging Face
token) are resolved here, where the settings are read, and handed to the model factory.
"""

from __future__ import annotations

import threading
from typing import Any

from aima.settings import Settings, load_settings
from aima.storage import Stores, open_stores

_lock = threading.Lock()
_stores: Stores | None = None
_overrides: dict[str, Any] = {}  # settings a flow run's parameters change (model_profile)
_models: dict[tuple, Any] = {}  # by (kind, model settings), kept for the process


def configure(**overrides: Any) -> None:
    """Settings this process's flow run sets over the environment's (``None`` values: keep).

    Stores opened with other overrides are closed, to be opened again with these.
    """
    global _overrides
    wanted = {name: value for name, value in overrides.items() if value is not None}
    if wanted != _overrides:
        close()
        with _lock:
            _overrides = wanted


def overrides() -> dict[str, Any]:
    """The settings :func:`configure` set for this process."""
    return dict(_overrides)


def stores() -> Stores:
    global _stores
    with _lock:
        if _stores is None:
            _stores = open_stores(load_settings(**_overrides))
        return _stores


def settings() -> Settings:
    return stores().settings


def model(kind: str) -> Any:
    """The model of ``kind`` for the settings' profile, loaded once per process."""
    from aima.blocks.secrets import hf_token
    from aima.models.factory import load_model

    current = settings()
    key = (kind, current.model_profile, current.asr_model, str(current.model_cache_dir),
           current.vlm_model, current.vlm_endpoint, current.vlm_endpoint_model,
           current.vlm_structured_output)
    with _lock:
        if key not in _models:
            token = hf_token(current) if current.model_profile == "gpu" else None
            _models[key] = load_model(kind, current, hf_token=token)
        return _models[key]


def close() -> None:
    """Close the stores (at the end of a flow run, or between tests)."""
    global _stores
    with _lock:
        if _stores is not None:
            _stores.close()
            _stores = None
