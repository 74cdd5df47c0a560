"""The HTML export: the whole case report as one self-contained page for a reviewer.

One file, no external requests: CSS and a few lines of script inline, every picture a ``data:``
URI (:mod:`aima.report.exports.pictures`), charts as inline SVG. The template
(``templates/report.html.j2``) is rendered by Jinja2 with autoescaping on: transcripts, OCR text,
file names and model answers are untrusted text and reach the page escaped.

Exposure reduction: pictures of people (face crops, keyframes, the frames a finding cites) are
shown blurred and in greyscale by default (a CSS filter); a click on a picture reveals it, a
button reveals all, and ``reveal_images=True`` (``aima report --reveal-images``) writes the page
with nothing blurred.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader

from aima.report.exports.pictures import ImageReader, Pictures
from aima.report.exports.view import build_view

TEMPLATE = "report.html.j2"


@cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("aima.report.exports", "templates"),
                       autoescape=True, trim_blocks=True, lstrip_blocks=True)


def render_html(report: dict[str, Any], images: ImageReader, *, reveal_images: bool = False,
                print_pictures_blurred: bool = False) -> str:
    """The report page as a string. ``print_pictures_blurred`` says the pictures' own pixels are
    already blurred (the PDF export), which the page then states."""
    view = build_view(report, Pictures(images))
    return _environment().get_template(TEMPLATE).render(
        view=view, reveal=reveal_images, pixels_blurred=print_pictures_blurred)


def write_html(report: dict[str, Any], out: Path, *, images: ImageReader,
               reveal_images: bool = False) -> Path:
    """Write the page to file ``out`` (its directory is made if missing)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(report, images, reveal_images=reveal_images), encoding="utf-8")
    return out
