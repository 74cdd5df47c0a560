"""The client side of an OpenAI-compatible chat completions endpoint (vLLM, llama.cpp, Ollama).

:class:`ChatEndpoint` is what the describe stage's :class:`~aima.models.vlm.endpoint.EndpointVLM`
and the fusion stage's :class:`~aima.models.llm.endpoint.EndpointLLM` share: the base URL (the
API root including its version, e.g. ``http://127.0.0.1:8000/v1``), the key, one
``POST {base_url}/chat/completions`` with retries, and the reading of its answer. Each model says
what it is in messages (:attr:`ChatEndpoint.what`) and which settings configure it
(:attr:`ChatEndpoint.settings`: ``AIMA_VLM`` or ``AIMA_LLM``), so a refusal names the setting
to fix.

Transient trouble (connection refused or reset, a timeout, HTTP 408, 429, 500, 502, 503, 504) is
retried ``retries`` times with exponential backoff (or the server's ``Retry-After``, capped at
:data:`MAX_RETRY_AFTER_S`), then raised as :class:`EndpointUnavailable`, a ``ConnectionError``
that the Prefect task retries later. A refusal (401, 403: the key; 404: the URL or model name;
400: the request) is a :class:`~aima.errors.ConfigError` naming the setting to fix.

Structured output (:func:`structured_output`): ``json_schema`` sends OpenAI's
``response_format: {"type": "json_schema", ...}`` (vLLM, llama.cpp server, Ollama and OpenAI
itself accept it); ``guided_json`` sends vLLM's own ``guided_json`` field instead; ``off`` sends
neither.

The API key is a ``SecretStr`` until the moment a request header is built; it appears in no log
line, error message, model id or parameter.
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from aima.errors import ConfigError

TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 30.0


class EndpointUnavailable(ConnectionError):
    """The endpoint could not be reached, or kept failing, after every retry (transient)."""


def structured_output(structured: str, name: str, schema: dict) -> dict[str, Any]:
    """The request fields that constrain the reply to ``schema`` (none for ``"off"``)."""
    if structured == "json_schema":
        return {"response_format": {"type": "json_schema", "json_schema": {
            "name": name, "schema": schema, "strict": True}}}
    if structured == "guided_json":
        return {"guided_json": schema}
    return {}


class ChatEndpoint:
    """What a :class:`~aima.models.base.Model` behind a chat completions endpoint shares.

    A mixin placed before the model's kind in the bases (``class EndpointLLM(ChatEndpoint,
    LLM)``); the model's ``__init__`` calls :meth:`_connect_to` after its kind's ``__init__``.
    It supplies ``model_id``, ``_load`` and ``close`` and uses ``structured`` and the base
    class's ``_load_lock``.
    """

    what: ClassVar[str]
    """What the model is, for messages: ``"vision-language"``, ``"language-model"``."""
    settings: ClassVar[str]
    """The prefix of the settings that configure it: ``"AIMA_VLM"``, ``"AIMA_LLM"``."""

    structured: str
    _load_lock: Any
    _loaded: bool

    def _connect_to(self, base_url: str, model: str, *, api_key: SecretStr | None,
                    timeout_s: float, connect_timeout_s: float, retries: int,
                    backoff_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key
        self.timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        self.retries = retries
        self.backoff_s = backoff_s
        self._client: httpx.Client | None = None

    @property
    def model_id(self) -> str:
        return f"endpoint:{self.model}"

    @property
    def host(self) -> str:
        """The endpoint's host and port, for messages (never its user info or path)."""
        parts = urlsplit(self.base_url)
        return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)

    def _load(self) -> None:
        self._client = httpx.Client(timeout=self.timeout)

    def close(self) -> None:
        with self._load_lock:
            if self._client is not None:
                self._client.close()
            self._client, self._loaded = None, False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.model} at {self.host}>"

    # --- requests ---------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._api_key is not None and self._api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        return headers

    def _complete(self, body: dict[str, Any]) -> str:
        """The reply text of one chat completion request."""
        response = self._post(body)
        try:
            message = response.json()["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise EndpointUnavailable(
                f"the {self.what} endpoint at {self.host} answered HTTP "
                f"{response.status_code} without a chat completion") from None
        content = message.get("content")
        if isinstance(content, list):  # content parts
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        return content or ""

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        url, headers = f"{self.base_url}/chat/completions", self._headers()
        logger = logging.getLogger(type(self).__module__)
        problem, retry_after = "", None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self._delay(attempt, retry_after))
            retry_after = None
            try:
                response = self._client.post(url, json=body, headers=headers)
            except httpx.TransportError as exc:  # refused, reset, timed out
                problem = type(exc).__name__
            else:
                if response.status_code < 400:
                    return response
                if response.status_code not in TRANSIENT_STATUS:
                    raise self._refusal(response)
                problem = f"HTTP {response.status_code}"
                retry_after = response.headers.get("Retry-After")
            logger.warning("%s endpoint %s: %s (attempt %d of %d)", self.what, self.host,
                           problem, attempt + 1, self.retries + 1)
        raise EndpointUnavailable(f"the {self.what} endpoint at {self.host} failed "
                                  f"{self.retries + 1} times; last: {problem}")

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), MAX_RETRY_AFTER_S)
            except ValueError:
                pass
        return self.backoff_s * 2 ** (attempt - 1)

    def _refusal(self, response: httpx.Response) -> Exception:
        """The error for a status that is not worth retrying, naming the setting to fix."""
        status, said, settings = response.status_code, self._said(response), self.settings
        if status in (401, 403):
            return ConfigError(f"{settings}_API_KEY", f"the {self.what} endpoint at {self.host} "
                               f"refused the request (HTTP {status}){said}")
        if status == 404:
            return ConfigError(f"{settings}_ENDPOINT", f"HTTP 404 from {self.host}{said}: check "
                               "the base URL (it ends in the API version, e.g. /v1) and "
                               f"{settings}_ENDPOINT_MODEL")
        hint = ("; if the server does not support this structured-output field, set "
                f"{settings}_STRUCTURED_OUTPUT to guided_json or off"
                if status in (400, 422) and self.structured != "off" else "")
        return ConfigError(f"{settings}_ENDPOINT", f"the {self.what} endpoint at {self.host} "
                           f"refused the request (HTTP {status}){said}{hint}")

    def _said(self, response: httpx.Response) -> str:
        """What the server said about a refusal, short and with the key blanked out."""
        text = response.text.strip().replace("\n", " ")[:300]
        key = self._api_key.get_secret_value() if self._api_key is not None else ""
        if key:
            text = text.replace(key, "***")
        return f": {text}" if text else ""
