"""A tiny randomly initialised Llama chat model, saved like a real one.

Llama 3.1 8B does not fit a test run (and no package ships it), so the transformers path is
tested the way transformers tests itself: the real architecture (``LlamaForCausalLM``) from a tiny
config (2 layers, 32 hidden units), random weights from a fixed seed, a real byte-level BPE
tokenizer trained here (every string can be encoded), and a ChatML chat template whose turns end
with ``<|im_end|>``, the tokenizer's end token. :func:`build_tiny_llm` saves model and tokenizer
into a directory that ``TransformersLLM`` (and ``AIMA_LLM_MODEL``) load exactly as they would a
downloaded model.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from pathlib import Path

import pytest

VOCAB_SIZE = 600
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CORPUS = [
    "You summarise the evidence of a case as JSON.",
    "At 00:04 speaker-1 says: open the door. Face person-2 appears at 00:07 in the kitchen.",
    json.dumps({"summary": "Two people talk in a kitchen.", "persons": ["person-1", "person-2"],
                "events": [{"at": 4.0, "what": "speech"}]}),
]


def _tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.train_from_iterator(CORPUS * 4, trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE, special_tokens=["<pad>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<|im_start|>",
                                        eos_token="<|im_end|>", pad_token="<pad>")
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_tiny_llm(directory: Path, seed: int = 0) -> Path:
    """Save a tiny random Llama chat model and its tokenizer under ``directory / "tiny-llama"``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = _tokenizer()
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=4096, pad_token_id=tokenizer.pad_token_id,
                         bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    target = Path(directory) / "tiny-llama"
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


@functools.cache
def tiny_llm_dir() -> Path:
    """The tiny model, built once per test process (in a temporary directory)."""
    directory = Path(tempfile.mkdtemp(prefix="aima-tiny-llm-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return build_tiny_llm(directory)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models run much faster on one torch thread when other processes share the cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
