"""Batch scans on real folders (and a real S3 server), recorded in SQLite and PostgreSQL: new files
are taken once, in batches by top-level folder, and nothing is ever taken twice."""

from __future__ import annotations

import io
import logging
import os
import time
import uuid

import pytest
from sqlalchemy import func, select

from aima.pipeline.scan import Batch, StartedRun, run_scan
from aima.settings import S3Settings, Settings
from aima.storage import audit
from aima.storage import scans as records
from aima.storage.cases import get_or_create_case
from aima.storage.database import Database
from aima.storage.models import MediaItem
from aima.storage.scans import Scan, ScanBatch, ScanFile

DEPLOYMENT = "analyze-media/default"


class Analyses:
    """The starter a scan is given: remembers each batch it was asked to start, as a run."""

    def __init__(self, fail_cases: set[str] = frozenset()):
        self.fail_cases = fail_cases
        self.started: dict[str, list[str]] = {}  # case -> sources
        self.keys: list[uuid.UUID] = []

    def __call__(self, batch: Batch) -> StartedRun:
        if batch.case in self.fail_cases:
            raise ConnectionError("Prefect API unreachable")
        self.started[batch.case] = batch.sources
        self.keys.append(batch.id)
        return StartedRun(id=str(uuid.uuid4()), name=f"run-of-{batch.case}")


def write(path, data: bytes = b"media bytes", age_s: float = 0.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if age_s:
        past = time.time() - age_s
        os.utime(path, (past, past))
    return path


@pytest.fixture
def drop(tmp_path):
    """A drop folder: two case folders (one nested), a file at the top, and a hidden file."""
    root = tmp_path / "drop"
    write(root / "harbour" / "dock.jpg", b"jpeg")
    write(root / "harbour" / "day2" / "crane.mp4", b"mp4 bytes")
    write(root / "airport" / "gate.wav", b"wave")
    write(root / "loose.mp3", b"mp3")
    write(root / ".DS_Store", b"finder")
    return root


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=tmp_path / "aima-data", scan_min_age_s=0)


def scan(database, settings, source, analyses, **options):
    return run_scan(database, settings, str(source), analyses, deployment=DEPLOYMENT, **options)


def count(database, model) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_new_files_start_one_analysis_per_top_level_folder(database, settings, drop):
    analyses = Analyses()

    result = scan(database, settings, drop, analyses, case_prefix="nightly-")

    assert analyses.started == {
        "nightly-airport": [str(drop / "airport" / "gate.wav")],
        "nightly-drop": [str(drop / "loose.mp3")],
        "nightly-harbour": [str(drop / "harbour" / "day2" / "crane.mp4"),
                            str(drop / "harbour" / "dock.jpg")],
    }
    assert (result.plan.found, result.plan.new, len(result.started)) == (4, 4, 3)
    recorded = {b.case_name: (b.folder, b.files, b.flow_run_name, b.deployment)
                for b in records.batches_of(database, result.scan_id)}
    assert recorded == {
        "nightly-airport": ("airport", 1, "run-of-nightly-airport", DEPLOYMENT),
        "nightly-drop": ("drop", 1, "run-of-nightly-drop", DEPLOYMENT),
        "nightly-harbour": ("harbour", 2, "run-of-nightly-harbour", DEPLOYMENT),
    }
    with database.session() as session:
        files = {f.name: f for f in session.scalars(select(ScanFile))}
        scan_row = session.get(Scan, result.scan_id)
    assert sorted(files) == ["airport/gate.wav", "harbour/day2/crane.mp4", "harbour/dock.jpg",
                             "loose.mp3"]
    assert files["harbour/dock.jpg"].size == 4
    assert files["harbour/dock.jpg"].version.startswith("mtime_ns=")
    assert (scan_row.status, scan_row.files_found, scan_row.files_taken) == ("done", 4, 4)
    event = [e for e in audit.events(database) if e.action == "scan.batches"][-1]
    assert event.details["files_taken"] == 4
    assert {b["case"] for b in event.details["batches"]} == set(analyses.started)
    assert result.summary() == (
        f"scan of {drop}: 4 files found, 4 new in 3 batches; 0 taken by earlier scans, 0 already "
        "in a case, 0 still being written, 0 unreadable; started 3 of 3 analyses: "
        "nightly-airport (1 file), nightly-drop (1 file), nightly-harbour (2 files)")


def test_a_second_scan_takes_nothing_and_a_file_added_later_is_taken_alone(database, settings,
                                                                            drop):
    scan(database, settings, drop, Analyses())

    again = Analyses()
    second = scan(database, settings, drop, again)
    assert again.started == {}
    assert (second.plan.known, second.plan.new) == (4, 0)
    assert "4 taken by earlier scans" in second.summary()

    later = write(drop / "harbour" / "day3" / "boat.jpg", b"boat")
    third_analyses = Analyses()
    third = scan(database, settings, drop, third_analyses)
    assert third_analyses.started == {"harbour": [str(later)]}
    assert (third.plan.known, third.plan.new) == (4, 1)
    assert count(database, ScanFile) == 5


def test_a_file_changed_in_place_is_a_new_file(database, settings, drop):
    scan(database, settings, drop, Analyses())
    write(drop / "airport" / "gate.wav", b"a longer recording")

    analyses = Analyses()
    scan(database, settings, drop, analyses)

    assert analyses.started == {"airport": [str(drop / "airport" / "gate.wav")]}


def test_files_already_analysed_into_a_case_are_not_taken(database, settings, drop):
    case = get_or_create_case(database, "by-hand")
    dock = drop / "harbour" / "dock.jpg"
    with database.session() as session:
        session.add(MediaItem(case_id=case.id, sha256="b" * 64, size_bytes=dock.stat().st_size,
                              original_name="dock.jpg", source_uri=str(dock), status="done"))
        # the same path, unreadable when it was analysed: no size, so it does not count
        session.add(MediaItem(case_id=case.id, original_name="gate.wav", status="failed",
                              source_uri=str(drop / "airport" / "gate.wav")))

    analyses = Analyses()
    result = scan(database, settings, drop, analyses)

    assert analyses.started["harbour"] == [str(drop / "harbour" / "day2" / "crane.mp4")]
    assert analyses.started["airport"] == [str(drop / "airport" / "gate.wav")]
    assert result.plan.in_case == 1


def test_unreadable_files_are_warned_about_and_not_recorded(database, settings, drop, caplog):
    (drop / "harbour" / "gone.jpg").symlink_to(drop / "harbour" / "deleted-before-the-scan.jpg")
    os.mkfifo(drop / "airport" / "pipe")
    analyses = Analyses()

    with caplog.at_level(logging.WARNING, logger="aima.pipeline.scan"):
        result = scan(database, settings, drop, analyses)

    warnings = {r.getMessage() for r in caplog.records if r.levelno == logging.WARNING}
    assert "harbour/gone.jpg: not taken: vanished since the listing (deleted, moved, or a " \
           "broken link)" in warnings
    assert "airport/pipe: not taken: not a regular file (a pipe, socket or device)" in warnings
    assert dict(result.plan.unreadable).keys() == {"harbour/gone.jpg", "airport/pipe"}
    assert analyses.started["harbour"] == [str(drop / "harbour" / "day2" / "crane.mp4"),
                                           str(drop / "harbour" / "dock.jpg")]
    with database.session() as session:
        names = set(session.scalars(select(ScanFile.name)))
    assert not names & {"harbour/gone.jpg", "airport/pipe"}
    # the link's target appears: the next scan takes the file
    write(drop / "harbour" / "deleted-before-the-scan.jpg", b"back")
    later = Analyses()
    scan(database, settings, drop, later)
    assert later.started == {"harbour": [str(drop / "harbour" / "deleted-before-the-scan.jpg"),
                                         str(drop / "harbour" / "gone.jpg")]}


def test_files_still_being_written_wait_for_a_later_scan(database, tmp_path):
    settings = Settings(data_dir=tmp_path / "aima-data", scan_min_age_s=600)
    root = tmp_path / "drop"
    old = write(root / "harbour" / "copied-yesterday.jpg", age_s=3600)
    write(root / "harbour" / "copying-now.mp4")
    analyses = Analyses()

    result = scan(database, settings, root, analyses)

    assert analyses.started == {"harbour": [str(old)]}
    assert result.plan.settling == 1


def test_a_dry_run_records_and_starts_nothing(database, settings, drop):
    analyses = Analyses()

    result = scan(database, settings, drop, analyses, dry_run=True)

    assert [(b.case, len(b.files)) for b in result.plan.batches] == [
        ("airport", 1), ("drop", 1), ("harbour", 2)]
    assert analyses.started == {}
    assert result.scan_id is None
    assert [count(database, table) for table in (Scan, ScanBatch, ScanFile)] == [0, 0, 0]
    assert not [e for e in audit.events(database) if e.action.startswith("scan")]
    assert "dry run, nothing started or recorded: would start 3 analyses" in result.summary()


def test_a_batch_that_cannot_be_started_is_left_for_the_next_scan(database, settings, drop,
                                                                   caplog):
    failing = Analyses(fail_cases={"harbour"})
    with caplog.at_level(logging.ERROR, logger="aima.pipeline.scan"):
        result = scan(database, settings, drop, failing)

    assert set(failing.started) == {"airport", "drop"}
    assert [b.case for b in result.failed] == ["harbour"]
    assert result.failed[0].error == "ConnectionError: Prefect API unreachable"
    assert any("could not start the analysis of case harbour" in r.getMessage()
               for r in caplog.records)
    assert count(database, ScanFile) == 2

    retry = Analyses()
    scan(database, settings, drop, retry)
    assert retry.started == {"harbour": [str(drop / "harbour" / "day2" / "crane.mp4"),
                                         str(drop / "harbour" / "dock.jpg")]}


class Killed(BaseException):
    """The scan's process dies (SIGKILL, a lost machine) right after claiming a batch."""


def test_a_batch_claimed_by_a_killed_scan_is_started_by_the_next_with_the_same_key(
        database, settings, drop):
    def dies(batch: Batch) -> StartedRun:
        raise Killed

    with pytest.raises(Killed):
        scan(database, settings, drop, dies)
    [(claimed, files)] = records.unstarted_batches(database)

    analyses = Analyses()
    result = scan(database, settings, drop, analyses)

    assert [b.id for b in result.resumed] == [claimed.id]
    assert analyses.keys[0] == claimed.id  # the run's idempotency key: no second run of it
    assert analyses.started[claimed.case_name] == [f.uri for f in files]
    assert set(analyses.started) == {"airport", "drop", "harbour"}
    assert records.unstarted_batches(database) == []
    with database.session() as session:
        statuses = sorted(session.scalars(select(Scan.status)))
    assert statuses == ["done", "failed"]


def test_two_scans_at_once_never_take_a_file_twice(database, settings, drop):
    second = Analyses()

    def first_runs_while_another_scan_starts(batch: Batch) -> StartedRun:
        if not second.started:  # the other scan (its plan made now) runs to its end first
            scan(database, settings, drop, second)
        return StartedRun(id=str(uuid.uuid4()), name="first")

    first = scan(database, settings, drop, first_runs_while_another_scan_starts)

    # The first scan claimed "airport" and was starting it when the second ran: the second
    # started that claim with the same key (Prefect answers with the same run) and took the rest.
    assert [b.case for b in first.started] == ["airport"]
    assert second.keys[0] == first.started[0].id
    assert set(second.started) == {"airport", "drop", "harbour"}
    assert [b.case for b in first.contended] == ["drop", "harbour"]
    assert count(database, ScanFile) == 4
    assert count(database, ScanBatch) == 3


def test_a_folder_that_does_not_exist_is_a_clear_error(database, settings, tmp_path):
    from aima.errors import NotFound

    with pytest.raises(NotFound, match="is not a folder on this machine"):
        scan(database, settings, tmp_path / "no-such-folder", Analyses())


def test_an_s3_prefix_is_scanned_by_top_level_folder(s3_server, tmp_path):
    from minio import Minio

    settings = Settings(data_dir=tmp_path / "aima-data", s3=S3Settings(
        endpoint=s3_server.endpoint, access_key=s3_server.access_key,
        secret_key=s3_server.secret_key, region="us-east-1"))
    client = Minio(s3_server.endpoint.removeprefix("http://"), access_key=s3_server.access_key,
                   secret_key=s3_server.secret_key, secure=False, region="us-east-1")
    bucket = "drop-" + uuid.uuid4().hex[:8]
    client.make_bucket(bucket)
    for key in ("incoming/harbour/dock.jpg", "incoming/harbour/day2/crane.mp4",
                "incoming/top.mp3", "incoming-old/not-this.jpg"):
        client.put_object(bucket, key, io.BytesIO(b"bytes of " + key.encode()), 9 + len(key))
    database = Database(f"sqlite:///{tmp_path / 'meta.db'}")
    try:
        analyses = Analyses()
        first = scan(database, settings, f"s3://{bucket}/incoming", analyses, case_prefix="s3-")

        assert analyses.started == {
            "s3-harbour": [f"s3://{bucket}/incoming/harbour/day2/crane.mp4",
                           f"s3://{bucket}/incoming/harbour/dock.jpg"],
            "s3-incoming": [f"s3://{bucket}/incoming/top.mp3"]}
        with database.session() as session:
            versions = set(session.scalars(select(ScanFile.version)))
        assert all(v.startswith("etag=") and len(v) > len("etag=") for v in versions)
        assert first.plan.found == 3

        client.put_object(bucket, "incoming/harbour/boat.jpg", io.BytesIO(b"boat"), 4)
        later = Analyses()
        scan(database, settings, f"s3://{bucket}/incoming/", later, case_prefix="s3-")
        assert later.started == {"s3-harbour": [f"s3://{bucket}/incoming/harbour/boat.jpg"]}
    finally:
        database.dispose()


def test_the_migration_creates_exactly_the_scan_tables_and_index(database):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from aima.storage.models import Base

    assert {"scans", "scan_batches", "scan_files"} <= set(Base.metadata.tables)
    with database.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
