"""A Prefect test harness (its own temporary server and database) for the flow tests."""

from __future__ import annotations

import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session", autouse=True)
def prefect_server(tmp_path_factory):
    results = tmp_path_factory.mktemp("prefect-results")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREFECT_RESULTS_LOCAL_STORAGE_PATH", str(results))
        patch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
        with prefect_test_harness(server_startup_timeout=120):
            yield


@pytest.fixture
def aima_env(monkeypatch, tmp_path):
    """Embedded stores in a fresh data directory, read by the flow from the environment."""
    data = tmp_path / "aima-data"
    for name in ("AIMA_DATABASE_URL", "AIMA_DOCUMENTS_URL", "AIMA_VECTORS_URL", "AIMA_OBJECTS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIMA_DATA_DIR", str(data))
    # The packaged language model takes half a minute per case on 2 cores: the flow tests that
    # are about other things run without a narrative; tests/flows/test_analyze_cli.py and
    # tests/fusion run it.
    monkeypatch.setenv("AIMA_LLM_ENABLED", "false")
    return data
