"""Fixtures for the export tests: one real analysed case (built once per session) and helpers
that open an exported page in headless Chromium."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aima.report import build_report, object_reader
from aima.settings import Settings
from aima.storage import open_stores
from tests.report.casegen import analyse_case

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian package chromium; "
                             "scripts/bootstrap installs it): the HTML is not opened in a browser")
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext, pdfinfo, pdfimages) is "
                                              "not installed: the PDF cannot be read back")


@dataclass
class AnalysedCase:
    report: dict[str, Any]
    images: Any  # object-store key -> bytes | None
    data_dir: Path


@pytest.fixture(scope="session")
def analysed(tmp_path_factory) -> AnalysedCase:
    """The case of :mod:`tests.report.casegen`, analysed by the real stages, and its report;
    ``images`` reads the case's object store (open for the whole session)."""
    root = tmp_path_factory.mktemp("report-case")
    settings = Settings(data_dir=root / "data", model_cache_dir=root / "model-cache")
    with open_stores(settings) as stores:
        case = analyse_case(stores, root / "media")
        report = json.loads(json.dumps(build_report(stores, case)))  # as saved: plain JSON
        yield AnalysedCase(report, object_reader(stores), root / "data")


#: appended before </body>: what a reader's browser loaded and shows, written into the DOM
CHECK_SCRIPT = """
<script>
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var state = function (img) {
    return {loaded: img.complete && img.naturalWidth > 0, filter: getComputedStyle(img).filter};
  };
  var before = images.map(state);
  var clicked = null;
  if (images.length) { images[0].click(); clicked = state(images[0]); images[0].click(); }
  var pre = document.createElement("pre");
  pre.id = "check";
  pre.textContent = JSON.stringify({images: before, clicked: clicked,
                                    scripts: document.scripts.length});
  document.body.appendChild(pre);
});
</script>
"""


def browser_check(page: Path, work: Path) -> dict[str, Any]:
    """Open a copy of ``page`` with :data:`CHECK_SCRIPT` in headless Chromium; its findings."""
    copy = work / f"checked-{page.name}"
    source = page.read_text(encoding="utf-8")
    assert source.count("</body>") == 1
    copy.write_text(source.replace("</body>", CHECK_SCRIPT + "</body>"), encoding="utf-8")
    done = _chromium(work, "--virtual-time-budget=10000", "--dump-dom", copy.as_uri())
    found = re.search(r'<pre id="check">(.*?)</pre>', done.stdout, re.S)
    assert found, f"the check script did not run: {done.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def screenshot(page: Path, png: Path, size: str = "1200,1800") -> Path:
    _chromium(png.parent, f"--screenshot={png}", f"--window-size={size}", "--hide-scrollbars",
              page.as_uri())
    assert png.exists(), "chromium wrote no screenshot"
    return png


def _chromium(work: Path, *args: str) -> subprocess.CompletedProcess:
    profile = work / "chromium-profile"
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done
