"""Text lines in a frame: words grouped into lines, noise dropped, readings of one frame merged.

Plain domain code under :mod:`aima.models.ocr`: it takes tesseract's word table (its TSV, as
columns) and keeps what a reader would call text.

Noise filter (documented thresholds): on photos without text tesseract may still report "words"
cut out of textures (``(@00080`` and ``6 @986`` on scikit-image's coins, at confidences 10-47).
A word is kept when its confidence is at least :data:`MIN_WORD_CONFIDENCE` (of 100) and it holds a
letter or digit; a line is kept when it holds at least :data:`MIN_LINE_CHARACTERS` letters or
digits. On eight bundled photos without text (coffee, chelsea, rocket, camera, coins, horse,
hubble_deep_field, immunohistochemistry) these rules leave no line, against 3 noise lines from
tesseract unfiltered, while rendered text is read at word confidences of 90-96
(``bench/bench_ocr.py``). The cost: a lone character (a gate number "7" on its own) is dropped,
and so are badly read words that tesseract itself doubts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

MIN_WORD_CONFIDENCE = 60.0  # tesseract's 0-100 scale
MIN_LINE_CHARACTERS = 2  # letters or digits in the whole line
OVERLAP = 0.3  # two readings whose boxes share this much of the smaller box are the same text
_WORD_LEVEL = 5  # tesseract's TSV level of a word

Box = tuple[int, int, int, int]  # x, y, width, height in the frame's pixels


@dataclass(frozen=True)
class Word:
    text: str
    confidence: float  # 0-1
    box: Box


@dataclass(frozen=True)
class TextLine:
    text: str
    confidence: float  # mean of its words', 0-1
    box: Box
    words: tuple[Word, ...]

    @property
    def score(self) -> float:
        """How much text this reading holds, weighted by confidence: the better of two readings of
        the same place has the larger score."""
        return sum(word.confidence * _alnum(word.text) for word in self.words)

    def as_dict(self) -> dict:
        return {"text": self.text, "confidence": round(self.confidence, 3), "box": list(self.box),
                "words": [{"text": w.text, "confidence": round(w.confidence, 3),
                           "box": list(w.box)} for w in self.words]}


def lines_from_tsv(table: Mapping[str, Sequence],
                   min_confidence: float = MIN_WORD_CONFIDENCE) -> list[TextLine]:
    """The text lines of one tesseract word table (its TSV as columns), noise dropped."""
    grouped: dict[tuple, list[Word]] = {}
    for i, text in enumerate(table["text"]):
        text = (text or "").strip()
        confidence = float(table["conf"][i])
        if int(table["level"][i]) != _WORD_LEVEL or not text or confidence < min_confidence:
            continue
        if not _alnum(text):
            continue
        box = tuple(int(table[name][i]) for name in ("left", "top", "width", "height"))
        key = (table["page_num"][i], table["block_num"][i], table["par_num"][i],
               table["line_num"][i])
        grouped.setdefault(key, []).append(Word(text, confidence / 100.0, box))
    lines = [line_of(words) for words in grouped.values()]
    return sort_lines(line for line in lines if _alnum(line.text) >= MIN_LINE_CHARACTERS)


def line_of(words: Iterable[Word]) -> TextLine:
    words = tuple(sorted(words, key=lambda w: w.box[0]))
    x0 = min(w.box[0] for w in words)
    y0 = min(w.box[1] for w in words)
    x1 = max(w.box[0] + w.box[2] for w in words)
    y1 = max(w.box[1] + w.box[3] for w in words)
    return TextLine(" ".join(w.text for w in words),
                    sum(w.confidence for w in words) / len(words), (x0, y0, x1 - x0, y1 - y0),
                    words)


def merge_readings(readings: Iterable[Sequence[TextLine]]) -> list[TextLine]:
    """One set of lines from several readings of the same frame (differently binarised copies):
    where lines of two readings cover the same place, the reading with the larger
    :attr:`TextLine.score` wins; lines only one reading found are kept."""
    kept: list[TextLine] = []
    for reading in readings:
        for line in reading:
            clashing = [other for other in kept if overlap(line.box, other.box) > OVERLAP]
            if line.score > sum(other.score for other in clashing):
                kept = [other for other in kept if other not in clashing] + [line]
    return sort_lines(kept)


def sort_lines(lines: Iterable[TextLine]) -> list[TextLine]:
    """Reading order: top to bottom, then left to right for lines whose middles share a row."""
    ordered = sorted(lines, key=lambda line: line.box[1] + line.box[3] / 2)
    rows: list[list[TextLine]] = []
    for line in ordered:
        middle = line.box[1] + line.box[3] / 2
        if rows and abs(middle - _middle(rows[-1][0])) < min(line.box[3], rows[-1][0].box[3]) / 2:
            rows[-1].append(line)
        else:
            rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda line: line.box[0])]


def overlap(a: Box, b: Box) -> float:
    """The area two boxes share, as a fraction of the smaller box."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    return width * height / max(min(a[2] * a[3], b[2] * b[3]), 1)


def _middle(line: TextLine) -> float:
    return line.box[1] + line.box[3] / 2


def _alnum(text: str) -> int:
    return sum(character.isalnum() for character in text)
