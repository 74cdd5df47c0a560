"""Removing a case from all four stores.

The purge is idempotent and survives a crash halfway: the case is first marked ``purging``, then
objects, vectors and documents are removed (each a no-op when already gone), the paths of the
files batch scans took for it are forgotten (their keys stay), and the metadata rows go last, so
a rerun finds the case and finishes the job. An audit event records each purge.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel
from sqlalchemy import delete, update

from aima.storage import Stores
from aima.storage import audit, scans
from aima.storage.cases import find_case, parse_uuid
from aima.storage.models import Case
from aima.storage.objects import case_prefix


class PurgeResult(BaseModel):
    requested: str
    found: bool  # whether anything of the case was left to remove
    case_id: str | None
    case_name: str | None
    objects: int
    vectors: int
    documents: int
    metadata_rows: bool  # whether the case row was still there
    scan_files: int = 0  # files batch scans took for the case, whose paths were forgotten


def purge_case(stores: Stores, name_or_id: str, *, actor: str) -> PurgeResult:
    """Remove a case everywhere and record it in the audit log, also when nothing was left.

    A case id that no longer has a metadata row is still swept from the other stores, so that a
    purge interrupted after its last step but one can be finished by id.
    """
    case = find_case(stores.metadata, name_or_id)
    case_id: uuid.UUID | None = case.id if case is not None else parse_uuid(name_or_id)
    if case_id is None:
        result = PurgeResult(
            requested=name_or_id, found=False, case_id=None, case_name=None,
            objects=0, vectors=0, documents=0, metadata_rows=False,
        )
        audit.record(stores.metadata, actor=actor, action="case.purge", details=result.model_dump())
        return result
    if case is not None:
        with stores.metadata.session() as session:
            session.execute(update(Case).where(Case.id == case_id).values(status="purging"))

    key = str(case_id)
    objects = stores.objects.delete_prefix(case_prefix(key))
    vectors = stores.vectors.delete_case(key)
    documents = stores.documents.delete_case(key)
    # Scans keep the keys of the files they took (so that the next scan does not take them
    # again and bring the case back), not their paths.
    scan_files = scans.forget_paths(stores.metadata, case.name) if case is not None else 0
    with stores.metadata.session() as session:
        # ON DELETE CASCADE removes media, jobs, stage runs, persons and edits with the case.
        session.execute(delete(Case).where(Case.id == case_id))

    result = PurgeResult(
        requested=name_or_id,
        found=case is not None or bool(objects or vectors or documents),
        case_id=key,
        case_name=case.name if case is not None else None,
        objects=objects,
        vectors=vectors,
        documents=documents,
        metadata_rows=case is not None,
        scan_files=scan_files,
    )
    audit.record(
        stores.metadata,
        actor=actor,
        action="case.purge",
        case_id=case_id,
        details=result.model_dump(exclude={"case_id"}),
    )
    return result
