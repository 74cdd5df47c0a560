"""What a GPU pool asks of a rental: the pool's variables (its form in the UI) and the job
configuration one flow run's rental is made from, prefect-aws style.

:class:`GpuFields` holds the fields both share, each described (the description is the form's
help text): the image, the reachable ``prefect_api_url``, the offer policy (providers, strategy,
GPU memory and count, price, reliability, cloud, interruptible), the disk, and the limits the
worker enforces (budget, TTL, start timeout, cancellation grace, polling, retries of a lost
machine). :class:`GpuJobConfiguration` turns them into an
:class:`~aima.gpu_providers.selection.OfferPolicy`, an
:class:`~aima.gpu_providers.base.InstanceSpec` and :class:`~aima.workers.watch.Limits`, and
cleans the flow run's environment (:mod:`aima.workers.environment`).
"""

from __future__ import annotations

import shlex
from typing import Literal
from urllib.parse import urlsplit
from uuid import UUID

from prefect.workers.base import BaseJobConfiguration, BaseVariables, BaseWorker
from pydantic import BaseModel, Field, PrivateAttr, field_validator

from aima.gpu_providers.base import InstanceSpec, ProviderName
from aima.gpu_providers.selection import OfferPolicy, Strategy
from aima.workers.environment import instance_environment, left_out
from aima.workers.watch import Limits

#: The image built from deployments/Dockerfile.gpu; push it where the providers can pull it from
#: and set the pool's ``image`` to that name.
DEFAULT_IMAGE = "aima-gpu:0.1.0"
PROVIDERS_HELP = (
    "Providers to rent from (runpod, vastai), in the order the provider-order strategy tries "
    "them; each needs its API key where the worker runs (AIMA_RUNPOD_API_KEY / "
    "AIMA_VASTAI_API_KEY, or the aima-runpod / aima-vastai credentials block).")
LABEL_PREFIX = "aima-"
ATTEMPT_LABEL = "aima.gpu.attempt"


def job_template(worker: type[BaseWorker], **defaults) -> dict:
    """``worker``'s base job template with ``defaults`` for its variables, for creating a pool
    (``prefect work-pool create P --type runpod --base-job-template FILE``, or the client):
    ``job_template(RunPodWorker, prefect_api_url="https://prefect.example.org/api")``."""
    template = worker.get_default_base_job_template()
    properties = template["variables"]["properties"]
    for name, value in defaults.items():
        if name not in properties:
            raise ValueError(f"{worker.type} pools have no variable {name!r}; they have "
                             f"{', '.join(properties)}")
        properties[name]["default"] = value
    return template


def instance_label(flow_run_id: UUID | str, attempt: int) -> str:
    """The label of a flow run's rental: ``aima-<flow run id>-<attempt>``."""
    return f"{LABEL_PREFIX}{flow_run_id}-{attempt}"


class GpuFields(BaseModel):
    """The pool's settings of a rental, shared by the variables and the job configuration."""

    image: str = Field(
        default=DEFAULT_IMAGE, min_length=1,
        description="Container image the machine runs: AIMA's GPU image "
        "(deployments/Dockerfile.gpu) pushed to a registry the provider can pull from, e.g. "
        "ghcr.io/you/aima-gpu:0.1.0.")
    prefect_api_url: str = Field(
        description="The Prefect API as the rented machine reaches it over the internet, e.g. "
        "https://prefect.example.org/api (the worker's own PREFECT_API_URL is often a local "
        "address no rented machine can reach).")
    providers: list[ProviderName] = Field(
        default_factory=list, min_length=1, description=PROVIDERS_HELP)
    strategy: Strategy = Field(
        default="cheapest",
        description="Which offer first: cheapest (lowest price per hour), provider-order (the "
        "providers' order, cheapest first within each) or fastest-available (most GPU "
        "throughput). When an offer cannot be rented the next one is tried.")
    min_vram_gb: int = Field(
        default=24, ge=0,
        description="Memory of each GPU, in GB, at least (what the stages' largest model needs).")
    gpu_count: int = Field(default=1, ge=1, description="GPUs on the machine.")
    max_price_per_hour: float | None = Field(
        default=None, ge=0,
        description="Most USD per hour for the whole machine; empty: no limit.")
    min_reliability: float | None = Field(
        default=None, ge=0, le=1,
        description="Least host reliability (0-1) where the provider publishes one (Vast.ai); "
        "empty: any.")
    cloud: Literal["any", "secure", "community"] = Field(
        default="any",
        description="secure (datacenters), community (individual hosts) or any.")
    interruptible: bool = Field(
        default=False,
        description="Allow interruptible (spot / bid) machines: cheaper, but one may be taken "
        "away mid-run; the flow run then crashes and is retried on a new machine, resuming "
        "from its stored task results.")
    disk_gb: int = Field(default=60, ge=1, description="Container disk of the machine, in GB.")
    budget_usd: float | None = Field(
        default=10.0, ge=0,
        description="Most USD one flow run may spend on machines (price x uptime, retries "
        "included); reaching it terminates the machine and fails the run. Empty: no budget.")
    instance_ttl_s: float = Field(
        default=6 * 3600, gt=0,
        description="Seconds a machine may live; then it is terminated and the run fails as "
        "timed out.")
    start_timeout_s: float = Field(
        default=1200, gt=0,
        description="Seconds a machine may take to start the flow run (image pull included) "
        "before it is given up and the run retried on another.")
    cancel_grace_s: float = Field(
        default=10, ge=0,
        description="Seconds a cancelled run gets to stop by itself before its machine is "
        "terminated.")
    poll_interval_s: float = Field(
        default=5, gt=0,
        description="Seconds between looks at the machine and the flow run's state.")
    instance_retries: int = Field(
        default=2, ge=0,
        description="How many times a flow run whose machine was lost (preempted, killed, "
        "never started) is retried on a new machine.")

    @field_validator("prefect_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"prefect_api_url must be http(s)://HOST[:PORT]/api, got {value!r}")
        return value.rstrip("/")


class GpuVariables(BaseVariables, GpuFields):
    """The pool's form: the fields above plus Prefect's env, command, name and labels."""


class GpuJobConfiguration(BaseJobConfiguration, GpuFields):
    """One rental's settings, from the pool's template and the deployment's variables."""

    _left_out: list[str] = PrivateAttr(default_factory=list)

    def prepare_for_flow_run(self, flow_run, deployment=None, flow=None, work_pool=None,
                             worker_name=None, worker_id=None) -> None:
        chosen = dict(self.env)  # what the pool, deployment and flow run set on purpose
        super().prepare_for_flow_run(flow_run, deployment=deployment, flow=flow,
                                     work_pool=work_pool, worker_name=worker_name,
                                     worker_id=worker_id)
        prepared = dict(self.env)
        self.env = instance_environment(prepared, chosen=chosen,
                                        prefect_api_url=self.prefect_api_url)
        self._left_out = left_out(prepared, self.env)

    def policy(self) -> OfferPolicy:
        return OfferPolicy(strategy=self.strategy, providers=tuple(self.providers),
                           min_vram_gb=self.min_vram_gb, gpu_count=self.gpu_count,
                           max_price_per_hour=self.max_price_per_hour,
                           min_reliability=self.min_reliability, cloud=self.cloud,
                           interruptible=self.interruptible)

    def instance_spec(self, label: str, secrets: list[str]) -> InstanceSpec:
        env = instance_environment(self.env, chosen=self.env, prefect_api_url=self.prefect_api_url,
                                   secrets=secrets)
        return InstanceSpec(label=label, image=self.image, disk_gb=self.disk_gb, env=env,
                            command=shlex.split(self.command or "prefect flow-run execute"))

    def limits(self, spent_before_usd: float) -> Limits:
        return Limits(budget_usd=self.budget_usd, instance_ttl_s=self.instance_ttl_s,
                      start_timeout_s=self.start_timeout_s, cancel_grace_s=self.cancel_grace_s,
                      spent_before_usd=spent_before_usd)
