"""Exports of a case report for people: CSV tables, a self-contained HTML page and a PDF.

:func:`export` writes one format from the report dict (:func:`aima.report.build_report`, or a
saved version): ``csv`` writes three tables into directory ``out``
(:mod:`~aima.report.exports.csv`), ``html`` one self-contained page to file ``out``
(:mod:`~aima.report.exports.html`), ``pdf`` the same page printed by WeasyPrint
(:mod:`~aima.report.exports.pdf`), ``geojson`` the files' positions to file ``out``
(:mod:`aima.report.geojson`). JSON is the report itself and subtitles are written from
the transcripts (:mod:`aima.report.subtitles`). ``images`` reads an object-store key
(a thumbnail, a face crop) and returns its bytes, or None when it is missing
(:func:`aima.report.object_reader`). Pictures are blurred and greyscale unless
``reveal_images``. What each report key means is in ``docs/report.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

FORMATS = ("csv", "html", "pdf", "geojson")


def export(report: dict[str, Any], fmt: str, out: Path, *,
           images: Callable[[str], bytes | None], reveal_images: bool = False) -> list[Path]:
    """Write ``report`` in format ``fmt`` to ``out``; returns the paths written."""
    out = Path(out)
    if fmt == "csv":
        from aima.report.exports.csv import write_csv

        return write_csv(report, out)
    if fmt == "html":
        from aima.report.exports.html import write_html

        return [write_html(report, out, images=images, reveal_images=reveal_images)]
    if fmt == "pdf":
        from aima.report.exports.pdf import write_pdf

        return [write_pdf(report, out, images=images, reveal_images=reveal_images)]
    if fmt == "geojson":
        from aima.report.geojson import write_geojson

        return [write_geojson(report, out)]
    raise ValueError(f"unknown export format {fmt!r}; expected one of {FORMATS}")
