"""Photos and videos with faces at known places and times, from photos scikit-image bundles.

Faces: the astronaut photo (Eileen Collins, NASA, public domain) and faces of ``lfw_subset``
(25 x 25 grey crops of Labeled Faces in the Wild), enlarged. ``lfw_subset`` has no identity labels
and shows some people more than once, so the identities used here are hand-checked distinct
people whose embeddings are also far apart (> 0.75; the same face under the variations below stays
within 0.3). Backgrounds are face-free bundled photos. Faces and backgrounds are made by
:mod:`aima.eval.media`, which generated evaluation cases use too. Photos are composited with
Pillow; videos with ffmpeg (each face overlaid on its background at known times). Every helper
returns where the faces are, so tests and benchmarks can score detection and clustering.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image

from aima.eval import media
from aima.eval.media import ffmpeg
from aima.eval.media import photo as background  # a face-free bundled photo scaled to a size

#: identities: "astronaut" and indices into lfw_subset's faces (0-99), distinct people
IDENTITIES = ("astronaut", 1, 7, 31, 45, 46, 0)
BACKGROUNDS = ("coffee", "chelsea", "rocket", "horse", "brick", "grass")


@dataclass(frozen=True)
class Placed:
    """A face put somewhere: its identity and box (x, y, width, height) in the picture."""

    identity: str | int
    box: tuple[int, int, int, int]
    start_s: float | None = None  # in a video: when it is shown
    end_s: float | None = None


def face(identity: str | int, side: int, variant: int = 0) -> Image.Image:
    """A square RGB face picture of ``side`` pixels; ``variant`` > 0 varies mirror, light and
    angle a little, as another photo of the same person would: a little more than in generated
    evaluation cases (the distances above and the benchmarks' figures were measured so)."""
    return media.face(identity, side, variant, brightness=(0.8, 1.2), tilt_deg=6)


def compose(faces: list[tuple[str | int, int, tuple[int, int]]], size=(640, 400),
            backdrop: str = "coffee", variant: int = 0) -> tuple[Image.Image, list[Placed]]:
    """A picture of ``size`` with faces ``(identity, side, (x, y))`` on a bundled background."""
    picture = background(backdrop, size)
    placed = []
    for number, (identity, side, (x, y)) in enumerate(faces):
        picture.paste(face(identity, side, variant + number), (x, y))
        placed.append(Placed(identity, (x, y, side, side)))
    return picture, placed


def write_photo(path: Path, faces, size=(640, 400), backdrop: str = "coffee", variant: int = 0,
                quality: int = 88) -> list[Placed]:
    """:func:`compose` saved as a JPEG at ``path``."""
    picture, placed = compose(faces, size, backdrop, variant)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path, "JPEG", quality=quality)
    return placed


def write_photo_sorting_first(path: Path, faces, before: list[str], **options) -> list[Placed]:
    """:func:`write_photo`, re-encoded until its SHA-256 sorts before every hash of ``before``
    (a file added later that comes first in the canonical order)."""
    for quality in range(95, 60, -1):
        placed = write_photo(path, faces, quality=quality, **options)
        if hashlib.sha256(path.read_bytes()).hexdigest() < min(before):
            return placed
    raise RuntimeError("no JPEG quality gave a hash that sorts first")


def write_video(path: Path, segments: list[tuple[str, list]], seconds: float = 2.0, size=(640, 360), fps: int = 10) -> list[Placed]:
    """A video of ``segments`` (background name, faces), ``seconds`` each: each face is overlaid
    by ffmpeg on its segment's background while that segment plays. Returns where and when."""
    work = path.parent / f".{path.stem}-parts"
    work.mkdir(parents=True, exist_ok=True)
    inputs, chains, placed = [], [], []
    for index, (backdrop, faces) in enumerate(segments):
        background(backdrop, size).save(work / f"bg{index}.png")
        inputs += ["-loop", "1", "-framerate", str(fps), "-t", str(seconds),
                   "-i", work / f"bg{index}.png"]
    for index, (_, faces) in enumerate(segments):
        for number, (identity, side, (x, y)) in enumerate(faces):
            name = work / f"face{index}-{number}.png"
            face(identity, side, index + number).save(name)
            inputs += ["-loop", "1", "-framerate", str(fps), "-t", str(seconds), "-i", name]
    stream = len(segments)
    for index, (_, faces) in enumerate(segments):
        label = f"{index}:v"
        start = index * seconds
        for number, (identity, side, (x, y)) in enumerate(faces):
            out = f"s{index}f{number}"
            chains.append(f"[{label}][{stream}:v]overlay={x}:{y}:shortest=1[{out}]")
            label, stream = out, stream + 1
            placed.append(Placed(identity, (x, y, side, side), start, start + seconds))
        chains.append(f"[{label}]format=yuv420p,setsar=1[seg{index}]")
    joined = "".join(f"[seg{i}]" for i in range(len(segments)))
    chains.append(f"{joined}concat=n={len(segments)}:v=1:a=0[out]")
    ffmpeg(*inputs, "-filter_complex", ";".join(chains), "-map", "[out]", "-r", str(fps),
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", path)
    for part in work.iterdir():
        part.unlink()
    work.rmdir()
    return placed


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two (x, y, width, height) boxes."""
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    width = max(0, min(ax1, bx1) - max(a[0], b[0]))
    height = max(0, min(ay1, by1) - max(a[1], b[1]))
    inter = width * height
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


@cache
def face_model():
    """The embedded profile's faces model, loaded once per process."""
    from aima.models.factory import load_model
    from aima.settings import Settings

    return load_model("faces", Settings())
