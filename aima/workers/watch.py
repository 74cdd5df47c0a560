"""When a rented machine must go: one look at the flow run and the instance, one :class:`Verdict`.

The worker looks every ``poll_interval_s`` seconds, first at the instance (the provider's status,
price and uptime), then at the flow run's state, and asks :meth:`Watch.step` what to do. Looking
at the instance first makes an ended command unambiguous: the flow-run process reports its final
state before it exits, so an instance seen stopped while the state read *after* it is not final
means the machine was lost (preempted, killed, out of memory), not that the run just finished.

Verdicts, first match wins:

=================  ===========================================================================
``LEFT``           the flow run is gone or back in Scheduled (someone rescheduled it): end the
                   machine, leave the state alone
``FINISHED``       the flow run is Completed, Failed, Crashed or Cancelled: end the machine
``CANCELLED``      the flow run is Cancelling: after ``cancel_grace_s`` (time for the run's own
                   cancellation to finish) or once the machine stopped, end it; mark Cancelled
``LOST``           the machine stopped or vanished while the run was not final: crash the run
                   (and retry it on a new machine while ``instance_retries`` allow)
``BUDGET``         what this flow run's machines cost (earlier attempts included) reached
                   ``budget_usd``: end the machine, fail the run
``TIMED_OUT``      the machine is older than ``instance_ttl_s``: end it, fail the run
``NOT_STARTED``    the run did not reach Running within ``start_timeout_s`` (an image that
                   never pulls): crash it, retry as for ``LOST``
``WATCH``          nothing to do yet
=================  ===========================================================================

Paused runs keep their machine (a paused flow run's process waits on it), within budget and TTL.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from prefect.client.schemas.objects import StateType

from aima.gpu_providers.base import LIVE, Instance

FINAL = frozenset({StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED})


class Verdict(enum.StrEnum):
    WATCH = "watch"
    LEFT = "left"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    LOST = "lost"
    BUDGET = "budget"
    TIMED_OUT = "timed out"
    NOT_STARTED = "not started"

    @property
    def retryable(self) -> bool:
        """The run crashed for want of a machine: another machine may finish it."""
        return self in (Verdict.LOST, Verdict.NOT_STARTED)


@dataclass(frozen=True)
class Limits:
    """A rental's limits, from the pool's variables."""

    budget_usd: float | None
    instance_ttl_s: float
    start_timeout_s: float
    cancel_grace_s: float
    spent_before_usd: float = 0.0  # earlier attempts of the same flow run


@dataclass
class Watch:
    """The state of watching one rental: when it began, what was seen so far."""

    limits: Limits
    started_at: float
    price_per_hour: float
    running_seen: bool = False
    cancelling_since: float | None = None
    last: Instance | None = field(default=None, repr=False)

    def cost_usd(self, now: float) -> float:
        """This flow run's cost so far: earlier attempts, then this machine by the provider's
        price and uptime (by this worker's clock while the provider has not said yet)."""
        if self.last is not None:
            return self.limits.spent_before_usd + self.last.cost_usd
        return self.limits.spent_before_usd + self.price_per_hour * (now - self.started_at) / 3600

    def step(self, state: StateType | None, instance: Instance | None, now: float) -> Verdict:
        """What to do, given the flow run's state type (None: the run no longer exists) and the
        instance (None: the provider no longer knows it), both just read, at monotonic ``now``."""
        if instance is not None:
            self.last = instance
        if state is None or state == StateType.SCHEDULED:
            return Verdict.LEFT
        if state in FINAL:
            return Verdict.FINISHED
        machine_up = instance is not None and instance.state in LIVE
        if state == StateType.CANCELLING:
            self.cancelling_since = self.cancelling_since or now
            grace_over = now - self.cancelling_since >= self.limits.cancel_grace_s
            return Verdict.CANCELLED if grace_over or not machine_up else Verdict.WATCH
        if not machine_up:
            return Verdict.LOST
        if self.limits.budget_usd is not None and self.cost_usd(now) >= self.limits.budget_usd:
            return Verdict.BUDGET
        if now - self.started_at >= self.limits.instance_ttl_s:
            return Verdict.TIMED_OUT
        if state == StateType.RUNNING:
            self.running_seen = True
        if not self.running_seen and now - self.started_at >= self.limits.start_timeout_s:
            return Verdict.NOT_STARTED
        return Verdict.WATCH
