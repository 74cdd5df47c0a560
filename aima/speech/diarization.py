"""Embedded speaker diarization: who speaks when, with CPU models whose weights ship in packages.

1. Speech regions come from the transcript's words: words closer than ``region_gap_s`` form one
   region (a phrase), across the ends of Whisper segments unless ``split_at_segments`` (Whisper
   base cuts short real turns into one-word segments; ``bench/README.md`` has what each choice
   measured).
2. Each region is covered by sliding windows (1.5 s, hop 0.75 s); a region shorter than a window
   gets one window, and a window is heard over at least ``min_window_s`` (1.5 s) around its
   centre: an ECAPA embedding of a 0.2-0.5 s word is no voice print (one real woman's eight
   two-word clips came out as five speakers). Each window gets one voice embedding (ECAPA-TDNN by
   default, :class:`aima.models.voices.EcapaVoiceEncoder`). Audio is read forward through
   :class:`~aima.speech.audio.AudioCursor`, about a minute at a time, so long files stay within
   bounded memory.
3. Windows are clustered (:mod:`aima.speech.clustering`): spectral clustering with the number of
   speakers from the eigengap (default), or agglomerative clustering with a cosine threshold; a
   given number of speakers is respected. Clusters with too few windows to be a speaker are
   folded into the nearest real one. Very long files cluster an evenly spaced sample of windows
   and give every other window its nearest cluster (the affinity matrix grows with the square).
4. Every word takes the speaker of the window nearest to it in time within its region, after a
   window whose label neither neighbour shares has taken its region's majority label. Words of
   one speaker less than ``turn_gap_s`` (0.7 s) apart form a :class:`SpeakerTurn`: turns start
   and end on word boundaries and bridge the short pauses of one speaker.

Local labels are ``SPEAKER_00``, ``SPEAKER_01``, ... in order of first appearance.

:class:`Diarizer` is what every diarization offers (this one, pyannote through WhisperX in
:mod:`aima.models.whisperx_adapter`); the voice encoder is given through
:class:`~aima.speech.voices.VoiceEncoder`, so this module imports no model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from aima.speech import clustering
from aima.speech.audio import AudioCursor, AudioSource
from aima.speech.transcript import Segment, SpeakerTurn, Transcript, Word
from aima.speech.voices import VoiceEncoder, l2_normalise

Span = tuple[float, float]


@dataclass(frozen=True)
class Diarization:
    """A diarized transcript and one voice centroid (unit vector) per local speaker label."""

    transcript: Transcript
    centroids: dict[str, np.ndarray]
    model_id: str

    @property
    def turns(self) -> list[SpeakerTurn]:
        return self.transcript.turns


@runtime_checkable
class Diarizer(Protocol):
    """Says who speaks when in one file: labels a transcript's words and gives voice centroids."""

    @property
    def model_id(self) -> str:
        """Identifies the diarization and its voice model; part of the key results are stored by."""
        ...

    def diarize(
        self, audio: AudioSource, transcript: Transcript, *, num_speakers: int | None = None
    ) -> Diarization:
        """Label every word and segment of ``transcript`` with a local speaker and build turns."""
        ...


class EmbeddedDiarizer:
    """Windows of voice embeddings, clustered (see the module docstring)."""

    def __init__(
        self,
        encoder: VoiceEncoder,
        *,
        window_s: float = 1.5,
        hop_s: float = 0.75,
        clustering: str = "spectral",
        threshold: float = 0.35,
        region_gap_s: float = 0.3,
        split_at_segments: bool = False,
        turn_gap_s: float = 0.7,
        min_window_s: float = 1.5,
        min_speaker_windows: int = 3,
        reassign_iterations: int = 0,
        merge_similarity: float = 0.6,
        max_clustered_windows: int = 3000,
        read_block_s: float = 60.0,
    ):
        self.encoder = encoder
        self.window_s = window_s
        self.hop_s = hop_s
        self.clustering = clustering
        self.threshold = threshold
        self.region_gap_s = region_gap_s
        self.split_at_segments = split_at_segments
        self.turn_gap_s = turn_gap_s
        self.min_window_s = min_window_s
        self.min_speaker_windows = min_speaker_windows
        self.reassign_iterations = reassign_iterations
        self.merge_similarity = merge_similarity
        self.max_clustered_windows = max_clustered_windows
        self.read_block_s = read_block_s

    @property
    def model_id(self) -> str:
        method = f"t{self.threshold}" if self.clustering == "ahc" else self.clustering
        return (f"embedded-diarization/{self.encoder.model_id}/{method}-m{self.merge_similarity}"
                f"-w{self.min_window_s}")

    @property
    def parameters(self) -> dict[str, float | int | str | bool]:
        """The settings that change the labels (``read_block_s`` only bounds memory)."""
        return {
            "window_s": self.window_s,
            "hop_s": self.hop_s,
            "clustering": self.clustering,
            "threshold": self.threshold,
            "region_gap_s": self.region_gap_s,
            "split_at_segments": self.split_at_segments,
            "turn_gap_s": self.turn_gap_s,
            "min_window_s": self.min_window_s,
            "min_speaker_windows": self.min_speaker_windows,
            "reassign_iterations": self.reassign_iterations,
            "max_clustered_windows": self.max_clustered_windows,
        }

    def diarize(
        self, audio: AudioSource, transcript: Transcript, *, num_speakers: int | None = None
    ) -> Diarization:
        """Label every word and segment of ``transcript`` with a local speaker and build turns."""
        words = transcript.words or [  # unaligned transcripts: segments stand in for words
            Word(start=s.start, end=s.end, word=s.text) for s in transcript.segments
        ]
        regions = self._regions(transcript, words)
        windows, region_of = self._windows(regions)
        if not windows:
            return Diarization(transcript.model_copy(update={"turns": []}), {}, self.model_id)
        embeddings = self._embed(audio, windows)
        labels = self._cluster(embeddings, num_speakers)
        labels = _region_majority(labels, region_of)

        word_labels = _word_labels(words, regions, windows, region_of, labels)
        names = _names_by_first_appearance(word_labels)
        speakers = [names[label] for label in word_labels]
        turns = _turns_from_words(words, speakers, self.turn_gap_s)
        centroids = {
            names[label]: l2_normalise(embeddings[labels == label].mean(axis=0)).astype(np.float32)
            for label in names
        }
        return Diarization(assign_speakers(transcript, turns), centroids, self.model_id)

    def _regions(self, transcript: Transcript, words: Sequence[Word]) -> list[Span]:
        """Phrases: words closer than ``region_gap_s``, never across a segment boundary (Whisper
        ends a segment at the end of a sentence, where speakers usually change)."""
        if not self.split_at_segments or not transcript.words:
            return merge_spans([(w.start, w.end) for w in words], self.region_gap_s)
        regions: list[Span] = []
        for segment in transcript.segments:
            regions += merge_spans([(w.start, w.end) for w in segment.words], self.region_gap_s)
        return sorted(regions)

    def _windows(self, regions: Sequence[Span]) -> tuple[list[Span], np.ndarray]:
        windows: list[Span] = []
        region_of: list[int] = []
        for index, (start, end) in enumerate(regions):
            for window in sliding_windows(start, end, self.window_s, self.hop_s):
                windows.append(window)
                region_of.append(index)
        return windows, np.asarray(region_of, dtype=int)

    def _embed(self, audio: AudioSource, windows: Sequence[Span]) -> np.ndarray:
        """Embeddings of ``windows``, each heard over at least ``min_window_s`` around its centre
        (read in order of the widened starts, returned in the order of ``windows``)."""
        heard = [widen(window, self.min_window_s) for window in windows]
        order = np.argsort([start for start, _ in heard], kind="stable")
        embeddings = embed_spans(self.encoder, audio, [heard[i] for i in order], self.read_block_s)
        result = np.empty_like(embeddings)
        result[order] = embeddings
        return result

    def _cluster(self, embeddings: np.ndarray, num_speakers: int | None) -> np.ndarray:
        count = len(embeddings)
        sample = np.linspace(0, count - 1, min(count, self.max_clustered_windows)).astype(int)
        if self.clustering == "spectral":
            sampled = clustering.spectral(embeddings[sample], num_speakers)
        else:
            sampled = clustering.agglomerative(embeddings[sample], self.threshold, num_speakers)
        minimum = 1 if num_speakers else self.min_speaker_windows
        sampled = clustering.fold_small(embeddings[sample], sampled, minimum)
        sampled = clustering.reassign(embeddings[sample], sampled, self.reassign_iterations)
        if not num_speakers:
            sampled = clustering.merge_alike(embeddings[sample], sampled, self.merge_similarity)
        present = sorted(set(sampled.tolist()))
        centroids = l2_normalise(
            np.stack([embeddings[sample][sampled == label].mean(axis=0) for label in present])
        )
        return np.asarray(present)[np.argmax(embeddings @ centroids.T, axis=1)]


def sliding_windows(start: float, end: float, window_s: float, hop_s: float) -> list[Span]:
    """Windows of ``window_s`` every ``hop_s`` covering [start, end]; one shorter if the span is."""
    if end - start <= window_s:
        return [(start, end)]
    count = int(np.ceil((end - start - window_s) / hop_s)) + 1
    starts = np.minimum(start + hop_s * np.arange(count), end - window_s)
    return [(float(s), float(s) + window_s) for s in starts]


def widen(span: Span, min_s: float) -> Span:
    """``span``, or ``min_s`` around its centre where it is shorter (never before 0)."""
    start, end = span
    if end - start >= min_s:
        return span
    centre = (start + end) / 2
    return max(0.0, centre - min_s / 2), centre + min_s / 2


def merge_spans(spans: Sequence[Span], max_gap_s: float) -> list[Span]:
    """Sorted spans joined where the gap between them is at most ``max_gap_s``."""
    merged: list[list[float]] = []
    for start, end in sorted(spans):
        if merged and start - merged[-1][1] <= max_gap_s:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def embed_spans(
    encoder: VoiceEncoder, audio: AudioSource, spans: Sequence[Span], block_s: float = 60.0
) -> np.ndarray:
    """Voice embeddings of ``spans`` (sorted by start), reading the audio forward in blocks."""
    cursor = AudioCursor(audio)
    parts = []
    for group in _groups_within(spans, block_s):
        block_start = group[0][0]
        block = cursor.read(block_start, max(end for _, end in group))
        relative = [(start - block_start, end - block_start) for start, end in group]
        parts.append(encoder.embed_segments(block, relative))
    return np.concatenate(parts) if parts else np.zeros((0, encoder.dimension), np.float32)


def speaker_centroids(
    encoder: VoiceEncoder, audio: AudioSource, turns: Sequence[SpeakerTurn], window_s: float = 1.6
) -> dict[str, np.ndarray]:
    """One unit-length voice centroid per speaker label: the mean of its windows' embeddings.

    For diarizations made elsewhere (pyannote): case linking needs every file's speakers in the
    same embedding space.
    """
    windows: list[tuple[Span, str]] = []
    for turn in sorted(turns, key=lambda t: t.start):
        windows += [
            (w, turn.speaker) for w in sliding_windows(turn.start, turn.end, window_s, window_s / 2)
        ]
    windows.sort(key=lambda item: item[0])
    if not windows:
        return {}
    embeddings = embed_spans(encoder, audio, [span for span, _ in windows])
    owners = np.array([speaker for _, speaker in windows])
    return {
        speaker: l2_normalise(embeddings[owners == speaker].mean(axis=0)).astype(np.float32)
        for speaker in dict.fromkeys(owners.tolist())
    }


def assign_speakers(transcript: Transcript, turns: Sequence[SpeakerTurn]) -> Transcript:
    """Give each word and segment the speaker whose turns overlap it most; store the turns.

    A word or segment that no turn overlaps takes the speaker of the nearest turn.
    """
    if not turns:
        return transcript.model_copy(update={"turns": []})
    index = _TurnIndex(turns)
    segments = []
    for segment in transcript.segments:
        words = [
            w.model_copy(update={"speaker": index.speaker_of(w.start, w.end)})
            for w in segment.words
        ]
        speaker = index.speaker_of(segment.start, segment.end)
        segments.append(segment.model_copy(update={"words": words, "speaker": speaker}))
    return transcript.model_copy(update={"segments": segments, "turns": list(turns)})


class _TurnIndex:
    """Finds the turns overlapping a time span without scanning every turn (long files)."""

    def __init__(self, turns: Sequence[SpeakerTurn]):
        self.turns = sorted(turns, key=lambda t: (t.start, t.end))
        self.starts = np.array([t.start for t in self.turns])
        self.reach = np.maximum.accumulate(np.array([t.end for t in self.turns]))

    def speaker_of(self, start: float, end: float) -> str:
        overlap: Counter[str] = Counter()
        j = int(np.searchsorted(self.starts, end, side="left")) - 1
        while j >= 0 and self.reach[j] > start:  # no turn before j reaches past ``start``
            turn = self.turns[j]
            shared = min(end, turn.end) - max(start, turn.start)
            if shared > 0:
                overlap[turn.speaker] += shared
            j -= 1
        if overlap:
            return max(overlap.items(), key=lambda item: (item[1], item[0]))[0]
        middle = (start + end) / 2
        k = int(np.searchsorted(self.starts, middle))
        near = self.turns[max(k - 1, 0) : k + 1]
        return min(near, key=lambda t: max(t.start - middle, middle - t.end, 0.0)).speaker


def _groups_within(spans: Sequence[Span], block_s: float) -> Iterator[list[Span]]:
    group: list[Span] = []
    for span in spans:
        if group and span[1] - group[0][0] > block_s:
            yield group
            group = []
        group.append(span)
    if group:
        yield group


def _region_majority(labels: np.ndarray, region_of: np.ndarray) -> np.ndarray:
    """A window whose label neither neighbour in its region shares takes the region's majority."""
    smoothed = labels.copy()
    for region in np.unique(region_of):
        index = np.flatnonzero(region_of == region)
        if len(index) < 3:
            continue
        majority = Counter(labels[index].tolist()).most_common(1)[0][0]
        for position, window in enumerate(index):
            neighbours = labels[index[max(position - 1, 0) : position + 2]]
            if np.count_nonzero(neighbours == labels[window]) == 1:
                smoothed[window] = majority
    return smoothed


def _word_labels(
    words: Sequence[Word],
    regions: Sequence[Span],
    windows: Sequence[Span],
    region_of: np.ndarray,
    labels: np.ndarray,
) -> list[int]:
    """Each word takes the label of the window of its region whose centre is nearest to it."""
    region_starts = np.array([start for start, _ in regions])
    centres = np.array([(start + end) / 2 for start, end in windows])
    first = np.searchsorted(region_of, np.arange(len(regions)), side="left")
    last = np.searchsorted(region_of, np.arange(len(regions)), side="right")
    result = []
    for word in words:
        middle = (word.start + word.end) / 2
        region = int(
            np.clip(np.searchsorted(region_starts, middle, side="right") - 1, 0, len(regions) - 1)
        )
        lo, hi = first[region], last[region]
        result.append(int(labels[lo + np.argmin(np.abs(centres[lo:hi] - middle))]))
    return result


def _names_by_first_appearance(labels: Sequence[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for label in labels:
        names.setdefault(label, f"SPEAKER_{len(names):02d}")
    return names


def _turns_from_words(
    words: Sequence[Word], speakers: Sequence[str], max_gap_s: float
) -> list[SpeakerTurn]:
    """Consecutive words of one speaker, closer than ``max_gap_s``, make one turn."""
    turns: list[SpeakerTurn] = []
    for word, speaker in zip(words, speakers, strict=True):
        last = turns[-1] if turns else None
        if last and last.speaker == speaker and word.start - last.end <= max_gap_s:
            turns[-1] = last.model_copy(update={"end": max(last.end, word.end)})
        else:
            turns.append(SpeakerTurn(start=word.start, end=word.end, speaker=speaker))
    return turns


__all__ = [
    "Diarization",
    "Diarizer",
    "EmbeddedDiarizer",
    "Segment",
    "SpeakerTurn",
    "assign_speakers",
    "embed_spans",
    "merge_spans",
    "sliding_windows",
    "speaker_centroids",
]
