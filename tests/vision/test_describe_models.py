"""The transformers path: tiny random LLaVA-1.5 and LLaVA-1.6 models, real preprocessing,
batched greedy generation constrained to the schema, parsing, and the unparsed path."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from skimage import data

from aima.errors import ConfigError
from aima.models.factory import load_model
from aima.models.vlm.transformers import TransformersVLM
from aima.settings import Settings
from aima.vision.parse import parse_answer
from aima.vision.prompt import question
from aima.vision.schema import FrameAnalysis, analysis_schema
from tests.vision.tiny_vlm import one_torch_thread, tiny_vlm_dir  # noqa: F401

BUDGET = 1024  # the tiny models' constrained answers end within 200-700 tokens


def photos() -> list[Image.Image]:
    """Real photos of three shapes: square, landscape, and a tall crop (LLaVA-1.6 tiles each
    differently)."""
    return [Image.fromarray(data.astronaut()), Image.fromarray(data.coffee()),
            Image.fromarray(data.chelsea()).crop((0, 0, 120, 300))]


@pytest.mark.parametrize("kind", ["llava", "llava_next"])
def test_a_batch_constrained_to_the_schema_parses(kind):
    vlm = load_model("vlm", Settings(vlm_model=str(tiny_vlm_dir(kind)), vlm_batch_size=3,
                                     vlm_max_new_tokens=BUDGET))
    assert isinstance(vlm, TransformersVLM)

    descriptions = vlm.describe(photos(), context="A test case.")

    assert [d.status for d in descriptions] == ["parsed"] * 3
    for description in descriptions:
        assert isinstance(description.analysis, FrameAnalysis)
        assert description.attempts == 1 and description.error is None
        assert FrameAnalysis.model_validate_json(description.raw) == description.analysis


def test_without_the_constraint_the_random_model_writes_no_json():
    vlm = TransformersVLM(str(tiny_vlm_dir("llava_next")), batch_size=2)
    constrained = vlm.complete(photos()[:2], [question()] * 2, schema=analysis_schema(),
                               max_new_tokens=BUDGET)
    free = vlm.complete(photos()[:2], [question()] * 2, schema=None, max_new_tokens=120)

    assert all(c.finished and parse_answer(c.text).ok for c in constrained)
    assert not any(parse_answer(c.text).ok for c in free)


def test_a_frame_whose_answer_does_not_parse_is_unparsed_with_the_raw_answer():
    unconstrained = TransformersVLM(str(tiny_vlm_dir("llava")), structured="off",
                                    max_new_tokens=48)
    cut_short = TransformersVLM(str(tiny_vlm_dir("llava_next")), max_new_tokens=40)

    for vlm in (unconstrained, cut_short):
        (description,) = vlm.describe(photos()[:1])
        assert (description.status, description.analysis, description.attempts) == (
            "unparsed", None, 2)
        assert description.raw and description.error.startswith("first answer: ")
        assert "; repair: " in description.error
    assert "not valid JSON" in description.error  # the constrained answer ran out of tokens


def test_model_id_and_parameters_identify_weights_and_settings(tmp_path):
    vlm = TransformersVLM(str(tiny_vlm_dir("llava")), max_new_tokens=300)
    other = TransformersVLM(str(tiny_vlm_dir("llava_next")))
    assert vlm.model_id.startswith("transformers:llava@") and vlm.model_id != other.model_id
    assert not vlm.loaded  # known without reading a weight
    assert vlm.parameters["max_new_tokens"] == 300
    assert vlm.parameters["structured"] == "json_schema"
    assert TransformersVLM("llava-hf/llava-v1.6-34b-hf").model_id == (
        "transformers:llava-hf/llava-v1.6-34b-hf")

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ConfigError, match="AIMA_VLM_MODEL: .* 'bert' model; expected LLaVA"):
        TransformersVLM(str(tmp_path)).load()


def test_the_factory_picks_endpoint_directory_or_none_by_profile(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not load_model("vlm", Settings()).configured
    assert load_model("vlm", Settings(vlm_model=str(tiny_vlm_dir("llava")))).configured
    endpoint = load_model("vlm", Settings(vlm_endpoint="http://127.0.0.1:9/v1",
                                          vlm_endpoint_model="llava", vlm_api_key="k",
                                          vlm_model=str(tiny_vlm_dir("llava"))))
    assert endpoint.model_id == "endpoint:llava"
    with pytest.raises(ConfigError, match="AIMA_VLM_MODEL: 'org/model' is not a local directory"):
        load_model("vlm", Settings(vlm_model="org/model"))
    with pytest.raises(ConfigError, match="AIMA_VLM_MODEL: the gpu profile loads "
                                          "'llava-hf/llava-v1.6-34b-hf'"):
        load_model("vlm", Settings(model_profile="gpu"))
    gpu = load_model("vlm", Settings(model_profile="gpu", vlm_model=str(tiny_vlm_dir("llava"))))
    assert isinstance(gpu, TransformersVLM) and gpu.quantization == "4bit"
