"""The metadata store behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from aima.storage import audit
from aima.storage.cases import get_case, get_or_create_case
from aima.storage.database import Database
from aima.storage.models import (
    Base, Case, CasePerson, Job, MediaItem, PersonAppearance, PersonEdit, StageRun,
)


def test_migrations_create_exactly_the_schema_of_the_models(database):
    assert database.current_revision() == database.head_revision()
    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_opening_twice_does_not_migrate_again(database):
    again = Database(database.url)
    assert again.current_revision() == database.head_revision()
    again.dispose()


def test_a_case_with_media_jobs_stage_runs_and_persons(database):
    case = get_or_create_case(database, "harbour-2026")
    assert get_or_create_case(database, "harbour-2026").id == case.id
    with database.session() as session:
        media = MediaItem(case_id=case.id, sha256="a" * 64, media_type="video", format="mp4",
                          size_bytes=123, original_name="clip.mp4", source_uri="/in/clip.mp4",
                          probe={"duration_s": 12.5, "video": {"width": 1280}}, status="done")
        session.add(media)
        session.flush()
        batch = Job(case_id=case.id, kind="batch", source="/in", status="running")
        session.add(batch)
        session.flush()
        session.add(Job(case_id=case.id, parent_id=batch.id, media_id=media.id, kind="file"))
        session.add(StageRun(case_id=case.id, media_id=media.id, stage="preprocess",
                             model_id="pyav", params_hash="p1", status="done", attempts=1))
        person = CasePerson(case_id=case.id, label="Person 1")
        session.add(person)
        session.flush()
        session.add(PersonAppearance(person_id=person.id, media_id=media.id, modality="face",
                                     start_s=1.0, end_s=3.5, evidence=["kf:1", "kf:2"]))
        session.add(PersonEdit(case_id=case.id, action="rename", payload={"label": "Driver"},
                               actor="reviewer"))

    with database.session() as session:
        stored = session.scalars(select(MediaItem).where(MediaItem.case_id == case.id)).one()
        assert stored.probe["video"]["width"] == 1280
        children = session.scalars(select(Job).where(Job.parent_id.is_not(None))).all()
        assert [c.media_id for c in children] == [stored.id]
        appearance = session.scalars(select(PersonAppearance)).one()
        assert appearance.evidence == ["kf:1", "kf:2"]


def test_the_same_bytes_twice_in_a_case_are_refused_as_a_second_item(database):
    case = get_or_create_case(database, "dups")
    with database.session() as session:
        session.add(MediaItem(case_id=case.id, sha256="b" * 64, original_name="a.jpg", source_uri="a"))
    with pytest.raises(IntegrityError):
        with database.session() as session:
            session.add(MediaItem(case_id=case.id, sha256="b" * 64, original_name="b.jpg",
                                  source_uri="b"))


def test_one_stage_run_per_media_stage_model_and_parameters(database):
    case = get_or_create_case(database, "stages")
    with database.session() as session:
        media = MediaItem(case_id=case.id, sha256="c" * 64, original_name="x", source_uri="x")
        session.add(media)
        session.flush()
        key = dict(case_id=case.id, media_id=media.id, stage="transcribe", model_id="whisper-base")
        session.add(StageRun(**key, params_hash="h1"))
        session.add(StageRun(**key, params_hash="h2"))
    with pytest.raises(IntegrityError):
        with database.session() as session:
            session.add(StageRun(**key, params_hash="h1"))


def test_deleting_a_case_cascades_to_everything_it_owns(database):
    case = get_or_create_case(database, "cascade")
    with database.session() as session:
        media = MediaItem(case_id=case.id, sha256="d" * 64, original_name="x", source_uri="x")
        session.add(media)
        person = CasePerson(case_id=case.id, label="P")
        session.add(person)
        session.flush()
        session.add(StageRun(case_id=case.id, media_id=media.id, stage="ingest"))
        session.add(PersonAppearance(person_id=person.id, media_id=media.id, modality="voice"))
        session.add(Job(case_id=case.id, kind="batch"))
    with database.session() as session:
        session.delete(session.get(Case, case.id))
    with database.session() as session:
        for model in (MediaItem, StageRun, CasePerson, PersonAppearance, Job):
            assert session.scalars(select(model)).all() == [], model.__name__


def test_audit_events_are_kept_and_refuse_secrets(database):
    case_id = uuid.uuid4()
    audit.record(database, actor="alice", action="case.analyse", case_id=case_id, details={"files": 3})
    audit.record(database, actor="bob", action="export", details={"format": "pdf"})
    assert [(e.actor, e.action) for e in audit.events(database, case_id)] == [("alice", "case.analyse")]
    assert len(audit.events(database)) == 2
    with pytest.raises(ValueError, match="secret"):
        audit.record(database, actor="x", action="y", details={"api_key": "sk-123"})


def test_get_case_by_name_or_id_and_a_clear_error_when_missing(database):
    case = get_or_create_case(database, "lookup")
    assert get_case(database, "lookup").id == case.id
    assert get_case(database, str(case.id)).name == "lookup"
    with pytest.raises(Exception, match="no case named or with id 'nope'"):
        get_case(database, "nope")
