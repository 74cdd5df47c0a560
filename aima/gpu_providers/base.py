"""What every GPU provider offers and rents, in one vocabulary: offers, instances, errors.

A provider (``runpod/``, ``vastai/``) turns its own wire format into these types and implements
:class:`Compute`; everything above it (offer selection, the ``aima gpu`` commands, the Prefect
workers) speaks only this module's language and never a provider's.

* :class:`Offer`: one rentable GPU configuration with its prices per hour, on demand and
  interruptible (spot / bid), both for all of its GPUs together.
* :class:`InstanceSpec`: what to run (image, command, environment, a label marking it as AIMA's).
* :class:`Instance`: a rented machine as the provider reports it, with its price and uptime, so
  that its cost so far is ``price x uptime``.
* Errors: :class:`ProviderError` (``transient`` says whether a later try may succeed),
  :class:`NoCapacity` (the offer is gone: try the next one), :class:`BadCredentials`.
"""

from __future__ import annotations

import enum
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from aima.errors import AimaError

ProviderName = Literal["runpod", "vastai"]
PROVIDERS: tuple[ProviderName, ...] = ("runpod", "vastai")
Cloud = Literal["secure", "community"]


# --- errors ---------------------------------------------------------------------------------


class ProviderError(AimaError):
    """A provider refused or failed a request. The message never contains the API key."""

    def __init__(self, provider: str, message: str, *, transient: bool = False,
                 status: int | None = None, retry_after: float | None = None):
        self.provider = provider
        self.transient = transient
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"{provider}: {message}")


class ProviderUnavailable(ProviderError, ConnectionError):
    """Timeouts, 5xx or 429 that outlasted every retry: worth trying again later."""

    def __init__(self, provider: str, message: str, *, status: int | None = None,
                 retry_after: float | None = None):
        super().__init__(provider, message, transient=True, status=status,
                         retry_after=retry_after)


class BadCredentials(ProviderError):
    """The provider refused the API key (HTTP 401 or 403)."""


class NoCapacity(ProviderError):
    """The offer cannot be rented now (taken, out of stock): the next offer may be."""


class NoOfferLeft(ProviderError):
    """Every offer tried failed; :attr:`attempts` says how each one did."""

    def __init__(self, attempts: list[str]):
        self.attempts = attempts
        tried = "; ".join(attempts) if attempts else "no offer fits the pool's filters"
        super().__init__("gpu", f"no offer could be rented ({tried})")


# --- offers ---------------------------------------------------------------------------------


class Requirements(BaseModel):
    """What a provider is asked for; the rest of the filtering happens in selection."""

    model_config = ConfigDict(frozen=True)

    min_vram_gb: int = Field(default=0, ge=0, description="GPU memory of each GPU, in GB.")
    gpu_count: int = Field(default=1, ge=1, description="GPUs on one machine.")


class Offer(BaseModel):
    """One GPU configuration a provider rents now, normalised across providers."""

    model_config = ConfigDict(frozen=True)

    provider: ProviderName
    offer_id: str = Field(description="What the provider rents by: RunPod's GPU type id, "
                                      "Vast.ai's ask (offer) id.")
    gpu_model: str = Field(description="The GPU as the provider names it, e.g. 'RTX 4090'.")
    gpu_count: int = Field(ge=1)
    vram_gb: int = Field(ge=0, description="Memory of each GPU, in GB.")
    price_per_hour: float = Field(ge=0, description="USD per hour on demand, all GPUs.")
    interruptible_price_per_hour: float | None = Field(
        default=None, description="USD per hour as an interruptible (spot/bid) rental, all GPUs; "
        "None when the provider sells none.")
    reliability: float | None = Field(
        default=None, description="The host's reliability score (0-1); None where the provider "
        "publishes none (RunPod).")
    region: str | None = Field(default=None, description="Where the machine is, when known.")
    cloud: Cloud = Field(description="'secure' (datacenter) or 'community' (individual hosts).")

    @property
    def total_vram_gb(self) -> int:
        return self.vram_gb * self.gpu_count

    @property
    def key(self) -> str:
        """A short unique name for messages: ``runpod:NVIDIA GeForce RTX 4090:secure``."""
        return f"{self.provider}:{self.offer_id}:{self.cloud}"


# --- instances ------------------------------------------------------------------------------


class InstanceSpec(BaseModel):
    """What to run on a rented machine."""

    model_config = ConfigDict(frozen=True)

    label: str = Field(min_length=1, description="Marks the instance as AIMA's and names its "
                       "owner, unique to this rental, e.g. aima-<flow run id>-<attempt>; found "
                       "again by list_by_label, and by create when a reply was lost.")
    image: str = Field(min_length=1, description="Container image.")
    command: list[str] = Field(min_length=1, description="The container's command.")
    env: dict[str, str] = Field(default_factory=dict, repr=False,
                                description="Environment of the command (never printed).")
    disk_gb: int = Field(default=40, ge=1, description="Container disk, in GB.")


class InstanceState(enum.StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    EXITED = "exited"  # the command ended or the host went away; still billed until terminated
    TERMINATED = "terminated"


LIVE = frozenset({InstanceState.STARTING, InstanceState.RUNNING})


class Instance(BaseModel):
    """A rented machine as its provider reports it now."""

    model_config = ConfigDict(frozen=True)

    provider: ProviderName
    instance_id: str
    label: str
    state: InstanceState
    provider_status: str = Field(description="The provider's own status words, for messages.")
    price_per_hour: float = Field(ge=0)
    uptime_s: float = Field(ge=0, description="Seconds billed so far, by the provider's clock.")

    @property
    def cost_usd(self) -> float:
        return self.price_per_hour * self.uptime_s / 3600

    @property
    def infrastructure_pid(self) -> str:
        """What a Prefect worker records for the flow run: ``runpod:<pod id>``."""
        return f"{self.provider}:{self.instance_id}"


def parse_infrastructure_pid(pid: str) -> tuple[ProviderName, str]:
    """``"vastai:123"`` -> ``("vastai", "123")``; ValueError for anything else."""
    provider, _, instance_id = pid.partition(":")
    if provider not in ("runpod", "vastai") or not instance_id:
        raise ValueError(f"not an AIMA GPU instance id: {pid!r} (expected runpod:ID or vastai:ID)")
    return provider, instance_id  # type: ignore[return-value]


class Credentials(BaseModel):
    """How to reach one provider: its API key and base URL."""

    model_config = ConfigDict(frozen=True)

    api_key: SecretStr
    base_url: str


@runtime_checkable
class Compute(Protocol):
    """One provider's offers and instances. Calls are blocking; transient failures are retried
    inside, so an error that reaches the caller is either lasting or outlasted every retry."""

    provider: ProviderName

    def offers(self, requirements: Requirements) -> list[Offer]:
        """Offers that can be rented now and meet ``requirements``."""

    def create(self, offer: Offer, spec: InstanceSpec, *, interruptible: bool = False) -> Instance:
        """Rent ``offer`` and start ``spec`` on it, at most once even when a reply is lost."""

    def status(self, instance_id: str) -> Instance | None:
        """The instance now, or None when the provider no longer knows it (terminated)."""

    def terminate(self, instance_id: str) -> None:
        """End the instance and its billing; an instance already gone is not an error."""

    def list_by_label(self, prefix: str) -> list[Instance]:
        """Every instance of this account whose label starts with ``prefix``."""

    def close(self) -> None:
        """Release the HTTP connections."""
