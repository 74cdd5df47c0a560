"""The worker types as Prefect sees them through the ``prefect.collections`` entry point:
``prefect work-pool create P --type runpod`` gives the pool AIMA's form, every variable
described."""

from __future__ import annotations

import subprocess

import pytest

from aima.workers import RunPodWorker, VastAIWorker
from tests.workers.conftest import BIN, ROOT, entry_point_dir


@pytest.mark.parametrize("worker", [RunPodWorker, VastAIWorker])
def test_the_cli_creates_a_pool_of_each_type_with_every_variable_described(
        client, prefect_api, worker, tmp_path):
    pool = f"cli-{worker.type}"
    result = subprocess.run(
        [str(BIN / "prefect"), "work-pool", "create", pool, "--type", worker.type], cwd=tmp_path,
        capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PREFECT_API_URL": prefect_api,
             "PYTHONPATH": f"{ROOT}:{entry_point_dir(tmp_path / 'entry-point')}",
             "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr

    created = client.read_work_pool(pool)

    assert created.type == worker.type
    variables = created.base_job_template["variables"]
    assert variables["required"] == ["prefect_api_url"]
    assert variables["properties"]["providers"]["default"] == [worker.type]
    assert [name for name, field in variables["properties"].items()
            if not field.get("description")] == []
