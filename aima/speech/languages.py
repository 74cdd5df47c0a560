"""A language per stretch of speech: which parts of a recording are in which language.

Investigators' recordings often change language (an interview in English, a phone call in German).
Whisper detects one language from the first 30 seconds and keeps it, so speech in another language
comes out as nonsense in the first one ("I have an insu-so-guess-an-abent"). Recognizers
(:class:`aima.models.asr.WindowedRecognizer`) therefore find the language twice over:

1. **Runs** (:func:`language_runs`): speech regions from a voice activity detector (Silero, as
   faster-whisper uses it) are grouped into chunks of at most 30 s (Whisper's input length), the
   language is detected once per chunk, consecutive chunks of one language form a run, and each
   run is transcribed in its language. Runs meet in the middle of a pause, so no word is cut.
2. **Second opinions** (:func:`doubtful_spans`): Whisper transcribing speech in the wrong
   language is less sure of its words. Consecutive segments whose mean word probability is below
   :data:`DOUBTFUL_BELOW` (clear speech in its own language scores 0.8-1.0), or whose text
   loops, are heard again in
   each other language the detector gives them alone some probability, and the words Whisper is
   clearly surer of replace the old ones. This catches a language change inside a chunk, and
   speech the detector alone gets wrong (Whisper base takes espeak-ng's German for English
   sentence by sentence, yet is surer of its words when told it is German). A doubtful stretch of
   several speech regions is also heard region by region, each in its own detected language
   (speakers who answer each other in different languages).

Cost: one Whisper encoder pass per 30 s chunk on top of decoding, and a re-transcription of the
doubtful stretches only. A few words in another language inside a sentence keep the sentence's
language.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aima.speech.transcript import Segment

CHUNK_S = 30.0
DOUBTFUL_BELOW = 0.7
REPETITIVE_RATIO = 2.4
MIN_SPAN_S = 1.0

Span = tuple[float, float]
Detect = Callable[[float, float], tuple[str, float]]
"""Detects the language of the audio from ``start`` to ``end`` seconds: (code, probability)."""


@dataclass(frozen=True)
class LanguageRun:
    """A stretch of a window (seconds from its start) and the language spoken in it."""

    start: float
    end: float
    language: str
    probability: float


def chunks(regions: Sequence[Span], max_s: float = CHUNK_S) -> list[list[Span]]:
    """Consecutive regions grouped so that each group spans at most ``max_s`` seconds."""
    groups: list[list[Span]] = []
    for region in regions:
        if groups and region[1] - groups[-1][0][0] <= max_s:
            groups[-1].append(region)
        else:
            groups.append([region])
    return groups


def language_runs(
    regions: Sequence[Span], duration_s: float, detect: Detect, chunk_s: float = CHUNK_S
) -> list[LanguageRun]:
    """Runs of one language covering ``[0, duration_s]``, one detection per chunk of regions
    (``chunk_s=0``: per region); empty when there are no regions."""
    runs: list[tuple[float, float, str, float, float]] = []  # start, end, language, p x s, s
    for group in chunks(regions, chunk_s):
        start, end = group[0][0], group[-1][1]
        language, probability = detect(start, end)
        seconds = sum(b - a for a, b in group)
        if runs and runs[-1][2] == language:
            first, _, _, weighted, total = runs[-1]
            runs[-1] = (first, end, language, weighted + probability * seconds, total + seconds)
        else:
            runs.append((start, end, language, probability * seconds, seconds))
    result = []
    for index, (start, end, language, weighted, seconds) in enumerate(runs):
        lo = 0.0 if index == 0 else (runs[index - 1][1] + start) / 2
        hi = duration_s if index == len(runs) - 1 else (end + runs[index + 1][0]) / 2
        result.append(LanguageRun(round(lo, 3), round(hi, 3), language,
                                  round(weighted / max(seconds, 1e-9), 4)))
    return result


def doubtful_spans(segments: Sequence[Segment], duration_s: float) -> list[tuple[Span, Span]]:
    """Stretches of consecutive segments that sound unlike their language (mean word probability
    below :data:`DOUBTFUL_BELOW`), at least :data:`MIN_SPAN_S` long, as pairs of (speech span,
    span to re-transcribe: out to the middle of the pause before and after)."""
    members: list[list[int]] = []
    for index, segment in enumerate(segments):
        if not _doubtful(segment):
            continue
        if members and members[-1][-1] == index - 1 \
                and segments[index - 1].language == segment.language:
            members[-1].append(index)
        else:
            members.append([index])
    result = []
    for group in members:
        first, last = segments[group[0]], segments[group[-1]]
        if last.end - first.start < MIN_SPAN_S:
            continue
        before = segments[group[0] - 1].end if group[0] > 0 else 0.0
        after = segments[group[-1] + 1].start if group[-1] + 1 < len(segments) else duration_s
        result.append(((first.start, last.end),
                       ((before + first.start) / 2, (last.end + after) / 2)))
    return result


def unheard_spans(
    regions: Sequence[Span], segments: Sequence[Segment], min_s: float = MIN_SPAN_S
) -> list[Span]:
    """Speech regions (at least ``min_s`` long) that no segment overlaps: speech Whisper dropped,
    typically because it was listening for another language."""
    return [(start, end) for start, end in regions if end - start >= min_s
            and not any(s.start < end and start < s.end for s in segments)]


def _doubtful(segment: Segment) -> bool:
    """Unsure words, or a text that repeats itself (Whisper looping in a language it does not
    hear: gzip compresses it more than ``REPETITIVE_RATIO``, Whisper's own threshold)."""
    text = segment.text.encode()
    repetitive = len(text) > 40 and len(text) / len(zlib.compress(text)) > REPETITIVE_RATIO
    return repetitive or _mean_probability(segment) < DOUBTFUL_BELOW


def _mean_probability(segment: Segment) -> float:
    probabilities = [w.probability for w in segment.words if w.probability is not None]
    return sum(probabilities) / len(probabilities) if probabilities else 1.0


def mean_word_probability(segments: Sequence[Segment]) -> float:
    """The mean probability of every word of ``segments`` (1.0 without words)."""
    probabilities = [w.probability for s in segments for w in s.words if w.probability is not None]
    return sum(probabilities) / len(probabilities) if probabilities else 1.0
