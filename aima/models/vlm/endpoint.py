"""A vision-language model behind an OpenAI-compatible chat endpoint (vLLM, llama.cpp, Ollama).

``POST {base_url}/chat/completions`` with one user message per picture: the question as text and
the picture as a base64 JPEG data URL (``image_url``), ``temperature`` 0 and ``max_tokens``. The
base URL is the API root including its version, e.g. ``http://127.0.0.1:8000/v1`` (vLLM),
``http://127.0.0.1:8080/v1`` (llama.cpp server) or ``http://127.0.0.1:11434/v1`` (Ollama).

Structured output (``structured``): ``json_schema`` sends OpenAI's
``response_format: {"type": "json_schema", ...}`` (vLLM, llama.cpp server, Ollama and OpenAI
itself accept it); ``guided_json`` sends vLLM's own ``guided_json`` field instead (vLLM versions
without ``response_format`` support); ``off`` sends neither and relies on the prompt, the schema
check and the repair prompt.

Transient trouble (connection refused or reset, a timeout, HTTP 408, 429, 500, 502, 503, 504)
is retried ``retries`` times with exponential backoff (or the server's ``Retry-After``, capped),
then raised as :class:`EndpointUnavailable`, a ``ConnectionError`` that the Prefect task retries
again later. A refusal (401, 403: the key; 404: the URL or model name; 400: the request) is a
:class:`~aima.errors.ConfigError` naming the setting to fix. Pictures are sent ``concurrency`` at
a time; the server batches them.

The API key is a ``SecretStr`` until the moment a request header is built; it appears in no
log line, error message, model id or parameter.
"""

from __future__ import annotations

import base64
import io
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx
from PIL import Image
from pydantic import SecretStr

from aima.errors import ConfigError
from aima.models.vlm import Structured, VisionLanguageModel
from aima.vision.schema import analysis_schema

logger = logging.getLogger(__name__)

TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
MAX_SIDE = 1344  # longest side of a picture sent (LLaVA-1.6 tiles up to 672 x 672 pixels each)
JPEG_QUALITY = 90
MAX_RETRY_AFTER_S = 30.0
SCHEMA_NAME = "frame_analysis"


class EndpointUnavailable(ConnectionError):
    """The endpoint could not be reached, or kept failing, after every retry (transient)."""


class EndpointVLM(VisionLanguageModel):
    """An OpenAI-compatible chat completions endpoint with image input."""

    def __init__(self, base_url: str, model: str, *, api_key: SecretStr | None = None,
                 timeout_s: float = 120.0, connect_timeout_s: float = 5.0, retries: int = 3,
                 backoff_s: float = 1.0, concurrency: int = 4, max_new_tokens: int = 1024,
                 structured: Structured = "json_schema") -> None:
        super().__init__(batch_size=concurrency, max_new_tokens=max_new_tokens,
                         structured=structured)
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key
        self.timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        self.retries = retries
        self.backoff_s = backoff_s
        self.concurrency = concurrency
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()

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
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None
                self._loaded = False

    def __repr__(self) -> str:
        return f"<EndpointVLM {self.model} at {self.host}>"

    # --- requests ---------------------------------------------------------------------------

    def _answer(self, images: list[Image.Image], prompts: list[str]) -> list[str]:
        if len(images) == 1:
            return [self._chat(images[0], prompts[0])]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(images))) as pool:
            return list(pool.map(self._chat, images, prompts))

    def request_body(self, image: Image.Image, prompt: str) -> dict[str, Any]:
        """The JSON body of one chat completion request."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": prompt},
                {"type": "image_url", "image_url": {"url": data_url(image)}},
            ]}],
            "temperature": 0,
            "max_tokens": self.max_new_tokens,
        }
        if self.structured == "json_schema":
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": SCHEMA_NAME, "schema": analysis_schema(), "strict": True}}
        elif self.structured == "guided_json":
            body["guided_json"] = analysis_schema()
        return body

    def _chat(self, image: Image.Image, prompt: str) -> str:
        response = self._post(self.request_body(image, prompt))
        try:
            message = response.json()["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise EndpointUnavailable(
                f"the vision-language endpoint at {self.host} answered HTTP "
                f"{response.status_code} without a chat completion") from None
        content = message.get("content")
        if isinstance(content, list):  # content parts
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        return content or ""

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        url = f"{self.base_url}/chat/completions"
        headers = {"Content-Type": "application/json"}
        if self._api_key is not None and self._api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        problem, retry_after = "", None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self._delay(attempt, retry_after))
            retry_after = None
            try:
                response = self._client.post(url, json=body, headers=headers)
            except httpx.TransportError as exc:  # refused, reset, timed out
                problem = f"{type(exc).__name__}"
                logger.warning("vision-language endpoint %s: %s (attempt %d of %d)", self.host,
                               problem, attempt + 1, self.retries + 1)
                continue
            if response.status_code < 400:
                return response
            if response.status_code in TRANSIENT_STATUS:
                problem = f"HTTP {response.status_code}"
                retry_after = response.headers.get("Retry-After")
                logger.warning("vision-language endpoint %s: %s (attempt %d of %d)", self.host,
                               problem, attempt + 1, self.retries + 1)
                continue
            raise self._refusal(response)
        raise EndpointUnavailable(f"the vision-language endpoint at {self.host} failed "
                                  f"{self.retries + 1} times; last: {problem}")

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), MAX_RETRY_AFTER_S)
            except ValueError:
                pass
        return self.backoff_s * 2 ** (attempt - 1)

    def _refusal(self, response: httpx.Response) -> ConfigError:
        status, said = response.status_code, self._said(response)
        if status in (401, 403):
            return ConfigError("AIMA_VLM_API_KEY", f"the vision-language endpoint at {self.host} "
                               f"refused the request (HTTP {status}){said}")
        if status == 404:
            return ConfigError("AIMA_VLM_ENDPOINT", f"HTTP 404 from {self.host}{said}: check the "
                               "base URL (it ends in the API version, e.g. /v1) and "
                               "AIMA_VLM_ENDPOINT_MODEL")
        hint = ("; if the server does not support this structured-output field, set "
                "AIMA_VLM_STRUCTURED_OUTPUT to guided_json or off"
                if status in (400, 422) and self.structured != "off" else "")
        return ConfigError("AIMA_VLM_ENDPOINT", f"the vision-language endpoint at {self.host} "
                           f"refused the request (HTTP {status}){said}{hint}")

    def _said(self, response: httpx.Response) -> str:
        """What the server said about a refusal, short and with the key blanked out."""
        text = response.text.strip().replace("\n", " ")[:300]
        key = self._api_key.get_secret_value() if self._api_key is not None else ""
        if key:
            text = text.replace(key, "***")
        return f": {text}" if text else ""


def data_url(image: Image.Image, max_side: int = MAX_SIDE) -> str:
    """The picture as a ``data:image/jpeg;base64,...`` URL, longest side at most ``max_side``."""
    picture = image.convert("RGB")
    if max(picture.size) > max_side:
        picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
