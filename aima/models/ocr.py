"""Text recognition with tesseract (Debian ``tesseract-ocr`` 5, LSTM, Apache-2.0).

:class:`TesseractOCR` runs the ``tesseract`` command on a frame and returns its text lines
(words with boxes and confidences, grouped into lines; :mod:`aima.vision.text_lines`).

Why the command and not a binding: the image goes to ``tesseract - - tsv`` on stdin and the word
table comes back on stdout (no temporary files); the binary is a parameter of the model, so a
missing one is a clear error that a test can provoke; the version and languages are read from that
same binary for the model id. ``pytesseract`` does the same through a module-wide command setting
and process-wide caches of version and languages, and ``tesserocr`` wheels bundle their own
libtesseract rather than the system's.

Reading a frame: tesseract's page layout analysis binarises the whole frame with one Otsu
threshold, which loses text over photos (a white caption with an outline comes out as hollow
shapes; a sign beside dark hair is merged with it). So each frame is read once per
:data:`PASSES` entry: as it is, and as black-and-white masks of its bright pixels (light
captions, light signs) and of its dark pixels (dark text); where two readings cover the same
place the one with more confident text wins. The passes run side by side, one single-threaded
tesseract process each. On ``bench/bench_ocr.py``'s frames (three fonts, three sizes, three
styles, over photos and paper) this brings the character error rate from 0.61 (tesseract's
default) to 0.27, at 0.6 s a frame of 640 px and ~1 s a 1280 x 720 keyframe on two cores.

Languages are ``AIMA_OCR_LANGUAGES`` (``eng``, ``eng+deu``; Debian ships each as
``tesseract-ocr-<lang>``). A language without its traineddata is a
:class:`~aima.errors.ConfigError` naming that setting; a missing binary is :class:`OcrUnavailable`
saying how to install it. Both are checked on first use (``model_id`` or reading), not when the
model is built, so a pipeline with text recognition switched off never needs tesseract.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from aima.errors import AimaError, ConfigError
from aima.models.base import Model
from aima.vision.text_lines import MIN_WORD_CONFIDENCE, TextLine, lines_from_tsv, merge_readings

INSTALL_HINT = ("install it with `apt-get install tesseract-ocr tesseract-ocr-eng` (Debian, "
                "Ubuntu), or switch text recognition off with AIMA_OCR_ENABLED=false")
PAGE_SEGMENTATION = 3  # tesseract's default: automatic page layout (no OSD)
#: The readings of every frame: the frame itself, then masks of pixels at least / at most this
#: grey (0-255) as black ink on white.
PASSES: tuple[tuple[str, int | None], ...] = (
    ("image", None), ("bright", 180), ("bright", 225), ("dark", 60),
)
_LANGUAGES = re.compile(r"^[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*$")


class OcrUnavailable(AimaError):
    """The tesseract command cannot be run."""


class TesseractOCR(Model):
    """Words with boxes and confidences, in lines, from the ``tesseract`` command."""

    kind = "ocr"

    def __init__(self, languages: str = "eng", *, command: str = "tesseract",
                 passes: tuple[tuple[str, int | None], ...] = PASSES,
                 page_segmentation: int = PAGE_SEGMENTATION,
                 min_confidence: float = MIN_WORD_CONFIDENCE, timeout_s: float = 120.0,
                 workers: int | None = None):
        super().__init__()
        if not _LANGUAGES.match(languages):
            raise ConfigError("AIMA_OCR_LANGUAGES", f"expected tesseract language codes joined by "
                              f"'+' (eng, eng+deu), got {languages!r}")
        self.languages = languages
        self.command = command
        self.passes = tuple(passes)
        self.page_segmentation = page_segmentation
        self.min_confidence = min_confidence
        self.timeout_s = timeout_s
        self.workers = workers or min(len(self.passes), os.cpu_count() or 1)
        self._version: str | None = None
        self._check_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return f"tesseract-{self.version}-{self.languages}"

    @property
    def parameters(self) -> dict:
        return {"psm": self.page_segmentation, "min_confidence": self.min_confidence,
                "passes": [f"{kind}" if level is None else f"{kind}-{level}"
                           for kind, level in self.passes]}

    @property
    def version(self) -> str:
        """The tesseract version (``5.3.0``); checks the binary and the languages once."""
        if self._version is None:
            with self._check_lock:
                if self._version is None:
                    self._version = self._check()
        return self._version

    def _check(self) -> str:
        first = self._run(["--version"]).decode(errors="replace").splitlines()
        match = re.search(r"(\d+\.\d+(\.\d+)?)", first[0] if first else "")
        if not match:
            raise OcrUnavailable(f"{self.command!r} does not say which tesseract it is: "
                                 f"{' '.join(first[:1])!r}; {INSTALL_HINT}")
        listed = self._run(["--list-langs"]).decode(errors="replace").splitlines()[1:]
        installed = {line.strip() for line in listed if line.strip()}
        missing = [lang for lang in self.languages.split("+") if lang not in installed]
        if missing:
            raise ConfigError("AIMA_OCR_LANGUAGES", (
                f"tesseract has no data for {', '.join(map(repr, missing))} (installed: "
                f"{', '.join(sorted(installed)) or 'none'}); install "
                f"{' '.join('tesseract-ocr-' + lang.replace('_', '-').lower() for lang in missing)}"
                " (Debian, Ubuntu) or change AIMA_OCR_LANGUAGES"))
        return match.group(1)

    def _load(self) -> None:
        self.version  # noqa: B018 - the binary and its languages are all there is to load

    def read(self, image: Image.Image) -> list[TextLine]:
        """The text lines of one frame, in reading order; ``[]`` when it shows no text."""
        self.load()
        grey = np.asarray(image.convert("L"))
        pictures = []
        for kind, level in self.passes:
            if kind == "image":
                pictures.append(image.convert("RGB"))
                continue
            ink = grey >= level if kind == "bright" else grey <= level
            if ink.any():
                pictures.append(Image.fromarray(np.where(ink, 0, 255).astype(np.uint8)))
        with ThreadPoolExecutor(self.workers) as pool:  # one tesseract process per pass
            tables = list(pool.map(self.words, pictures))
        return merge_readings(lines_from_tsv(table, min_confidence=self.min_confidence)
                              for table in tables)

    def words(self, image: Image.Image) -> dict[str, list]:
        """Tesseract's word table for one image as columns (``text``, ``conf``, ``left``, ...)."""
        buffer = io.BytesIO()
        image.save(buffer, "PNG", compress_level=1)
        tsv = self._run(["-", "-", "-l", self.languages, "--psm", str(self.page_segmentation),
                         "tsv"], stdin=buffer.getvalue()).decode("utf-8", errors="replace")
        rows = tsv.splitlines()
        header = rows[0].split("\t") if rows else []
        table: dict[str, list] = {name: [] for name in header}
        for row in rows[1:]:
            cells = row.split("\t", len(header) - 1)
            if len(cells) == len(header):
                for name, cell in zip(header, cells, strict=True):
                    table[name].append(cell)
        return table

    def _run(self, arguments: list[str], stdin: bytes | None = None) -> bytes:
        try:
            done = subprocess.run([self.command, *arguments], input=stdin, capture_output=True,
                                  timeout=self.timeout_s, check=False, env=_one_thread())
        except FileNotFoundError:
            raise OcrUnavailable(f"text recognition needs the tesseract command, and "
                                 f"{self.command!r} is not installed; {INSTALL_HINT}") from None
        if done.returncode != 0:
            problem = done.stderr.decode(errors="replace").strip().splitlines()
            raise RuntimeError(f"{self.command} {' '.join(arguments[:2])} failed "
                                 f"({done.returncode}): {' '.join(problem[-3:])}")
        return done.stdout


def _one_thread() -> dict[str, str]:
    """The environment for one tesseract process: a single thread. Its OpenMP threads make a
    frame slower, not faster, on a busy machine (0.32 s against 0.15 s for a 512 px frame on two
    cores); the passes run side by side instead."""
    return {**os.environ, "OMP_THREAD_LIMIT": "1"}
