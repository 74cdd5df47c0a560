"""LLaVA through transformers: LLaVA-1.5 (``llava``) and LLaVA-1.6 (``llava_next``), batched.

The model is a hub id (the gpu profile's default is :data:`GPU_VLM_MODEL`) or a local directory
holding a saved model and its processor; its ``config.json`` says which of the two it is.
On CUDA the weights load in 4 bits through bitsandbytes (``quantization="4bit"``, the default);
bitsandbytes is imported only there. On a CPU the model runs in float32.

Generation is greedy and, unless ``structured="off"``, constrained to the answer's JSON schema by
llguidance (the grammar engine behind vLLM's and llama.cpp's structured output): at every step
only tokens that keep the answer a valid prefix of a schema-conforming JSON object are allowed.
A constrained answer can still fail to parse when the token budget (``max_new_tokens``) ends it
halfway; the repair prompt and the ``unparsed`` record of
:meth:`~aima.models.vlm.VisionLanguageModel.describe` cover that.

:meth:`TransformersVLM.complete` is the batched generation itself, for any prompt and any JSON
schema (the local OpenAI-compatible server of the tests serves a model through it).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from PIL import Image

from aima.errors import ConfigError
from aima.models.hf_loading import PretrainedModel, pad_id
from aima.models.vlm import Structured, VisionLanguageModel
from aima.vision.schema import analysis_schema

logger = logging.getLogger(__name__)

GPU_VLM_MODEL = "llava-hf/llava-v1.6-34b-hf"
ARCHITECTURES = {"llava": "LlavaForConditionalGeneration",
                 "llava_next": "LlavaNextForConditionalGeneration"}


@dataclass(frozen=True)
class Completion:
    text: str
    finished: bool  # the model ended the answer itself (False: the token budget ran out)


class TransformersVLM(PretrainedModel, VisionLanguageModel):
    """LLaVA-1.5 / LLaVA-1.6 from a hub id or a local directory."""

    def __init__(self, model: str, *, batch_size: int = 4, max_new_tokens: int = 1024,
                 structured: Structured = "json_schema", quantization: str = "4bit",
                 hf_token: str | None = None) -> None:
        super().__init__(batch_size=batch_size, max_new_tokens=max_new_tokens,
                         structured=structured)
        self._pretrained_from(model, quantization, hf_token)
        self._processor: Any = None
        self._tokenizers: dict[int, Any] = {}

    def _load(self) -> None:
        import transformers

        source = self.source
        config = transformers.AutoConfig.from_pretrained(source, token=self._hf_token)
        architecture = ARCHITECTURES.get(config.model_type)
        if architecture is None:
            raise ConfigError("AIMA_VLM_MODEL", f"{self.model!r} is a {config.model_type!r} model; "
                              "expected LLaVA-1.5 (llava) or LLaVA-1.6 (llava_next)")
        model_class = getattr(transformers, architecture)
        self._model = model_class.from_pretrained(source, **self.pretrained_kwargs()).eval()
        self._processor = transformers.AutoProcessor.from_pretrained(source, token=self._hf_token)
        self._processor.tokenizer.padding_side = "left"  # generation continues on the right

    # --- generation ---------------------------------------------------------------------------

    def _answer(self, images: list[Image.Image], prompts: list[str]) -> list[str]:
        schema = analysis_schema() if self.structured != "off" else None
        return [c.text for c in self.complete(images, prompts, schema=schema)]

    def complete(self, images: list[Image.Image], prompts: list[str], *,
                 schema: dict[str, Any] | None = None,
                 max_new_tokens: int | None = None) -> list[Completion]:
        """The answer to each (picture, prompt), ``batch_size`` at a time; constrained to
        ``schema`` when one is given."""
        self.load()
        budget = max_new_tokens or self.max_new_tokens
        completions: list[Completion] = []
        for start in range(0, len(images), self.batch_size):
            completions += self._generate(images[start:start + self.batch_size],
                                          prompts[start:start + self.batch_size], schema, budget)
        return completions

    def _generate(self, images: list[Image.Image], prompts: list[str],
                  schema: dict[str, Any] | None, budget: int) -> list[Completion]:
        import torch

        processor, model = self._processor, self._model
        texts = [processor.apply_chat_template(
            [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}],
            add_generation_prompt=True) for prompt in prompts]
        inputs = processor(images=[image.convert("RGB") for image in images], text=texts,
                           return_tensors="pt", padding=True).to(model.device)
        if "pixel_values" in inputs and model.dtype != torch.float32:
            inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
        eos = _first(model.generation_config.eos_token_id)
        if eos is None:
            eos = processor.tokenizer.eos_token_id
        prompt_length = inputs["input_ids"].shape[1]
        extra = {}
        tokenizer = self._llg_tokenizer(eos) if schema is not None else None
        if tokenizer is not None:
            extra["logits_processor"] = [SchemaConstraint(
                tokenizer, json.dumps(schema), len(images), prompt_length)]
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=budget, do_sample=False,
                                    eos_token_id=eos,
                                    pad_token_id=pad_id(processor.tokenizer, eos), **extra)
        new = output[:, prompt_length:]
        texts = processor.batch_decode(new, skip_special_tokens=True)
        finished = (new == eos).any(dim=1).tolist()
        return [Completion(text.strip(), done) for text, done in zip(texts, finished)]

    def _llg_tokenizer(self, eos: int):
        """The llguidance view of the tokenizer (built once: about a second for a large vocab),
        or None where llguidance cannot read it (a slow, non-``tokenizers`` tokenizer): answers
        are then only validated, with the repair prompt."""
        if eos not in self._tokenizers:
            import llguidance.hf

            vocab = self._model.get_output_embeddings().weight.shape[0]
            try:
                self._tokenizers[eos] = llguidance.hf.from_tokenizer(
                    self._processor.tokenizer, n_vocab=vocab, eos_token=eos)
            except ValueError as exc:
                logger.warning("%s: answers not constrained to the schema (%s)", self.model, exc)
                self._tokenizers[eos] = None
        return self._tokenizers[eos]


class SchemaConstraint:
    """A transformers logits processor that keeps every sequence of a batch inside a JSON schema.

    One llguidance matcher per sequence; each step feeds it the token just generated, then masks
    out every token it would not accept. A sequence that has finished (its matcher stopped) is
    left alone: generate pads it. (The mask is applied here in plain torch: llguidance's own
    torch helper is ``torch.compile``d, which needs a C++ compiler on a CPU.)
    """

    def __init__(self, tokenizer, schema: str, batch_size: int, prompt_length: int):
        import llguidance.numpy
        from llguidance import LLMatcher

        grammar = LLMatcher.grammar_from_json_schema(
            schema, defaults={"whitespace_flexible": False})
        self._fill = llguidance.numpy.fill_next_token_bitmask
        self.matchers = [LLMatcher(tokenizer, grammar) for _ in range(batch_size)]
        self.bitmask = llguidance.numpy.allocate_token_bitmask(batch_size, tokenizer.vocab_size)
        self.prompt_length = prompt_length

    def __call__(self, input_ids, scores):
        import numpy as np
        import torch

        generated = input_ids.shape[1] > self.prompt_length
        for row, matcher in enumerate(self.matchers):
            if generated and not matcher.is_stopped():
                matcher.consume_token(int(input_ids[row, -1]))
            self._fill(matcher, self.bitmask, row)
        # Bit j of 32-bit word w allows token 32 * w + j.
        bits = np.unpackbits(self.bitmask.astype("<i4").view(np.uint8), axis=1, bitorder="little")
        vocab = scores.shape[1]
        allowed = torch.zeros(scores.shape, dtype=torch.bool)
        width = min(vocab, bits.shape[1])
        allowed[:, :width] = torch.from_numpy(bits[:, :width].astype(bool))
        return scores.masked_fill(~allowed.to(scores.device), float("-inf"))


def _first(value: int | list[int] | None) -> int | None:
    if isinstance(value, list):
        return value[0] if value else None
    return value
