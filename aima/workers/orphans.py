"""Machines no flow run needs any more, found by their labels: the ``gpu-reaper`` flow's logic.

A GPU worker ends every machine it rented, unless the worker itself dies first (killed, its host
lost). Every AIMA machine is labelled ``aima-<flow run id>-<attempt>``, so the machines still
billed can be matched with their flow runs. A machine is an orphan, and terminated, when

* it is older than the reaper's TTL, whatever its run is doing (a stuck run costs too);
* its flow run no longer exists, or is neither Running, Pending nor Paused (Completed, Failed,
  Crashed, Cancelled, Cancelling, or Scheduled for a retry that will rent a new machine);
* its flow run has moved on to a later attempt (a newer machine is running it).

A label that does not parse as AIMA's is left alone: the account may rent machines for other
work. Nothing here talks to Prefect; the flow (:mod:`aima.flows.reaper`) passes in how to read a
flow run and how to audit a termination.

The reaper and the Prometheus exporter (:mod:`aima.monitoring.gpu_instances`, which counts the
machines and their orphans without terminating any) share
:func:`aima.blocks.providers.open_computes` and :func:`flow_run_owner`, so that both see the same
machines and judge them by the same rule.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from uuid import UUID

from prefect.client.schemas.objects import StateType

from aima.gpu_providers.base import Compute, Instance, ProviderError

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient

KEEP = frozenset({StateType.RUNNING, StateType.PENDING, StateType.PAUSED})
LABEL = re.compile(r"^aima-(?P<flow_run_id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                   r"[0-9a-f]{12})-(?P<attempt>\d+)$")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Owner:
    """A flow run as the reaper sees it: its state and the attempt its worker is on."""

    state: StateType
    attempt: int


@dataclass(frozen=True)
class Orphan:
    instance: Instance
    flow_run_id: str
    reason: str


@dataclass
class Reaped:
    """What one pass found and did."""

    checked: int = 0
    terminated: list[Orphan] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def owner_of(label: str) -> tuple[UUID, int] | None:
    """``aima-<flow run id>-<attempt>`` -> (flow run id, attempt); None for other labels."""
    match = LABEL.match(label)
    return (UUID(match["flow_run_id"]), int(match["attempt"])) if match else None


def orphan_reason(instance: Instance, owner: Owner | None, attempt: int,
                  max_age_s: float) -> str | None:
    """Why ``instance`` (of ``attempt``) should go, given its flow run (None: no such run)."""
    if instance.uptime_s >= max_age_s:
        return f"older than {max_age_s:.0f} s ({instance.uptime_s:.0f} s)"
    if owner is None:
        return "its flow run no longer exists"
    if owner.state not in KEEP:
        return f"its flow run is {owner.state.value.title()}"
    if owner.attempt > attempt:
        return f"its flow run is on attempt {owner.attempt}"
    return None


def find_orphans(instances: Iterable[Instance], read_owner: Callable[[UUID], Owner | None],
                 max_age_s: float) -> list[Orphan]:
    orphans = []
    for instance in instances:
        parsed = owner_of(instance.label)
        if parsed is None:
            logger.info("left alone: %s labelled %r is not AIMA's", instance.infrastructure_pid,
                        instance.label)
            continue
        flow_run_id, attempt = parsed
        reason = orphan_reason(instance, read_owner(flow_run_id), attempt, max_age_s)
        if reason is not None:
            orphans.append(Orphan(instance=instance, flow_run_id=str(flow_run_id), reason=reason))
    return orphans


def reap(computes: Mapping[str, Compute], read_owner: Callable[[UUID], Owner | None], *,
         max_age_s: float, on_terminated: Callable[[Orphan], None], dry_run: bool = False,
         prefix: str = "aima-") -> Reaped:
    """Terminate every provider's orphans; ``on_terminated`` audits each one. A provider that
    cannot be asked or an instance that cannot be terminated is reported in ``failed`` and the
    others go on."""
    reaped = Reaped()
    for provider, compute in computes.items():
        try:
            instances = compute.list_by_label(prefix)
        except ProviderError as exc:
            reaped.failed.append(f"{provider}: instances not listed: {exc}")
            continue
        reaped.checked += len(instances)
        for orphan in find_orphans(instances, read_owner, max_age_s):
            pid = orphan.instance.infrastructure_pid
            if dry_run:
                logger.info("would terminate %s: %s", pid, orphan.reason)
                reaped.terminated.append(orphan)
                continue
            try:
                compute.terminate(orphan.instance.instance_id)
            except ProviderError as exc:
                reaped.failed.append(f"{pid}: not terminated: {exc}")
                continue
            logger.warning("terminated %s (%s): %s", pid, orphan.instance.label, orphan.reason)
            reaped.terminated.append(orphan)
            on_terminated(orphan)
    return reaped


def flow_run_owner(client: SyncPrefectClient, flow_run_id: UUID) -> Owner | None:
    """The flow run as :func:`orphan_reason` needs it; None when Prefect no longer knows it.
    Any other failure to read it (Prefect unreachable) is raised: nothing is judged blind."""
    from prefect.exceptions import ObjectNotFound

    from aima.workers.configuration import ATTEMPT_LABEL

    try:
        run = client.read_flow_run(flow_run_id)
    except ObjectNotFound:
        return None
    if run.state is None:
        return None
    return Owner(state=run.state.type, attempt=int((run.labels or {}).get(ATTEMPT_LABEL) or 0))
