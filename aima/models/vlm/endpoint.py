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

Transient trouble is retried, then raised as :class:`EndpointUnavailable` (transient); a refusal
is a :class:`~aima.errors.ConfigError` naming the ``AIMA_VLM_*`` setting to fix (the shared client
is :class:`aima.models.openai_chat.ChatEndpoint`). Pictures are sent ``concurrency`` at a time;
the server batches them.

The API key is a ``SecretStr`` until the moment a request header is built; it appears in no
log line, error message, model id or parameter.
"""

from __future__ import annotations

import base64
import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PIL import Image
from pydantic import SecretStr

from aima.models.openai_chat import EndpointUnavailable  # noqa: F401  (imported from here)
from aima.models.openai_chat import ChatEndpoint, structured_output
from aima.models.vlm import Structured, VisionLanguageModel
from aima.vision.schema import analysis_schema

MAX_SIDE = 1344  # longest side of a picture sent (LLaVA-1.6 tiles up to 672 x 672 pixels each)
JPEG_QUALITY = 90
SCHEMA_NAME = "frame_analysis"


class EndpointVLM(ChatEndpoint, VisionLanguageModel):
    """An OpenAI-compatible chat completions endpoint with image input."""

    what = "vision-language"
    settings = "AIMA_VLM"

    def __init__(self, base_url: str, model: str, *, api_key: SecretStr | None = None,
                 timeout_s: float = 120.0, connect_timeout_s: float = 5.0, retries: int = 3,
                 backoff_s: float = 1.0, concurrency: int = 4, max_new_tokens: int = 1024,
                 structured: Structured = "json_schema") -> None:
        super().__init__(batch_size=concurrency, max_new_tokens=max_new_tokens,
                         structured=structured)
        self._connect_to(base_url, model, api_key=api_key, timeout_s=timeout_s,
                         connect_timeout_s=connect_timeout_s, retries=retries,
                         backoff_s=backoff_s)
        self.concurrency = concurrency

    # --- requests ---------------------------------------------------------------------------

    def _answer(self, images: list[Image.Image], prompts: list[str]) -> list[str]:
        if len(images) == 1:
            return [self._chat(images[0], prompts[0])]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(images))) as pool:
            return list(pool.map(self._chat, images, prompts))

    def request_body(self, image: Image.Image, prompt: str) -> dict[str, Any]:
        """The JSON body of one chat completion request."""
        return {
            "model": self.model,
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": prompt},
                {"type": "image_url", "image_url": {"url": data_url(image)}},
            ]}],
            "temperature": 0,
            "max_tokens": self.max_new_tokens,
            **structured_output(self.structured, SCHEMA_NAME, analysis_schema()),
        }

    def _chat(self, image: Image.Image, prompt: str) -> str:
        return self._complete(self.request_body(image, prompt))


def data_url(image: Image.Image, max_side: int = MAX_SIDE) -> str:
    """The picture as a ``data:image/jpeg;base64,...`` URL, longest side at most ``max_side``."""
    picture = image.convert("RGB")
    if max(picture.size) > max_side:
        picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
