"""Vision-language models: one protocol, three implementations.

=====================  =====================================================================
class                  what answers
=====================  =====================================================================
``TransformersVLM``    LLaVA-1.5 or LLaVA-1.6 through transformers, batched, 4-bit on CUDA
                       (:mod:`aima.models.vlm.transformers`)
``EndpointVLM``        an OpenAI-compatible chat endpoint with image input: vLLM, llama.cpp
                       server, Ollama (:mod:`aima.models.vlm.endpoint`)
``NoVisionModel``      nothing: no model is configured, and the ``describe`` stage is skipped
                       with that reason
=====================  =====================================================================

Every implementation answers :func:`aima.vision.prompt.question` for a batch of pictures
(``_answer``); :meth:`VisionLanguageModel.describe`, shared by all, parses the answers against
the schema, asks once more (:func:`~aima.vision.prompt.repair_question`) for the answers that did
not parse, and gives up on those that still do not: they come back ``unparsed`` with the raw
text and the reason, never as an exception.
"""

from __future__ import annotations

import hashlib
import json
from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from PIL import Image

from aima.models.base import Model
from aima.vision.parse import parse_answer
from aima.vision.prompt import PROMPT_VERSION, question, repair_question
from aima.vision.schema import FrameAnalysis, analysis_schema

Structured = Literal["json_schema", "guided_json", "off"]
Status = Literal["parsed", "repaired", "unparsed"]

NO_VLM_REASON = "no vision-language model configured"
SCHEMA_VERSION = hashlib.sha256(
    json.dumps(analysis_schema(), sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Description:
    """A model's analysis of one picture."""

    status: Status  # parsed at once, parsed after the repair prompt, or not at all
    analysis: FrameAnalysis | None
    raw: str  # the model's last answer, verbatim
    error: str | None  # why the first answer (repaired) or both answers (unparsed) failed
    attempts: int


class VisionLanguageModel(Model):
    """Answers the question set for pictures; subclasses implement ``_answer``."""

    kind: ClassVar[str] = "vlm"
    configured: ClassVar[bool] = True

    def __init__(self, *, batch_size: int = 4, max_new_tokens: int = 1024,
                 structured: Structured = "json_schema") -> None:
        super().__init__()
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.structured = structured

    @property
    def parameters(self) -> dict[str, Any]:
        return {"prompt": PROMPT_VERSION, "schema": SCHEMA_VERSION, "structured": self.structured,
                "max_new_tokens": self.max_new_tokens}

    def describe(self, images: Sequence[Image.Image], *,
                 context: str | None = None) -> list[Description]:
        """One :class:`Description` per picture, in order."""
        self.load()
        if not images:
            return []
        answers = self._answer(list(images), [question(context)] * len(images))

        def ask_again(indices: list[int], prompts: list[str]) -> list[str]:
            return self._answer([images[n] for n in indices], prompts)

        return settle(answers, ask_again, context)

    @abstractmethod
    def _answer(self, images: list[Image.Image], prompts: list[str]) -> list[str]:
        """The model's answer text to each (picture, prompt) pair, in order."""


def settle(answers: list[str], ask_again: Callable[[list[int], list[str]], list[str]],
           context: str | None = None) -> list[Description]:
    """Parse ``answers``; ask once more, with the repair prompt, for those that do not parse.

    ``ask_again(indices, prompts)`` returns the new answers for the pictures at ``indices``.
    """
    first = [parse_answer(answer) for answer in answers]
    retry = [n for n, parsed in enumerate(first) if not parsed.ok]
    second = {}
    if retry:
        again = ask_again(retry, [repair_question(answers[n], first[n].error, context)
                                  for n in retry])
        second = dict(zip(retry, zip(again, (parse_answer(answer) for answer in again))))
    descriptions = []
    for n, parsed in enumerate(first):
        if parsed.ok:
            descriptions.append(Description("parsed", parsed.analysis, answers[n], None, 1))
            continue
        answer, repaired = second[n]
        if repaired.ok:
            descriptions.append(Description("repaired", repaired.analysis, answer, parsed.error, 2))
        else:
            descriptions.append(Description(
                "unparsed", None, answer, f"first answer: {parsed.error}; repair: {repaired.error}",
                2))
    return descriptions


class NoVisionModel(VisionLanguageModel):
    """No vision-language model is configured: the ``describe`` stage is skipped, and says so."""

    configured: ClassVar[bool] = False
    reason = NO_VLM_REASON

    @property
    def model_id(self) -> str:
        return "none"

    def _load(self) -> None:
        pass

    def _answer(self, images: list[Image.Image], prompts: list[str]) -> list[str]:
        raise RuntimeError(NO_VLM_REASON)


__all__ = [
    "NO_VLM_REASON",
    "Description",
    "NoVisionModel",
    "Structured",
    "VisionLanguageModel",
    "settle",
]
