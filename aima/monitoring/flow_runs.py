"""What the exporter reads from the Prefect API: AIMA's failed flow runs, and a client for the
flow runs of the rented GPU machines (:mod:`aima.monitoring.gpu_instances`).

A flow run that fails as a whole (its GPU work over budget, a ``gpu-analysis`` run lost with
its machine, a crash, a ``gpu-reaper`` pass with problems) may leave no failed file job behind,
so the exporter counts the runs of AIMA's flows that ended Failed or Crashed, as the Prefect
server keeps them. Prefect deletes old runs (``PREFECT_RUN_RETENTION_S``), so the counts can fall:
they are gauges, and the alert compares them with their recent minimum, like AIMA's own counts.

Prefect is read where ``PREFECT_API_URL`` points (with ``PREFECT_API_AUTH_STRING`` or
``PREFECT_API_KEY``, as every Prefect client), each request bounded by
``AIMA_CONNECT_TIMEOUT_S``. Without an API URL nothing is read: no temporary local server is
started, as one would know none of AIMA's runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aima.gpu_providers.base import ProviderError
from aima.settings import Settings

logger = logging.getLogger(__name__)

#: AIMA's flows (aima/flows/), as Prefect names them.
AIMA_FLOWS: tuple[str, ...] = ("analyze-media", "batch-scan", "gpu-analysis", "gpu-reaper")
#: Final states of a run that did not complete (a Cancelled run was stopped on purpose).
FAILED_STATES: tuple[str, ...] = ("FAILED", "CRASHED")


@dataclass(frozen=True)
class FailedFlowRuns:
    """Runs of each AIMA flow by final failed state; ``ok`` false when Prefect was not read."""

    ok: bool
    counts: dict[tuple[str, str], int] = field(default_factory=dict)  # (flow, state): runs


@contextmanager
def prefect_client(settings: Settings) -> Iterator:
    """A synchronous Prefect client with short timeouts that never starts a temporary server
    (it raises ValueError without ``PREFECT_API_URL``)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_SERVER_ALLOW_EPHEMERAL_MODE, temporary_settings

    with temporary_settings({PREFECT_SERVER_ALLOW_EPHEMERAL_MODE: False}), \
            get_client(sync_client=True,
                       httpx_settings={"timeout": settings.connect_timeout_s}) as client:
        yield client


def read_failed_flow_runs(settings: Settings) -> FailedFlowRuns:
    """Count the Failed and Crashed runs of each of AIMA's flows; never raises."""
    from prefect.client.schemas.filters import (
        FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    counts = {}
    try:
        with prefect_client(settings) as client:
            for flow in AIMA_FLOWS:
                for state in FAILED_STATES:
                    counts[(flow, state.lower())] = client.count_flow_runs(
                        flow_filter=FlowFilter(name=FlowFilterName(any_=[flow])),
                        flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                            type=FlowRunFilterStateType(any_=[StateType[state]]))))
    except Exception as exc:  # no API URL, unreachable, refused: reported as a metric
        logger.warning("failed flow runs not read from Prefect: %s", describe(exc))
        return FailedFlowRuns(ok=False)
    return FailedFlowRuns(ok=True, counts=counts)


def describe(exc: Exception) -> str:
    """An error for a log line, never a secret: a GPU provider's own message (it never quotes
    the key), the first line of a connection error or of Prefect's "no API URL", a status code,
    else only the type (other messages might quote a URL with credentials)."""
    import httpx

    if isinstance(exc, ProviderError):
        return str(exc)
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} from {exc.request.url.host}"
    if type(exc) is ValueError or isinstance(exc, httpx.TransportError | OSError):
        first = str(exc).splitlines()[0] if str(exc) else ""
        return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return type(exc).__name__
