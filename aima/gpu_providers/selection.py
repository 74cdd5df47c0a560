"""Which offer to rent: a pool's :class:`OfferPolicy` turns live offers into an ordered list of
:class:`Choice` (an offer, rented on demand or interruptible) to try one after the other.

Filters (:func:`fits`, then the price of each way to rent): memory of each GPU at least
``min_vram_gb`` (the stage's model needs it on one GPU), exactly ``gpu_count`` GPUs, the cloud
(``secure`` datacenters, ``community`` hosts, or ``any``), a reliability of at least
``min_reliability`` where the provider publishes one (RunPod does not: its offers pass), and a
price per hour of at most ``max_price_per_hour``. With ``interruptible`` allowed, an offer that
sells interruptible rentals is also a choice at that price; the on-demand choice stays as well.

Strategies (ties go to the cheaper choice, then by provider and offer for a stable order):

* ``cheapest`` (default): lowest price per hour first, whichever provider.
* ``provider-order``: all of the first provider's choices (cheapest first), then the next's, in
  the order of ``providers``.
* ``fastest-available``: the most GPU throughput first (:mod:`aima.gpu_providers.gpus`, times the
  GPU count), among what is for rent now.

:func:`launch` rents the first choice that works: no capacity or a failed create moves on to the
next choice (a refused key skips that provider's remaining choices), and when none works
:class:`~aima.gpu_providers.base.NoOfferLeft` says what each try met.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from aima.gpu_providers import gpus
from aima.gpu_providers.base import (
    PROVIDERS, BadCredentials, Compute, Instance, InstanceSpec, NoOfferLeft, Offer, ProviderError,
    ProviderName, Requirements,
)

Strategy = Literal["cheapest", "provider-order", "fastest-available"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)

logger = logging.getLogger(__name__)


class OfferPolicy(BaseModel):
    """How a pool picks its offers; every field is a filter or the strategy."""

    model_config = ConfigDict(frozen=True)

    strategy: Strategy = Field(default="cheapest", description="cheapest, provider-order or "
                               "fastest-available.")
    providers: tuple[ProviderName, ...] = Field(
        default=PROVIDERS, min_length=1,
        description="Providers to rent from, in the order provider-order tries them.")
    min_vram_gb: int = Field(default=0, ge=0, description="Memory of each GPU, in GB, at least.")
    gpu_count: int = Field(default=1, ge=1, description="GPUs on one machine.")
    max_price_per_hour: float | None = Field(
        default=None, ge=0, description="USD per hour for the whole machine, at most.")
    min_reliability: float | None = Field(
        default=None, ge=0, le=1, description="The host's reliability (0-1), at least, where "
        "the provider publishes one.")
    cloud: Literal["any", "secure", "community"] = Field(
        default="any", description="secure (datacenters), community (individual hosts) or any.")
    interruptible: bool = Field(
        default=False, description="Interruptible (spot/bid) rentals allowed: cheaper, but the "
        "machine may be taken away mid-run.")

    @property
    def requirements(self) -> Requirements:
        return Requirements(min_vram_gb=self.min_vram_gb, gpu_count=self.gpu_count)


class Choice(BaseModel):
    """One way to rent an offer."""

    model_config = ConfigDict(frozen=True)

    offer: Offer
    interruptible: bool = False

    @property
    def price_per_hour(self) -> float:
        if self.interruptible:
            return self.offer.interruptible_price_per_hour or 0.0
        return self.offer.price_per_hour

    @property
    def tflops(self) -> float:
        return gpus.tflops(self.offer.gpu_model) * self.offer.gpu_count

    def __str__(self) -> str:
        how = "interruptible" if self.interruptible else "on demand"
        return (f"{self.offer.provider} {self.offer.gpu_count}x {self.offer.gpu_model} "
                f"({self.offer.cloud}, {how}, ${self.price_per_hour:.3f}/h)")


def fits(offer: Offer, policy: OfferPolicy) -> bool:
    """Whether the offer passes the policy's filters other than price."""
    return (offer.provider in policy.providers
            and offer.vram_gb >= policy.min_vram_gb
            and offer.gpu_count == policy.gpu_count
            and policy.cloud in ("any", offer.cloud)
            and (policy.min_reliability is None or offer.reliability is None
                 or offer.reliability >= policy.min_reliability))


def choose(offers: Iterable[Offer], policy: OfferPolicy) -> list[Choice]:
    """The choices to try, best first, by the policy's filters and strategy."""
    choices = []
    for offer in offers:
        if not fits(offer, policy):
            continue
        ways = [Choice(offer=offer)]
        if policy.interruptible and offer.interruptible_price_per_hour:
            ways.append(Choice(offer=offer, interruptible=True))
        choices.extend(way for way in ways if policy.max_price_per_hour is None
                       or way.price_per_hour <= policy.max_price_per_hour)
    return sorted(choices, key=_order(policy))


def _order(policy: OfferPolicy):
    rank = {provider: index for index, provider in enumerate(policy.providers)}

    def tiebreak(choice: Choice) -> tuple:
        return (choice.price_per_hour, rank[choice.offer.provider], choice.offer.key,
                choice.interruptible)

    if policy.strategy == "provider-order":
        return lambda choice: (rank[choice.offer.provider], *tiebreak(choice))
    if policy.strategy == "fastest-available":
        return lambda choice: (-choice.tflops, *tiebreak(choice))
    return tiebreak


def gather_offers(computes: Mapping[str, Compute], policy: OfferPolicy,
                  ) -> tuple[list[Offer], dict[str, ProviderError]]:
    """Live offers from each of the policy's providers that ``computes`` has, and the error of
    each provider that could not be asked (the others' offers still count)."""
    offers: list[Offer] = []
    problems: dict[str, ProviderError] = {}
    for provider in policy.providers:
        compute = computes.get(provider)
        if compute is None:
            continue
        try:
            offers.extend(compute.offers(policy.requirements))
        except ProviderError as exc:
            logger.warning("offers from %s not read: %s", provider, exc)
            problems[provider] = exc
    return offers, problems


def launch(choices: Iterable[Choice], computes: Mapping[str, Compute], spec: InstanceSpec, *,
           max_attempts: int = 5) -> tuple[Instance, Choice]:
    """Rent the first of ``choices`` that works (at most ``max_attempts`` tries) and start
    ``spec`` on it; the instance and the choice it came from."""
    attempts: list[str] = []
    refused: set[str] = set()
    for choice in choices:
        provider = choice.offer.provider
        if len(attempts) >= max_attempts:
            break
        if provider in refused or provider not in computes:
            continue
        try:
            return computes[provider].create(choice.offer, spec,
                                             interruptible=choice.interruptible), choice
        except ProviderError as exc:
            logger.warning("could not rent %s: %s; trying the next offer", choice, exc)
            attempts.append(f"{choice}: {exc}")
            if isinstance(exc, BadCredentials):
                refused.add(provider)
    raise NoOfferLeft(attempts)
