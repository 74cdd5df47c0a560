"""A causal language model through transformers: the gpu profile's default.

The model is a hub id (default :data:`GPU_LLM_MODEL`, Llama 3.1 8B Instruct: about 6 GB of GPU
memory in 4 bits; ``meta-llama/Llama-3.1-70B-Instruct`` writes better narratives and needs about
40 GB in 4 bits; both are gated, so the Hugging Face token is needed) or a local directory with a
saved model and its tokenizer. On CUDA the weights load in 4 bits through bitsandbytes
(``quantization="4bit"``, the default; bitsandbytes is imported only there) or in 16 bits
(bfloat16 where the GPU has it); on a CPU the model runs in float32.

The prompt is the tokenizer's chat template applied to the messages. Decoding is greedy and,
unless ``structured="off"``, constrained to the caller's JSON schema by llguidance with the
describe stage's logits processor
(:class:`aima.models.vlm.transformers.SchemaConstraint`): at every step only tokens that keep
the reply a valid prefix of a schema-conforming JSON value are allowed. Generation stops at any of
the model's end tokens (Llama 3.1 Instruct ends a turn with ``<|eot_id|>``, not its
``eos_token_id``'s first entry). :meth:`TransformersLLM.count_tokens` uses the model's tokenizer,
which it loads alone (counting needs no weights).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from aima.errors import ConfigError
from aima.models.hf_loading import PretrainedModel, pad_id
from aima.models.llm import DEFAULT_CONTEXT_TOKENS, LLM, PromptTooLong, Structured

logger = logging.getLogger(__name__)

GPU_LLM_MODEL = "meta-llama/Llama-3.1-8B-Instruct"


class TransformersLLM(PretrainedModel, LLM):
    """A causal LM (``AutoModelForCausalLM``) with a chat template, from a hub id or a local
    directory."""

    def __init__(self, model: str, *, context_tokens: int = DEFAULT_CONTEXT_TOKENS,
                 max_new_tokens: int = 2048, structured: Structured = "json_schema",
                 quantization: str = "4bit", hf_token: str | None = None) -> None:
        super().__init__(context_tokens=context_tokens, max_new_tokens=max_new_tokens,
                         structured=structured)
        self._pretrained_from(model, quantization, hf_token)
        self._tokenizer: Any = None
        self._tokenizer_lock = threading.Lock()
        self._llg: Any = None

    def _load(self) -> None:
        import transformers

        if not getattr(self._tokenizer_loaded(), "chat_template", None):
            raise ConfigError("AIMA_LLM_MODEL", f"{self.model!r} has no chat template: use an "
                              "instruction-tuned (chat) model")
        self._model = transformers.AutoModelForCausalLM.from_pretrained(
            self.source, **self.pretrained_kwargs(bfloat16=True)).eval()

    def _tokenizer_loaded(self):
        with self._tokenizer_lock:
            if self._tokenizer is None:
                from transformers import AutoTokenizer

                self._tokenizer = AutoTokenizer.from_pretrained(self.source,
                                                                token=self._hf_token)
        return self._tokenizer

    # --- calls ------------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """Exact: the model's tokenizer (without special tokens)."""
        return len(self._tokenizer_loaded()(text, add_special_tokens=False)["input_ids"])

    def chat_json(self, messages: list[dict[str, str]], schema: dict, *,
                  max_tokens: int = 1024) -> str:
        import torch

        from aima.models.vlm.transformers import SchemaConstraint

        self.load()
        tokenizer, model = self._tokenizer, self._model
        prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                               tokenize=False)
        inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(model.device)
        prompt_length = inputs["input_ids"].shape[1]
        if prompt_length >= self.context_tokens:
            raise PromptTooLong(prompt_length, self.context_tokens)
        budget = min(self.budget(max_tokens), self.context_tokens - prompt_length)
        ends = self._end_tokens()
        extra: dict[str, Any] = {}
        llg = self._llg_tokenizer(ends[0]) if self.structured != "off" else None
        if llg is not None:
            extra["logits_processor"] = [SchemaConstraint(llg, json.dumps(schema), 1,
                                                          prompt_length)]
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=budget, do_sample=False,
                                    eos_token_id=ends, pad_token_id=pad_id(tokenizer, ends[0]),
                                    **extra)
        return tokenizer.decode(output[0, prompt_length:], skip_special_tokens=True).strip()

    def _end_tokens(self) -> list[int]:
        """The tokens that end a reply: the tokenizer's end of turn first (what llguidance
        emits when the JSON value is complete), then the generation config's others."""
        configured = self._model.generation_config.eos_token_id
        configured = configured if isinstance(configured, list) else [configured]
        ends = [self._tokenizer.eos_token_id, *configured]
        return list(dict.fromkeys(token for token in ends if token is not None))

    def _llg_tokenizer(self, eos: int):
        """The llguidance view of the tokenizer (built once), or None where llguidance cannot
        read it (a slow, non-``tokenizers`` tokenizer): replies are then unconstrained."""
        if self._llg is None:
            import llguidance.hf

            vocab = self._model.get_output_embeddings().weight.shape[0]
            try:
                self._llg = llguidance.hf.from_tokenizer(self._tokenizer, n_vocab=vocab,
                                                         eos_token=eos)
            except ValueError as exc:
                logger.warning("%s: replies not constrained to the schema (%s)", self.model, exc)
                self._llg = False
        return self._llg or None
