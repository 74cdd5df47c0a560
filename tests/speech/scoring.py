"""How speech results are scored: word error rate normalisation and diarization error rate.

DER uses pyannote.metrics, the reference implementation diarization benchmarks use: missed speech
+ false alarm + speaker confusion, over the reference speech time.
"""

from __future__ import annotations

import re

from pyannote.core import Annotation, Timeline
from pyannote.core import Segment as Span
from pyannote.metrics.diarization import DiarizationErrorRate


def normalise(text: str) -> str:
    """Lower case, no punctuation, single spaces: WER counts words, not typography."""
    return re.sub(r"\s+", " ", re.sub(r"[^a-z' ]", " ", text.lower())).strip()


def annotation(turns) -> Annotation:
    """Turns with ``start``, ``end`` and ``voice`` (reference) or ``speaker`` (hypothesis)."""
    result = Annotation()
    for turn in turns:
        result[Span(turn.start, turn.end)] = getattr(turn, "voice", None) or turn.speaker
    return result


def der(reference, hypothesis, collar: float) -> float:
    """DER over the whole file (0 to the last turn's end); ``collar`` seconds around each reference
    boundary are not scored (0.25 s is customary)."""
    end = max(turn.end for turn in [*reference, *hypothesis])
    metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
    return metric(annotation(reference), annotation(hypothesis), uem=Timeline([Span(0.0, end)]))
