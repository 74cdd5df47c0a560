"""The report's hash-set section: which files were found in which known-file hash sets.

Two kinds of match, in one list per file:

- exact: the file's md5, sha1 or sha256 was in a set when it was ingested (kept on the media
  item): ``{"set", "category", "algorithm"}`` (``algorithm`` the strongest that matched; items
  ingested before it was recorded lack it);
- perceptual: a picture of the file (an image, or a keyframe of a video) is within
  ``AIMA_NEAR_DUPLICATE_MAX_DISTANCE`` bits of a ``phash`` entry of a set:
  ``{"set", "category", "algorithm": "phash", "distance", "frame"}``, ``frame`` being ``"image"``
  or the keyframe's index (with its ``evidence`` id), one match per set and picture at its
  smallest distance. Computed here, when the report is made, against the sets as they are now.

The distance is :func:`aima.triage.phash.distance` with a set's entry as a picture whose only
hash is its whole-picture pHash: the fewest bits between the entry and the picture, its mirror
image and its five 90 % crops. So a resized, re-encoded, brightened, mirrored or slightly
enlarged copy of a listed picture matches; a crop of a listed picture is not recognised (the
set holds no crops of it). Flat pictures (one colour) never match.

A perceptual match is a lead for a reviewer, not proof that two files are the same: it never
sets a file aside as known-benign (:func:`aima.hashsets.store.benign_reason` reads exact matches
only), it is only listed.

:func:`section` returns

- ``media``: media id -> the matches above (only files with a match are listed), exact first,
  then perceptual ones by set, distance and frame;
- ``summary``: ``files`` (files with a match), ``by_category`` and ``by_set`` (files per category
  and per set; a file in two sets of one category counts once in that category), ``perceptual``
  (files with a perceptual match) and ``phash_max_distance``.

:func:`add_to_rows` puts each file's matches on its report row as ``hash_matches`` (``[]`` for
none). A ``known-benign`` file whose stages were skipped says so in its row's stage list and notes
(``... skipped: known-benign: in hash set NAME``).
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import numpy as np
from sqlalchemy import select

from aima.hashsets.formats import PHASH
from aima.hashsets.store import PerceptualEntries, perceptual_entries
from aima.storage import Stores
from aima.storage.models import MediaItem
from aima.triage.phash import ALGORITHM, CROPS, HashArray, PictureHash, distances

#: pairs (picture, entry) compared at once: bounds the temporary arrays (about 32 MB each)
BLOCK_PAIRS = 4_000_000


def section(stores: Stores, case_id: str,
            preprocess: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The section (see the module docstring). ``preprocess``: the case's preprocess documents by
    media id, when the caller has them already (else read here, only if a set holds phashes)."""
    statement = select(MediaItem.id, MediaItem.hash_matches).where(
        MediaItem.case_id == uuid.UUID(str(case_id)), MediaItem.hash_matches.is_not(None))
    with stores.metadata.session() as session:
        found: dict[str, list[dict[str, Any]]] = {
            str(media_id): list(matches) for media_id, matches in session.execute(statement)
            if matches}
    max_distance = stores.settings.near_duplicate_max_distance
    perceptual = perceptual_matches(stores, case_id, max_distance, preprocess)
    for media_id, matches in perceptual.items():
        found.setdefault(media_id, []).extend(matches)
    by_category: Counter[str] = Counter()
    by_set: Counter[str] = Counter()
    for matches in found.values():
        by_category.update({m["category"] for m in matches})
        by_set.update({m["set"] for m in matches})
    return {
        "media": found,
        "summary": {"files": len(found), "by_category": dict(sorted(by_category.items())),
                    "by_set": dict(sorted(by_set.items())), "perceptual": len(perceptual),
                    "phash_max_distance": max_distance},
    }


def perceptual_matches(stores: Stores, case_id: str, max_distance: int,
                       preprocess: dict[str, dict[str, Any]] | None = None,
                       ) -> dict[str, list[dict[str, Any]]]:
    """Media id -> its perceptual matches: every picture of the case against every ``phash``
    entry of every set, loaded in one query."""
    entries = perceptual_entries(stores.metadata)
    if not len(entries):
        return {}
    if preprocess is None:
        preprocess = {d.media_id: d.data
                      for d in stores.documents.query(str(case_id), stage="preprocess")}
    pictures = _pictures(preprocess)
    if not pictures:
        return {}
    best: dict[tuple[int, int], int] = {}  # (picture, set) -> smallest distance
    table = HashArray.of([hash_ for *_, hash_ in pictures])
    listed = _entry_array(entries)
    rows = max(1, BLOCK_PAIRS // len(table))
    for start in range(0, len(listed), rows):
        block = distances(table, listed.rows(start, start + rows))
        for picture, entry in zip(*np.nonzero(block <= max_distance), strict=True):
            key = (int(picture), int(entries.set_index[start + entry]))
            distance = int(block[picture, entry])
            if distance < best.get(key, distance + 1):
                best[key] = distance
    found: dict[str, list[dict[str, Any]]] = {}
    for (picture, set_index), distance in sorted(
            best.items(), key=lambda kv: (entries.sets[kv[0][1]], kv[1], kv[0][0])):
        media_id, frame, evidence_id, _ = pictures[picture]
        name, category = entries.sets[set_index]
        match = {"set": name, "category": category, "algorithm": PHASH, "distance": distance,
                 "frame": frame}
        if evidence_id is not None:
            match["evidence"] = evidence_id
        found.setdefault(media_id, []).append(match)
    return found


def _pictures(preprocess: dict[str, dict[str, Any]]
              ) -> list[tuple[str, str | int, str | None, PictureHash]]:
    """(media id, "image" or keyframe index, evidence id, hash) of every hashed picture."""
    pictures = []
    for media_id, document in sorted(preprocess.items()):
        if document.get("phash_algorithm") != ALGORITHM:
            continue  # preprocessed before perceptual hashes, or with another algorithm
        if document.get("phash"):
            pictures.append((media_id, "image", None, PictureHash.from_dict(document["phash"])))
        for frame in document.get("keyframes") or []:
            if frame.get("phash"):
                pictures.append((media_id, frame["index"], frame.get("id"),
                                 PictureHash.from_dict(frame["phash"])))
    return pictures


def _entry_array(entries: PerceptualEntries) -> HashArray:
    """The entries as pictures whose every hash is their one pHash: :func:`distances` then
    compares an entry with a picture whole, mirrored and cropped (see the module docstring)."""
    hashes = entries.hashes
    return HashArray(hash=hashes, mirror=hashes, crops=np.repeat(hashes[:, None], CROPS, axis=1),
                     flat=np.zeros(len(hashes), dtype=bool))


def add_to_rows(rows: list[dict[str, Any]], hash_sets: dict[str, Any]) -> None:
    """Set ``row["hash_matches"]`` on every media row from a :func:`section`."""
    for row in rows:
        row["hash_matches"] = hash_sets["media"].get(row["id"], [])
