"""The endpoint path against a real local OpenAI-compatible server running a tiny LLaVA-1.6:
wire format, structured output, the key, refusals, transient failures, timeouts, secrecy."""

from __future__ import annotations

import base64
import io
import logging

import pytest
from PIL import Image
from pydantic import SecretStr
from skimage import data

from aima.errors import ConfigError
from aima.models.vlm.endpoint import EndpointUnavailable, EndpointVLM
from aima.models.vlm.transformers import TransformersVLM
from aima.tasks.retry import is_transient
from aima.vision.schema import analysis_schema
from tests.vision.tiny_vlm import one_torch_thread, tiny_vlm_dir  # noqa: F401
from tests.vision.vlm_server import VLMServer

KEY = "sk-test-7f3c9a1e5b2d"
BUDGET = 1024  # the tiny models' constrained answers end within 200-700 tokens


@pytest.fixture(scope="module")
def server():
    served = VLMServer(TransformersVLM(str(tiny_vlm_dir("llava_next"))), api_key=KEY).start()
    yield served
    served.stop()


@pytest.fixture
def fresh(server):
    server.requests.clear()
    server.fail_next.clear()
    server.delay_s = 0.0
    return server


def endpoint(server, **options) -> EndpointVLM:
    options = {"api_key": SecretStr(KEY), "max_new_tokens": BUDGET, "backoff_s": 0.01, **options}
    return EndpointVLM(server.url, server.model_name, **options)


def photo() -> Image.Image:
    return Image.fromarray(data.astronaut())  # 512 x 512


def test_a_picture_and_the_question_go_out_in_the_openai_wire_format(fresh):
    big = photo().resize((2000, 1500))

    (description,) = endpoint(fresh).describe([big], context="Case: kidnapping in Leeds.")

    assert description.status == "parsed"  # the server constrained the model to the schema
    (request,) = fresh.requests
    body, headers = request["body"], request["headers"]
    assert headers["authorization"] == f"Bearer {KEY}"
    assert body["model"] == "tiny-llava" and body["temperature"] == 0
    assert body["max_tokens"] == BUDGET
    assert body["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "frame_analysis", "schema": analysis_schema(), "strict": True}}
    (message,) = body["messages"]
    text, image = message["content"]
    assert message["role"] == "user" and text["type"] == "text"
    assert text["text"].endswith("Case: kidnapping in Leeds.")
    url = image["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    sent = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert (sent.format, sent.size) == ("JPEG", (1344, 1008))  # longest side cut to 1344


def test_guided_json_for_vllm_and_no_constraint_when_off(fresh):
    (guided,) = endpoint(fresh, structured="guided_json").describe([photo()])
    assert guided.status == "parsed"
    assert fresh.requests[0]["body"]["guided_json"] == analysis_schema()
    assert "response_format" not in fresh.requests[0]["body"]

    fresh.requests.clear()
    (free,) = endpoint(fresh, structured="off", max_new_tokens=60).describe([photo()])

    assert (free.status, free.analysis, free.attempts) == ("unparsed", None, 2)
    assert free.raw  # the model's own words, kept
    first, repair = (r["body"] for r in fresh.requests)
    assert "guided_json" not in first and "response_format" not in first
    assert "could not be used" in repair["messages"][0]["content"][0]["text"]


def test_frames_go_out_concurrently_and_come_back_in_order(fresh):
    pictures = [photo(), Image.fromarray(data.coffee()), Image.fromarray(data.chelsea())]

    descriptions = endpoint(fresh, concurrency=3).describe(pictures)

    assert [d.status for d in descriptions] == ["parsed"] * 3
    sizes = sorted(Image.open(io.BytesIO(base64.b64decode(
        r["body"]["messages"][0]["content"][1]["image_url"]["url"].split(",", 1)[1]))).size
        for r in fresh.requests)
    assert sizes == sorted(p.size for p in pictures)


def test_transient_failures_are_retried_then_given_up_as_transient(fresh):
    fresh.fail_next[:] = [503, 502]
    (description,) = endpoint(fresh, retries=2).describe([photo()])
    assert description.status == "parsed" and len(fresh.requests) == 3

    fresh.requests.clear()
    fresh.fail_next[:] = [503] * 10
    with pytest.raises(EndpointUnavailable, match="failed 3 times; last: HTTP 503") as failed:
        endpoint(fresh, retries=2).describe([photo()])
    assert len(fresh.requests) == 3
    assert is_transient(failed.value)  # the Prefect task retries it later


def test_a_server_too_slow_or_gone_is_unavailable(fresh):
    fresh.delay_s = 1.0
    with pytest.raises(EndpointUnavailable, match="last: ReadTimeout"):
        endpoint(fresh, timeout_s=0.2, retries=1).describe([photo()])
    assert len(fresh.requests) == 2

    gone = EndpointVLM("http://127.0.0.1:9/v1", "tiny-llava", retries=1, backoff_s=0.01)
    with pytest.raises(EndpointUnavailable, match="127.0.0.1:9 failed 2 times; last: ConnectError"):
        gone.describe([photo()])


def test_refusals_name_the_setting_to_fix_and_never_the_key(fresh, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigError, match=r"AIMA_VLM_API_KEY: .* refused the request \(HTTP 401"):
        endpoint(fresh, api_key=SecretStr("sk-wrong-key")).describe([photo()])
    with pytest.raises(ConfigError, match="AIMA_VLM_API_KEY: .*HTTP 401"):
        endpoint(fresh, api_key=None).describe([photo()])
    assert "authorization" not in fresh.requests[-1]["headers"]
    with pytest.raises(ConfigError, match="AIMA_VLM_ENDPOINT: HTTP 404 .* does not exist"):
        EndpointVLM(fresh.url, "no-such-model", api_key=SecretStr(KEY)).describe([photo()])
    fresh.fail_next[:] = [503] * 3
    with pytest.raises(EndpointUnavailable) as failed:
        endpoint(fresh, retries=2).describe([photo()])
    assert len(fresh.requests) == 6  # refusals are not retried

    model = endpoint(fresh)
    assert KEY not in caplog.text + repr(model) + model.model_id + str(model.parameters)
    assert KEY not in str(failed.value) and "sk-wrong-key" not in caplog.text
