"""Near-duplicates (case stage): the case's images and videos grouped into near-duplicate stacks.

Reads the perceptual hashes that preprocess stored (``phash`` of an image, with its detail hash;
for a video ``phash`` of each keyframe and the ``signature``, one frame a second), groups the
items with :func:`aima.triage.stacks.find_stacks` within ``AIMA_NEAR_DUPLICATE_MAX_DISTANCE`` bits
(default 10), two images only where their detail hashes agree (at most ``max_detail_distance``
of their 1,024 bits apart; an image preprocessed before detail hashes is judged on its 64-bit
hash alone), and writes the ``near-duplicates`` case document::

    {"algorithm", "max_distance", "min_containment", "detail_algorithm", "max_detail_distance",
     "stacks": [{"id": "stack-1", "media_type", "representative": media id, "size",
                 "members": [{"media_id", "name", "representative", "distance",
                              "containment"}]}],
     "not_hashed": [{"media_id", "name", "reason"}],
     "counts": {"hashed", "not_hashed", "stacks", "in_stacks", "copies"}}

Stacks are numbered afresh on each run (largest first, then by the representative's name): a stack
id names a stack within one report. Exact copies never reach this stage (ingest keeps one item per
sha256 and lists the other paths as ``also_at``). Every file is still analysed, unless
``AIMA_NEAR_DUPLICATE_REPRESENTATIVES_ONLY`` leaves an image to its better copy
(:mod:`aima.triage.representatives`, which links two images as this stage does).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from aima.stages.base import CaseStage, StageContext, Summary
from aima.stages.ingest import OK_STATUSES
from aima.storage import Stores
from aima.storage.models import MediaItem
from aima.triage.phash import ALGORITHM, DETAIL_ALGORITHM, DETAIL_MAX_DISTANCE, PictureHash
from aima.triage.stacks import MIN_CONTAINMENT, Candidate, find_stacks

DOCUMENT = ("near-duplicates", "case")  # (stage, key) of the case document


class NearDuplicates(CaseStage):
    name = "near-duplicates"
    needs = ("preprocess",)
    description = "images and videos grouped into near-duplicate stacks by perceptual hash"

    def run(self, ctx: StageContext, case_id: str, model: Any) -> Summary:
        document = stack_case(ctx.stores, case_id,
                              max_distance=ctx.settings.near_duplicate_max_distance)
        counts = document["counts"]
        detail = (f"{counts['stacks']} stacks of {counts['in_stacks']} files "
                  f"({counts['copies']} near-duplicates) among {counts['hashed']} hashed")
        return Summary(detail=detail, data=counts)


def stack_case(stores: Stores, case_id: str, *, max_distance: int) -> dict[str, Any]:
    """Find the case's stacks and store them as the stage's document; returns the document."""
    with stores.metadata.session() as session:
        items = session.scalars(select(MediaItem).where(
            MediaItem.case_id == uuid.UUID(case_id), MediaItem.status.in_(OK_STATUSES),
            MediaItem.media_type.in_(("image", "video")))).all()
    documents = {d.media_id: d.data for d in stores.documents.query(case_id, stage="preprocess")}
    candidates, not_hashed = [], []
    for item in sorted(items, key=lambda i: (i.original_name, str(i.id))):
        found, reason = candidate(item, documents.get(str(item.id)))
        if found is None:
            not_hashed.append({"media_id": str(item.id), "name": item.original_name,
                               "reason": reason})
        else:
            candidates.append(found)
    stacks = find_stacks(candidates, max_distance=max_distance)
    in_stacks = sum(len(stack.members) for stack in stacks)
    document = {
        "algorithm": ALGORITHM, "max_distance": max_distance, "min_containment": MIN_CONTAINMENT,
        "detail_algorithm": DETAIL_ALGORITHM, "max_detail_distance": DETAIL_MAX_DISTANCE,
        "stacks": [stack.as_dict(n) for n, stack in enumerate(stacks, start=1)],
        "not_hashed": not_hashed,
        "counts": {"hashed": len(candidates), "not_hashed": len(not_hashed),
                   "stacks": len(stacks), "in_stacks": in_stacks,
                   "copies": in_stacks - len(stacks)},
    }
    stores.documents.put(case_id, *DOCUMENT, document)
    return document


def candidate(item: MediaItem, document: dict | None) -> tuple[Candidate | None, str | None]:
    if document is None:
        return None, "not preprocessed"
    if document.get("phash_algorithm") != ALGORITHM:
        return None, "preprocessed without perceptual hashes (run the analysis again)"
    probe = document.get("probe") or {}
    if item.media_type == "image":
        if not document.get("phash"):
            return None, "no perceptual hash"
        hashes = (PictureHash.from_dict(document["phash"]),)
        shown = probe.get("image") or {}
        pixels = (shown.get("width") or 0) * (shown.get("height") or 0)
    else:
        frames = document.get("keyframes", []) + (document.get("signature") or {}).get("frames", [])
        hashes = tuple(PictureHash.from_dict(f["phash"]) for f in frames if f.get("phash"))
        if not hashes:
            return None, "no keyframes"
        shown = probe.get("video") or {}
        pixels = (shown.get("display_width") or 0) * (shown.get("display_height") or 0)
    return Candidate(media_id=str(item.id), name=item.original_name, media_type=item.media_type,
                     hashes=hashes, pixels=pixels, duration_s=probe.get("duration_s") or 0.0,
                     size_bytes=item.size_bytes or 0), None


STAGE = NearDuplicates()
