"""AIMA's rented GPU machines alive at each provider, and how many of them no flow run needs.

The exporter lists the AIMA-labelled machines (``aima-<flow run id>-<attempt>``) at every provider
that has an API key here (its ``AIMA_*_API_KEY`` setting or its credentials block), exactly as the
``gpu-reaper`` flow does, and judges each one by the reaper's own rule
(:func:`aima.workers.orphans.orphan_reason`) with its flow run read from Prefect. It never
terminates anything: an orphan counted here is one the reaper has not ended yet.

Providers are asked at most once per ``AIMA_EXPORTER_LISTING_INTERVAL_S`` (default 60 s, see
:mod:`aima.monitoring.periodic`). Every request is bounded by ``AIMA_CONNECT_TIMEOUT_S`` and not
retried (the next listing is the retry), so a provider that hangs cannot stall a scrape for long.
A provider or Prefect that cannot be asked makes that provider's ``ok`` false and logs a warning;
nothing is raised into the scrape. Without a Prefect API (``PREFECT_API_URL``) no flow run can be
read and no temporary Prefect server is started: the orphans are then unknown
(:func:`aima.monitoring.flow_runs.prefect_client`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from aima.gpu_providers.base import Compute, Instance, InstanceState
from aima.monitoring.flow_runs import describe, prefect_client
from aima.settings import Settings
from aima.blocks.providers import open_computes
from aima.workers.orphans import find_orphans, flow_run_owner, owner_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProviderMachines:
    """One provider's AIMA machines at the last listing."""

    provider: str
    instances: int | None  # alive (not terminated); None when the provider could not be listed
    orphaned: int | None  # of those, no flow run needs; None when not judged

    @property
    def ok(self) -> bool:
        return self.instances is not None and self.orphaned is not None


def list_machines(settings: Settings) -> list[ProviderMachines]:
    """Every keyed provider's AIMA machines and orphans, now; never raises."""
    from prefect.settings import PREFECT_SERVER_ALLOW_EPHEMERAL_MODE, temporary_settings

    # Without PREFECT_API_URL the credentials blocks are not read (the settings' keys still are)
    # rather than read from a temporary local server that knows none of them.
    with temporary_settings({PREFECT_SERVER_ALLOW_EPHEMERAL_MODE: False}):
        try:
            computes, _ = open_computes(settings, timeout_s=settings.connect_timeout_s, retries=0)
        except Exception as exc:  # a key or URL the client refuses: reported, not raised
            logger.warning("GPU providers not opened: %s", describe(exc))
            return []
    try:
        return _judge(settings, _list_all(computes))
    finally:
        for compute in computes.values():
            compute.close()


def _list_all(computes: Mapping[str, Compute]) -> dict[str, list[Instance] | None]:
    """Each provider's AIMA machines that are still billed (None: not listed), side by side."""
    if not computes:
        return {}
    with ThreadPoolExecutor(max_workers=len(computes)) as pool:
        futures = {provider: pool.submit(compute.list_by_label, "aima-")
                   for provider, compute in computes.items()}
    listed: dict[str, list[Instance] | None] = {}
    for provider, future in futures.items():
        try:
            instances = future.result()
        except Exception as exc:
            logger.warning("GPU machines at %s not listed: %s", provider, describe(exc))
            listed[provider] = None
            continue
        listed[provider] = [i for i in instances if owner_of(i.label) is not None
                            and i.state is not InstanceState.TERMINATED]
    return listed


def _judge(settings: Settings, listed: dict[str, list[Instance] | None]) -> list[ProviderMachines]:
    """Count each provider's orphans by the reaper's rule, reading the flow runs from Prefect."""
    to_judge = [i for instances in listed.values() if instances for i in instances]
    orphans: dict[str, int] | None = {provider: 0 for provider in listed}
    if to_judge:
        orphans = _orphans_by_provider(to_judge, settings)
    return [ProviderMachines(
        provider=provider,
        instances=None if instances is None else len(instances),
        orphaned=None if instances is None or orphans is None else orphans.get(provider, 0),
    ) for provider, instances in listed.items()]


def _orphans_by_provider(instances: list[Instance], settings: Settings) -> dict[str, int] | None:
    try:
        with prefect_client(settings) as client:
            found = find_orphans(instances, lambda run_id: flow_run_owner(client, run_id),
                                 max_age_s=settings.exporter_gpu_max_age_hours * 3600)
    except Exception as exc:  # no API URL, unreachable, refused
        logger.warning("flow runs of %d GPU machines not read from Prefect, their orphans are "
                       "unknown: %s", len(instances), describe(exc))
        return None
    counts: dict[str, int] = {}
    for orphan in found:
        counts[orphan.instance.provider] = counts.get(orphan.instance.provider, 0) + 1
    return counts
