"""One ``aima serve`` (SQLite) shared by the tests of this folder that only look at it."""

from __future__ import annotations

import signal

import pytest

from tests.ops.serving import (
    ANALYZE_MEDIA,
    LINGER,
    serve_env,
    start_serve,
    stop_serve,
    write_project,
)


@pytest.fixture(scope="package")
def served(tmp_path_factory):
    """aima serve with analyze-media/default on aima-cpu and a deployment on aima-gpu (whose
    pool only prefect.yaml names), a relative data directory, and a GPU limit of 2."""
    folder = write_project(tmp_path_factory.mktemp("serve"), [
        ANALYZE_MEDIA, {**LINGER, "name": "on-gpu-pool", "work_pool": {"name": "aima-gpu"}}])
    env = serve_env(folder, AIMA_DATA_DIR="aima-data")
    # a user's settings file beside prefect.yaml; the environment wins over it, as in AIMA
    (folder / ".env").write_text("AIMA_CPU_CONCURRENCY=3\nAIMA_DATA_DIR=elsewhere\n")
    served = start_serve(folder, "--gpu-limit", "2", env=env)
    yield served
    returncode, survivors = stop_serve(served, signal.SIGTERM)  # as a service manager stops it
    assert (returncode, survivors) == (0, []), served.text()[-3000:]
