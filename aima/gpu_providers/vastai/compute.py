"""Vast.ai as a :class:`~aima.gpu_providers.base.Compute`: asks become offers, contracts instances.

Offers: one search (``POST /bundles/``) for rentable on-demand offers with the asked GPU count
and at least the asked memory per GPU (``gpu_ram`` in MB: 24 GB asks for 24000, so that a 24 GB
card reporting 24564 MiB qualifies), cheapest first. Memory is normalised to GB of 1024 MB,
rounded; ``dph_total`` is the on-demand price, ``min_bid`` the interruptible one.

Instances: the spec's command runs as the instance's ``onstart`` script, its label is Vast.ai's
``label``; an interruptible instance bids the offer's ``min_bid``. Uptime is measured from the
instance's ``start_date`` by this machine's clock.
"""

from __future__ import annotations

import shlex
import time

from aima.gpu_providers.base import (
    LIVE, Credentials, Instance, InstanceSpec, InstanceState, NoCapacity, Offer, Requirements,
)
from aima.gpu_providers.transport import JsonApi, create_at_most_once
from aima.gpu_providers.vastai.api_client import VastApiClient
from aima.gpu_providers.vastai.models import CreateRequest, VastInstance, VastOffer

KEY_HINT = "AIMA_VASTAI_API_KEY or the VastAICredentials block 'aima-vastai'"
SEARCH_LIMIT = 200


class VastAICompute:
    provider = "vastai"

    def __init__(self, credentials: Credentials, *, timeout_s: float = 30.0, retries: int = 3,
                 backoff_s: float = 1.0):
        self.api = JsonApi(self.provider, credentials.base_url, credentials.api_key,
                           key_hint=KEY_HINT, timeout_s=timeout_s, retries=retries,
                           backoff_s=backoff_s)
        self.client = VastApiClient(self.api)

    def __repr__(self) -> str:
        return f"<VastAICompute at {self.api.base_url}>"

    def close(self) -> None:
        self.api.close()

    # --- offers -----------------------------------------------------------------------------

    def offers(self, requirements: Requirements) -> list[Offer]:
        query = {
            "gpu_ram": {"gte": requirements.min_vram_gb * 1000},
            "num_gpus": {"eq": requirements.gpu_count},
            "rentable": {"eq": True},
            "order": [["dph_total", "asc"]],
            "type": "on-demand",
            "limit": SEARCH_LIMIT,
        }
        return [_offer(offer) for offer in self.client.search_offers(query)]

    # --- instances --------------------------------------------------------------------------

    def create(self, offer: Offer, spec: InstanceSpec, *, interruptible: bool = False) -> Instance:
        if offer.provider != self.provider:
            raise ValueError(f"a {offer.provider} offer cannot be rented from Vast.ai")
        bid = None
        if interruptible:
            if not offer.interruptible_price_per_hour:
                raise NoCapacity(self.provider, f"offer {offer.offer_id} takes no bids now")
            bid = offer.interruptible_price_per_hour
        request = CreateRequest(image=spec.image, env=dict(spec.env), disk=spec.disk_gb,
                                onstart=shlex.join(spec.command), label=spec.label, price=bid)

        def create() -> Instance:
            instance_id = str(self.client.create(int(offer.offer_id), request))
            return self.status(instance_id) or Instance(
                provider="vastai", instance_id=instance_id, label=spec.label,
                state=InstanceState.STARTING, provider_status="created",
                price_per_hour=bid or offer.price_per_hour, uptime_s=0.0)

        return create_at_most_once(self.api, create, lambda: self._labelled(spec.label))

    def status(self, instance_id: str) -> Instance | None:
        found = self.client.instance(instance_id)
        return _instance(found) if found is not None else None

    def terminate(self, instance_id: str) -> None:
        self.client.destroy(instance_id)  # False when already gone: nothing left to do

    def list_by_label(self, prefix: str) -> list[Instance]:
        return [_instance(item) for item in self.client.instances()
                if (item.label or "").startswith(prefix)]

    def _labelled(self, label: str) -> Instance | None:
        """A live instance labelled ``label``: one a create whose reply was lost started."""
        found = (_instance(item) for item in self.client.instances() if item.label == label)
        return next((instance for instance in found if instance.state in LIVE), None)


def _offer(offer: VastOffer) -> Offer:
    return Offer(
        provider="vastai", offer_id=str(offer.id), gpu_model=offer.gpu_name,
        gpu_count=offer.num_gpus, vram_gb=round(offer.gpu_ram / 1024),
        price_per_hour=offer.dph_total, interruptible_price_per_hour=offer.min_bid or None,
        reliability=offer.reliability, region=offer.geolocation,
        cloud="secure" if offer.hosting_type == 1 else "community")


def _instance(item: VastInstance) -> Instance:
    actual = (item.actual_status or "").lower()
    intended = (item.intended_status or "").lower()
    if actual == "running":
        state = InstanceState.RUNNING
    elif actual in ("", "created", "loading", "scheduling") and intended != "stopped":
        state = InstanceState.STARTING
    else:  # exited, offline, stopped: not running, still the account's until destroyed
        state = InstanceState.EXITED
    uptime = 0.0
    if item.start_date:
        uptime = max((item.end_date or time.time()) - item.start_date, 0.0)
    return Instance(provider="vastai", instance_id=str(item.id), label=item.label or "",
                    state=state, provider_status=f"{actual or 'unknown'}/{intended or 'unknown'}",
                    price_per_hour=item.dph_total or 0.0, uptime_s=uptime)
