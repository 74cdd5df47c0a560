"""The HTML export, opened in headless Chromium: one self-contained page that shows every picture
blurred until clicked, escapes untrusted text, links every cited evidence id to the appendix, and
stays readable for an empty case and for one of hundreds of items."""

from __future__ import annotations

import re

from PIL import Image

from aima.report import build_report
from aima.report.exports import export
from aima.report.exports.common import anchor
from aima.settings import Settings
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case
from tests.report.conftest import browser_check, needs_chromium, screenshot
from tests.report.sections import NARRATIVE, large_report, picture_store, with_fusion_sections


def page_text(path) -> str:
    return path.read_text(encoding="utf-8")


def assert_self_contained(source: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", source, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:|//)", source, re.I)
    assert not re.search(r"<link\b", source, re.I)


def anchors_resolve(source: str) -> None:
    ids = set(re.findall(r'id="([^"]+)"', source))
    targets = set(re.findall(r'href="#([^"]+)"', source))
    assert targets - ids == set(), f"links without a target: {sorted(targets - ids)[:5]}"


@needs_chromium
def test_a_real_case_shows_its_pictures_blurred_until_clicked(analysed, tmp_path):
    report = with_fusion_sections(analysed.report)
    page = tmp_path / "report.html"

    assert export(report, "html", page, images=analysed.images) == [page]

    source = page_text(page)
    assert_self_contained(source)
    anchors_resolve(source)
    # every evidence item has its appendix entry, and what the page cites links to it
    for item in report["evidence"]:
        assert f'id="{anchor(item["id"])}"' in source
    for segment in report["transcripts"][0]["segments"]:
        assert f'href="#{anchor(segment["id"])}"' in source
    assert "Harbour &lt;street&gt; &amp; café" in source and "<street>" not in source
    assert NARRATIVE in source and "Requires human review" in source
    assert "Open the door" in source

    found = browser_check(page, tmp_path)

    crops = [e for e in report["evidence"] if e["kind"] == "face"]
    keyframes = [e for e in report["evidence"] if e["kind"] == "keyframe"]
    assert len(found["images"]) >= len(crops) + len(keyframes)
    assert all(image["loaded"] for image in found["images"]), found["images"]
    assert all("blur" in image["filter"] and "grayscale" in image["filter"]
               for image in found["images"])
    assert found["clicked"]["filter"] == "none"  # a click reveals the picture

    png = screenshot(page, tmp_path / "report.png")
    with Image.open(png) as shot:
        grey = shot.convert("L")
        low, high = grey.getextrema()
        assert high - low > 150 and len(grey.getcolors(256)) > 40, "the screenshot is blank"


@needs_chromium
def test_reveal_images_writes_the_page_with_nothing_blurred(analysed, tmp_path):
    page = tmp_path / "revealed.html"

    export(analysed.report, "html", page, images=analysed.images, reveal_images=True)

    found = browser_check(page, tmp_path)
    assert found["images"] and all(image["loaded"] for image in found["images"])
    assert {image["filter"] for image in found["images"]} == {"none"}
    assert "No narrative was written" in page_text(page)


@needs_chromium
def test_a_case_without_files_still_makes_a_readable_page(tmp_path):
    with open_stores(Settings(data_dir=tmp_path / "data")) as stores:
        report = build_report(stores, get_or_create_case(stores.metadata, "empty case"))
    page = tmp_path / "empty.html"

    export(report, "html", page, images=lambda key: None)

    source = page_text(page)
    for line in ("No narrative was written: the fuse stage has not run for this case.",
                 "No persons", "No keyframes", "No transcripts", "No findings",
                 "The timeline is empty.", "No coverage in this report.", "No files.",
                 "No evidence."):
        assert line in source
    found = browser_check(page, tmp_path)
    assert found["images"] == [] and found["clicked"] is None
    screenshot(page, tmp_path / "empty.png", size="1000,800")


@needs_chromium
def test_hundreds_of_items_render_with_untrusted_text_escaped(tmp_path):
    pictures = picture_store(4 * 60)
    report = large_report(videos=4, keyframes=60, segments=80)  # 800 evidence items, 560 events
    page = tmp_path / "large.html"

    export(report, "html", page, images=pictures.get)

    source = page_text(page)
    assert "<script>alert(1)</script>" not in source
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in source
    assert source.count("<rect") >= len(report["timeline"])  # a mark per event on the chart
    anchors_resolve(source)
    found = browser_check(page, tmp_path)
    assert found["scripts"] == 2  # the page's own and the check: the transcript's is only text
    # each keyframe in its strip, and a gallery of crops per person
    assert len(found["images"]) >= 4 * 60
    assert all(image["loaded"] for image in found["images"])
    assert all("blur" in image["filter"] for image in found["images"])


def test_a_report_missing_its_sections_still_exports_in_every_format(tmp_path):
    sparse = {"case": {"name": "sparse"},
              "narrative": {"status": "failed", "reason": "the language model ran out of memory"},
              "timeline": [{"at": 5.0, "media_id": "m", "kind": "speech", "start_s": None,
                            "end_s": None, "evidence": ["seg:m:0"]}]}
    for number, report in enumerate(({}, sparse)):
        page = tmp_path / f"{number}.html"
        export(report, "html", page, images=lambda key: None)
        export(report, "csv", tmp_path / f"csv-{number}", images=lambda key: None)
        pdf = export(report, "pdf", tmp_path / f"{number}.pdf", images=lambda key: None)[0]
        assert pdf.read_bytes().startswith(b"%PDF")
        assert "No files." in page_text(page)
    source = page_text(tmp_path / "1.html")
    assert "No narrative was written: the language model ran out of memory." in source
    anchors_resolve(source)  # the cited segment has an appendix entry though it is not listed
    assert "cited, but not in this report&#39;s evidence list" in source
