"""GPU waves are recorded in the metadata store (migration 0005) and outlive a purged case,
detached from it: spend is billing, not case data."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, select

from aima.settings import Settings
from aima.storage import open_stores
from aima.storage.cases import get_or_create_case
from aima.storage.database import MIGRATIONS
from aima.storage.gpu_usage import record_gpu_run
from aima.storage.models import Case, GpuRun
from aima.storage.purge import purge_case

WAVE = dict(flow_run_id=None, pool="gpu-runpod", pool_type="runpod",
            stages=["transcribe", "faces", "transcribe"], gpu_seconds=95.5, estimated_usd=0.12,
            actual_usd=0.0871, actual_source="provider")


def gpu_runs(database) -> list[GpuRun]:
    with database.session() as session:
        return list(session.scalars(select(GpuRun).order_by(GpuRun.id)))


def test_a_gpu_wave_is_recorded_and_kept_detached_when_its_case_is_deleted(database):
    case = get_or_create_case(database, "harbour")
    flow_run_id = uuid.uuid4()
    record_gpu_run(database, case_id=case.id, **{**WAVE, "flow_run_id": flow_run_id})

    [row] = gpu_runs(database)
    assert (row.case_id, row.flow_run_id, row.pool, row.pool_type) == (
        case.id, str(flow_run_id), "gpu-runpod", "runpod")
    assert row.stages == ["faces", "transcribe"]
    assert (row.gpu_seconds, row.actual_usd, row.actual_source) == (95.5, 0.0871, "provider")
    assert row.recorded_at is not None

    with database.session() as session:  # the statement aima purge runs last
        session.delete(session.get(Case, case.id))
    [kept] = gpu_runs(database)
    assert kept.id == row.id and kept.case_id is None and kept.actual_usd == 0.0871


def test_a_wave_without_a_known_source_or_with_negative_figures_is_refused(tmp_path):
    from aima.storage.database import Database

    database = Database(f"sqlite:///{tmp_path / 'meta.db'}")
    try:
        with pytest.raises(ValueError, match="actual_source"):
            record_gpu_run(database, case_id=None, **{**WAVE, "actual_source": "guess"})
        with pytest.raises(ValueError, match="negative"):
            record_gpu_run(database, case_id=None, **{**WAVE, "gpu_seconds": -1})
        assert gpu_runs(database) == []
    finally:
        database.dispose()


def test_aima_purge_keeps_the_spend_of_the_case_it_removes(tmp_path):
    with open_stores(Settings(data_dir=tmp_path / "aima-data")) as stores:
        case = get_or_create_case(stores.metadata, "to-purge")
        record_gpu_run(stores.metadata, case_id=case.id, **WAVE)

        result = purge_case(stores, "to-purge", actor="tester")

        assert result.metadata_rows
        [row] = gpu_runs(stores.metadata)
        assert row.case_id is None and row.gpu_seconds == 95.5


def test_migration_0005_adds_the_table_and_takes_it_away_again(database):
    def migrate(step, revision: str) -> None:
        with database.engine.begin() as connection:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            step(config, revision)

    assert "gpu_runs" in inspect(database.engine).get_table_names()
    migrate(command.downgrade, "0004")
    assert database.current_revision() == "0004"
    assert "gpu_runs" not in inspect(database.engine).get_table_names()
    migrate(command.upgrade, "0005")
    assert database.current_revision() == "0005"
    columns = {c["name"]: c for c in inspect(database.engine).get_columns("gpu_runs")}
    assert columns["case_id"]["nullable"] and not columns["pool"]["nullable"]
    [key] = inspect(database.engine).get_foreign_keys("gpu_runs")
    assert key["referred_table"] == "cases" and key["options"].get("ondelete") == "SET NULL"
