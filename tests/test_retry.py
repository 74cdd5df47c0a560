"""Tasks retry transient trouble only, never bad input."""

from __future__ import annotations

import pymongo.errors
import pytest
from sqlalchemy.exc import OperationalError

from aima.errors import ConfigError, StoreUnavailable
from aima.media.errors import BadMedia
from aima.tasks.retry import is_transient


@pytest.mark.parametrize("error", [
    ConnectionResetError("reset by peer"),
    TimeoutError("timed out"),
    StoreUnavailable("AIMA_VECTORS_URL", "cannot reach Milvus"),
    OperationalError("INSERT", {}, Exception("database is locked")),
    pymongo.errors.AutoReconnect("primary stepped down"),
])
def test_transient_errors_are_retried(error):
    assert is_transient(error)


@pytest.mark.parametrize("error", [
    BadMedia("truncated", "video is truncated"),
    ConfigError("AIMA_DATABASE_URL", "unknown scheme"),
    ValueError("bad value"),
    KeyError("missing object"),
])
def test_bad_input_and_bugs_are_not_retried(error):
    assert not is_transient(error)
