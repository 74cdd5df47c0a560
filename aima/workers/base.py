"""What the ``runpod`` and ``vastai`` workers share: rent the pool's best offer for a flow run, run
the flow run on it, watch it, and end it the moment it is no longer needed.

Laid out as prefect-aws's ECS worker: a job configuration and the pool's variables
(:mod:`aima.workers.configuration`: what one rental needs; every variable described, as they
become the work pool's form) and the worker (:class:`GpuWorker`) with ``run`` and
``kill_infrastructure``.

One flow run, start to end (:meth:`GpuWorker.run`):

1. The offers of the pool's providers are filtered and ordered by its policy
   (:mod:`aima.gpu_providers.selection`); the first that can be rented gets the flow run's
   command (``prefect flow-run execute``) and environment (:mod:`aima.workers.environment`:
   ``PREFECT_API_URL`` is the pool's ``prefect_api_url``, no store credentials, no API keys),
   labelled ``aima-<flow run id>-<attempt>``. ``infrastructure_pid`` becomes
   ``runpod:<pod id>`` / ``vastai:<instance id>``, so Prefect's cancellation reaches it.
2. Every ``poll_interval_s`` the instance and the flow run's state are read and
   :class:`~aima.workers.watch.Watch` says whether the machine must go (finished, cancelled,
   lost, over budget, past its TTL, never started).
3. The machine is terminated (also when the worker itself stops), its cost (the provider's price
   x uptime) recorded on the flow run (:mod:`aima.workers.cost`), and the flow run's state set:
   Failed with the reason for budget and TTL, Cancelled after a cancellation, and for a lost
   machine AwaitingRetry while ``instance_retries`` allow (the next poll rents a new machine and
   the run resumes from its stored task results; a caller waiting on the run never sees it end
   in between), then Crashed.

The providers' clients are blocking; they run in worker threads. A machine left behind by a
worker that was killed is the ``gpu-reaper`` flow's (:mod:`aima.flows.reaper`).
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass
from uuid import UUID

import anyio
import httpx
from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import Abort, InfrastructureNotAvailable, ObjectNotFound
from prefect.states import AwaitingRetry, Crashed, Failed
from prefect.utilities.engine import propose_state
from prefect.workers.base import BaseWorker, BaseWorkerResult

from aima.gpu_providers.base import Compute, Instance, ProviderError, parse_infrastructure_pid
from aima.gpu_providers.selection import Choice, choose, gather_offers, launch
from aima.workers import cost
from aima.workers.configuration import (
    ATTEMPT_LABEL, GpuJobConfiguration, GpuVariables, instance_label,
)
from aima.workers.watch import FINAL, Verdict, Watch

TERMINATE_TRIES = 4


class GpuWorkerResult(BaseWorkerResult):
    """How a rental ended: ``identifier`` is the infrastructure pid."""


@dataclass
class _Rental:
    compute: Compute
    instance: Instance
    choice: Choice
    attempt: int
    started_at: float


class GpuWorker(BaseWorker[GpuJobConfiguration, GpuVariables, GpuWorkerResult], abc.ABC):
    """Runs each flow run on a machine rented for it, and ends the machine with the run."""

    job_configuration = GpuJobConfiguration
    job_configuration_variables = GpuVariables

    async def run(self, flow_run: FlowRun, configuration: GpuJobConfiguration,
                  task_status=None) -> GpuWorkerResult:
        logger = self.get_flow_run_logger(flow_run)
        computes, secrets = await anyio.to_thread.run_sync(_open_computes, configuration.providers)
        try:
            spent = await cost.spent_usd(self.client, flow_run.id)
            rental = await self._rent(flow_run, configuration, computes, secrets, spent, logger)
            if rental is None:  # the budget was spent by earlier machines: the run failed
                if task_status is not None:
                    task_status.started("")
                return GpuWorkerResult(identifier="", status_code=0)
            pid = rental.instance.infrastructure_pid
            if task_status is not None:
                task_status.started(pid)
            watch = Watch(configuration.limits(spent), started_at=rental.started_at,
                          price_per_hour=rental.instance.price_per_hour)
            verdict: Verdict | None = None
            try:
                verdict = await self._watch(flow_run, configuration, rental, watch)
            finally:
                if verdict is None:  # the worker is stopping (or failed): the machine goes too
                    with anyio.CancelScope(shield=True):
                        await self._end(flow_run, rental, watch, "worker stopped", logger)
                        await self._settle(flow_run, configuration, rental, watch, Verdict.LOST,
                                           logger, why="the worker watching it stopped")
            await self._end(flow_run, rental, watch, verdict.value, logger)
            await self._settle(flow_run, configuration, rental, watch, verdict, logger)
            return GpuWorkerResult(identifier=pid, status_code=0)
        finally:
            for compute in computes.values():
                compute.close()

    async def kill_infrastructure(self, infrastructure_pid: str,
                                  configuration: GpuJobConfiguration,
                                  grace_seconds: int = 30) -> None:
        """Terminate the instance named by ``infrastructure_pid`` (``runpod:<id>``)."""
        provider, instance_id = parse_infrastructure_pid(infrastructure_pid)
        computes, _ = await anyio.to_thread.run_sync(_open_computes, [provider])
        if provider not in computes:
            raise InfrastructureNotAvailable(f"no {provider} API key where this worker runs")
        try:
            await anyio.to_thread.run_sync(computes[provider].terminate, instance_id)
        finally:
            computes[provider].close()
        self._logger.info("terminated %s", infrastructure_pid)

    # --- renting --------------------------------------------------------------------------------

    async def _rent(self, flow_run, configuration, computes, secrets, spent,
                    logger) -> _Rental | None:
        attempt = await self._next_attempt(flow_run.id)
        if configuration.budget_usd is not None and spent >= configuration.budget_usd:
            await self._force(flow_run, Failed(message=(
                f"GPU budget of ${configuration.budget_usd:.4f} for this flow run is spent "
                f"(${spent:.4f} on earlier machines); no new machine rented")), logger)
            return None
        if configuration._left_out:
            logger.info("not passed to the GPU machine: %s", ", ".join(configuration._left_out))
        policy = configuration.policy()
        offers, problems = await anyio.to_thread.run_sync(gather_offers, computes, policy)
        for provider, problem in problems.items():
            logger.warning("offers of %s not read: %s", provider, problem)
        choices = choose(offers, policy)
        logger.info("%d offers fit the pool's policy (%s); first: %s", len(choices),
                    policy.strategy, choices[0] if choices else "none")
        spec = configuration.instance_spec(instance_label(flow_run.id, attempt), secrets)
        instance, choice = await anyio.to_thread.run_sync(launch, choices, computes, spec)
        logger.info("rented %s as %s (label %s, attempt %d)", choice,
                    instance.infrastructure_pid, spec.label, attempt)
        return _Rental(compute=computes[choice.offer.provider], instance=instance, choice=choice,
                       attempt=attempt, started_at=time.monotonic())

    async def _next_attempt(self, flow_run_id: UUID) -> int:
        """This rental's number for the flow run (1, then 2 after a lost machine, ...)."""
        current = await self.client.read_flow_run(flow_run_id)
        attempt = int((current.labels or {}).get(ATTEMPT_LABEL) or 0) + 1
        await self.client.update_flow_run_labels(flow_run_id, {ATTEMPT_LABEL: str(attempt)})
        return attempt

    # --- watching -------------------------------------------------------------------------------

    async def _watch(self, flow_run, configuration, rental: _Rental, watch: Watch) -> Verdict:
        instance_id = rental.instance.instance_id
        while True:
            instance = await self._status(rental.compute, instance_id, watch)
            state = await self._state_type(flow_run.id)
            if state is not ...:
                verdict = watch.step(state, instance, time.monotonic())
                if verdict is not Verdict.WATCH:
                    return verdict
            interval = configuration.poll_interval_s
            if watch.cancelling_since is not None:
                interval = min(interval, 1.0)
            await anyio.sleep(interval)

    async def _status(self, compute: Compute, instance_id: str, watch: Watch) -> Instance | None:
        try:
            return await anyio.to_thread.run_sync(compute.status, instance_id)
        except ProviderError as exc:
            self._logger.warning("status of %s:%s not read: %s", compute.provider, instance_id,
                                 exc)
            return watch.last  # as last seen: a provider hiccup ends no machine

    async def _state_type(self, flow_run_id: UUID):
        """The flow run's state type; None when the run is gone; ``...`` when unknown now."""
        try:
            current = await self.client.read_flow_run(flow_run_id)
        except ObjectNotFound:
            return None
        except httpx.HTTPError as exc:
            self._logger.warning("flow run %s not read: %s", flow_run_id, exc)
            return ...
        return current.state.type if current.state else None

    # --- ending ---------------------------------------------------------------------------------

    async def _end(self, flow_run, rental: _Rental, watch: Watch, ended: str, logger) -> None:
        """Terminate the machine (a few tries) and record what it cost."""
        compute, instance_id = rental.compute, rental.instance.instance_id
        final = await self._status(compute, instance_id, watch) or watch.last or rental.instance
        for attempt in range(TERMINATE_TRIES):
            try:
                await anyio.to_thread.run_sync(compute.terminate, instance_id)
                break
            except ProviderError as exc:
                if attempt == TERMINATE_TRIES - 1:
                    logger.error("could not terminate %s: %s; the gpu-reaper flow will try "
                                 "again", rental.instance.infrastructure_pid, exc)
                    break
                await anyio.sleep(2 ** attempt)
        rented = cost.Rental(
            provider=rental.instance.provider, instance_id=instance_id,
            label=rental.instance.label, gpu=str(rental.choice),
            price_per_hour=final.price_per_hour, uptime_s=final.uptime_s,
            cost_usd=final.cost_usd, ended=ended, attempt=rental.attempt)
        logger.info("terminated %s (%s): %.0f s at $%.3f/h = $%.4f",
                    rental.instance.infrastructure_pid, ended, rented.uptime_s,
                    rented.price_per_hour, rented.cost_usd)
        try:
            await cost.record(self.client, flow_run.id, rented)
        except httpx.HTTPError as exc:
            logger.warning("cost of %s not recorded: %s", rental.instance.infrastructure_pid, exc)

    async def _settle(self, flow_run, configuration, rental: _Rental, watch: Watch,
                      verdict: Verdict, logger, *, why: str | None = None) -> None:
        """Give the flow run the state the verdict calls for."""
        pid = rental.instance.infrastructure_pid
        if verdict is Verdict.CANCELLED:
            current = await self.client.read_flow_run(flow_run.id)
            if current.state is None or current.state.type not in FINAL:
                await self._mark_flow_run_as_cancelled(current, state_updates={
                    "message": f"Cancelled; GPU machine {pid} terminated."})
        elif verdict is Verdict.BUDGET:
            await self._force(flow_run, Failed(message=(
                f"GPU budget of ${configuration.budget_usd:.4f} reached "
                f"(${watch.cost_usd(time.monotonic()):.4f} spent); machine {pid} terminated")),
                logger)
        elif verdict is Verdict.TIMED_OUT:
            await self._force(flow_run, Failed(message=(
                f"Timed out: machine {pid} ran past the pool's instance_ttl_s of "
                f"{configuration.instance_ttl_s:.0f} s and was terminated")), logger)
        elif verdict.retryable:
            current = await self.client.read_flow_run(flow_run.id)
            if current.state is not None and current.state.type in FINAL:
                return  # it reported its end meanwhile: that stands
            why = why or ("it never started the flow run" if verdict is Verdict.NOT_STARTED
                          else "it stopped while the run was not done (preempted, killed or "
                          "out of memory)")
            lost = f"GPU machine {pid} was lost: {why}"
            if rental.attempt <= configuration.instance_retries:
                # straight to AwaitingRetry: a caller waiting for the run must not see it end
                await self._force(flow_run, AwaitingRetry(
                    message=f"{lost}; retrying on a new machine (attempt {rental.attempt + 1} "
                            f"of {configuration.instance_retries + 1})"), logger)
            else:
                await self._propose(flow_run, Crashed(message=lost), logger)

    async def _propose(self, flow_run, state, logger) -> None:
        """Propose ``state`` as the flow-run process would (a run that ended keeps its end)."""
        try:
            taken = await propose_state(self.client, state, flow_run_id=flow_run.id)
        except (Abort, ObjectNotFound) as exc:
            logger.info("flow run %s kept its state rather than %s: %s", flow_run.id,
                        state.name, exc)
        else:
            logger.info("flow run %s: %s", taken.name, taken.message)

    async def _force(self, flow_run, state, logger) -> None:
        try:
            await self.client.set_flow_run_state(flow_run.id, state, force=True)
        except (Abort, ObjectNotFound) as exc:
            logger.warning("flow run %s not set %s: %s", flow_run.id, state.name, exc)
        else:
            logger.info("flow run set %s: %s", state.name, state.message)


def _open_computes(providers: list[str]) -> tuple[dict[str, Compute], list[str]]:
    """The providers' computes that have credentials where the worker runs, and their keys (to
    keep them out of every machine's environment)."""
    from aima.blocks.providers import open_computes, where_keys_come_from
    from aima.settings import load_settings

    computes, secrets = open_computes(load_settings(), providers)
    if not computes:
        wanted = "; ".join(where_keys_come_from(provider) for provider in providers)
        raise InfrastructureNotAvailable(f"no API key for {', '.join(providers)} where this "
                                         f"worker runs: set {wanted}")
    return computes, secrets
