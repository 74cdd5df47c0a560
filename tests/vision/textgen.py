"""Frames with text at known places, for the OCR tests and benchmark.

Text is rendered with Pillow in three fonts: DejaVu Sans and DejaVu Serif Bold (Debian's
``fonts-dejavu-core``) and Aileron, the font Pillow itself bundles. Backgrounds are photos
scikit-image bundles (no text in them) or a plain colour. Three styles of text a camera meets:
``caption`` (white letters with a black outline, as subtitles and news tickers), ``sign`` (dark
letters on a light panel) and ``ink`` (dark letters straight on the background, as on paper).
Every helper returns where the text is, so that tests can check the boxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from skimage import data

from tests.mediagen import ffmpeg

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
FONTS = ("sans", "serif-bold", "aileron")
STYLES = ("caption", "sign", "ink")
#: bundled photos that show no text (astronaut has a name tag and a flag patch: left out)
PHOTOS = ("coffee", "chelsea", "rocket", "camera")
PAPER = (238, 236, 228)


@dataclass(frozen=True)
class Placed:
    text: str
    box: tuple[int, int, int, int]  # x, y, width, height of the drawn letters


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    if name == "sans":
        return ImageFont.truetype(str(DEJAVU / "DejaVuSans.ttf"), size)
    if name == "serif-bold":
        return ImageFont.truetype(str(DEJAVU / "DejaVuSerif-Bold.ttf"), size)
    if name == "aileron":
        return ImageFont.load_default(size)
    raise ValueError(f"no font {name!r}; fonts: {FONTS}")


@cache
def _photo(name: str) -> Image.Image:
    return Image.fromarray(getattr(data, name)()).convert("RGB")


def photo(name: str, size: tuple[int, int] | None = None) -> Image.Image:
    """A bundled photo as RGB, resized to ``size`` when given."""
    image = _photo(name).copy()
    return image.resize(size, Image.Resampling.LANCZOS) if size else image


def plain(size: tuple[int, int], colour: tuple[int, int, int] = PAPER) -> Image.Image:
    return Image.new("RGB", size, colour)


def draw_text(image: Image.Image, text: str, xy: tuple[int, int], font_name: str = "sans",
              size: int = 32, style: str = "caption") -> Placed:
    """Draw ``text`` with its top-left at ``xy`` into ``image`` (in place)."""
    draw = ImageDraw.Draw(image)
    face = font(font_name, size)
    stroke = max(2, size // 12) if style == "caption" else 0
    left, top, right, bottom = draw.textbbox(xy, text, font=face, stroke_width=stroke)
    if style == "sign":
        pad = max(4, size // 3)
        draw.rectangle((left - pad, top - pad, right + pad, bottom + pad), fill=(242, 238, 205))
    if style == "caption":
        draw.text(xy, text, font=face, fill=(255, 255, 255), stroke_width=stroke,
                  stroke_fill=(0, 0, 0))
    elif style in ("sign", "ink"):
        draw.text(xy, text, font=face, fill=(25, 25, 30))
    else:
        raise ValueError(f"no style {style!r}; styles: {STYLES}")
    return Placed(text, (left, top, right - left, bottom - top))


def text_frame(background: Image.Image, lines: list[tuple[str, str, int, str]],
               top: int | None = None) -> tuple[Image.Image, list[Placed]]:
    """``background`` with ``lines`` of ``(text, font, size, style)`` drawn one under the other,
    centred, from ``top`` (default: a fifth of the height)."""
    image = background.copy()
    draw = ImageDraw.Draw(image)
    y = image.height // 5 if top is None else top
    placed = []
    for text, font_name, size, style in lines:
        width = draw.textlength(text, font=font(font_name, size))
        placed.append(draw_text(image, text, (int((image.width - width) / 2), y), font_name, size,
                                style))
        y += int(size * 2.2)
    return image, placed


def make_text_video(path: Path, stills: list[Image.Image], seconds_each: float = 1.0,
                    fps: int = 10) -> Path:
    """An MP4 (H.264) showing each still for ``seconds_each`` (hard cuts), no sound."""
    work = path.parent / f".{path.stem}_stills"
    work.mkdir(parents=True, exist_ok=True)
    lines = []
    for index, still in enumerate(stills):
        still.save(work / f"{index:04d}.png")
        lines += [f"file '{index:04d}.png'", f"duration {seconds_each}"]
    lines.append(f"file '{len(stills) - 1:04d}.png'")
    (work / "list.txt").write_text("\n".join(lines) + "\n")
    ffmpeg("-f", "concat", "-safe", "0", "-i", work / "list.txt",
           "-t", str(seconds_each * len(stills)), "-vf", f"fps={fps},format=yuv420p",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", path)
    for file in work.iterdir():
        file.unlink()
    work.rmdir()
    return path
