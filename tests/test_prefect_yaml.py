"""prefect.yaml stays in step with the flows it deploys and with docker-compose.yml."""

from __future__ import annotations

import inspect
from pathlib import Path

import yaml
from prefect.utilities.importtools import import_object

ROOT = Path(__file__).resolve().parent.parent


def test_every_deployment_points_at_a_flow_and_passes_only_its_parameters():
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    assert config["deployments"]
    for deployment in config["deployments"]:
        flow = import_object(deployment["entrypoint"])  # as the worker loads it
        assert flow.name == "analyze-media"
        accepted = set(inspect.signature(flow.fn).parameters)
        assert set(deployment.get("parameters", {})) <= accepted, deployment["name"]
        for schedule in deployment.get("schedules", []):
            assert len(schedule["cron"].split()) == 5


def test_the_compose_worker_polls_the_deployments_pool():
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["aima"]["command"]
    pools = {d["work_pool"]["name"] for d in config["deployments"]}
    assert pools == {command.split("--pool ")[1].split()[0]}
