"""The PDF export: the HTML report rendered by WeasyPrint, for printing and filing.

The page is the one :mod:`aima.report.exports.html` writes, laid out with its print CSS (A4, the
case name in each page's header, page numbers, each major section on a new page). PDFs are
printed, filed and passed on, so they keep the HTML's default: pictures blurred and in
greyscale unless ``reveal_images`` is given. PDF has no CSS filter (WeasyPrint ignores
``filter``), so the blur is made in the pixels themselves before the pictures are embedded
(:func:`aima.report.exports.pictures.blurred`): the file holds no sharp copy to recover.

WeasyPrint needs Pango at run time (Debian: ``libpango-1.0-0`` and ``libpangoft2-1.0-0``;
``libharfbuzz-subset0`` makes font subsetting faster) and a font (``fonts-dejavu-core``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aima.report.exports.html import render_html
from aima.report.exports.pictures import ImageReader, blurred


def write_pdf(report: dict[str, Any], out: Path, *, images: ImageReader,
              reveal_images: bool = False) -> Path:
    """Write the report as PDF to file ``out`` (its directory is made if missing)."""
    from weasyprint import HTML, URLFetcher  # imported here: the other exports need no Pango

    page = render_html(report, images if reveal_images else blurred(images),
                       reveal_images=True, print_pictures_blurred=not reveal_images)
    out.parent.mkdir(parents=True, exist_ok=True)
    # The page embeds everything as data: URIs; nothing else is ever fetched.
    fetcher = URLFetcher(allowed_protocols=("data",))
    HTML(string=page, base_url=None, url_fetcher=fetcher).write_pdf(out)
    return out
