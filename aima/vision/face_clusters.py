"""Case persons from faces: the face embeddings of one case clustered the way Immich does it.

:func:`cluster_faces` is DBSCAN with two kinds of constraint:

- a face is a *core* face when at least ``min_faces`` faces of the case (itself included) lie
  within ``max_distance`` of it (Immich's rule); core faces within ``max_distance`` of each other
  are one person, linked closest pair first;
- any other face joins the person of its closest core face within ``max_distance``, or stays
  unassigned (counted, never a person of its own);
- two faces of the same frame are never one person (one frame cannot show one person twice), and
  neither are faces a reviewer said are not the same (``apart``: pairs of face sets).

Stable ids. Faces are put in a canonical order first (files by content hash, then frame and face
number), links are taken closest first with ties broken by that order, and persons are numbered
``person-1``, ``person-2``, ... by their earliest face; so the same faces give the same persons
whatever order the files were analysed in. :func:`carry_over_keys` then gives each person the key
it had in an earlier clustering of the case (by shared faces), so adding files does not renumber
known persons, and new persons get numbers never used before. A key names a person within one
case; it never identifies anyone, and no face is ever compared with another case's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

DEFAULT_MIN_FACES = 2
DEFAULT_MAX_DISTANCE = 0.5
_CHUNK = 1024  # rows of the distance matrix computed at once


@dataclass(frozen=True)
class CaseFace:
    """One embedded face of a case."""

    face_id: str  # its evidence id
    media_id: str
    media_sha256: str
    frame: int | str
    n: int
    vector: Sequence[float]

    @property
    def order(self) -> tuple:
        frame = -1 if isinstance(self.frame, str) else int(self.frame)
        return (self.media_sha256 or "", self.media_id, frame, str(self.frame), self.n)


@dataclass(frozen=True)
class FaceClusters:
    clusters: list[list[str]]  # face ids per person, persons ordered by their earliest face
    unassigned: list[str]
    core: set[str] = field(default_factory=set)


def cluster_faces(faces: Sequence[CaseFace], *, min_faces: int = DEFAULT_MIN_FACES,
                  max_distance: float = DEFAULT_MAX_DISTANCE,
                  apart: Iterable[tuple[Iterable[str], Iterable[str]]] = ()) -> FaceClusters:
    """Group a case's faces into persons (see the module docstring)."""
    ordered = sorted(faces, key=lambda f: f.order)
    ids = [f.face_id for f in ordered]
    if len(set(ids)) != len(ids):
        raise ValueError("each face may appear only once")
    if not ordered:
        return FaceClusters([], [])
    vectors = np.asarray([f.vector for f in ordered], dtype=np.float64)
    pairs = _close_pairs(vectors, max_distance)  # (distance, i, j), i < j, sorted
    neighbours = np.ones(len(ordered), dtype=int)  # itself
    for _, i, j in pairs:
        neighbours[i] += 1
        neighbours[j] += 1
    core = neighbours >= min_faces

    index = {face_id: i for i, face_id in enumerate(ids)}
    tags: list[set[tuple[int, int]]] = [set() for _ in ordered]
    for number, (side_a, side_b) in enumerate(apart):
        for side, members in enumerate((side_a, side_b)):
            for face_id in members:
                if face_id in index:
                    tags[index[face_id]].add((number, side))
    groups = _Groups([(f.media_id, str(f.frame)) for f in ordered], tags)

    near_core: dict[int, list[tuple[float, int]]] = {}  # border face -> close core faces
    for distance, i, j in pairs:  # core faces, closest pair first
        if core[i] and core[j]:
            groups.union(i, j)
        elif core[i] != core[j]:
            border, other = (j, i) if core[i] else (i, j)
            near_core.setdefault(border, []).append((distance, other))
    for i, options in sorted(near_core.items(), key=lambda item: (min(item[1]), item[0])):
        for _, c in sorted(options):  # the closest core face whose person may take it
            if groups.union(c, i):
                break

    clusters: dict[int, list[int]] = {}
    for i in range(len(ordered)):
        root = groups.find(i)
        if any(core[m] for m in groups.members[root]):
            clusters.setdefault(root, []).append(i)
    assigned = {i for members in clusters.values() for i in members}
    return FaceClusters(
        clusters=[[ids[i] for i in sorted(members)]
                  for members in sorted(clusters.values(), key=min)],
        unassigned=[ids[i] for i in range(len(ordered)) if i not in assigned],
        core={ids[i] for i in np.flatnonzero(core)},
    )


def carry_over_keys(clusters: Sequence[Sequence[str]], previous: Mapping[str, str],
                    used: int = 0) -> list[str]:
    """Keys for ``clusters``: each takes the key of an earlier clustering (``previous``: face id
    -> key) it shares the most faces with (each key once, larger overlaps first); the others get
    ``person-<n>`` with numbers after every number used before (``used`` and ``previous``)."""
    pairs = []
    for position, members in enumerate(clusters):
        overlap = Counter(previous[f] for f in members if f in previous)
        pairs += [(-count, position, key_number(key), key) for key, count in overlap.items()]
    keys: dict[int, str] = {}
    for _, position, _, key in sorted(pairs):
        if position not in keys and key not in keys.values():
            keys[position] = key
    next_number = max([used, *(key_number(k) for k in previous.values())]) + 1
    for position in range(len(clusters)):
        if position not in keys:
            keys[position] = f"person-{next_number}"
            next_number += 1
    return [keys[position] for position in range(len(clusters))]


def key_number(key: str) -> int:
    """``person-7`` -> 7."""
    return int(key.rsplit("-", 1)[1])


class _Groups:
    """Union-find whose unions are refused when the two groups may not be one person."""

    def __init__(self, frames: Sequence[tuple[str, str]], tags: Sequence[set[tuple[int, int]]]):
        self.parent = list(range(len(frames)))
        self.members = [[i] for i in range(len(frames))]
        self.frames = [{frame} for frame in frames]
        self.tags = [set(t) for t in tags]

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> bool:
        a, b = self.find(i), self.find(j)
        if a == b:
            return True
        if self.frames[a] & self.frames[b]:
            return False
        if any((number, 1 - side) in self.tags[b] for number, side in self.tags[a]):
            return False
        if a > b:
            a, b = b, a
        self.parent[b] = a
        self.members[a] += self.members[b]
        self.frames[a] |= self.frames[b]
        self.tags[a] |= self.tags[b]
        return True


def _close_pairs(vectors: np.ndarray, max_distance: float) -> list[tuple[float, int, int]]:
    """Every pair closer than ``max_distance`` (Euclidean), closest first, ties by index."""
    squares = np.einsum("ij,ij->i", vectors, vectors)
    found = []
    for start in range(0, len(vectors), _CHUNK):
        block = vectors[start:start + _CHUNK]
        d2 = squares[start:start + _CHUNK, None] + squares[None, :] - 2.0 * block @ vectors.T
        distance = np.sqrt(np.clip(d2, 0.0, None))
        rows, cols = np.nonzero(distance <= max_distance)
        for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
            i = start + row
            if i < col:
                found.append((round(float(distance[row, col]), 6), i, col))
    return sorted(found)
