"""prefect.yaml stays in step with the flows it deploys: every entrypoint loads as the worker
loads it, passes only parameters the flow takes, and every parameter shows a description in the
UI's run form."""

from __future__ import annotations

import inspect
from pathlib import Path

import yaml
from prefect.utilities.callables import parameter_schema
from prefect.utilities.importtools import import_object

ROOT = Path(__file__).resolve().parent.parent


def deployments() -> list[dict]:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]


def test_the_deployments_users_run():
    names = {(import_object(d["entrypoint"]).name, d["name"]) for d in deployments()}
    assert names == {("analyze-media", "default"), ("batch-scan", "nightly"),
                     ("gpu-analysis", "default"), ("gpu-reaper", "every-10-min")}


def test_every_deployment_points_at_a_flow_and_passes_only_its_parameters():
    for deployment in deployments():
        flow = import_object(deployment["entrypoint"])  # as the worker loads it
        accepted = set(inspect.signature(flow.fn).parameters)
        assert set(deployment.get("parameters", {})) <= accepted, deployment["name"]
        assert deployment["work_pool"]["name"] in {"aima-cpu", "aima-gpu"}
        for schedule in deployment.get("schedules", []):
            if "cron" in schedule:  # batch work starts only once a user has set its source up
                assert len(schedule["cron"].split()) == 5 and schedule["active"] is False
            else:  # the reaper: ending orphaned rented machines is never left switched off
                assert schedule["interval"] == 600 and schedule["active"] is True


def test_every_parameter_has_a_description_in_the_run_form():
    for deployment in deployments():
        flow = import_object(deployment["entrypoint"])
        schema = parameter_schema(flow.fn).model_dump()
        for name, field in schema["properties"].items():
            assert field.get("description", "").strip(), f"{flow.name}: {name} has no description"
    analyze = import_object("aima.flows.analyze:analyze_media")
    sources = parameter_schema(analyze.fn).model_dump()["properties"]["sources"]
    assert "s3://" in sources["description"] and "/cases/" in sources["description"]
