"""The batch-scan flow on a real Prefect server: it creates one Scheduled run of the analysis
deployment per new batch (no worker picks them up here), records them, and takes nothing twice."""

from __future__ import annotations

import uuid

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.filters import ArtifactFilter, DeploymentFilter, FlowRunFilter
from prefect.client.schemas.sorting import ArtifactSort
from prefect.utilities.callables import parameter_schema
from sqlalchemy import select

from aima.flows.analyze import analyze_media
from aima.flows.batch_scan import batch_scan
from aima.settings import load_settings
from aima.storage import audit, open_stores
from aima.storage.scans import Scan, ScanBatch, ScanFile


@pytest.fixture(scope="module")
def analysis_deployment() -> tuple[str, uuid.UUID]:
    """A deployment of analyze-media on a process pool, as `prefect deploy` makes it, with its
    parameter schema enforced: the server refuses runs whose parameters do not fit the flow."""
    suffix = uuid.uuid4().hex[:8]
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=f"aima-cpu-{suffix}", type="process"))
        deployment_id = client.create_deployment(
            flow_id=client.create_flow(analyze_media), name=f"default-{suffix}",
            entrypoint="aima.flows.analyze:analyze_media", work_pool_name=f"aima-cpu-{suffix}",
            parameter_openapi_schema=parameter_schema(analyze_media).model_dump_for_openapi(),
            enforce_parameter_schema=True)
    return f"analyze-media/default-{suffix}", deployment_id


@pytest.fixture
def scan_env(aima_env, monkeypatch):
    monkeypatch.setenv("AIMA_SCAN_MIN_AGE_S", "0")  # the files are written just before the scan
    return aima_env


def drop_folder(root):
    for name in ("harbour/dock.jpg", "harbour/day2/crane.mp4", "airport/gate.wav", "loose.mp3"):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"bytes of " + name.encode())
    return root


def runs_of(deployment_id: uuid.UUID) -> dict[str, object]:
    """The deployment's flow runs, by case."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id={"any_": [deployment_id]}))
    return {run.parameters["case"]: run for run in runs}


def test_each_new_batch_becomes_a_scheduled_analysis_run_and_is_recorded(
        analysis_deployment, scan_env, tmp_path):
    deployment, deployment_id = analysis_deployment
    drop = drop_folder(tmp_path / "drop")
    prefix = f"scan-{uuid.uuid4().hex[:6]}-"

    state = batch_scan(source=str(drop), deployment=deployment, case_prefix=prefix,
                       return_state=True)

    assert state.is_completed()
    summary = state.result()
    runs = {case: run for case, run in runs_of(deployment_id).items() if case.startswith(prefix)}
    assert {case: run.parameters["sources"] for case, run in runs.items()} == {
        f"{prefix}airport": [str(drop / "airport" / "gate.wav")],
        f"{prefix}drop": [str(drop / "loose.mp3")],
        f"{prefix}harbour": [str(drop / "harbour" / "day2" / "crane.mp4"),
                             str(drop / "harbour" / "dock.jpg")]}
    assert {run.state.type.value for run in runs.values()} == {"SCHEDULED"}
    assert all(run.parent_task_run_id is None for run in runs.values())  # not tied to the scan

    with open_stores(load_settings()) as stores, stores.metadata.session() as session:
        recorded = {b.case_name: b.flow_run_id for b in session.scalars(select(ScanBatch))}
        files = session.scalar(select(ScanFile.batch_id).where(ScanFile.name == "loose.mp3"))
        scan_row = session.scalars(select(Scan)).one()
        events = [e for e in audit.events(stores.metadata) if e.action == "scan.batches"]
    assert recorded == {case: str(run.id) for case, run in runs.items()}
    assert files is not None
    assert scan_row.flow_run_id == str(state.state_details.flow_run_id)
    assert [len(e.details["batches"]) for e in events] == [3]
    assert [b["flow_run_id"] for b in summary["batches"]] == [
        str(runs[case].id) for case in sorted(runs)]

    with get_client(sync_client=True) as client:
        artifact = client.read_artifacts(
            artifact_filter=ArtifactFilter(key={"any_": ["aima-batch-scan"]}),
            flow_run_filter=FlowRunFilter(id={"any_": [state.state_details.flow_run_id]}),
            sort=ArtifactSort.CREATED_DESC)[0]
    harbour = runs[f"{prefix}harbour"]
    assert f"| harbour | {prefix}harbour | 2 | [{harbour.name}](" in artifact.data
    assert f"/runs/flow-run/{harbour.id}) | started |" in artifact.data
    assert "4 new in 3 batches" in artifact.data

    again = batch_scan(source=str(drop), deployment=deployment, case_prefix=prefix)

    assert again["batches"] == [] and again["files_known"] == 4
    assert len([c for c in runs_of(deployment_id) if c.startswith(prefix)]) == 3


def test_a_dry_run_starts_and_records_nothing(analysis_deployment, scan_env, tmp_path):
    deployment, deployment_id = analysis_deployment
    drop = drop_folder(tmp_path / "drop")
    prefix = f"dry-{uuid.uuid4().hex[:6]}-"

    result = batch_scan(source=str(drop), deployment=deployment, case_prefix=prefix,
                        dry_run=True)

    assert [(b["case"], b["files"], b["status"]) for b in result["batches"]] == [
        (f"{prefix}airport", 1, "planned"), (f"{prefix}drop", 1, "planned"),
        (f"{prefix}harbour", 2, "planned")]
    assert not [case for case in runs_of(deployment_id) if case.startswith(prefix)]
    with open_stores(load_settings()) as stores, stores.metadata.session() as session:
        assert session.scalars(select(ScanFile)).all() == []
        assert session.scalars(select(Scan)).all() == []


def test_a_deployment_that_does_not_exist_fails_before_anything_is_taken(scan_env, tmp_path):
    drop = drop_folder(tmp_path / "drop")

    state = batch_scan(source=str(drop), deployment="analyze-media/no-such-deployment",
                       return_state=True)

    assert state.is_failed()
    with pytest.raises(Exception, match="no deployment named 'analyze-media/no-such-deployment'"):
        state.result()
    with open_stores(load_settings()) as stores, stores.metadata.session() as session:
        assert session.scalars(select(ScanFile)).all() == []


def test_every_parameter_is_described_in_the_run_form():
    schema = parameter_schema(batch_scan).model_dump_for_openapi()

    assert set(schema["properties"]) == {"source", "deployment", "case_prefix", "dry_run"}
    assert all(p.get("description") for p in schema["properties"].values())
    assert schema["properties"]["deployment"]["default"] == "analyze-media/default"
