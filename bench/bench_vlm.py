"""Benchmark of the describe stage's transformers path on tiny random LLaVA models.

    .venv/bin/python bench/bench_vlm.py [--frames 16] [--tokens 1024] [--threads 1]

No package ships VLM weights, so this measures the machinery, not the answers: a tiny random
LLaVA-1.5 and LLaVA-1.6 (tests/vision/tiny_vlm.py) describe the keyframes of a video of
``--frames`` photo scenes (scikit-image's bundled photos, cut with ffmpeg, keyframes extracted by
aima.media.keyframes), through ``TransformersVLM.describe`` with the schema constraint, first one
picture at a time (batch 1), then eight at a time (batch 8). Prints per model:

- pictures per second at batch 1 and batch 8, and their ratio (the batching speedup);
- the share of keyframes whose answer parsed (at once, or after the repair prompt), with the
  constraint and, as the baseline, without it (``structured="off"``, ``--free-tokens`` each).

A random model's greedy answers under the constraint fill strings up to their bounds; they end
by themselves within ``--tokens`` for these two models (see bench/README.md for the lengths).
Torch runs on ``--threads`` threads (1 by default: on a shared 2-core machine a 32-wide model on
two threads spends its time waiting).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from skimage import data  # noqa: E402

from aima.media.keyframes import iter_keyframes  # noqa: E402
from aima.models.vlm.transformers import TransformersVLM  # noqa: E402
from bench._result import print_result  # noqa: E402
from tests.mediagen import make_cut_video  # noqa: E402
from tests.vision.tiny_vlm import build_tiny_vlm  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "horse",
          "hubble_deep_field", "immunohistochemistry", "moon", "page", "text", "clock",
          "colorwheel", "logo", "brick")
SIZE = (640, 360)


def keyframes(directory: Path, count: int) -> list[Image.Image]:
    stills = [Image.fromarray(getattr(data, PHOTOS[n % len(PHOTOS)])()).convert("RGB")
              .resize(SIZE) for n in range(count)]
    video = directory / "scenes.mp4"
    make_cut_video(video, [1.0] * count, size=SIZE, stills=stills)
    return [frame.image for frame in iter_keyframes(video)]


def run(vlm: TransformersVLM, frames: list[Image.Image]) -> tuple[float, float]:
    """(pictures per second, share parsed)."""
    start = time.perf_counter()
    descriptions = vlm.describe(frames)
    elapsed = time.perf_counter() - start
    parsed = sum(1 for d in descriptions if d.status != "unparsed")
    return len(frames) / elapsed, parsed / len(frames)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=1024, help="token budget with the schema")
    parser.add_argument("--free-tokens", type=int, default=128,
                        help="token budget of the unconstrained baseline")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", nargs="+", choices=("llava", "llava_next"),
                        default=["llava", "llava_next"], help="which tiny models to run")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        frames = keyframes(Path(tmp), args.frames)
        print(f"{len(frames)} keyframes of {SIZE[0]}x{SIZE[1]}, torch threads {args.threads}")
        figures: dict[str, float] = {}
        for kind in args.models:
            directory = build_tiny_vlm(Path(tmp), kind)
            results = {}
            for batch in (1, 8):
                vlm = TransformersVLM(str(directory), batch_size=batch, max_new_tokens=args.tokens)
                vlm.describe(frames[:1])  # warm-up: load, first generation
                results[batch] = run(vlm, frames)
            free = TransformersVLM(str(directory), batch_size=8, structured="off",
                                   max_new_tokens=args.free_tokens)
            _, free_share = run(free, frames)
            (ips1, share1), (ips8, share8) = results[1], results[8]
            print(f"{kind:10s} batch 1: {ips1:5.2f} pictures/s   batch 8: {ips8:5.2f} pictures/s"
                  f"   speedup {ips8 / ips1:4.2f}x")
            print(f"{'':10s} parsed with the schema constraint: {share8:.0%} (batch 1: "
                  f"{share1:.0%});   without it (baseline): {free_share:.0%}")
            figures |= {f"{kind}_batch1_pictures_s": ips1, f"{kind}_batch8_pictures_s": ips8,
                        f"{kind}_parsed_constrained": share8, f"{kind}_parsed_free": free_share}
    first = args.models[0]
    print_result(figures[f"{first}_batch8_pictures_s"] / figures[f"{first}_batch1_pictures_s"],
                 f"tiny {first}: pictures/s at batch 8 / batch 1", None, None,
                 frames=len(frames), **figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
