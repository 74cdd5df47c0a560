"""What the transformers-backed models share: where the weights come from and how they load.

:class:`PretrainedModel` is a mixin for :class:`~aima.models.vlm.transformers.TransformersVLM`
and :class:`~aima.models.llm.transformers.TransformersLLM`: the model is a hub id or a local
directory holding a saved model (:attr:`PretrainedModel.source`); its id and its parameters
(quantization, greedy decoding) are part of the storage key. :meth:`PretrainedModel.
pretrained_kwargs` are the ``from_pretrained`` arguments: on CUDA the weights load in 4 bits
through bitsandbytes (``quantization="4bit"``; bitsandbytes is imported only there) or in 16 bits;
on a CPU the model runs in float32. torch and transformers are imported only when called.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aima.models.weights import transformers_model_id


class PretrainedModel:
    """A mixin placed before the model's kind in the bases; the model's ``__init__`` calls
    :meth:`_pretrained_from` after its kind's ``__init__``."""

    def _pretrained_from(self, model: str, quantization: str, hf_token: str | None) -> None:
        self.model = model
        self.quantization = quantization
        self._hf_token = hf_token
        self._model: Any = None

    @property
    def model_id(self) -> str:
        return transformers_model_id(self.model)

    @property
    def parameters(self) -> dict[str, Any]:
        return {**super().parameters, "quantization": self.quantization, "decoding": "greedy"}

    @property
    def source(self) -> str:
        """The local directory where ``model`` names one, else the hub id."""
        local = Path(self.model).expanduser()
        return str(local) if local.is_dir() else self.model

    def pretrained_kwargs(self, *, bfloat16: bool = False) -> dict[str, Any]:
        """``from_pretrained`` arguments for this machine: on CUDA, 16 bits (bfloat16 where
        ``bfloat16`` is asked for and the GPU has it, else float16) and the ``quantization``;
        on a CPU, float32."""
        import torch
        import transformers

        kwargs: dict[str, Any] = {"token": self._hf_token}
        if torch.cuda.is_available():
            dtype = torch.bfloat16 if bfloat16 and torch.cuda.is_bf16_supported() \
                else torch.float16
            kwargs.update(device_map="auto", dtype=dtype)
            if self.quantization == "4bit":
                kwargs["quantization_config"] = transformers.BitsAndBytesConfig(
                    load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=dtype)
        else:
            kwargs["dtype"] = torch.float32
        return kwargs


def pad_id(tokenizer, eos: int) -> int:
    """The padding token for ``generate``: the tokenizer's, else the end token."""
    return eos if tokenizer.pad_token_id is None else tokenizer.pad_token_id
