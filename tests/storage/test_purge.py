"""Purging a case removes it from all four stores, embedded and on real servers, and nothing else."""

from __future__ import annotations

import io
import uuid

import pytest
from sqlalchemy import func, select

from aima.storage import audit, open_stores
from aima.storage.cases import get_or_create_case
from aima.storage.models import (
    Case, CasePerson, Job, MediaItem, PersonAppearance, PersonEdit, StageRun,
)
from aima.storage.objects import case_prefix, media_key
from aima.storage.purge import purge_case
from aima.storage.vectors import Embedding

OWNED = (MediaItem, Job, StageRun, CasePerson, PersonAppearance, PersonEdit)


def fill_case(stores, name: str) -> str:
    """A case with a row of every kind, two documents, three vectors and two objects."""
    case = get_or_create_case(stores.metadata, name)
    cid = str(case.id)
    with stores.metadata.session() as session:
        media = MediaItem(case_id=case.id, sha256=uuid.uuid4().hex * 2, original_name="a.mp4",
                          source_uri="/in/a.mp4", status="done")
        person = CasePerson(case_id=case.id, label="Person 1")
        session.add_all([media, person])
        session.flush()
        session.add_all([
            Job(case_id=case.id, media_id=media.id, kind="file"),
            StageRun(case_id=case.id, media_id=media.id, stage="ingest", status="done"),
            PersonAppearance(person_id=person.id, media_id=media.id, modality="face"),
            PersonEdit(case_id=case.id, action="rename", payload={}, actor="t"),
        ])
        mid = str(media.id)
    stores.documents.put(cid, "transcribe", mid, {"text": "hi"}, media_id=mid)
    stores.documents.put(cid, "report", "case", {"summary": "s"})
    stores.vectors.upsert("face", "test-model", [
        Embedding(id=f"{mid}:{n}", case_id=cid, media_id=mid, vector=[float(n == i) for i in range(8)])
        for n in range(3)
    ])
    stores.objects.put_stream(media_key(cid, "f" * 64), io.BytesIO(b"video bytes"))
    stores.objects.put_stream(f"{case_prefix(cid)}keyframes/{mid}/0.jpg", io.BytesIO(b"jpeg"))
    return cid


# What fill_case puts in each store: a metadata row of every kind, two documents, three vectors
# and two objects.
FULL_CASE = {
    "documents": 2, "vectors": 3, "objects": 2, "cases": 1, "media_items": 1, "jobs": 1,
    "stage_runs": 1, "case_persons": 1, "person_appearances": 1, "person_edits": 1,
}
NOTHING = dict.fromkeys(FULL_CASE, 0)


def what_is_left(stores, cid: str) -> dict[str, int]:
    left = {
        "documents": stores.documents.count(cid),
        "vectors": stores.vectors.count(cid),
        "objects": len(list(stores.objects.list(case_prefix(cid)))),
    }
    with stores.metadata.session() as session:
        left["cases"] = session.scalar(
            select(func.count()).select_from(Case).where(Case.id == uuid.UUID(cid)))
        for model in OWNED:
            column = model.person_id if model is PersonAppearance else model.case_id
            if model is PersonAppearance:
                query = select(func.count()).select_from(model).join(CasePerson).where(
                    CasePerson.case_id == uuid.UUID(cid))
            else:
                query = select(func.count()).select_from(model).where(column == uuid.UUID(cid))
            left[model.__tablename__] = session.scalar(query)
    return left


def test_purge_leaves_nothing_of_the_case_and_keeps_the_other(settings):
    with open_stores(settings) as stores:
        doomed = fill_case(stores, "doomed")
        kept = fill_case(stores, "kept")

        assert what_is_left(stores, doomed) == what_is_left(stores, kept) == FULL_CASE

        result = purge_case(stores, "doomed", actor="reviewer")

        assert result.found and result.case_id == doomed
        assert (result.objects, result.vectors, result.documents) == (2, 3, 2)
        assert what_is_left(stores, doomed) == NOTHING
        assert what_is_left(stores, kept) == FULL_CASE  # every item of the other case still there
        events = audit.events(stores.metadata, doomed)
        assert [(e.actor, e.action) for e in events] == [("reviewer", "case.purge")]


def test_purge_twice_is_harmless_and_audited(settings):
    with open_stores(settings) as stores:
        cid = fill_case(stores, "twice")
        purge_case(stores, "twice", actor="t")
        again = purge_case(stores, cid, actor="t")
        assert not again.found
        assert len(audit.events(stores.metadata, cid)) == 2


def test_a_purge_that_crashed_halfway_is_finished_by_running_it_again(settings, monkeypatch):
    with open_stores(settings) as stores:
        cid = fill_case(stores, "crash")

        def crash(case_id):
            raise ConnectionError("vector store went away")

        with monkeypatch.context() as patch:
            patch.setattr(stores.vectors, "delete_case", crash)
            with pytest.raises(ConnectionError):
                purge_case(stores, "crash", actor="t")

        # Objects are gone already; the case is marked as being purged, the rest is still there.
        left = what_is_left(stores, cid)
        assert left["objects"] == 0 and left["vectors"] == 3 and left["cases"] == 1
        with stores.metadata.session() as session:
            assert session.get(Case, uuid.UUID(cid)).status == "purging"

        result = purge_case(stores, "crash", actor="t")
        assert result.found and result.vectors == 3
        assert what_is_left(stores, cid) == NOTHING


def test_purge_forgets_the_paths_scans_took_for_the_case_but_not_that_they_were_taken(settings):
    """The next batch scan must not take a purged case's files again (and bring it back), but
    the purge must not leave their paths behind either."""
    from aima.storage import scans

    def take(stores, case: str, name: str, started: bool) -> str:
        scan = scans.start_scan(stores.metadata, source="/in", deployment="d", case_prefix="",
                                actor="t", flow_run_id=None)
        record = scans.FileRecord(key=uuid.uuid4().hex * 2, uri=f"/in/{case}/{name}", name=name,
                                  size=1, version="mtime_ns=1")
        batch = scans.claim_batch(stores.metadata, scan, folder=case, case_name=case,
                                  deployment="d", files=[record])
        if started:
            scans.mark_started(stores.metadata, batch, str(uuid.uuid4()), case)
        return record.key

    with open_stores(settings) as stores:
        fill_case(stores, "scanned")
        fill_case(stores, "kept")
        taken = take(stores, "scanned", "a.mp4", started=True)
        waiting = take(stores, "scanned", "b.mp4", started=False)  # the next scan starts it
        other = take(stores, "kept", "c.mp4", started=True)

        result = purge_case(stores, "scanned", actor="t")

        assert result.scan_files == 1
        assert scans.taken_keys(stores.metadata, [taken, waiting, other]) == {
            taken, waiting, other}
        with stores.metadata.session() as session:
            uris = dict(session.execute(select(scans.ScanFile.key, scans.ScanFile.uri)).all())
        assert uris == {taken: "", waiting: "/in/scanned/b.mp4", other: "/in/kept/c.mp4"}
