"""The endpoint path against a real llama.cpp server (llama.cpp's own HTTP server, run by
xllamacpp on loopback with the packaged SmolLM2-135M): structured output, the key, refusals,
prompts too long, transient failures (a proxy in front of the real server fails on purpose),
timeouts, secrecy."""

from __future__ import annotations

import json
import logging
import math
import socket

import jsonschema
import pytest
from pydantic import SecretStr

from aima.errors import ConfigError
from aima.models.llm import PromptTooLong
from aima.models.llm.endpoint import EndpointLLM
from aima.models.vlm.endpoint import EndpointUnavailable
from aima.tasks.retry import is_transient
from tests.models_llm.llama_server import MODEL_ALIAS, FlakyProxy, start_llama_server
from tests.models_llm.schema import MESSAGES, SUMMARY_SCHEMA

KEY = "sk-test-4b8e1f0c9d2a"


@pytest.fixture(scope="module")
def llama():
    server = start_llama_server(KEY)
    yield server
    del server


@pytest.fixture(scope="module")
def proxy(llama):
    served = FlakyProxy(llama.listening_address).start()
    yield served
    served.stop()


@pytest.fixture
def fresh(proxy):
    proxy.requests.clear()
    proxy.fail_next.clear()
    return proxy


def endpoint(url: str, **options) -> EndpointLLM:
    options = {"api_key": SecretStr(KEY), "backoff_s": 0.01, "max_new_tokens": 256, **options}
    return EndpointLLM(url, MODEL_ALIAS, **options)


def test_the_real_server_answers_json_that_follows_the_schema(llama):
    reply = endpoint(llama.listening_address + "/v1").chat_json(MESSAGES, SUMMARY_SCHEMA)

    jsonschema.validate(json.loads(reply), SUMMARY_SCHEMA)


def test_the_request_goes_out_in_the_openai_wire_format(fresh):
    model = endpoint(fresh.url, max_new_tokens=100)

    model.chat_json(MESSAGES, SUMMARY_SCHEMA, max_tokens=500)

    (request,) = fresh.requests
    body, headers = json.loads(request["body"]), request["headers"]
    assert request["path"] == "/v1/chat/completions"
    assert headers["authorization"] == f"Bearer {KEY}"
    assert body == {"model": MODEL_ALIAS, "messages": MESSAGES, "temperature": 0, "seed": 0,
                    "max_tokens": 100,  # the caller's 500, capped by AIMA_LLM_MAX_NEW_TOKENS
                    "response_format": {"type": "json_schema", "json_schema": {
                        "name": "case_summary", "schema": SUMMARY_SCHEMA, "strict": True}}}


def test_guided_json_for_vllm_and_nothing_when_off():
    guided = endpoint("http://127.0.0.1:9/v1", structured="guided_json")
    off = endpoint("http://127.0.0.1:9/v1", structured="off")

    assert guided.request_body(MESSAGES, SUMMARY_SCHEMA)["guided_json"] == SUMMARY_SCHEMA
    assert "response_format" not in guided.request_body(MESSAGES, SUMMARY_SCHEMA)
    body = off.request_body(MESSAGES, SUMMARY_SCHEMA)
    assert "response_format" not in body and "guided_json" not in body


def test_a_wrong_key_names_the_key_setting_and_never_shows_a_key(llama, caplog):
    wrong = "sk-wrong-0000"
    model = EndpointLLM(llama.listening_address + "/v1", MODEL_ALIAS, api_key=SecretStr(wrong))

    with caplog.at_level(logging.DEBUG), pytest.raises(ConfigError) as refused:
        model.chat_json(MESSAGES, SUMMARY_SCHEMA)

    assert refused.value.setting == "AIMA_LLM_API_KEY" and "401" in str(refused.value)
    assert wrong not in str(refused.value) + caplog.text + repr(model) + model.model_id
    assert wrong not in json.dumps(model.parameters)


def test_a_wrong_base_url_names_the_endpoint_setting(llama):
    with pytest.raises(ConfigError) as refused:
        endpoint(llama.listening_address + "/v2").chat_json(MESSAGES, SUMMARY_SCHEMA)
    assert refused.value.setting == "AIMA_LLM_ENDPOINT" and "404" in str(refused.value)


def test_a_prompt_longer_than_the_servers_context_is_refused(llama):
    long = [{"role": "user", "content": "Alice opens the door. " * 600}]

    with pytest.raises(PromptTooLong) as refused:
        endpoint(llama.listening_address + "/v1").chat_json(long, SUMMARY_SCHEMA)
    assert refused.value.context_tokens == 2048 < refused.value.prompt_tokens


def test_a_server_that_is_restarting_is_waited_for(fresh, caplog):
    fresh.fail_next += [(503, "0"), (502, None)]

    with caplog.at_level(logging.WARNING):
        reply = endpoint(fresh.url).chat_json(MESSAGES, SUMMARY_SCHEMA)

    jsonschema.validate(json.loads(reply), SUMMARY_SCHEMA)
    assert len(fresh.requests) == 3
    assert "HTTP 503 (attempt 1 of 4)" in caplog.text


def test_a_server_that_keeps_failing_is_a_transient_error(fresh):
    fresh.fail_next += [(503, None)] * 3

    with pytest.raises(EndpointUnavailable) as failed:
        endpoint(fresh.url, retries=2).chat_json(MESSAGES, SUMMARY_SCHEMA)

    assert is_transient(failed.value) and "HTTP 503" in str(failed.value)
    assert len(fresh.requests) == 3


def test_nothing_listening_and_a_slow_answer_are_transient_errors(llama):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    with pytest.raises(EndpointUnavailable) as refused:
        endpoint(closed, retries=1).chat_json(MESSAGES, SUMMARY_SCHEMA)
    assert "ConnectError" in str(refused.value) and is_transient(refused.value)

    slow = endpoint(llama.listening_address + "/v1", timeout_s=0.01, retries=1)
    with pytest.raises(EndpointUnavailable, match="ReadTimeout"):
        slow.chat_json(MESSAGES, SUMMARY_SCHEMA)


def test_tokens_are_counted_by_the_servers_tokenizer_where_it_has_one(llama, fresh):
    from aima.models.llm.llamacpp import LlamaCppLLM

    texts = [message["content"] for message in MESSAGES] + [json.dumps(SUMMARY_SCHEMA)]
    exact = LlamaCppLLM.packaged(context_tokens=512, threads=1)
    try:
        counts = [exact.count_tokens(text) for text in texts]
    finally:
        exact.close()
    llama_cpp = endpoint(llama.listening_address + "/v1")  # llama.cpp serves /tokenize
    no_tokenizer = endpoint(fresh.url)  # the proxy serves only /v1/chat/completions

    assert [llama_cpp.count_tokens(text) for text in texts] == counts
    assert [no_tokenizer.count_tokens(text) for text in texts] == [
        math.ceil(len(text) / 3) for text in texts]
    assert [r["path"] for r in fresh.requests] == []  # /tokenize got a 404 from the router
