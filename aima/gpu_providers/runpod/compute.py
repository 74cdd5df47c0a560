"""RunPod as a :class:`~aima.gpu_providers.base.Compute`: GPU types become offers, pods instances.

Offers: each GPU type yields up to two offers, one per cloud that prices it (secure, community),
at the asked GPU count; prices are RunPod's per-GPU prices times the count. The interruptible
price is ``lowestPrice.minimumBidPrice`` (the lowest bid that wins a machine now); a type whose
``lowestPrice`` has neither price has no machine free with that many GPUs and is left out.
RunPod publishes no reliability score and no region per type: both stay None.

Pods: the spec's label becomes the pod's name (RunPod has no labels), its command the
``dockerArgs``, its environment ``env: [{key, value}]``. An interruptible pod bids the offer's
interruptible price.
"""

from __future__ import annotations

import shlex

from aima.gpu_providers.base import (
    LIVE, Credentials, Instance, InstanceSpec, InstanceState, NoCapacity, Offer, ProviderError,
    Requirements,
)
from aima.gpu_providers.runpod.api_client import RunPodApiClient
from aima.gpu_providers.runpod.models import EnvVar, GpuType, Pod, PodInput
from aima.gpu_providers.transport import JsonApi, create_at_most_once

KEY_HINT = "AIMA_RUNPOD_API_KEY or the RunPodCredentials block 'aima-runpod'"


class RunPodCompute:
    provider = "runpod"

    def __init__(self, credentials: Credentials, *, timeout_s: float = 30.0, retries: int = 3,
                 backoff_s: float = 1.0):
        self.api = JsonApi(self.provider, credentials.base_url, credentials.api_key,
                           key_hint=KEY_HINT, timeout_s=timeout_s, retries=retries,
                           backoff_s=backoff_s)
        self.client = RunPodApiClient(self.api)

    def __repr__(self) -> str:
        return f"<RunPodCompute at {self.api.base_url}>"

    def close(self) -> None:
        self.api.close()

    # --- offers -----------------------------------------------------------------------------

    def offers(self, requirements: Requirements) -> list[Offer]:
        offers: list[Offer] = []
        for gpu_type in self.client.gpu_types(requirements.gpu_count):
            if gpu_type.memory_in_gb >= requirements.min_vram_gb:
                offers.extend(_offers_of(gpu_type, requirements.gpu_count))
        return offers

    # --- instances --------------------------------------------------------------------------

    def create(self, offer: Offer, spec: InstanceSpec, *, interruptible: bool = False) -> Instance:
        if offer.provider != self.provider:
            raise ValueError(f"a {offer.provider} offer cannot be rented from RunPod")
        bid = None
        if interruptible:
            if not offer.interruptible_price_per_hour:
                raise NoCapacity(self.provider, f"{offer.gpu_model} is not sold interruptible now")
            bid = round(offer.interruptible_price_per_hour / offer.gpu_count, 4)
        pod = PodInput(
            name=spec.label, image_name=spec.image, cloud_type=offer.cloud.upper(),
            gpu_type_id=offer.offer_id, gpu_count=offer.gpu_count,
            container_disk_in_gb=spec.disk_gb, docker_args=shlex.join(spec.command),
            env=[EnvVar(key=key, value=value) for key, value in spec.env.items()],
            bid_per_gpu=bid)
        return create_at_most_once(self.api, lambda: _instance(self.client.deploy(pod)),
                                   lambda: self._named(spec.label))

    def status(self, instance_id: str) -> Instance | None:
        pod = self.client.pod(instance_id)
        return _instance(pod) if pod is not None else None

    def terminate(self, instance_id: str) -> None:
        try:
            self.client.terminate(instance_id)
        except ProviderError as exc:
            if exc.transient or self.client.pod(instance_id) is not None:
                raise
            # already gone: terminating twice is not an error

    def list_by_label(self, prefix: str) -> list[Instance]:
        return [_instance(pod) for pod in self.client.pods() if (pod.name or "").startswith(prefix)]

    def _named(self, label: str) -> Instance | None:
        """A live pod named ``label``: one a create whose reply was lost started."""
        pods = (_instance(pod) for pod in self.client.pods() if pod.name == label)
        return next((pod for pod in pods if pod.state in LIVE), None)


def _offers_of(gpu_type: GpuType, count: int) -> list[Offer]:
    lowest = gpu_type.lowest_price
    if lowest is not None and not lowest.uninterruptable_price and not lowest.minimum_bid_price:
        return []  # no machine with `count` of these GPUs is free
    bid = lowest.minimum_bid_price if lowest is not None else None
    offers = []
    for cloud, price in (("secure", gpu_type.secure_price),
                         ("community", gpu_type.community_price)):
        if price:
            offers.append(Offer(
                provider="runpod", offer_id=gpu_type.id,
                gpu_model=gpu_type.display_name or gpu_type.id, gpu_count=count,
                vram_gb=gpu_type.memory_in_gb, price_per_hour=round(price * count, 4),
                interruptible_price_per_hour=round(bid * count, 4) if bid else None,
                cloud=cloud))
    return offers


def _instance(pod: Pod) -> Instance:
    status = (pod.desired_status or "").upper()
    if status == "RUNNING":
        state = InstanceState.RUNNING if pod.runtime is not None else InstanceState.STARTING
    elif status in ("CREATED", "RESTARTING", ""):
        state = InstanceState.STARTING
    elif status == "TERMINATED":
        state = InstanceState.TERMINATED
    else:  # EXITED, DEAD, PAUSED: not running, still the account's
        state = InstanceState.EXITED
    uptime = pod.uptime_seconds
    if uptime is None and pod.runtime is not None:
        uptime = pod.runtime.uptime_in_seconds
    return Instance(provider="runpod", instance_id=pod.id, label=pod.name or "", state=state,
                    provider_status=status.lower() or "unknown",
                    price_per_hour=pod.cost_per_hr or 0.0, uptime_s=float(uptime or 0))
