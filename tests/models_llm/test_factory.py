"""Which language model the factory builds for each profile and setting, and the "none" model."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from aima.errors import ConfigError
from aima.models.factory import MODEL_KINDS, load_model
from aima.models.llm import LLM, NO_LLM_REASON, NoLLM
from aima.models.llm.endpoint import EndpointLLM
from aima.models.llm.llamacpp import LlamaCppLLM
from aima.models.weights import packaged_gguf
from aima.settings import Settings, load_settings
from tests.models_llm.schema import MESSAGES, SUMMARY_SCHEMA

PROFILES = ("embedded", "gpu")


def test_the_llm_kind_is_listed():
    assert "language model" in MODEL_KINDS["llm"]


def test_the_embedded_default_is_the_packaged_gguf_not_yet_loaded():
    model = load_model("llm", Settings())

    assert isinstance(model, LlamaCppLLM) and not model.loaded
    assert model.available and model.kind == "llm"
    assert model.gguf == packaged_gguf()
    assert model.context_tokens == 8192 and model.max_new_tokens == 2048
    assert model.model_id.startswith("gguf:SmolLM2-135M-Instruct.Q4_1@")


@pytest.mark.parametrize("profile", PROFILES)
def test_disabled_means_no_model_in_both_profiles(profile):
    model = load_model("llm", Settings(model_profile=profile, llm_enabled=False,
                                       llm_endpoint="http://127.0.0.1:8000/v1",
                                       llm_endpoint_model="m"))

    assert isinstance(model, NoLLM) and isinstance(model, LLM)
    assert model.available is False and model.model_id == "none"
    with pytest.raises(RuntimeError, match="no language model"):
        model.chat_json(MESSAGES, SUMMARY_SCHEMA)
    assert model.reason == NO_LLM_REASON
    assert model.count_tokens("twelve chars") == 4  # an estimate: nothing to ask


@pytest.mark.parametrize("profile", PROFILES)
def test_an_endpoint_wins_in_both_profiles(profile):
    model = load_model("llm", Settings(
        model_profile=profile, llm_endpoint="http://127.0.0.1:8000/v1/",
        llm_endpoint_model="meta-llama/Llama-3.1-70B-Instruct", llm_api_key="sk-secret-1",
        llm_structured_output="guided_json", llm_context_tokens=32768, llm_max_new_tokens=4096,
        llm_model="/nowhere/model.gguf", llm_retries=5, llm_timeout_s=900))

    assert isinstance(model, EndpointLLM)
    assert model.base_url == "http://127.0.0.1:8000/v1" and model.retries == 5
    assert model.timeout.read == 900
    assert model.model_id == "endpoint:meta-llama/Llama-3.1-70B-Instruct"
    assert model.parameters == {"max_new_tokens": 4096, "structured": "guided_json",
                                "context_tokens": 32768, "temperature": 0, "seed": 0}
    assert model._api_key == SecretStr("sk-secret-1")
    assert "sk-secret-1" not in repr(model) + model.model_id + str(model.parameters)


@pytest.mark.parametrize("profile", PROFILES)
def test_a_gguf_file_is_run_by_llama_cpp_in_both_profiles(profile, tmp_path):
    gguf = tmp_path / "small.gguf"
    gguf.symlink_to(packaged_gguf())

    model = load_model("llm", Settings(model_profile=profile, llm_model=str(gguf),
                                       llm_threads=1, llm_context_tokens=1024))

    assert isinstance(model, LlamaCppLLM) and model.gguf == gguf
    assert model.threads == 1 and model.context_tokens == 1024
    assert model.model_id.startswith("gguf:small@")


@pytest.mark.parametrize("profile", PROFILES)
def test_a_missing_gguf_file_names_the_setting(profile, tmp_path):
    with pytest.raises(ConfigError) as refused:
        load_model("llm", Settings(model_profile=profile, llm_model=str(tmp_path / "x.gguf")))
    assert refused.value.setting == "AIMA_LLM_MODEL" and "does not exist" in str(refused.value)


def test_the_embedded_profile_loads_no_hub_model():
    with pytest.raises(ConfigError) as refused:
        load_model("llm", Settings(llm_model="meta-llama/Llama-3.1-8B-Instruct"))
    assert refused.value.setting == "AIMA_LLM_MODEL"
    assert ".gguf" in str(refused.value) and "AIMA_LLM_ENDPOINT" in str(refused.value)


def test_the_gpu_default_is_llama_3_1_by_hub_id_which_needs_the_hub(monkeypatch):
    from aima.models.llm.transformers import GPU_LLM_MODEL, TransformersLLM

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError) as refused:
        load_model("llm", Settings(model_profile="gpu"))
    assert refused.value.setting == "AIMA_LLM_MODEL" and GPU_LLM_MODEL in str(refused.value)

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # a rented GPU worker: online
    model = load_model("llm", Settings(model_profile="gpu"), hf_token="hf_token_x")
    assert isinstance(model, TransformersLLM) and not model.loaded
    assert model.model == "meta-llama/Llama-3.1-8B-Instruct"
    assert model.model_id == "transformers:meta-llama/Llama-3.1-8B-Instruct"
    assert model.context_tokens == 8192 and model.quantization == "4bit"


def test_an_endpoint_needs_a_model_name_and_a_url():
    with pytest.raises(ConfigError) as refused:
        load_settings(llm_endpoint="http://127.0.0.1:8000/v1")
    assert refused.value.setting == "AIMA_LLM_ENDPOINT_MODEL"
    with pytest.raises(ConfigError) as refused:
        load_settings(llm_endpoint="127.0.0.1:8000", llm_endpoint_model="m")
    assert refused.value.setting == "AIMA_LLM_ENDPOINT"


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("AIMA_LLM_ENABLED", "false")
    monkeypatch.setenv("AIMA_LLM_THREADS", "3")
    monkeypatch.setenv("AIMA_LLM_API_KEY", "sk-env")

    settings = load_settings()

    assert settings.llm_enabled is False and settings.llm_threads == 3
    assert "sk-env" not in repr(settings)
