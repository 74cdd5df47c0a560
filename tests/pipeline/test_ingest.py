"""Ingest keeps every file given to a case: two paths with the same bytes are one media item,
accepted or rejected alike; the item keeps the first path's name and the report lists the other
path in the item's ``also_at``. Files that could not be hashed stay one item per path.

The files go through the ingest task's own body (the sub-job it finishes is what the report reads
duplicates from), on embedded stores (SQLite) in a fresh data directory.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from aima.pipeline import jobs
from aima.pipeline.sources import SourceFile
from aima.report import build_report
from aima.stages import ingest as ingest_stage
from aima.storage.cases import get_or_create_case
from aima.storage.models import Case, MediaItem
from aima.tasks import runtime
from aima.tasks.stages import ingest as ingest_task

#: Bytes that start like a JPEG and are not one: refused after they were read and hashed.
CORRUPT_JPEG = b"\xff\xd8\xff\xe0" + b"truncated, not a picture" * 8


@pytest.fixture
def stores(monkeypatch, tmp_path):
    """The stores the ingest task opens: embedded ones in a fresh data directory."""
    for name in ("AIMA_DATABASE_URL", "AIMA_DOCUMENTS_URL", "AIMA_VECTORS_URL", "AIMA_OBJECTS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIMA_DATA_DIR", str(tmp_path / "aima-data"))
    runtime.close()
    yield runtime.stores()
    runtime.close()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def ingest_batch(stores, case: Case, paths: list[Path]) -> list:
    """Ingest ``paths`` one after another as one batch of the case, as the flow's tasks do."""
    sources = [SourceFile(uri=str(path), name=path.name) for path in paths]
    batch = jobs.start_batch(stores.metadata, case.id, [s.uri for s in sources], None)
    job_ids = jobs.add_file_jobs(stores.metadata, case.id, batch, sources)
    return [ingest_task.fn(str(case.id), source, job_id)
            for source, job_id in zip(sources, job_ids, strict=True)]


def items(stores, case: Case) -> list[MediaItem]:
    with stores.metadata.session() as session:
        return session.scalars(select(MediaItem).where(MediaItem.case_id == case.id)).all()


def test_two_rejected_copies_are_one_item_and_the_report_lists_both(stores, tmp_path):
    first = write(tmp_path / "inbox" / "holiday.jpg", CORRUPT_JPEG)
    copy = write(tmp_path / "backup" / "holiday-copy.jpg", CORRUPT_JPEG)
    case = get_or_create_case(stores.metadata, "rejected-twins")

    rejected, duplicate = ingest_batch(stores, case, [first, copy])

    assert rejected.status == "rejected" and rejected.error_code
    assert duplicate.status == "duplicate" and duplicate.media_id == rejected.media_id
    assert duplicate.error_code == rejected.error_code
    assert duplicate.detail.startswith("same bytes as holiday.jpg; rejected: ")
    [item] = items(stores, case)
    assert (item.original_name, item.source_uri, item.status) == ("holiday.jpg", str(first),
                                                                  "rejected")
    [row] = build_report(stores, case)["media"]
    assert (row["name"], row["source"], row["status"]) == ("holiday.jpg", str(first), "rejected")
    assert row["error_code"] == rejected.error_code
    assert row["also_at"] == [str(copy)]

    again = ingest_batch(stores, case, [copy, first])  # a rerun, the copy first this time

    assert [o.status for o in again] == ["duplicate", "rejected"]
    assert {o.media_id for o in again} == {rejected.media_id}
    [item] = items(stores, case)
    assert (item.original_name, item.source_uri) == ("holiday.jpg", str(first))
    [row] = build_report(stores, case)["media"]
    assert (row["name"], row["also_at"]) == ("holiday.jpg", [str(copy)])  # listed once


def test_a_parallel_rejection_of_the_same_bytes_becomes_a_duplicate(stores, tmp_path,
                                                                    monkeypatch):
    """The copy's task looks for the bytes before the first file's task stored them, and saves
    after: the store's unique key refuses the second item and the retry finds the first."""
    first = write(tmp_path / "a" / "clip.jpg", CORRUPT_JPEG)
    copy = write(tmp_path / "b" / "clip.jpg", CORRUPT_JPEG)
    case = get_or_create_case(stores.metadata, "rejected-race")
    [rejected] = ingest_batch(stores, case, [first])
    find = ingest_stage._find
    looks = []

    def find_before_the_first_was_stored(*args, **kwargs):
        looks.append(kwargs)
        return None if len(looks) == 1 else find(*args, **kwargs)

    monkeypatch.setattr(ingest_stage, "_find", find_before_the_first_was_stored)

    [duplicate] = ingest_batch(stores, case, [copy])

    assert len(looks) == 2  # the save was refused once, then the item was found
    assert duplicate.status == "duplicate" and duplicate.media_id == rejected.media_id
    [item] = items(stores, case)
    assert item.source_uri == str(first)
    [row] = build_report(stores, case)["media"]
    assert (row["source"], row["also_at"]) == (str(first), [str(copy)])


def test_files_that_were_not_hashed_stay_one_item_per_path(stores, tmp_path):
    empty = write(tmp_path / "one" / "empty.mp4", b"")
    other = write(tmp_path / "two" / "empty.mp4", b"")
    case = get_or_create_case(stores.metadata, "empty-files")

    outcomes = ingest_batch(stores, case, [empty, other])
    again = ingest_batch(stores, case, [other, empty])

    assert [o.status for o in outcomes + again] == ["rejected"] * 4
    assert [o.error_code for o in outcomes] == ["empty_file", "empty_file"]
    assert {o.media_id for o in again} == {o.media_id for o in outcomes}
    assert len({o.media_id for o in outcomes}) == 2
    assert sorted(i.source_uri for i in items(stores, case)) == sorted([str(empty), str(other)])
    rows = build_report(stores, case)["media"]
    assert sorted(r["source"] for r in rows) == sorted([str(empty), str(other)])
    assert all(r["sha256"] is None and r["also_at"] == [] for r in rows)
