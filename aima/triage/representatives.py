"""One picture per stack: leave a near-duplicate image to the best copy of it in the case.

With ``AIMA_NEAR_DUPLICATE_REPRESENTATIVES_ONLY=true`` the analysis stages after ``preprocess``
skip an image when another image of the case, already preprocessed, shows the same picture (within
``AIMA_NEAR_DUPLICATE_MAX_DISTANCE`` bits, detail hashes agreeing: the link of
:mod:`aima.triage.stacks`, :func:`aima.triage.phash.same_picture`) and ranks before it as a stack
representative (:meth:`aima.triage.stacks.Candidate.rank`: more pixels, then larger, then by
name). The skipped copy stays in the report with the reason and its ``near_duplicate_of``; the
representative is analysed. The look-up happens when the copy reaches its first analysis stage,
so a better copy that has not been preprocessed by then does not count: the copy is then analysed
too (work done twice, nothing missed). Videos are always analysed: a clip's stack is known only
from its whole signature, and a clip may hold what the longer video does not.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from aima.storage import Stores
from aima.storage.models import MediaItem
from aima.triage.phash import same_picture


def left_to_representative(stores: Stores, item: MediaItem) -> str | None:
    """Why ``item``'s analysis is left to another copy of the same picture, or None."""
    from aima.stages.near_duplicates import candidate  # the stage module imports the registry

    settings = stores.settings
    if not settings.near_duplicate_representatives_only or item.media_type != "image":
        return None
    case_id = str(item.case_id)
    documents = {d.media_id: d.data
                 for d in stores.documents.query(case_id, stage="preprocess")}
    if str(item.id) not in documents:
        return None
    with stores.metadata.session() as session:
        images = session.scalars(select(MediaItem).where(
            MediaItem.case_id == uuid.UUID(case_id), MediaItem.media_type == "image",
            MediaItem.status != "rejected")).all()
    candidates = {str(i.id): candidate(i, documents.get(str(i.id)))[0] for i in images}
    me = candidates.get(str(item.id))
    if me is None:
        return None
    better = [(other.rank(), other, bits) for other in candidates.values()
              if other is not None and other.media_id != me.media_id and other.rank() < me.rank()
              for bits in [same_picture(me.hashes[0], other.hashes[0],
                                        settings.near_duplicate_max_distance)]
              if bits is not None]
    if not better:
        return None
    _, best, bits = min(better, key=lambda entry: entry[0])
    return (f"near-duplicate of {best.name} ({bits} bits): one picture per stack is analysed "
            "(AIMA_NEAR_DUPLICATE_REPRESENTATIVES_ONLY)")
