"""Benchmark: how well the ocr stage's reader reads text rendered into frames, and how fast.

Frames: text in three fonts (DejaVu Sans, DejaVu Serif Bold, Pillow's Aileron), several sizes and
three styles (white caption with a black outline, dark text on a light sign, dark ink straight on
the background), drawn at a random height over photos scikit-image bundles (coffee, chelsea,
rocket, camera) and over plain paper; plus photos without any text, where every line read is noise.

Readers, all measured in this run on the same frames:

- ``tesseract default``: what ``tesseract IMAGE out`` gives (automatic page segmentation, one
  pass, every word it reports): the baseline
- ``one pass + filter``: the same pass with the stage's noise filter (aima/vision/text_lines.py)
- ``stage``: the stage's reader (aima/models/ocr.py: four passes, merged, and the filter)

Figures: character error rate (CER: edits to turn what was read into what was drawn, per drawn
character; lines joined in reading order; noise read as text counts as insertions), lines read
exactly, noise lines on the photos without text, seconds per frame; and the ratio of the
baseline's CER to the stage's.

    .venv/bin/python bench/bench_ocr.py [--sizes 20 32] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import jiwer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aima.models.ocr import TesseractOCR  # noqa: E402
from bench._result import print_result  # noqa: E402
from tests.vision.textgen import FONTS, PHOTOS, STYLES, photo, plain, text_frame  # noqa: E402

TEXTS = ("HARBOUR GATE 7", "Exit only after 22:00", "Police line do not cross",
         "Invoice 4417 paid", "North Quay Warehouse", "Camera 3 car park level 2",
         "Delivery van arrived 06:45", "Platform 9 closed today", "Ferry to Oslo 14:10")
NO_TEXT = ("coffee", "chelsea", "rocket", "camera", "coins", "horse", "hubble_deep_field",
           "immunohistochemistry")


def frames(sizes: list[int], seed: int):
    """(background kind, style, image, drawn lines) for every background, font, size and style."""
    rng = random.Random(seed)
    backgrounds = [(name, photo(name)) for name in PHOTOS] + [("plain", plain((640, 400)))]
    for name, background in backgrounds:
        for font in FONTS:
            for size in sizes:
                for style in STYLES:
                    count = rng.choice((1, 2))
                    lines = [(text, font, size, style) for text in rng.sample(TEXTS, count)]
                    top = rng.randrange(10, background.height - int(size * 2.2 * count) - 10)
                    image, placed = text_frame(background, lines, top=top)
                    yield ("plain" if name == "plain" else "photo"), style, image, [
                        p.text for p in placed]


def default_tesseract(model: TesseractOCR):
    """Tesseract as it comes: one pass, every word it reports, its own lines."""
    def read(image):
        table = model.words(image.convert("RGB"))
        lines: dict[tuple, list[str]] = {}
        for i, text in enumerate(table["text"]):
            if text.strip():
                key = tuple(table[k][i] for k in ("page_num", "block_num", "par_num", "line_num"))
                lines.setdefault(key, []).append(text.strip())
        return [" ".join(words) for words in lines.values()]
    return read


def lines_of(model: TesseractOCR):
    return lambda image: [line.text for line in model.read(image)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[18, 30, 44],
                        help="font sizes in pixels (default: 18 30 44)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-frames", type=int, default=None,
                        help="read only this many frames, evenly spread over backgrounds, fonts "
                             "and styles (default: all)")
    parser.add_argument("--no-text", type=int, default=len(NO_TEXT),
                        help=f"photos without text read for noise (at most {len(NO_TEXT)})")
    args = parser.parse_args(argv)

    stage = TesseractOCR()
    readers = {
        "tesseract default": default_tesseract(stage),
        "one pass + filter": lines_of(TesseractOCR(passes=(("image", None),))),
        "stage": lines_of(stage),
    }
    print(f"tesseract {stage.version}, languages {stage.languages}; stage passes: "
          f"{', '.join(stage.parameters['passes'])}")
    results: dict[str, list[dict]] = {name: [] for name in readers}
    cases = list(frames(args.sizes, args.seed))
    if args.max_frames and len(cases) > args.max_frames:
        keep = sorted(random.Random(args.seed).sample(range(len(cases)), args.max_frames))
        cases = [cases[index] for index in keep]
    for background, style, image, drawn in cases:
        truth = " ".join(drawn)
        for name, read in readers.items():
            started = time.perf_counter()
            found = read(image)
            seconds = time.perf_counter() - started
            results[name].append({
                "background": background, "style": style, "seconds": seconds,
                "cer": jiwer.cer(truth, " ".join(found)) if found else 1.0,
                "exact": sum(text in found for text in drawn), "lines": len(drawn),
            })
    noise = {name: 0 for name in readers}
    for name, read in readers.items():
        for photo_name in NO_TEXT[:args.no_text]:
            noise[name] += len(read(photo(photo_name)))

    print(f"\n{len(cases)} frames with text ({sum(len(c[3]) for c in cases)} lines; sizes "
          f"{args.sizes} px, fonts {', '.join(FONTS)}), {args.no_text} photos without text\n")
    header = (f"{'reader':<19} {'CER':>6} {'photo':>6} {'plain':>6} "
              + " ".join(f"{s:>7}" for s in STYLES)
              + f" {'exact lines':>12} {'noise':>6} {'s/frame':>8}")
    print(header)
    for name, rows in results.items():
        def mean_cer(key=None, value=None, rows=rows):
            chosen = [r["cer"] for r in rows if key is None or r[key] == value]
            return statistics.fmean(chosen) if chosen else float("nan")
        exact = sum(r["exact"] for r in rows)
        print(f"{name:<19} {mean_cer():6.3f} {mean_cer('background', 'photo'):6.3f} "
              f"{mean_cer('background', 'plain'):6.3f} "
              + " ".join(f"{mean_cer('style', s):7.3f}" for s in STYLES)
              + f" {exact:>5}/{sum(r['lines'] for r in rows):<6} {noise[name]:>6} "
              f"{statistics.fmean(r['seconds'] for r in rows):8.2f}")
    base = statistics.fmean(r["cer"] for r in results["tesseract default"])
    ours = statistics.fmean(r["cer"] for r in results["stage"])
    slower = (statistics.fmean(r["seconds"] for r in results["stage"])
              / statistics.fmean(r["seconds"] for r in results["tesseract default"]))
    print(f"\nCER ratio tesseract default / stage: {base / ours:.2f}x lower error "
          f"({base:.3f} -> {ours:.3f}), at {slower:.1f}x the time per frame")
    print_result(base / ours, "CER of tesseract default (baseline) / CER of the OCR stage", None,
                 None, frames=len(cases), stage_cer=ours, baseline_cer=base,
                 time_per_frame_ratio=slower, stage_noise_lines=noise["stage"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
