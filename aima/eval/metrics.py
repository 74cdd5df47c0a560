"""The measures the scorer uses, as plain functions of truth and found values.

Word and character error rates come from jiwer, the diarization error rate from pyannote.metrics
(the reference implementation diarization benchmarks use, as in tests/speech/scoring.py); both
are imported when first used, so that a missing one costs only its own metrics.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Box = Sequence[float]
_NOT_WORD = re.compile(r"[^\w\s']|_")


def normalise(text: str) -> str:
    """Lower case, no punctuation (any script), one space between words: error rates count
    words and letters, not typography."""
    text = unicodedata.normalize("NFC", text).lower().replace("’", "'")
    return " ".join(_NOT_WORD.sub(" ", text).replace(" '", " ").replace("' ", " ").split())


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Errors (substitutions, deletions, insertions) over reference words, over all pairs."""
    import jiwer

    refs, hyps = _normalised_pairs(references, hypotheses, "no reference words")
    return float(jiwer.wer(refs, hyps))


def character_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Character edits over reference characters (normalised as :func:`normalise`)."""
    import jiwer

    refs, hyps = _normalised_pairs(references, hypotheses, "no reference text")
    return float(jiwer.cer(refs, hyps))


def _normalised_pairs(references: list[str], hypotheses: list[str],
                      empty: str) -> tuple[list[str], list[str]]:
    """References and hypotheses normalised, pairs whose reference is empty left out; raises
    ``ValueError(empty)`` when none is left."""
    pairs = [(normalise(r), normalise(h)) for r, h in zip(references, hypotheses, strict=True)]
    pairs = [(r, h) for r, h in pairs if r]
    if not pairs:
        raise ValueError(empty)
    return [r for r, _ in pairs], [h for _, h in pairs]


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: str


def diarization_error_rate(reference: list[Turn], hypothesis: list[Turn],
                           collar: float = 0.25) -> tuple[float, float]:
    """(errors in seconds, reference speech in seconds) for one file: missed speech + false
    alarm + speaker confusion, scored from 0 to the last turn's end with ``collar`` seconds
    around each reference boundary left out. Sum both over files for a case's DER."""
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    def annotation(turns: list[Turn]) -> Annotation:
        result = Annotation()
        for n, turn in enumerate(turns):
            if turn.end > turn.start:
                result[Segment(turn.start, turn.end), n] = turn.speaker
        return result

    end = max(turn.end for turn in [*reference, *hypothesis])
    metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
    parts = metric(annotation(reference), annotation(hypothesis),
                   uem=Timeline([Segment(0.0, end)]), detailed=True)
    errors = parts["missed detection"] + parts["false alarm"] + parts["confusion"]
    return float(errors), float(parts["total"])


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``[x, y, width, height]`` boxes."""
    width = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = width * height
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def match_boxes(truth: list[Box], found: list[Box], least_iou: float = 0.4
                ) -> list[tuple[int, int]]:
    """Pairs (truth index, found index), best overlaps first, each box used once."""
    candidates = sorted(((iou(t, f), i, j) for i, t in enumerate(truth)
                         for j, f in enumerate(found)), reverse=True)
    used_truth, used_found, pairs = set(), set(), []
    for overlap, i, j in candidates:
        if overlap < least_iou:
            break
        if i not in used_truth and j not in used_found:
            used_truth.add(i)
            used_found.add(j)
            pairs.append((i, j))
    return pairs


def pairs_of(groups: Iterable[Iterable[str]]) -> set[frozenset[str]]:
    """Every unordered pair of members within each group."""
    return {frozenset(pair) for group in groups
            for pair in itertools.combinations(sorted(set(group)), 2)}


def purity(clusters: dict[str, list[str]]) -> float:
    """Share of members that belong to their cluster's majority label (cluster -> labels)."""
    members = sum(len(labels) for labels in clusters.values())
    if not members:
        raise ValueError("no clustered members")
    return sum(Counter(labels).most_common(1)[0][1] for labels in clusters.values() if labels
               ) / members
