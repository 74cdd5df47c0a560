"""The price a rented GPU pool will pay now: the live offer its worker would rent first.

The cost estimate of an analysis (:func:`aima.pipeline.cost.estimate`) prices GPU time per hour.
On a ``process`` pool (a local GPU) that price is the setting ``AIMA_GPU_PRICE_PER_HOUR``; on a
``runpod`` or ``vastai`` pool it is what the provider charges today, so :func:`live_price` asks:

1. The work pool and the GPU deployment (``AIMA_GPU_DEPLOYMENT``, when it runs on that pool) are
   read from the Prefect API, and the pool's job configuration is built from them the way its
   worker builds it for a flow run: the base job template's variable defaults, overridden by the
   deployment's ``job_variables`` (Prefect's ``from_template_and_values``). The flow run's own
   job variables (analyze-media passes only ``budget_usd``) choose no offer and are left out.
2. The live offers of the pool's providers that have an API key here (``AIMA_RUNPOD_API_KEY`` /
   ``AIMA_VASTAI_API_KEY`` or their credentials blocks, as the worker finds them) are gathered,
   filtered and ordered by the pool's policy (:mod:`aima.gpu_providers.selection`): the first
   choice is the one the worker tries first. If it cannot be rented the worker takes the next
   one, which may cost more or less; the estimate is for the first.

The price is the machine's price per hour, all its GPUs together: the estimate multiplies the
seconds one machine works by it, and the stages use one GPU of it, so a two-GPU pool pays for
both. Nothing is rented here. When no offer fits the pool's filters, or a provider cannot be
asked, an error says so and the analysis stops before renting, rather than guess a price.
"""

from __future__ import annotations

from typing import Any

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.objects import WorkPool
from prefect.exceptions import ObjectNotFound
from prefect.utilities.asyncutils import run_coro_as_sync
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aima.blocks.providers import open_computes, where_keys_come_from
from aima.errors import AimaError, ConfigError
from aima.gpu_providers.base import Compute, ProviderName
from aima.gpu_providers.selection import Choice, OfferPolicy, Strategy, choose, gather_offers
from aima.settings import Settings
from aima.workers.configuration import GpuJobConfiguration
from aima.workers.runpod import RunPodWorker
from aima.workers.vastai import VastAIWorker

#: Work pool type -> the worker that serves it; other types (process) keep the setting's price.
RENTED_WORKERS = {worker.type: worker for worker in (RunPodWorker, VastAIWorker)}
PROVIDER_NAMES = {"runpod": "RunPod", "vastai": "Vast.ai"}


class PriceUnavailable(AimaError):
    """A provider of the pool could not be asked for its offers (down, slow, refused the key):
    no price is guessed, and nothing is rented."""


class LivePrice(BaseModel):
    """The offer a pool's worker would rent first now, and what it costs."""

    model_config = ConfigDict(frozen=True)

    pool: str
    provider: ProviderName
    gpu: str = Field(description="The GPU model as the provider names it.")
    gpu_count: int
    cloud: str = Field(description="secure or community")
    offer_id: str = Field(description="RunPod's GPU type id or Vast.ai's offer id.")
    interruptible: bool
    price_per_hour: float = Field(description="USD per hour for the whole machine.")
    strategy: Strategy
    fitting: int = Field(description="How many choices fit the pool's filters now.")

    def describe(self) -> str:
        """One line for logs and the approval table:
        ``RunPod RTX A5000 at $0.16/h (community, on demand), offer NVIDIA RTX A5000``."""
        gpus = f"{self.gpu_count}x {self.gpu}" if self.gpu_count > 1 else self.gpu
        machine = " for the machine" if self.gpu_count > 1 else ""
        how = "interruptible" if self.interruptible else "on demand"
        return (f"{PROVIDER_NAMES[self.provider]} {gpus} at {_per_hour(self.price_per_hour)}"
                f"{machine} ({self.cloud}, {how}), offer {self.offer_id}")


def live_price(pool_name: str, settings: Settings, *, client: SyncPrefectClient | None = None,
               ) -> LivePrice | None:
    """The offer work pool ``pool_name`` would rent first now; None for a pool that rents
    nothing (not ``runpod`` or ``vastai``).

    Raises :class:`~aima.errors.ConfigError` (``AIMA_GPU_POOL``) when the pool is missing, its
    job variables are invalid, no provider of it has an API key here or no offer fits its
    filters, and :class:`PriceUnavailable` when a provider cannot be asked."""
    if client is None:
        with get_client(sync_client=True) as opened:
            return live_price(pool_name, settings, client=opened)
    try:
        pool = client.read_work_pool(pool_name)
    except ObjectNotFound:
        raise ConfigError("AIMA_GPU_POOL", f"no work pool named {pool_name!r} on the Prefect "
                          "server") from None
    if pool.type not in RENTED_WORKERS:
        return None
    policy = pool_configuration(client, pool, settings.gpu_deployment).policy()
    choices = live_choices(policy, settings, pool_name)
    first = choices[0]
    return LivePrice(pool=pool_name, provider=first.offer.provider, gpu=first.offer.gpu_model,
                     gpu_count=first.offer.gpu_count, cloud=first.offer.cloud,
                     offer_id=first.offer.offer_id, interruptible=first.interruptible,
                     price_per_hour=first.price_per_hour, strategy=policy.strategy,
                     fitting=len(choices))


def pool_configuration(client: SyncPrefectClient, pool: WorkPool,
                       deployment: str | None = None) -> GpuJobConfiguration:
    """The job configuration ``pool``'s worker would build for a flow run of ``deployment``
    (FLOW/NAME; its job variables count only when it runs on this pool)."""
    configuration_class = RENTED_WORKERS[pool.type].job_configuration
    values = _deployment_variables(client, deployment, pool.name) if deployment else {}
    try:
        return run_coro_as_sync(configuration_class.from_template_and_values(
            base_job_template=pool.base_job_template, values=values))
    except ValidationError as exc:
        wrong = "; ".join(f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
                          for error in exc.errors(include_input=False, include_url=False))
        raise ConfigError("AIMA_GPU_POOL", (
            f"work pool {pool.name!r} has invalid job variables ({wrong}): fix them in the "
            "pool's form or the deployment's job_variables")) from None


def live_choices(policy: OfferPolicy, settings: Settings, pool_name: str) -> list[Choice]:
    """The choices ``policy`` makes of the live offers now, best first (never empty)."""
    computes, keys = _open_computes(policy.providers, settings, pool_name)
    try:
        offers, problems = gather_offers(computes, policy)
    finally:
        for compute in computes.values():
            compute.close()
    if problems:
        said = "; ".join(str(problem) for problem in problems.values())
        for key in keys:  # the clients blank keys out already; this is a second guard
            said = said.replace(key, "***")
        raise PriceUnavailable(
            f"the offers of work pool {pool_name!r} could not be read ({said}), so its price "
            "is unknown; nothing was rented. Try again later, or take the provider out of the "
            "pool's providers.")
    choices = choose(offers, policy)
    if not choices:
        raise ConfigError("AIMA_GPU_POOL", (
            f"no offer of {', '.join(computes)} fits work pool {pool_name!r}'s filters now "
            f"({_filters(policy)}; {len(offers)} offers read); nothing was rented. Relax the "
            "pool's filters (in its form or the deployment's job_variables) or try later."))
    return choices


def _deployment_variables(client: SyncPrefectClient, name: str, pool_name: str,
                          ) -> dict[str, Any]:
    try:
        deployment = client.read_deployment_by_name(name)
    except ObjectNotFound:
        return {}
    if deployment.work_pool_name != pool_name:
        return {}  # it runs elsewhere: its overrides are not this pool's
    return dict(deployment.job_variables or {})


def _open_computes(providers: tuple[str, ...], settings: Settings,
                   pool_name: str) -> tuple[dict[str, Compute], list[str]]:
    """The computes of the pool's providers that have an API key here (the others are left
    out, as the worker leaves them out where it has no key), and those keys."""
    computes, keys = open_computes(settings, providers)
    if not computes:
        wanted = "; ".join(where_keys_come_from(provider) for provider in providers)
        raise ConfigError("AIMA_GPU_POOL", (
            f"work pool {pool_name!r} rents from {', '.join(providers)}, but no API key for "
            f"them is set where this flow runs, so no price can be read: set {wanted}"))
    return computes, keys


def _filters(policy: OfferPolicy) -> str:
    shown = {"min_vram_gb": policy.min_vram_gb, "gpu_count": policy.gpu_count,
             "max_price_per_hour": policy.max_price_per_hour,
             "min_reliability": policy.min_reliability, "cloud": policy.cloud,
             "interruptible": policy.interruptible}
    return ", ".join(f"{name}={value}" for name, value in shown.items())


def _per_hour(price: float) -> str:
    """``$0.16/h``, ``$0.165/h``: two decimals, more only where the price has them."""
    digits = f"{price:.4f}".rstrip("0")
    whole, _, cents = digits.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}/h"
