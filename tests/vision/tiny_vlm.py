"""Tiny randomly initialised LLaVA-1.5 and LLaVA-1.6 models, saved like real ones.

No package ships VLM weights (FACTS.md), so the vision-language tests and benchmark build models
the way transformers tests itself: real architectures (``LlavaForConditionalGeneration``,
``LlavaNextForConditionalGeneration``) from tiny configs (a 2-layer CLIP vision tower on 32 px
patches of 8, a 2-layer Llama with 32 hidden units), random weights from a fixed seed, a real
byte-level BPE tokenizer trained here on the question set (so every string can be encoded), and
the real processors with their PIL image processors (CLIP's resize/crop for LLaVA-1.5, LLaVA-1.6's
any-resolution tiling). :func:`build_tiny_vlm` saves model and processor into a directory that
``TransformersVLM`` (and ``AIMA_VLM_MODEL``) load exactly as they would a downloaded model.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from pathlib import Path

import pytest

from aima.vision.prompt import question, repair_question
from aima.vision.schema import analysis_schema

KINDS = ("llava", "llava_next")
VOCAB_SIZE = 1000
IMAGE_SIDE, PATCH = 32, 8
GRID = [[32, 32], [32, 64], [64, 32], [64, 64]]
# A plain USER/ASSISTANT template, like llava-1.5's, taking content parts.
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}USER: {% else %}ASSISTANT: "
    "{% endif %}{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>\n"
    "{% else %}{{ part['text'] }}{% endif %}{% endfor %}{% if message['role'] != 'user' %}</s>"
    "{% endif %}\n{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)
EXAMPLE_ANSWER = {
    "scene": {"place": "kitchen", "setting": "indoor", "lighting": "daylight"},
    "person_count": 1,
    "persons": [{"position": "left foreground", "clothing": [{"item": "jacket",
                                                              "colours": ["blue"]}],
                 "uniforms_or_logos": [], "posture": "standing", "restraints": [],
                 "gagged": False, "blindfolded": False, "visible_distress": []}],
    "interactions": [], "visible_text": ["EXIT"],
}


def _tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = [question("A case context."), repair_question("{}", "not valid JSON"),
              json.dumps(analysis_schema()), json.dumps(EXAMPLE_ANSWER)] * 4
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.train_from_iterator(corpus, trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE, special_tokens=["<pad>", "<s>", "</s>", "<image>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
        extra_special_tokens={"image_token": "<image>"})


def build_tiny_vlm(directory: Path, kind: str = "llava", seed: int = 0) -> Path:
    """Save a tiny random ``kind`` model and its processor under ``directory / kind``."""
    import torch
    from transformers import (
        CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration,
        LlavaNextConfig, LlavaNextForConditionalGeneration, LlavaNextProcessor, LlavaProcessor,
    )
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    from transformers.models.llava_next.image_processing_pil_llava_next import (
        LlavaNextImageProcessorPil,
    )

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    tokenizer = _tokenizer()
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                              num_attention_heads=2, image_size=IMAGE_SIDE, patch_size=PATCH,
                              projection_dim=32)
    text = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                       max_position_embeddings=8192, pad_token_id=tokenizer.pad_token_id,
                       bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    common = {"vision_config": vision, "text_config": text, "vision_feature_layer": -1,
              "vision_feature_select_strategy": "default",
              "image_token_index": tokenizer.convert_tokens_to_ids("<image>")}
    processor_args = {"tokenizer": tokenizer, "patch_size": PATCH, "chat_template": CHAT_TEMPLATE,
                      "vision_feature_select_strategy": "default",
                      "num_additional_image_tokens": 1}  # CLIP's class token
    crop = {"height": IMAGE_SIDE, "width": IMAGE_SIDE}
    torch.manual_seed(seed)
    if kind == "llava":
        model = LlavaForConditionalGeneration(LlavaConfig(**common))
        processor = LlavaProcessor(image_processor=CLIPImageProcessorPil(
            size={"shortest_edge": IMAGE_SIDE}, crop_size=crop), **processor_args)
    else:
        model = LlavaNextForConditionalGeneration(LlavaNextConfig(**common,
                                                                  image_grid_pinpoints=GRID))
        processor = LlavaNextProcessor(image_processor=LlavaNextImageProcessorPil(
            size={"shortest_edge": IMAGE_SIDE}, crop_size=crop, image_grid_pinpoints=GRID),
            **processor_args)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    target = Path(directory) / kind
    model.save_pretrained(target)
    processor.save_pretrained(target)
    return target


@functools.cache
def tiny_vlm_dir(kind: str = "llava") -> Path:
    """A tiny ``kind`` model built once per test process (in a temporary directory)."""
    directory = Path(tempfile.mkdtemp(prefix="aima-tiny-vlm-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return build_tiny_vlm(directory, kind)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models run 20-30 times faster on one torch thread than on two when other processes
    share the two cores (threads of a 32-wide matmul spend their time waiting for each other)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
