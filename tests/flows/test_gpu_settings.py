"""A GPU pool misnamed in the settings stops a run at its start with the setting named, before
any file is touched: never a run that finds out after its CPU stages, or runs unlimited."""

from __future__ import annotations

import asyncio

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, WorkPoolCreate
from prefect.exceptions import ObjectAlreadyExists

from aima.errors import ConfigError
from aima.flows.analyze import analyze_media
from aima.flows.gpu import gpu_analysis


@pytest.fixture
def gpu_deployment(aima_env):
    """A process pool ``aima-gpu`` with the gpu-analysis deployment on it, and a concurrency
    limit ``aima-gpu``, on this test session's Prefect server."""
    async def create():
        async with get_client() as client:
            try:
                await client.create_work_pool(WorkPoolCreate(name="aima-gpu", type="process"))
                await client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name="aima-gpu", limit=1))
            except ObjectAlreadyExists:  # made for an earlier test of this session
                pass
    asyncio.run(create())
    gpu_analysis.to_deployment(name="default", work_pool_name="aima-gpu").apply()


@pytest.mark.parametrize("setting, value, message", [
    ("AIMA_GPU_CONCURRENCY_LIMIT", "aima-gpus", "no global concurrency limit named 'aima-gpus'"),
    ("AIMA_GPU_POOL", "aima-gpu-2", "runs on pool 'aima-gpu'"),
    ("AIMA_GPU_DEPLOYMENT", "gpu-analysis/nightly", "no deployment 'gpu-analysis/nightly'"),
])
def test_a_misnamed_gpu_setting_fails_the_run_at_its_start(gpu_deployment, monkeypatch, tmp_path,
                                                           setting, value, message):
    monkeypatch.setenv("AIMA_GPU_POOL", "aima-gpu")
    monkeypatch.setenv("AIMA_GPU_CONCURRENCY_LIMIT", "aima-gpu")
    monkeypatch.setenv(setting, value)
    folder = tmp_path / "none"
    folder.mkdir()
    (folder / "note.txt").write_text("never read")

    with pytest.raises(ConfigError, match=message) as raised:
        analyze_media(case="misnamed", sources=[str(folder)])

    assert raised.value.setting == setting
