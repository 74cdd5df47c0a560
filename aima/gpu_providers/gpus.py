"""How fast a GPU model is, for the ``fastest-available`` strategy.

Providers name the same card differently (RunPod ``RTX 4090`` / ``NVIDIA GeForce RTX 4090``,
Vast.ai ``RTX 4090``; ``A100 SXM4`` / ``A100 SXM``): :func:`gpu_key` folds a name to upper case
without vendor words, spaces or punctuation, and :func:`tflops` looks up the longest known model
that the key starts with (``H100SXM`` before ``H100``, ``L40S`` before ``L40`` before ``L4``).

The numbers are dense FP16/BF16 tensor throughput with FP32 accumulation from NVIDIA's data
sheets, rounded: they order cards for ML inference, they do not predict a run's time. A model not
in the table counts 0, so it comes last.
"""

from __future__ import annotations

import re

TFLOPS: dict[str, float] = {
    "H200": 989, "H100SXM": 989, "H100NVL": 835, "H100PCIE": 756, "H100": 756,
    "A100": 312, "L40S": 362, "L40": 181, "L4": 121, "A40": 150, "A10": 125,
    "RTX6000ADA": 364, "RTXA6000": 155, "RTXA5000": 111, "RTXA4000": 77,
    "RTX5090": 210, "RTX4090": 165, "RTX4080": 97, "RTX3090": 71,
    "V100": 125, "T4": 65,
}
_VENDOR_WORDS = re.compile(r"\b(NVIDIA|GEFORCE|TESLA)\b")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")


def gpu_key(name: str) -> str:
    """``"NVIDIA GeForce RTX 4090"`` -> ``"RTX4090"``."""
    return _NOT_ALNUM.sub("", _VENDOR_WORDS.sub("", name.upper()))


def tflops(name: str) -> float:
    """Approximate tensor TFLOPS of one GPU called ``name``; 0 when unknown."""
    key = gpu_key(name)
    known = [model for model in TFLOPS if key.startswith(model)]
    return TFLOPS[max(known, key=len)] if known else 0.0
