"""A tiny randomly initialised OWLv2 detector and its processor, saved like a real one.

No package ships detector weights (FACTS.md), so the detector tests build the real architecture
(``Owlv2ForObjectDetection``: a 2-layer ViT on 64 px pictures in 16 px patches, a 2-layer text
encoder) from a tiny config with random weights from a fixed seed (the box head's last layer
made small, so that boxes lie near their patches instead of saturating at the edges), a real
byte-level BPE tokenizer trained here on the detector's queries (with CLIP's start and end
tokens), and the real ``Owlv2Processor`` with its PIL image processor (pad to a square, resize).
Scores mean nothing;
shapes, batching, preprocessing and post-processing are the real ones.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from aima.models.detector import RESTRAINT_QUERIES

IMAGE_SIDE, PATCH, MAX_TEXT = 64, 16, 16


def _tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.train_from_iterator([" ".join(RESTRAINT_QUERIES.values())] * 4, trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 1), ("</s>", 2)])
    return PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>",
                                   pad_token="<pad>", model_max_length=MAX_TEXT)


def build_tiny_owl(directory: Path, seed: int = 0) -> Path:
    """Save a tiny random OWLv2 model and its processor under ``directory / "owlv2"``."""
    import torch
    from transformers import Owlv2Config, Owlv2ForObjectDetection, Owlv2Processor
    from transformers.models.owlv2.image_processing_pil_owlv2 import Owlv2ImageProcessorPil

    tokenizer = _tokenizer()
    config = Owlv2Config(
        text_config={"vocab_size": len(tokenizer), "hidden_size": 32, "intermediate_size": 37,
                     "num_hidden_layers": 2, "num_attention_heads": 2,
                     "max_position_embeddings": MAX_TEXT, "pad_token_id": 0, "bos_token_id": 1,
                     "eos_token_id": 2},
        vision_config={"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
                       "num_attention_heads": 2, "image_size": IMAGE_SIDE, "patch_size": PATCH},
        projection_dim=32)
    torch.manual_seed(seed)
    model = Owlv2ForObjectDetection(config).eval()
    with torch.no_grad():  # boxes near each patch's own box, as in a trained model (random
        torch.nn.init.normal_(model.box_head.dense2.weight, std=0.02)  # weights saturate them)
        torch.nn.init.zeros_(model.box_head.dense2.bias)
    processor = Owlv2Processor(
        image_processor=Owlv2ImageProcessorPil(size={"height": IMAGE_SIDE, "width": IMAGE_SIDE}),
        tokenizer=tokenizer)
    target = Path(directory) / "owlv2"
    model.save_pretrained(target)
    processor.save_pretrained(target)
    return target


@functools.cache
def tiny_owl_dir() -> Path:
    """The tiny detector, built once per test process (in a temporary directory)."""
    directory = Path(tempfile.mkdtemp(prefix="aima-tiny-owl-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return build_tiny_owl(directory)
