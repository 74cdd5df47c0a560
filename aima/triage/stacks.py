"""Near-duplicate stacks: the images and videos of a case that show the same picture or footage.

Each media item is a :class:`Candidate` with its perceptual hashes (:mod:`aima.triage.phash`):
one for an image; for a video, one per keyframe and one per frame of its signature (a frame a
second, :mod:`aima.triage.signature`). Two items are linked when

- two images are at most ``max_distance`` bits apart (:func:`aima.triage.phash.distance`) and
  their detail hashes confirm it (:func:`aima.triage.phash.confirmed_pairs`: pictures with little
  detail, such as text on plain paper, can be close in 64 bits and still differ);
- one video is *contained* in another: at least ``min_containment`` of its frames (flat ones,
  such as black frames, left out) have a frame of the other within ``max_distance``. A clip cut
  from a longer video, or a re-encoded, resized or mirrored copy, is contained in it; two videos
  that share one intro are not, unless the intro is most of one of them.

Each stack has a representative, the item to look at first: the image with the most pixels, or
the longest video (then the larger file, then the name). A stack is a star around it (leader
clustering): taking the items best first, an item linked to no representative so far becomes
one; then every other linked item joins the nearest representative it is linked to among those
that rank before it (fewest bits, then fewest detail bits; for a video the largest containment;
the better representative on a tie). So every member is linked to its representative, and links
do not chain: two different pictures that are each close to a third (pages of text laid out
alike, a short intro that two videos share) do not end up in one stack, as they would in
connected components (single linkage). Images and videos are never stacked together: a video
of many scenes would otherwise join the stacks of unrelated photos through its keyframes. Every
member gets its distance to the representative (for a video, the median distance of its frames
to the representative's nearest, and its containment in the representative, or the
representative's in it).

Every pair is compared (no index), a block of rows at a time over numpy arrays: memory stays
bounded and 20,000 images take about 15-20 s on 2 cores (bench/bench_near_duplicates.py); the time
grows with the square of the number of pictures (a video counts one per keyframe and second).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix

from aima.triage.phash import HashArray, PictureHash, close_pairs, confirmed_pairs, distances

DEFAULT_MAX_DISTANCE = 10
#: a video is in another when at least this fraction of its frames are found there
MIN_CONTAINMENT = 0.8


@dataclass(frozen=True)
class Candidate:
    """One media item that may have near-duplicates."""

    media_id: str
    name: str
    media_type: str  # image | video
    hashes: tuple[PictureHash, ...]  # one for an image; keyframes and signature for a video
    pixels: int = 0  # width x height as displayed
    duration_s: float = 0.0
    size_bytes: int = 0

    def rank(self) -> tuple:
        """Sorts the best representative first."""
        return (-self.duration_s, -self.pixels, -self.size_bytes, self.name, self.media_id)


@dataclass(frozen=True)
class Member:
    media_id: str
    name: str
    distance: float | None  # bits from the representative (a video: median over its frames)
    containment: float | None = None  # videos: share of frames found in the other video


@dataclass
class Stack:
    media_type: str
    representative: str  # media id
    members: list[Member] = field(default_factory=list)  # the representative first

    def as_dict(self, number: int) -> dict:
        return {
            "id": f"stack-{number}", "media_type": self.media_type,
            "representative": self.representative, "size": len(self.members),
            "members": [{"media_id": m.media_id, "name": m.name,
                         "representative": m.media_id == self.representative,
                         "distance": m.distance, "containment": m.containment}
                        for m in self.members],
        }


def find_stacks(candidates: Sequence[Candidate], *, max_distance: int = DEFAULT_MAX_DISTANCE,
                min_containment: float = MIN_CONTAINMENT) -> list[Stack]:
    """The stacks of two or more items among ``candidates``, largest first, then by name."""
    stacks = []
    images = [c for c in candidates if c.media_type == "image" and c.hashes]
    videos = [c for c in candidates if c.media_type == "video" and c.hashes]
    if images:
        hashes = [c.hashes[0] for c in images]
        close = close_pairs(HashArray.of(hashes), max_distance)
        links = {pair: (close[pair], detail or 0)
                 for pair, detail in confirmed_pairs(hashes, close).items()}
        stacks += [_image_stack(group) for group in _stars(images, links)]
    if videos:
        links = _contained_pairs(videos, max_distance, min_containment)
        stacks += [_video_stack(group, max_distance) for group in _stars(videos, links)]
    names = {c.media_id: c.name for c in candidates}
    return sorted(stacks, key=lambda s: (-len(s.members), names[s.representative]))


def containment(inner: Sequence[PictureHash], outer: Sequence[PictureHash],
                max_distance: int) -> tuple[float, float | None]:
    """How much of the video ``inner`` is in ``outer``: the share of its frames (flat ones left
    out) with a frame of ``outer`` within ``max_distance``, and the median distance of its frames
    to their nearest in ``outer`` (``None`` when it has no frame to compare)."""
    if not inner or not outer:
        return 0.0, None
    nearest = distances(HashArray.of(inner), HashArray.of(outer)).min(axis=1)
    usable = nearest[[not h.flat for h in inner]]
    if usable.size == 0:
        return 0.0, None
    return float(np.mean(usable <= max_distance)), float(np.median(usable))


def _contained_pairs(videos: Sequence[Candidate], max_distance: int,
                     min_containment: float) -> dict[tuple[int, int], tuple[float]]:
    """Pairs of videos one of which is contained in the other, from one frame-to-frame pass,
    with how near they are (minus the containment: smaller is nearer).

    ``found[k, v]`` says whether frame ``k`` has a match in video ``v``; summing it per video
    gives, for every pair, how many frames of one are found in the other.
    """
    owner = np.concatenate([np.full(len(v.hashes), n) for n, v in enumerate(videos)])
    frames = [h for v in videos for h in v.hashes]
    table = HashArray.of(frames)
    close = close_pairs(table, max_distance)
    matches = {(i, owner[j]) for i, j in close} | {(j, owner[i]) for i, j in close}
    if not matches:
        return {}
    rows, cols = zip(*matches, strict=True)  # frame -> the videos it is found in, once each
    found = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(frames), len(videos)))
    usable = np.array([not h.flat for h in frames], dtype=float)
    per_video = coo_matrix((usable, (owner, np.arange(len(frames)))),
                           shape=(len(videos), len(frames))).tocsr()
    shared = (per_video @ found.tocsc()).toarray()  # [a, b]: usable frames of a found in b
    counts = np.maximum(per_video.sum(axis=1).A1, 1)
    share = shared / counts[:, None]
    return {(a, b): (-float(max(share[a, b], share[b, a])),)
            for a in range(len(videos)) for b in range(a + 1, len(videos))
            if max(share[a, b], share[b, a]) >= min_containment}


def _stars(candidates: Sequence[Candidate],
           links: dict[tuple[int, int], tuple]) -> list[list[Candidate]]:
    """Stacks as stars (see the module docstring) from the links ``(i, j) -> nearness`` (smaller
    is nearer); each stack sorted best first, its representative first."""
    linked: dict[int, dict[int, tuple]] = {}
    for (i, j), nearness in links.items():
        linked.setdefault(i, {})[j] = nearness
        linked.setdefault(j, {})[i] = nearness
    order = sorted(linked, key=lambda n: candidates[n].rank())
    place = {n: k for k, n in enumerate(order)}
    centres: set[int] = set()
    for n in order:  # best first
        if not centres.intersection(linked[n]):
            centres.add(n)
    stars: dict[int, list[int]] = {}
    for n in order:  # an item joins a centre that ranks before it (there is one, or it is one)
        if n not in centres:
            centre = min((c for c in linked[n] if c in centres and place[c] < place[n]),
                         key=lambda c: (linked[n][c], place[c]))
            stars.setdefault(centre, [centre]).append(n)
    return [sorted((candidates[n] for n in members), key=Candidate.rank)
            for members in stars.values()]


def _image_stack(group: list[Candidate]) -> Stack:
    best = group[0]
    found = distances(HashArray.of([best.hashes[0]]), HashArray.of([c.hashes[0] for c in group]))[0]
    members = [Member(c.media_id, c.name, int(d)) for c, d in zip(group, found, strict=True)]
    return Stack("image", best.media_id, [members[0], *sorted(members[1:], key=_member_order)])


def _video_stack(group: list[Candidate], max_distance: int) -> Stack:
    best = group[0]
    members = [Member(best.media_id, best.name, 0.0, 1.0)]
    for other in group[1:]:
        inside, median = containment(other.hashes, best.hashes, max_distance)
        around, median_around = containment(best.hashes, other.hashes, max_distance)
        if around > inside:  # the representative is the longer, but the copy may hold it
            inside, median = around, median_around
        members.append(Member(other.media_id, other.name, median, round(inside, 3)))
    return Stack("video", best.media_id, [members[0], *sorted(members[1:], key=_member_order)])


def _member_order(member: Member) -> tuple:
    return (member.distance if member.distance is not None else float("inf"), member.name)
