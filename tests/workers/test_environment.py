"""What a rented machine's flow run finds in its environment, and what it never finds."""

from __future__ import annotations

from aima.workers.environment import instance_environment, left_out

PREPARED = {
    "PREFECT_API_URL": "http://127.0.0.1:4200/api",  # the worker's own address
    "PREFECT_API_KEY": "pnu_cloud_key",  # the machine needs it to reach Prefect Cloud
    "PREFECT_HOME": "/home/worker/.prefect",
    "PREFECT_SERVER_DATABASE_CONNECTION_URL": "postgresql+asyncpg://p:pw@db/prefect",
    "PREFECT_LOGGING_LEVEL": "DEBUG",
    "PREFECT__FLOW_RUN_ID": "0b7e0000-0000-4000-8000-000000000001",
    "PREFECT_RESULTS_LOCAL_STORAGE_PATH": "/shared/results",
    "AIMA_MODEL_PROFILE": "gpu",
    "AIMA_DATABASE_URL": "postgresql://aima:pw@db/aima",
    "aima_s3__secret_key": "s3secret",
    "AIMA_RUNPOD_API_KEY": "rp_key",
    "HF_HOME": "/models",
    "SOMETHING": "contains rp_key inside",
    "UNSET": None,
}


def test_the_machine_gets_the_reachable_api_and_the_pools_choices_only():
    chosen = {"AIMA_MODEL_PROFILE": "gpu", "PREFECT_RESULTS_LOCAL_STORAGE_PATH": "/shared/results",
              "AIMA_DATABASE_URL": "postgresql://aima:pw@db/aima", "HF_HOME": "/models"}

    env = instance_environment(PREPARED, chosen=chosen, secrets=["rp_key", ""],
                               prefect_api_url="https://prefect.example.org/api")

    assert env == {
        "PREFECT_API_URL": "https://prefect.example.org/api",
        "PREFECT_API_KEY": "pnu_cloud_key",
        "PREFECT_LOGGING_LEVEL": "DEBUG",
        "PREFECT__FLOW_RUN_ID": "0b7e0000-0000-4000-8000-000000000001",
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": "/shared/results",  # the pool asked for it
        "AIMA_MODEL_PROFILE": "gpu",
        "HF_HOME": "/models",
    }
    assert left_out(PREPARED, env) == [
        "AIMA_DATABASE_URL", "AIMA_RUNPOD_API_KEY", "PREFECT_HOME",
        "PREFECT_SERVER_DATABASE_CONNECTION_URL", "SOMETHING", "aima_s3__secret_key"]
