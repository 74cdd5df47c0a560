"""No API key or store credential leaks: not into logs (the worker's own, the flow runs' in
Prefect), flow-run parameters, states, job variables, artifacts, nor any rented machine's
environment, even when a provider's error replies quote the key back. The scan covers every flow
run of the session's server (test_faults.py makes RunPod quote its key too)."""

from __future__ import annotations

import json

from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

from tests.workers.conftest import (
    RUNPOD_KEY, STORE_SECRETS, VASTAI_KEY, all_terminated, start_probe, wait_final,
)

SECRETS = [RUNPOD_KEY, VASTAI_KEY, *STORE_SECRETS.values()]


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def test_no_key_or_store_credential_reaches_logs_parameters_artifacts_or_machines(
        client, runpod_stack, vastai_stack):
    vastai_stack.fake.faults.echo_auth = True  # error replies quote the Authorization header
    vastai_stack.fake.fail_creates(1, status=503)
    try:
        run = start_probe(client, vastai_stack, "leak")
        assert wait_final(client, run.id).state.is_completed()
        all_terminated(vastai_stack, run.id, count=1)
    finally:
        vastai_stack.fake.faults.echo_auth = False
    assert "Authorization: Bearer ***" in vastai_stack.worker_log.read_text()  # quoted, blanked

    for stack in (runpod_stack, vastai_stack):
        assert _leaks(stack.worker_log.read_text(errors="replace")) == []
        for entry in stack.fake.ledger.entries():
            assert _leaks(json.dumps(entry.env)) == []
        for recorded in stack.trace_dir.glob("env-*.json"):
            assert _leaks(recorded.read_text()) == []
    runs = client.read_flow_runs()
    assert len(runs) >= 2
    for run in runs:
        seen = json.dumps([run.parameters, run.job_variables, run.labels,
                           run.state.message if run.state else None], default=str)
        assert _leaks(seen) == []
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))
        assert _leaks("\n".join(log.message for log in logs)) == []
    artifacts = client.read_artifacts()
    assert _leaks(json.dumps([[a.data, a.description] for a in artifacts], default=str)) == []
