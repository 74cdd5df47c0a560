"""Which model the factory builds for each kind and model profile, offline."""

from __future__ import annotations

import logging

import pytest

from aima.errors import ConfigError
from aima.models.asr import FasterWhisperRecognizer, SpeechRecognizer
from aima.models.base import Model
from aima.models.faces import FaceModel
from aima.models.factory import MODEL_KINDS, UnknownModelKind, load_model
from aima.models.weights import WHISPER_BASE, assemble_bundled
from aima.settings import Settings
from aima.speech.diarization import Diarizer
from aima.speech.voices import VoiceEncoder

KINDS = ("asr", "voices", "diarizer", "faces")
PROFILES = ("embedded", "gpu")


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def settings_for(model_cache):
    """Settings of a profile that work offline: the gpu profile gets a local model directory."""

    def make(profile: str) -> Settings:
        if profile == "gpu":
            local = assemble_bundled(WHISPER_BASE, model_cache)
            return Settings(model_profile="gpu", asr_model=str(local), model_cache_dir=model_cache)
        return Settings(model_cache_dir=model_cache)

    return make


def test_the_kinds_are_listed_with_what_they_do():
    assert set(KINDS) <= set(MODEL_KINDS)  # the speech kinds; other stages add their own
    assert all(description.strip() for description in MODEL_KINDS.values())


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_and_profile_gives_a_model_that_loads_on_first_use(
    kind, profile, settings_for, offline
):
    model = load_model(kind, settings_for(profile))

    assert isinstance(model, Model)
    assert model.kind == kind
    assert model.model_id and isinstance(model.parameters, dict)
    assert not model.loaded  # building a model reads no weights
    protocol = {"asr": SpeechRecognizer, "voices": VoiceEncoder, "diarizer": Diarizer,
                "faces": FaceModel}[kind]
    assert isinstance(model, protocol)


def test_the_embedded_profile_loads_the_bundled_whisper_base(settings_for):
    recognizer = load_model("asr", settings_for("embedded"))
    assert recognizer.model_id == "faster-whisper/whisper-base/int8"
    assert recognizer.parameters == {"beam_size": 5, "vad": "silero", "window_s": 600.0}


def test_the_diarizer_exposes_its_voice_encoder(settings_for):
    diarizer = load_model("diarizer", settings_for("embedded"))
    voices = load_model("voices", settings_for("embedded"))

    assert diarizer.encoder.model_id == voices.model_id == "ecapa-voxceleb-0575cb64"
    assert diarizer.encoder.dimension == 192
    assert diarizer.model_id == "embedded-diarization/ecapa-voxceleb-0575cb64/spectral-m0.6-w1.5"


def test_the_gpu_profile_offline_needs_a_local_model(offline):
    with pytest.raises(ConfigError, match="AIMA_ASR_MODEL: the gpu profile loads 'large-v3'"):
        load_model("asr", Settings(model_profile="gpu"))
    with pytest.raises(ConfigError, match="AIMA_ASR_MODEL: the gpu profile loads 'org/model'"):
        load_model("asr", Settings(model_profile="gpu", asr_model="org/model"), hf_token="hf_x")


def test_the_gpu_profile_without_whisperx_falls_back_to_faster_whisper(
    settings_for, offline, caplog
):
    """whisperx is not installed here (it pins another torch): the gpu profile still works."""
    settings = settings_for("gpu")
    with caplog.at_level(logging.WARNING, logger="aima.models.factory"):
        recognizer = load_model("asr", settings, hf_token="hf_token")

    assert isinstance(recognizer, FasterWhisperRecognizer)
    assert recognizer.model_id.startswith(f"faster-whisper/{WHISPER_BASE.name}/")
    assert "whisperx unavailable" in caplog.text


def test_an_unknown_kind_is_a_clear_error(settings_for):
    with pytest.raises(UnknownModelKind, match="unknown model kind 'sonar'; known kinds: asr, "):
        load_model("sonar", settings_for("embedded"))
    assert issubclass(UnknownModelKind, ValueError)


def test_weights_load_once_on_first_use(settings_for):
    from tests.speech import speechgen

    encoder = load_model("voices", settings_for("embedded"))
    first = encoder.embed(speechgen.speak("One two three."))
    assert encoder.loaded
    loaded_network = encoder._network
    encoder.load()
    assert encoder._network is loaded_network
    assert first.shape == (192,)

