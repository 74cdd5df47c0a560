"""A language model behind an OpenAI-compatible chat endpoint (vLLM, llama.cpp server, Ollama).

``POST {base_url}/chat/completions`` with the caller's messages, ``temperature`` 0, a fixed
``seed`` and ``max_tokens``. The base URL is the API root including its version, e.g.
``http://127.0.0.1:8000/v1`` (vLLM), ``http://127.0.0.1:8080/v1`` (llama.cpp server) or
``http://127.0.0.1:11434/v1`` (Ollama).

Structured output (``structured``), as for the describe stage's endpoint
(:mod:`aima.models.vlm.endpoint`): ``json_schema`` sends OpenAI's ``response_format: {"type":
"json_schema", ...}``; ``guided_json`` sends vLLM's own field; ``off`` sends neither.

Requests, retries and refusals are the describe stage's
(:class:`aima.models.openai_chat.ChatEndpoint`): transient trouble is retried, then raised as
:class:`~aima.models.openai_chat.EndpointUnavailable` (transient); a refusal is a
:class:`~aima.errors.ConfigError` naming the ``AIMA_LLM_*`` setting to fix, except a prompt
longer than the server's context, which is :class:`~aima.models.llm.PromptTooLong`.

The OpenAI API has no tokenizer; :meth:`EndpointLLM.count_tokens` asks the server's own
``/tokenize`` beside the API root (llama.cpp server and vLLM have one: the count is exact) and,
where there is none (Ollama, OpenAI), estimates (:func:`~aima.models.llm.estimate_tokens`).
The API key is a ``SecretStr`` until the request header is built; it appears in no log line,
error message, model id or parameter.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
from pydantic import SecretStr

from aima.models.llm import (
    DEFAULT_CONTEXT_TOKENS,
    LLM,
    SEED,
    PromptTooLong,
    Structured,
    estimate_tokens,
    schema_name,
)
from aima.models.openai_chat import ChatEndpoint, structured_output

logger = logging.getLogger(__name__)

# llama.cpp: "request (5031 tokens) exceeds the available context size (4096 tokens)";
# vLLM: "... maximum context length is 8192 tokens. However, you requested 9000 tokens ..."
_CONTEXT_ERROR = re.compile(r"exceed_context_size|context length|context size", re.IGNORECASE)


class EndpointLLM(ChatEndpoint, LLM):
    """An OpenAI-compatible chat completions endpoint."""

    what = "language-model"
    settings = "AIMA_LLM"

    def __init__(self, base_url: str, model: str, *, api_key: SecretStr | None = None,
                 context_tokens: int = DEFAULT_CONTEXT_TOKENS, timeout_s: float = 600.0,
                 connect_timeout_s: float = 5.0, retries: int = 3, backoff_s: float = 1.0,
                 max_new_tokens: int = 2048, structured: Structured = "json_schema") -> None:
        super().__init__(context_tokens=context_tokens, max_new_tokens=max_new_tokens,
                         structured=structured)
        self._connect_to(base_url, model, api_key=api_key, timeout_s=timeout_s,
                         connect_timeout_s=connect_timeout_s, retries=retries,
                         backoff_s=backoff_s)
        self._tokenize: bool | None = None  # whether the server has /tokenize; None: not known

    # --- calls ------------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """Exact where the server has a ``/tokenize`` (llama.cpp, vLLM), else an estimate."""
        if self._tokenize is not False:
            self.load()
            try:
                response = self._client.post(self._tokenize_url, headers=self._headers(), json={
                    "model": self.model, "content": text, "prompt": text,  # llama.cpp, vLLM
                    "add_special": False, "add_special_tokens": False})
                if response.status_code < 400:
                    answer = response.json()
                    count = answer.get("count")
                    self._tokenize = True
                    return int(count) if count is not None else len(answer["tokens"])
                if response.status_code in (400, 404, 405, 422, 501) and not self._tokenize:
                    logger.info("%s has no /tokenize (HTTP %d): token counts are estimates",
                                self.host, response.status_code)
                    self._tokenize = False
            except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError):
                pass  # this time an estimate; the server is asked again next time
        return estimate_tokens(text)

    @property
    def _tokenize_url(self) -> str:
        return re.sub(r"/v\d+$", "", self.base_url) + "/tokenize"

    def request_body(self, messages: list[dict[str, str]], schema: dict,
                     max_tokens: int = 1024) -> dict[str, Any]:
        """The JSON body of one chat completion request."""
        return {"model": self.model, "messages": messages, "temperature": 0, "seed": SEED,
                "max_tokens": self.budget(max_tokens),
                **structured_output(self.structured, schema_name(schema), schema)}

    def chat_json(self, messages: list[dict[str, str]], schema: dict, *,
                  max_tokens: int = 1024) -> str:
        self.load()
        return self._complete(self.request_body(messages, schema, max_tokens))

    def _refusal(self, response: httpx.Response) -> Exception:
        status, said = response.status_code, self._said(response)
        if status in (400, 413) and _CONTEXT_ERROR.search(said):
            return PromptTooLong(_number(response, "n_prompt_tokens"),
                                 _number(response, "n_ctx") or self.context_tokens)
        return super()._refusal(response)


def _number(response: httpx.Response, field: str) -> int:
    """A number from a llama.cpp error body (``{"error": {"n_ctx": ...}}``), else 0."""
    try:
        return int(response.json()["error"][field])
    except (ValueError, KeyError, TypeError):
        return 0
