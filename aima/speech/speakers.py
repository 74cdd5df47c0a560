"""Case speakers: the same voice across the files of one case.

Each diarized file contributes its local speakers (``SPEAKER_00``...) with a voice centroid.
:func:`link_case_speakers` clusters these centroids across the case by agglomerative clustering
with average linkage on cosine distance, with one constraint: two speakers of the same file are
never merged (the diarization already judged them to be different voices).

Stable ids. The input is first put in a canonical order, files by content hash (sha256) and a
file's speakers by the start of their first turn, so the result does not depend on the order in
which files were analysed or listed. Merges are taken closest pair first with ties broken by
that order, and case speakers are named ``speaker-1``, ``speaker-2``, ... by their earliest member
in that order. Rerunning on the same files therefore gives the same ids. When files are added to
a case, :func:`carry_over_ids` gives each voice the id it already had (by shared members), so
the new file's hash sorting first does not renumber known voices. Ids name voices within one
case; they never identify a person.

Uncertain links. Two case speakers from different files whose centroids score between
:data:`CANDIDATE_SCORE` and :data:`LINK_SCORE` are not merged but reported as a
:class:`LinkCandidate` with their score, for a person to judge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from aima.speech.transcript import SpeakerTurn
from aima.speech.voices import l2_normalise

LINK_SCORE = 0.55
"""Cosine similarity of ECAPA voice centroids above which two file speakers are one voice.
Calibrated by ``bench/bench_speaker_linking.py``: pieces of one real woman's speech on a
telephone call score 0.47-0.59, of the two women 0.17-0.44; clips of one neural voice 0.67-1.0,
of different neural voices at most 0.31. It leans towards keeping voices apart: in evidence
work, splitting one person in two is the lesser error than merging two people into one."""
CANDIDATE_SCORE = 0.3
"""Case speakers whose centroids score at least this (and less than :data:`LINK_SCORE`) are
reported as a possible same voice, with the score, for a person to judge; they stay apart."""
DEFAULT_THRESHOLD = 1.0 - LINK_SCORE  # as a cosine distance


@dataclass(frozen=True)
class FileSpeaker:
    """One local speaker of one media file."""

    media_id: str
    media_sha256: str
    label: str
    centroid: np.ndarray
    turns: Sequence[SpeakerTurn] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.media_id, self.label)

    @property
    def first_start(self) -> float:
        return min((turn.start for turn in self.turns), default=float("inf"))


@dataclass(frozen=True)
class CaseSpeaker:
    """A voice heard in one or more files of a case, with its turns per media id."""

    speaker_id: str
    members: list[tuple[str, str]]
    turns: dict[str, list[SpeakerTurn]] = field(default_factory=dict)
    centroid: np.ndarray | None = None


@dataclass(frozen=True)
class LinkCandidate:
    """Two case speakers that may be one voice: a score too low to merge them, too high to
    call them different with confidence."""

    speakers: tuple[str, str]
    score: float


@dataclass(frozen=True)
class CaseSpeakers:
    """The case's speakers, which (media id, local label) belongs to which, and the uncertain
    links between speakers."""

    speakers: list[CaseSpeaker]
    assignments: dict[tuple[str, str], str]
    candidates: list[LinkCandidate] = field(default_factory=list)

    def speaker_of(self, media_id: str, label: str) -> str:
        return self.assignments[(media_id, label)]


def link_case_speakers(
    file_speakers: Sequence[FileSpeaker], threshold: float = DEFAULT_THRESHOLD
) -> CaseSpeakers:
    """Group the file speakers of a case into case speakers (see the module docstring)."""
    ordered = sorted(
        file_speakers, key=lambda s: (s.media_sha256, s.media_id, s.first_start, s.label)
    )
    keys = [s.key for s in ordered]
    if len(set(keys)) != len(keys):
        raise ValueError("each (media_id, label) may appear only once")
    if not ordered:
        return CaseSpeakers([], {})
    vectors = l2_normalise(np.stack([np.asarray(s.centroid, dtype=np.float64) for s in ordered]))
    groups = _constrained_average_linkage(vectors, [s.media_id for s in ordered], threshold)

    speakers: list[CaseSpeaker] = []
    assignments: dict[tuple[str, str], str] = {}
    for number, members in enumerate(sorted(groups, key=min), start=1):
        speaker_id = f"speaker-{number}"
        turns: dict[str, list[SpeakerTurn]] = {}
        for index in members:
            member = ordered[index]
            assignments[member.key] = speaker_id
            turns.setdefault(member.media_id, []).extend(member.turns)
        for media_turns in turns.values():
            media_turns.sort(key=lambda t: (t.start, t.end))
        centroid = l2_normalise(vectors[members].mean(axis=0)).astype(np.float32)
        speakers.append(CaseSpeaker(speaker_id, [ordered[i].key for i in members], turns, centroid))
    return CaseSpeakers(speakers, assignments, _candidates(speakers, 1.0 - threshold))


def _candidates(speakers: Sequence[CaseSpeaker], link_score: float) -> list[LinkCandidate]:
    """Pairs of speakers heard in different files whose centroids score between
    :data:`CANDIDATE_SCORE` and the link score, highest first."""
    found = []
    for i, first in enumerate(speakers):
        for second in speakers[i + 1 :]:
            if {m for m, _ in first.members} & {m for m, _ in second.members}:
                continue  # the diarization of a file already told them apart
            score = float(np.asarray(first.centroid) @ np.asarray(second.centroid))
            if CANDIDATE_SCORE <= score < link_score:
                found.append(LinkCandidate((first.speaker_id, second.speaker_id), round(score, 3)))
    return sorted(found, key=lambda c: (-c.score, c.speakers))


def _constrained_average_linkage(
    vectors: np.ndarray, files: Sequence[str], threshold: float
) -> list[list[int]]:
    """Merge the closest two groups (average cosine distance, Lance-Williams update) while they
    are closer than ``threshold`` and share no file; ties go to the earliest pair in input order.
    Returns groups as sorted lists of indices into ``vectors``."""
    count = len(vectors)
    distance = np.clip(1.0 - vectors @ vectors.T, 0.0, 2.0)
    file_index = np.unique(np.asarray(files), return_inverse=True)[1]
    conflict = file_index[:, None] == file_index[None, :]  # includes the diagonal
    sizes = np.ones(count)
    alive = np.ones(count, dtype=bool)
    members = [[i] for i in range(count)]
    while True:
        blocked = conflict | ~alive[:, None] | ~alive[None, :]
        candidates = np.where(blocked, np.inf, distance)
        a, b = divmod(int(np.argmin(candidates)), count)  # symmetric: first hit has a < b
        if not candidates[a, b] < threshold:
            break
        merged = (sizes[a] * distance[a] + sizes[b] * distance[b]) / (sizes[a] + sizes[b])
        distance[a, :], distance[:, a] = merged, merged
        conflict[a, :] |= conflict[b, :]
        conflict[:, a] = conflict[a, :]
        sizes[a] += sizes[b]
        alive[b] = False
        members[a] += members[b]
    return [sorted(members[i]) for i in range(count) if alive[i]]


def carry_over_ids(linked: CaseSpeakers, previous: Mapping[tuple[str, str], str]) -> CaseSpeakers:
    """Rename ``linked``'s speakers to the ids their members had in ``previous`` (an earlier
    linking of the same case: (media id, label) -> speaker id).

    Each new speaker takes the old id it shares the most members with (each old id once, larger
    overlaps first); speakers without one get numbers after every id used before, so no id ever
    names two different voices of a case.
    """
    number = _speaker_number
    pairs = []
    for speaker in linked.speakers:
        overlap = Counter(previous[m] for m in speaker.members if m in previous)
        pairs += [(-n, number(speaker.speaker_id), number(old), speaker.speaker_id, old)
                  for old, n in overlap.items()]
    rename: dict[str, str] = {}
    for *_, new, old in sorted(pairs):
        if new not in rename and old not in rename.values():
            rename[new] = old
    next_number = max((number(i) for i in previous.values()), default=0) + 1
    for speaker in linked.speakers:
        if speaker.speaker_id not in rename:
            rename[speaker.speaker_id] = f"speaker-{next_number}"
            next_number += 1
    speakers = sorted((replace(s, speaker_id=rename[s.speaker_id]) for s in linked.speakers),
                      key=lambda s: number(s.speaker_id))
    candidates = [replace(c, speakers=tuple(sorted((rename[c.speakers[0]], rename[c.speakers[1]]),
                                                   key=number)))
                  for c in linked.candidates]
    return CaseSpeakers(speakers, {key: rename[sid] for key, sid in linked.assignments.items()},
                        candidates)


def _speaker_number(speaker_id: str) -> int:
    return int(speaker_id.rsplit("-", 1)[1])
