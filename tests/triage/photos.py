"""Real photos that ship with scikit-image, their altered copies, and videos made of them by ffmpeg.

Used by the near-duplicate tests and by ``bench/bench_near_duplicates.py``. The photos are real
scenes (an astronaut, a cat, coffee, a rocket launch, the Hubble deep field, coins, the moon...),
not drawn ones, so that perceptual hashes meet the texture and detail of real pictures.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageEnhance, ImageOps
from skimage import data

from tests.mediagen import ffmpeg

#: scikit-image's photographs of real scenes (its drawings, charts and the stereo twin
#: ``motorcycle_right`` of ``motorcycle_left`` are left out)
PHOTOS = ("astronaut", "camera", "chelsea", "coffee", "rocket", "hubble_deep_field", "retina",
          "coins", "moon", "page", "grass", "gravel", "brick", "immunohistochemistry", "cell",
          "clock", "text", "microaneurysms")


def photo(name: str) -> Image.Image:
    """A scikit-image photo as an RGB picture."""
    return Image.fromarray(getattr(data, name)()).convert("RGB")


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def _crop(image: Image.Image, keep: float = 0.9) -> Image.Image:
    """The centre of the picture, ``keep`` of each side (0.9: a 10 % crop)."""
    w, h = image.size
    dx, dy = round(w * (1 - keep) / 2), round(h * (1 - keep) / 2)
    return image.crop((dx, dy, w - dx, h - dy))


#: the alterations a copy of a picture goes through: name -> function
TRANSFORMS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "resized": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS),
    "jpeg30": lambda im: _jpeg(im, 30),
    "cropped": _crop,
    "corner-cropped": lambda im: im.crop((0, 0, round(im.width * 0.9), round(im.height * 0.9))),
    "brighter": lambda im: ImageEnhance.Brightness(im).enhance(1.3),
    "darker": lambda im: ImageEnhance.Brightness(im).enhance(0.7),
    "mirrored": ImageOps.mirror,
}


def save(image: Image.Image, path: Path) -> Path:
    """Save as the suffix says (JPEG at quality 30 for ``*-jpeg30.jpg``, else 90)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".jpg":
        image.save(path, quality=30 if "jpeg30" in path.name else 90)
    else:
        image.save(path)
    return path


def make_photo_video(path: Path, names: list[str], *, scene_s: float = 5.0,
                     size: tuple[int, int] = (320, 180), fps: int = 10) -> Path:
    """A video of one scene per photo, ``scene_s`` each, the camera panning slowly across it
    (ffmpeg: each photo looped, scaled to cover 125 % of the frame, a moving crop, concatenated)."""
    scratch = path.parent / f".{path.stem}-photos"
    scratch.mkdir(parents=True, exist_ok=True)
    width, height = size
    inputs, filters = [], []
    for n, name in enumerate(names):
        picture = photo(name)
        picture.thumbnail((width * 2, height * 2), Image.Resampling.LANCZOS)  # less to scale
        still = save(picture, scratch / f"{n:02d}-{name}.png")
        inputs += ["-loop", "1", "-framerate", str(fps), "-t", str(scene_s), "-i", still]
        big_w, big_h = round(width * 1.25) // 2 * 2, round(height * 1.25) // 2 * 2
        filters.append(
            f"[{n}:v]scale={big_w}:{big_h}:force_original_aspect_ratio=increase,"
            f"crop={big_w}:{big_h},crop={width}:{height}:x='(in_w-{width})*t/{scene_s}'"
            f":y='(in_h-{height})/2',setsar=1,format=yuv420p[v{n}]")
    graph = ";".join(filters) + ";" + "".join(f"[v{n}]" for n in range(len(names)))
    graph += f"concat=n={len(names)}:v=1:a=0[out]"
    ffmpeg(*inputs, "-filter_complex", graph, "-map", "[out]", "-r", str(fps), "-c:v", "libx264",
           "-preset", "veryfast", "-pix_fmt", "yuv420p", path)
    return path


def cut_clip(source: Path, target: Path, start_s: float, seconds: float, *,
             scale: str | None = None, mirror: bool = False) -> Path:
    """Cut ``seconds`` from ``start_s`` of ``source`` (re-encoded, so the cut is exact), optionally
    rescaled (``scale`` as ffmpeg's ``W:H``) and mirrored."""
    chain = [f for f in (f"scale={scale}" if scale else None, "hflip" if mirror else None) if f]
    ffmpeg("-ss", str(start_s), "-t", str(seconds), "-i", source,
           *(["-vf", ",".join(chain)] if chain else []), "-c:v", "libx264", "-preset", "veryfast",
           "-crf", "30", "-pix_fmt", "yuv420p", target)
    return target
