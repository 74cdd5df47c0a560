"""Tasks retry transient trouble only, never bad input."""

from __future__ import annotations

import asyncio

import pymongo.errors
import pytest
import urllib3
from minio.error import S3Error
from prefect.states import Completed, exception_to_failed_state
from pymilvus.exceptions import MilvusException
from sqlalchemy.exc import OperationalError

from aima.errors import ConfigError, StoreUnavailable
from aima.media.errors import BadMedia
from aima.tasks.retry import is_transient, retry_transient


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


@pytest.mark.parametrize("message, transient", [
    ("<_InactiveRpcError of RPC that terminated with: status = StatusCode.UNAVAILABLE>", True),
    ("Fail connecting to server on 127.0.0.1:19530, illegal connection params or server unavailable",
     True),
    ("rpc deadline exceeded: Timeout", True),
    ("collection not found[database=default][collection=faces]", False),
    ("the dim (512) of field data(vector) is not equal to schema dim (8)", False),
])
def test_milvus_errors_are_retried_only_when_milvus_is_unreachable(message, transient):
    assert is_transient(MilvusException(code=2, message=message)) is transient


def s3_error(code: str, status: int) -> S3Error:
    return S3Error(urllib3.HTTPResponse(status=status), code, f"{code} happened", "/media/a.mp4",
                   "request-1", "host-1", bucket_name="media", object_name="a.mp4")


@pytest.mark.parametrize("code, status, transient", [
    ("SlowDown", 503, True),
    ("InternalError", 500, True),
    ("ServiceUnavailable", 503, True),
    ("NoSuchKey", 404, False),
    ("AccessDenied", 403, False),
    ("NoSuchBucket", 404, False),
])
def test_s3_errors_are_retried_only_when_s3_is_overloaded_or_failing(code, status, transient):
    assert is_transient(s3_error(code, status)) is transient


def failed_state(error: BaseException):
    return asyncio.run(exception_to_failed_state(error))


@pytest.mark.parametrize("error", [
    ConnectionResetError("reset by peer"),
    StoreUnavailable("AIMA_DOCUMENTS_URL", "cannot reach MongoDB"),
    MilvusException(code=2, message="server unavailable"),
    s3_error("SlowDown", 503),
])
def test_retry_condition_lets_prefect_retry_a_state_failed_by_a_transient_error(error):
    state = failed_state(error)
    assert state.is_failed()
    assert retry_transient(None, None, state) is True


@pytest.mark.parametrize("error", [
    BadMedia("truncated", "video is truncated"),
    ValueError("bad value"),
    MilvusException(code=2, message="collection not found"),
    s3_error("NoSuchKey", 404),
])
def test_retry_condition_stops_prefect_retrying_a_state_failed_by_bad_input(error):
    state = failed_state(error)
    assert state.is_failed()
    assert retry_transient(None, None, state) is False


def test_retry_condition_does_not_retry_a_completed_state():
    assert retry_transient(None, None, Completed(data=42)) is False
