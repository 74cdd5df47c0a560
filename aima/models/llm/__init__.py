"""Language models for the fusion stage: one protocol, four implementations.

=====================  =====================================================================
class                  what answers
=====================  =====================================================================
``LlamaCppLLM``        a GGUF model in-process through llama.cpp (xllamacpp's prebuilt CPU
                       wheel): the packaged SmolLM2-135M-Instruct by default
                       (:mod:`aima.models.llm.llamacpp`)
``TransformersLLM``    a causal LM through transformers, 4-bit on CUDA: Llama 3.1 8B Instruct
                       in the gpu profile (:mod:`aima.models.llm.transformers`)
``EndpointLLM``        an OpenAI-compatible chat endpoint: vLLM, llama.cpp server, Ollama
                       (:mod:`aima.models.llm.endpoint`)
``NoLLM``              nothing: ``AIMA_LLM_ENABLED=false``; the narrative is not written
=====================  =====================================================================

Every implementation answers an OpenAI-style ``messages`` list with one reply
(:meth:`LLM.chat_json`), greedily (temperature 0, fixed seed: the same evidence gives the same
narrative) and, unless ``structured="off"``, constrained to the caller's JSON schema by a grammar
(llama.cpp's, llguidance's, or the endpoint's). A constrained reply can still be malformed when
the token budget ends it halfway, so callers validate it. The schema is the caller's: nothing
here knows the narrative's shape.

:meth:`LLM.count_tokens` lets a caller fit its prompt into :attr:`LLM.context_tokens`; a prompt
that does not fit raises :class:`PromptTooLong` rather than being cut silently.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any, ClassVar, Literal

from aima.models.base import Model

Structured = Literal["json_schema", "guided_json", "off"]

NO_LLM_REASON = "no language model configured (AIMA_LLM_ENABLED is false)"
SEED = 0
"""The sampling seed of every request (decoding is greedy: it matters only to servers that
sample anyway)."""
DEFAULT_CONTEXT_TOKENS = 8192
CHARS_PER_TOKEN_ESTIMATE = 3.0
"""Characters per token for :func:`estimate_tokens`: English prose runs at about 4 with the
Llama 3 and SmolLM2 tokenizers, JSON evidence (ids, numbers, quotes) at about 3; 3 over-counts
prose, so a prompt budgeted with the estimate fits."""


class PromptTooLong(ValueError):
    """The prompt alone does not fit the model's context window."""

    def __init__(self, prompt_tokens: int, context_tokens: int):
        self.prompt_tokens = prompt_tokens
        self.context_tokens = context_tokens
        super().__init__(f"the prompt has {prompt_tokens} tokens; the context window holds "
                         f"{context_tokens} (AIMA_LLM_CONTEXT_TOKENS)")


class LLM(Model):
    """Answers chat messages with JSON text; subclasses implement ``chat_json`` and
    ``count_tokens``."""

    kind: ClassVar[str] = "llm"
    available: ClassVar[bool] = True

    def __init__(self, *, context_tokens: int = DEFAULT_CONTEXT_TOKENS,
                 max_new_tokens: int = 2048, structured: Structured = "json_schema") -> None:
        super().__init__()
        self.context_tokens = context_tokens
        self.max_new_tokens = max_new_tokens
        self.structured = structured

    @property
    def parameters(self) -> dict[str, Any]:
        return {"max_new_tokens": self.max_new_tokens, "structured": self.structured,
                "context_tokens": self.context_tokens, "temperature": 0, "seed": SEED}

    @abstractmethod
    def chat_json(self, messages: list[dict[str, str]], schema: dict, *,
                  max_tokens: int = 1024) -> str:
        """The reply text for an OpenAI-style chat ``messages`` list, constrained to the JSON
        ``schema`` where the backend can (it may still be malformed: callers validate).

        The reply has at most ``max_tokens`` tokens, and never more than ``max_new_tokens``
        (``AIMA_LLM_MAX_NEW_TOKENS``) or what the context window leaves after the prompt.
        """

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` takes in the model's prompt (exact, or estimated where the
        backend has no tokenizer to ask: see the implementation)."""

    def budget(self, max_tokens: int) -> int:
        """The token budget of one reply: ``max_tokens`` capped by ``max_new_tokens``."""
        return max(1, min(max_tokens, self.max_new_tokens))


class NoLLM(LLM):
    """No language model: the fusion stage writes no narrative, and says why."""

    available: ClassVar[bool] = False
    reason = NO_LLM_REASON

    def __init__(self) -> None:
        super().__init__(context_tokens=0, max_new_tokens=0, structured="off")

    @property
    def model_id(self) -> str:
        return "none"

    @property
    def parameters(self) -> dict[str, Any]:
        return {}

    def _load(self) -> None:
        pass

    def chat_json(self, messages: list[dict[str, str]], schema: dict, *,
                  max_tokens: int = 1024) -> str:
        raise RuntimeError(NO_LLM_REASON)

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)


def estimate_tokens(text: str) -> int:
    """A tokenizer-free token count: ``len(text) / 3``, rounded up (see
    :data:`CHARS_PER_TOKEN_ESTIMATE`)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN_ESTIMATE)


def schema_name(schema: dict) -> str:
    """A name for ``schema`` where an API wants one (OpenAI's ``json_schema.name``: letters,
    digits, ``_`` and ``-``, at most 64): its ``title``, else ``response``."""
    title = str(schema.get("title") or "response")
    name = "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in title)
    return name[:64] or "response"


__all__ = [
    "CHARS_PER_TOKEN_ESTIMATE",
    "DEFAULT_CONTEXT_TOKENS",
    "LLM",
    "NO_LLM_REASON",
    "SEED",
    "NoLLM",
    "PromptTooLong",
    "Structured",
    "estimate_tokens",
    "schema_name",
]
