"""Link persons (case stage): the faces of all files of a case clustered into case persons.

Reads the case's ``faces`` documents and their embeddings (only those the documents list, so a
redo that found fewer faces leaves no stale embedding in play), clusters them with
:func:`aima.vision.face_clusters.cluster_faces` (Immich-like: ``AIMA_PERSON_MIN_FACES``,
``AIMA_PERSON_MAX_DISTANCE``; two faces of one frame are never one person), carries the keys
``person-1``, ``person-2``, ... over from the previous run, then applies the reviewer's
corrections (:mod:`aima.persons_edits`) and writes the case persons (``Person N``) with one
appearance per face: media item, timestamp and the face's evidence id (its box and crop are in
the ``faces`` document and the report). Embedded faces that fit no person are left unassigned and
counted. Output: the ``link-persons`` case document.

Defaults, for dlib's 128-d embedding, where the same person is usually under 0.6 apart (dlib's
own threshold, 99.38 % on LFW): ``max_distance`` 0.5, because clusters chain through their core
faces and every link must be a confident one (copies of one face under scale, flip, light,
rotation and JPEG stay within 0.3; distinct faces of ``lfw_subset`` are 0.36 apart at the
closest); ``min_faces`` 2 (the face itself and one more), because a case is small and a person
seen twice is worth linking, where Immich's 3 is made for libraries of thousands of photos.
A case person tells faces apart within one case; it never identifies anyone.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from aima import persons_edits
from aima.stages.base import CaseStage, StageContext, Summary
from aima.stages.faces import FACE
from aima.storage import Stores
from aima.storage.models import MediaItem
from aima.vision.face_clusters import CaseFace, carry_over_keys, cluster_faces, key_number


class LinkPersons(CaseStage):
    name = "link-persons"
    needs = ("faces",)
    model = "faces"
    description = "the case's faces clustered into case persons; reviewer corrections applied"

    def run(self, ctx: StageContext, case_id: str, model: Any) -> Summary:
        settings = ctx.settings
        document = link_face_persons(ctx.stores, case_id, model.model_id, model.dimension,
                                     min_faces=settings.person_min_faces,
                                     max_distance=settings.person_max_distance)
        counts = document["counts"]
        return Summary(detail=f"{counts['persons']} persons from {counts['faces']} faces "
                              f"({counts['unassigned']} unassigned)", data=counts)


def link_face_persons(stores: Stores, case_id: str, model_id: str, dimension: int, *,
                      min_faces: int, max_distance: float) -> dict[str, Any]:
    """Cluster the case's faces, apply the edits, store and publish; returns the document."""
    faces = persons_edits.face_index(stores, case_id, model_id)
    with stores.metadata.session() as session:
        hashes = {str(i.id): i.sha256 for i in session.scalars(
            select(MediaItem).where(MediaItem.case_id == uuid.UUID(case_id)))}
    embedded = [
        CaseFace(e.ref, e.media_id, hashes[e.media_id], faces[e.ref]["frame"], faces[e.ref]["n"],
                 e.vector)
        for e in stores.vectors.fetch(FACE, model_id, case_id, dimension)
        if e.ref in faces and faces[e.ref]["embedded"] and e.media_id in hashes
    ]
    apart, used = persons_edits.clustering_constraints(stores.metadata, case_id)
    clustered = cluster_faces(embedded, min_faces=min_faces, max_distance=max_distance,
                              apart=apart)
    previous = stores.documents.get(case_id, *persons_edits.DOCUMENT) or {}
    before = {face: c["key"] for c in previous.get("clusters", []) for face in c["faces"]}
    used = max(used, previous.get("last_number", 0))
    keys = carry_over_keys(clustered.clusters, before, used)
    document = {
        "model_id": model_id, "min_faces": min_faces, "max_distance": max_distance,
        "clusters": [{"key": key, "faces": members}
                     for key, members in sorted(zip(keys, clustered.clusters, strict=True),
                                                key=lambda pair: key_number(pair[0]))],
        "unassigned": clustered.unassigned,
        "last_number": max([used, *(key_number(k) for k in before.values()),
                            *(key_number(k) for k in keys)]),
    }
    stores.documents.put(case_id, *persons_edits.DOCUMENT, document)
    return persons_edits.publish(stores, case_id)


STAGE = LinkPersons()
