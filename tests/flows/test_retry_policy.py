"""Prefect really retries an AIMA task on transient trouble, and never on bad input.

The task is built with the options every AIMA task uses (retries, retry condition), run by a real
Prefect engine against the test harness's server; only the delay between tries is set to 0.
"""

from __future__ import annotations

import pytest
from prefect import flow, task

from aima.errors import StoreUnavailable
from aima.media.errors import BadMedia
from aima.tasks.options import TASK_OPTIONS


def run_failing(*errors: BaseException):
    """Run, in a flow, a task with AIMA's options that raises ``errors`` one per call, then
    returns "ok". Returns the task's final state and how often its body ran."""
    calls: list[int] = []
    states = []

    @task(name="flaky", **TASK_OPTIONS)
    def flaky() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "ok"

    @flow(name="retry-policy")
    def one_task() -> None:
        states.append(flaky.with_options(retry_delay_seconds=0)(return_state=True))

    one_task()
    return states[0], len(calls)


@pytest.mark.parametrize("error", [
    BadMedia("truncated", "video is truncated"),
    ValueError("bad value"),
])
def test_bad_input_fails_at_once_without_a_retry(error):
    state, calls = run_failing(error, error, error, error)
    assert calls == 1
    assert state.is_failed()
    with pytest.raises(type(error)):
        state.result()


@pytest.mark.parametrize("error", [
    ConnectionResetError("reset by peer"),
    StoreUnavailable("AIMA_VECTORS_URL", "cannot reach Milvus"),
])
def test_transient_trouble_is_retried_until_the_task_succeeds(error):
    state, calls = run_failing(error, error)
    assert calls == 3
    assert state.is_completed() and state.result() == "ok"


def test_transient_trouble_that_lasts_fails_after_three_retries():
    error = ConnectionResetError("reset by peer")
    state, calls = run_failing(*[error] * 10)
    assert calls == 4
    assert state.is_failed()
    with pytest.raises(ConnectionResetError):
        state.result()


def test_bad_input_after_a_transient_error_stops_the_retries():
    state, calls = run_failing(ConnectionRefusedError("refused"), BadMedia("truncated", "video is truncated"))
    assert calls == 2
    assert state.is_failed()
