"""The environment a rented machine's flow run gets: what Prefect needs to reach its API, what the
pool asks for, and nothing that belongs to the worker's own machine or unlocks AIMA's stores.

A Prefect worker hands its flow runs every Prefect setting it has itself (FACTS.md). On a rented
GPU that is wrong three ways:

* ``PREFECT_API_URL`` is the address the *worker* reaches the API by (often ``127.0.0.1``); the
  machine gets the pool's ``prefect_api_url`` instead.
* Local-only settings (:data:`LOCAL_ONLY`: ``PREFECT_HOME``, local storage paths, the server's
  own and its database's settings) name paths or services of the worker's machine; they are left
  out unless the pool's or deployment's ``env`` sets them on purpose.
* AIMA's store credentials and the providers' API keys (:data:`NEVER`) never leave the worker,
  whoever sets them: a GPU run works from presigned URLs only (``aima/flows/gpu.py``), and a
  machine that holds a provider key could rent more machines.

Only names are ever logged, never values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

#: Prefect settings that name the worker machine's paths or the API server's own configuration.
LOCAL_ONLY: tuple[str, ...] = (
    "PREFECT_HOME", "PREFECT_PROFILES_PATH", "PREFECT_LOCAL_STORAGE_PATH",
    "PREFECT_RESULTS_LOCAL_STORAGE_PATH", "PREFECT_LOGGING_SETTINGS_PATH",
    "PREFECT_MEMO_STORE_PATH",
    "PREFECT_DEBUG_MODE", "PREFECT_SERVER_", "PREFECT_API_DATABASE_", "PREFECT_UI_",
    "PREFECT_WORKER_", "PREFECT_TESTING_", "PREFECT_TEST_MODE", "PREFECT_UNIT_TEST_MODE",
)

#: Environment names (or prefixes, ending in ``_``) that never reach a rented machine.
NEVER: tuple[str, ...] = (
    "AIMA_DATABASE_URL", "AIMA_DOCUMENTS_URL", "AIMA_VECTORS_URL", "AIMA_OBJECTS_URL", "AIMA_S3__",
    "AIMA_PREFECT_DATABASE_URL", "AIMA_RUNPOD_API_KEY", "AIMA_VASTAI_API_KEY",
    "PREFECT_API_DATABASE_", "PREFECT_SERVER_DATABASE_",
)


def matches(name: str, patterns: Iterable[str]) -> bool:
    """Whether ``name`` is one of ``patterns`` or starts with one that ends in ``_``."""
    upper = name.upper()
    return any(upper == pattern or (pattern.endswith("_") and upper.startswith(pattern))
               for pattern in patterns)


def instance_environment(prepared: Mapping[str, str | None], *, chosen: Mapping[str, str | None],
                         prefect_api_url: str, secrets: Iterable[str] = ()) -> dict[str, str]:
    """The machine's environment from what Prefect ``prepared`` for the flow run (the worker's
    settings, the flow run's ids, then ``chosen``: the pool's, deployment's and flow run's
    ``env``), with ``PREFECT_API_URL`` set to ``prefect_api_url``.

    ``secrets`` are values (the providers' API keys) that no variable may contain, whatever its
    name."""
    values = [secret for secret in secrets if secret]
    env: dict[str, str] = {}
    for name, value in prepared.items():
        if value is None or matches(name, NEVER):
            continue
        if matches(name, LOCAL_ONLY) and name not in chosen:
            continue
        if any(secret in value for secret in values):
            continue
        env[name] = value
    env["PREFECT_API_URL"] = prefect_api_url
    return env


def left_out(prepared: Mapping[str, str | None], env: Mapping[str, str]) -> list[str]:
    """Names of ``prepared`` that :func:`instance_environment` left out (for a log line)."""
    return sorted(name for name, value in prepared.items() if value is not None and name not in env)
