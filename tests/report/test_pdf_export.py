"""The PDF export: the report page printed by WeasyPrint, read back with poppler-utils: the
text a reviewer files, several pages, and pictures whose own pixels are blurred and grey unless
the export was asked to reveal them."""

from __future__ import annotations

import io
import subprocess

from PIL import Image, ImageFilter, ImageStat

from aima.report.exports import export
from tests.report.conftest import needs_poppler
from tests.report.sections import NARRATIVE, with_fusion_sections


def run(*args) -> str:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True,
                          check=True).stdout


def pages(pdf) -> int:
    info = dict(line.split(":", 1) for line in run("pdfinfo", pdf).splitlines() if ":" in line)
    return int(info["Pages"])


def image_colours(pdf) -> list[str]:
    """The colour space of every picture in the PDF (``pdfimages -list``: gray, rgb, ...)."""
    rows = run("pdfimages", "-list", pdf).splitlines()[2:]
    return [row.split()[5] for row in rows if row.split()[2] == "image"]


def sharpness(image: Image.Image) -> float:
    """Mean edge strength: a blurred picture has little of it."""
    return ImageStat.Stat(image.convert("L").filter(ImageFilter.FIND_EDGES)).mean[0]


@needs_poppler
def test_the_pdf_of_a_real_case_reads_back_with_blurred_grey_pictures(analysed, tmp_path):
    report = with_fusion_sections(analysed.report)
    pdf = tmp_path / "report.pdf"

    assert export(report, "pdf", pdf, images=analysed.images) == [pdf]

    text = " ".join(run("pdftotext", "-layout", pdf, "-").split())
    assert "Harbour <street> & café" in text
    assert NARRATIVE in text and "Requires human review" in text
    assert "Open the door" in text and "NO ENTRY AFTER 10 PM" in text
    assert "blurred and in greyscale" in text
    assert pages(pdf) > 1
    colours = image_colours(pdf)
    crops = {e["crop_key"] for e in report["evidence"] if e["kind"] == "face"}
    assert len(colours) >= len(crops)
    assert set(colours) == {"gray"}
    run("pdfimages", "-png", pdf, tmp_path / "img")
    printed = [sharpness(Image.open(path)) for path in sorted(tmp_path.glob("img-*.png"))]
    originals = [sharpness(Image.open(io.BytesIO(analysed.images(e.get("crop_key") or
                                                                 e["thumbnail_key"]))))
                 for e in report["evidence"] if e["kind"] in ("face", "keyframe")]
    assert len(printed) == len(colours)
    assert max(printed) < 0.5 * min(originals), (printed, originals)


@needs_poppler
def test_reveal_images_prints_the_pictures_in_colour_and_says_why(analysed, tmp_path):
    pdf = tmp_path / "revealed.pdf"

    export(analysed.report, "pdf", pdf, images=analysed.images, reveal_images=True)

    text = " ".join(run("pdftotext", pdf, "-").split())
    assert "No narrative was written" in text and "shown unblurred" in text
    assert "rgb" in image_colours(pdf)
