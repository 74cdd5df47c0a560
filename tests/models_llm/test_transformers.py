"""The transformers path (the gpu profile's Llama 3.1), on a tiny random Llama chat model:
chat template, greedy generation constrained to the schema by llguidance, token counting."""

from __future__ import annotations

import json

import jsonschema
import pytest

from aima.errors import ConfigError
from aima.models.factory import load_model
from aima.models.llm import PromptTooLong
from aima.models.llm.transformers import TransformersLLM
from aima.settings import Settings
from tests.models_llm.schema import MESSAGES, SUMMARY_SCHEMA
from tests.models_llm.tiny_llm import one_torch_thread, tiny_llm_dir  # noqa: F401


@pytest.fixture(scope="module")
def tiny():
    return TransformersLLM(str(tiny_llm_dir()), context_tokens=1024, max_new_tokens=600)


def test_a_random_model_constrained_to_the_schema_answers_valid_json(tiny):
    reply = tiny.chat_json(MESSAGES, SUMMARY_SCHEMA, max_tokens=600)

    answer = json.loads(reply)
    jsonschema.validate(answer, SUMMARY_SCHEMA)
    assert tiny.chat_json(MESSAGES, SUMMARY_SCHEMA, max_tokens=600) == reply  # greedy


def test_without_the_constraint_the_random_model_writes_no_json():
    free = TransformersLLM(str(tiny_llm_dir()), structured="off", max_new_tokens=40)

    reply = free.chat_json(MESSAGES, SUMMARY_SCHEMA)

    assert isinstance(reply, str) and reply
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply)


def test_counting_tokens_uses_the_tokenizer_and_loads_no_weights():
    model = TransformersLLM(str(tiny_llm_dir()))
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_llm_dir()))
    text = MESSAGES[1]["content"]

    assert model.count_tokens(text) == len(tokenizer(text, add_special_tokens=False).input_ids)
    assert not model.loaded


def test_a_prompt_longer_than_the_context_is_refused():
    small = TransformersLLM(str(tiny_llm_dir()), context_tokens=512)
    long = [{"role": "user", "content": "Alice opens the door. " * 200}]

    with pytest.raises(PromptTooLong) as refused:
        small.chat_json(long, SUMMARY_SCHEMA)
    assert refused.value.prompt_tokens > 512 == refused.value.context_tokens


@pytest.mark.parametrize("profile", ["embedded", "gpu"])
def test_a_local_model_directory_is_run_by_transformers_in_both_profiles(profile):
    model = load_model("llm", Settings(model_profile=profile, llm_model=str(tiny_llm_dir()),
                                       llm_max_new_tokens=300, llm_context_tokens=2048))

    assert isinstance(model, TransformersLLM) and not model.loaded
    assert model.parameters == {"max_new_tokens": 300, "structured": "json_schema",
                                "context_tokens": 2048, "temperature": 0, "seed": 0,
                                "quantization": "4bit", "decoding": "greedy"}
    assert model.model_id.startswith("transformers:tiny-llama@")


def test_a_model_without_a_chat_template_is_a_setting_to_fix(tmp_path):
    import shutil

    base = tmp_path / "base-model"
    shutil.copytree(tiny_llm_dir(), base)
    (base / "chat_template.jinja").unlink()
    config = json.loads((base / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (base / "tokenizer_config.json").write_text(json.dumps(config))

    with pytest.raises(ConfigError, match="chat template") as refused:
        TransformersLLM(str(base)).chat_json(MESSAGES, SUMMARY_SCHEMA)
    assert refused.value.setting == "AIMA_LLM_MODEL"
