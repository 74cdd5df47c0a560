"""Fake RunPod and Vast.ai servers on loopback, and clients pointed at them.

Clients retry quickly here (``backoff_s=0.01``) and time out after 2 s, so the retry tests take
milliseconds; everything else is the code users run.
"""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from aima.gpu_providers import open_compute
from aima.gpu_providers.base import Credentials
from tests.gpu_providers.fakes import FakeRunPod, FakeVastAI

RUNPOD_KEY = "rp_test_Key-0123456789abcdef"
VASTAI_KEY = "vast_test_key_fedcba9876543210"


@pytest.fixture
def runpod(tmp_path):
    fake = FakeRunPod(api_key=RUNPOD_KEY, run_commands=True, workdir=tmp_path / "runpod")
    with fake.start():
        yield fake


@pytest.fixture
def vastai(tmp_path):
    fake = FakeVastAI(api_key=VASTAI_KEY, run_commands=True, workdir=tmp_path / "vastai")
    with fake.start():
        yield fake


def compute_for(fake, *, api_key: str | None = None, retries: int = 3, timeout_s: float = 2.0):
    credentials = Credentials(api_key=SecretStr(api_key or fake.api_key), base_url=fake.base_url)
    return open_compute(fake.provider, credentials, timeout_s=timeout_s, retries=retries,
                        backoff_s=0.01)


@pytest.fixture
def computes(runpod, vastai):
    """Both providers' computes, by name, against the fakes."""
    opened = {fake.provider: compute_for(fake) for fake in (runpod, vastai)}
    yield opened
    for compute in opened.values():
        compute.close()


@pytest.fixture(params=["runpod", "vastai"])
def provider(request):
    """(compute, fake) of each provider in turn: the contract every provider meets."""
    fake = request.getfixturevalue(request.param)
    compute = compute_for(fake)
    yield compute, fake
    compute.close()
