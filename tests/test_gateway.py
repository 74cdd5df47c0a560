"""The run-labelling gateway (aima/gateway.py) in front of a real Prefect server.

The server wants an auth string, as the stack's prefect-server does; the gateway runs as the stack
runs it (``python -m aima.gateway``) and in-process (Starlette's test client). A person's flow run
is read back from the server with Prefect's own client, the way a flow run reads its labels.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from aima.gateway import ACTOR_LABEL, actor_label, create_app
from tests.services import BIN, free_port

ROOT = Path(__file__).resolve().parent.parent


def _wait_healthy(url: str, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, f"{what} exited"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{what} did not answer in 120 s"
        time.sleep(0.3)


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(30)


class Prefect:
    """A Prefect server with an auth string, a flow and a deployment of it."""

    def __init__(self, api: str, auth: str):
        self.api, self.auth = api, auth
        self.flow_id = self.call("POST", "/flows/", json={"name": "gateway-probe"})["id"]
        self.deployment_id = self.call("POST", "/deployments/", json={
            "name": "by-hand", "flow_id": self.flow_id})["id"]

    def call(self, method: str, path: str, **kwargs) -> dict:
        response = httpx.request(method, self.api + path, auth=tuple(self.auth.split(":", 1)),
                                 timeout=30, **kwargs)
        return response.raise_for_status().json()

    def labels(self, run_id: str) -> dict:
        """The flow run's labels as Prefect's client reads them."""
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: self.api, PREFECT_API_AUTH_STRING: self.auth}):
            with get_client(sync_client=True) as client:
                return client.read_flow_run(uuid.UUID(run_id)).labels


@pytest.fixture(scope="module")
def prefect(tmp_path_factory) -> Prefect:
    auth = "aima-worker:" + secrets.token_hex(8)
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(tmp_path_factory.mktemp("prefect")),
           "PREFECT_SERVER_API_AUTH_STRING": auth, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port),
         "--no-services", "--no-ui"], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/api/health", server, "the Prefect server")
        yield Prefect(f"http://127.0.0.1:{port}/api", auth)
    finally:
        _stop(server)


@pytest.fixture
def gateway(prefect) -> TestClient:
    with TestClient(create_app(prefect.api, prefect.auth)) as client:
        yield client


def test_a_person_is_the_actor_of_the_run_they_start_whatever_the_client_sends(
        prefect, tmp_path):
    """As the stack runs it: python -m aima.gateway, settings from the environment."""
    port = free_port()
    log = tmp_path / "gateway.log"
    env = {**os.environ, "PREFECT_API_URL": prefect.api, "PREFECT_API_AUTH_STRING": prefect.auth,
           "AIMA_GATEWAY_PORT": str(port)}
    with open(log, "wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "aima.gateway"], env=env, cwd=ROOT,
                                   stdout=output, stderr=output, start_new_session=True)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/health", process, "the gateway")
        response = httpx.post(
            f"http://127.0.0.1:{port}/api/deployments/{prefect.deployment_id}/create_flow_run",
            headers={"X-Forwarded-User": "alice"}, timeout=30,
            json={"parameters": {}, "labels": {ACTOR_LABEL: "mallory", "case": "harbour"}})
    finally:
        _stop(process)

    assert response.status_code == 201, response.text
    labels = prefect.labels(response.json()["id"])
    assert actor_label(labels) == "alice"
    assert labels["case"] == "harbour"  # the client's other labels stay
    assert labels["prefect.deployment.id"] == prefect.deployment_id
    assert prefect.auth.split(":")[1] not in log.read_text()


def test_without_a_user_header_a_run_names_no_actor(prefect, gateway):
    response = gateway.post(f"/api/deployments/{prefect.deployment_id}/create_flow_run",
                            json={"labels": {ACTOR_LABEL: "mallory", "case": "harbour"}})

    assert response.status_code == 201, response.text
    labels = prefect.labels(response.json()["id"])
    assert actor_label(labels) is None and ACTOR_LABEL not in labels
    assert labels["case"] == "harbour"


def test_every_way_of_creating_runs_names_the_person(prefect, gateway):
    person = {"X-Forwarded-User": "bob"}
    bulk = gateway.post(f"/api/deployments/{prefect.deployment_id}/create_flow_run/bulk",
                        headers=person, json=[{"labels": {ACTOR_LABEL: "mallory"}}, {}])
    single = gateway.post("/api/flow_runs/", headers=person,
                          json={"flow_id": prefect.flow_id, "labels": None})

    assert bulk.status_code == 200 and single.status_code == 201, bulk.text + single.text
    run_ids = [run["flow_run_id"] for run in bulk.json()["results"]] + [single.json()["id"]]
    assert len(run_ids) == 3
    assert [actor_label(prefect.labels(run_id)) for run_id in run_ids] == ["bob"] * 3


def test_nobody_can_put_an_actor_on_a_run_or_a_deployment_afterwards(prefect, gateway):
    alice = {"X-Forwarded-User": "alice"}
    run_id = gateway.post(f"/api/deployments/{prefect.deployment_id}/create_flow_run",
                          headers=alice, json={}).json()["id"]

    patched = gateway.patch(f"/api/flow_runs/{run_id}/labels",
                            headers={"X-Forwarded-User": "eve"},
                            json={ACTOR_LABEL: "mallory", "reviewed": "yes"})
    deployment = gateway.post("/api/deployments/", headers=alice, json={
        "name": "planted", "flow_id": prefect.flow_id,
        "labels": {ACTOR_LABEL: "mallory", "team": "a"}})

    assert patched.status_code == 204, patched.text
    labels = prefect.labels(run_id)
    assert (actor_label(labels), labels["reviewed"]) == ("alice", "yes")
    assert deployment.status_code == 201, deployment.text
    assert ACTOR_LABEL not in deployment.json()["labels"]
    assert deployment.json()["labels"]["team"] == "a"
    # a run the scheduler makes from it (straight on the API) inherits no actor
    scheduled = prefect.call("POST", f"/deployments/{deployment.json()['id']}/create_flow_run",
                             json={})
    assert actor_label(prefect.labels(scheduled["id"])) is None


def test_the_servers_answers_pass_through_unchanged(prefect, gateway):
    unknown = f"/deployments/{uuid.uuid4()}/create_flow_run"
    direct = httpx.post(prefect.api + unknown, json={}, auth=tuple(prefect.auth.split(":", 1)))

    through = gateway.post("/api" + unknown, json={}, headers={"X-Forwarded-User": "alice"})

    assert (through.status_code, through.content) == (404, direct.content)
    assert through.headers["content-type"] == direct.headers["content-type"]
    invalid = gateway.post(f"/api/deployments/{prefect.deployment_id}/create_flow_run",
                           json={"parameters": "not an object"})
    assert invalid.status_code == 422  # the server's validation


def test_only_the_gateways_auth_string_reaches_the_server(prefect):
    client_credentials = "Basic " + base64.b64encode(prefect.auth.encode()).decode()
    path = f"/api/deployments/{prefect.deployment_id}/create_flow_run"
    with TestClient(create_app(prefect.api, auth_string=None)) as without_auth:
        refused = without_auth.post(path, json={}, headers={"Authorization": client_credentials})
    with TestClient(create_app(prefect.api, auth_string="aima-worker:wrong")) as wrong_auth:
        wrong = wrong_auth.post(path, json={})

    assert refused.status_code == wrong.status_code == 401


def test_bodies_the_api_cannot_take_and_a_missing_server_are_answered_by_the_gateway(gateway):
    path = f"/api/deployments/{uuid.uuid4()}/create_flow_run"
    not_json = gateway.post(path, content=b"{labels", headers={"content-type": "application/json"})
    bad_labels = gateway.post(path, json={"labels": ["aima.actor", "mallory"]})
    with TestClient(create_app(f"http://127.0.0.1:{free_port()}/api", "u:p")) as orphan:
        unreachable = orphan.post(path, json={})

    assert (not_json.status_code, bad_labels.status_code) == (422, 422)
    assert "labels must be a JSON object" in bad_labels.json()["detail"]
    assert unreachable.status_code == 502
    assert gateway.get("/health").status_code == 200
    assert gateway.get(path).status_code == 405  # only what Traefik routes to it


def test_actor_label_reads_only_a_named_actor():
    assert actor_label({ACTOR_LABEL: "alice", "case": "x"}) == "alice"
    assert actor_label({"case": "x"}) is None
    assert actor_label({ACTOR_LABEL: ""}) is None
    assert actor_label({ACTOR_LABEL: 7}) is None
    assert actor_label(None) is None
