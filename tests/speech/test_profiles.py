"""Which speech models a model profile loads, offline."""

from __future__ import annotations

import pytest

from aima.errors import ConfigError
from aima.models.asr import FasterWhisperRecognizer
from aima.models.speech import load_speech_models
from aima.models.weights import WHISPER_BASE, assemble_bundled
from aima.settings import Settings


def test_the_embedded_profile_loads_the_bundled_whisper_base(model_cache):
    models = load_speech_models(Settings(model_cache_dir=model_cache))
    assert models.recognizer.model_id == "faster-whisper/whisper-base/int8"
    assert models.encoder.model_id.startswith("resemblyzer-")


def test_the_gpu_profile_offline_needs_a_local_model(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="AIMA_ASR_MODEL: the gpu profile loads 'large-v3'"):
        load_speech_models(Settings(model_profile="gpu"))


def test_the_gpu_profile_without_whisperx_falls_back_to_faster_whisper(model_cache, monkeypatch):
    """whisperx is not installed here (it pins another torch): the gpu profile still works."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    local = assemble_bundled(WHISPER_BASE, model_cache)
    models = load_speech_models(Settings(model_profile="gpu", asr_model=str(local)))
    assert isinstance(models.recognizer, FasterWhisperRecognizer)
    assert models.recognizer.model_id.startswith(f"faster-whisper/{local.name}/")
