"""Which failures a task retries: transient trouble with a store or the network, never bad input."""

from __future__ import annotations

import urllib3
from pymongo.errors import AutoReconnect, ConnectionFailure
from sqlalchemy.exc import DBAPIError, OperationalError

from aima.errors import StoreUnavailable

TRANSIENT = (
    ConnectionError,  # includes refused and reset connections
    TimeoutError,
    StoreUnavailable,
    OperationalError,  # SQLite "database is locked", PostgreSQL restarts
    AutoReconnect,
    ConnectionFailure,
    urllib3.exceptions.HTTPError,
)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if type(exc).__name__ == "MilvusException":  # pymilvus wraps gRPC unavailability
        return "unavailable" in str(exc).lower() or "timeout" in str(exc).lower()
    if type(exc).__name__ == "S3Error":
        return getattr(exc, "code", "") in {"SlowDown", "InternalError", "ServiceUnavailable"}
    return isinstance(exc, TRANSIENT)


def retry_transient(task, task_run, state) -> bool:
    """Prefect ``retry_condition_fn``: continue to the retry policy only for transient errors."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - classifying is the point
        return is_transient(exc)
    return False
