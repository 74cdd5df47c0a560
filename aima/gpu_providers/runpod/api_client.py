"""RunPod's GraphQL API: ``POST {base}/graphql``, ``Authorization: Bearer KEY``.

Every value travels as a GraphQL variable, never pasted into the query text: an environment value
with quotes or braces reaches the pod intact and cannot change the operation (RunPod's own SDK
pastes them, ../shared/FACTS.md). A reply with ``errors`` is a failure even with HTTP 200; one that
says no machine is free is :class:`~aima.gpu_providers.base.NoCapacity`.
"""

from __future__ import annotations

import re
from typing import Any

from aima.gpu_providers.base import NoCapacity, ProviderError
from aima.gpu_providers.runpod.models import GpuType, Pod, PodInput
from aima.gpu_providers.transport import JsonApi

POD_FIELDS = "id name desiredStatus costPerHr uptimeSeconds runtime { uptimeInSeconds }"

GPU_TYPES = """
query gpuTypes($gpuCount: Int!) {
  gpuTypes {
    id displayName memoryInGb securePrice communityPrice
    lowestPrice(input: {gpuCount: $gpuCount}) { minimumBidPrice uninterruptablePrice }
  }
}"""
DEPLOY_ON_DEMAND = f"""
mutation podFindAndDeployOnDemand($input: PodFindAndDeployOnDemandInput!) {{
  podFindAndDeployOnDemand(input: $input) {{ {POD_FIELDS} }}
}}"""
RENT_INTERRUPTABLE = f"""
mutation podRentInterruptable($input: PodRentInterruptableInput!) {{
  podRentInterruptable(input: $input) {{ {POD_FIELDS} }}
}}"""
POD = f"""
query pod($input: PodFilter!) {{
  pod(input: $input) {{ {POD_FIELDS} }}
}}"""
MY_PODS = f"""
query myPods {{
  myself {{ pods {{ {POD_FIELDS} }} }}
}}"""
TERMINATE = """
mutation podTerminate($input: PodTerminateInput!) {
  podTerminate(input: $input)
}"""

NO_CAPACITY = re.compile(
    r"no longer any instances available|not enough (free )?gpus|no gpus? available|out of stock",
    re.IGNORECASE)


class RunPodApiClient:
    """Typed calls to RunPod's GraphQL API."""

    def __init__(self, api: JsonApi):
        self.api = api

    def __repr__(self) -> str:
        return f"<RunPodApiClient at {self.api.base_url}>"

    def gpu_types(self, gpu_count: int) -> list[GpuType]:
        data = self.graphql(GPU_TYPES, {"gpuCount": gpu_count})
        return [GpuType.model_validate(item) for item in data.get("gpuTypes") or []]

    def deploy(self, pod: PodInput) -> Pod:
        """An on-demand pod, or an interruptible one when ``pod.bid_per_gpu`` is set; sent once
        (the caller decides whether to try again)."""
        if pod.bid_per_gpu is None:
            field, query = "podFindAndDeployOnDemand", DEPLOY_ON_DEMAND
        else:
            field, query = "podRentInterruptable", RENT_INTERRUPTABLE
        data = self.graphql(query, {"input": pod.wire()}, retries=0)
        if not data.get(field):
            raise ProviderError(self.api.provider, f"{field} returned no pod")
        return Pod.model_validate(data[field])

    def pod(self, pod_id: str) -> Pod | None:
        data = self.graphql(POD, {"input": {"podId": pod_id}})
        return Pod.model_validate(data["pod"]) if data.get("pod") else None

    def pods(self) -> list[Pod]:
        data = self.graphql(MY_PODS, {})
        return [Pod.model_validate(item) for item in (data.get("myself") or {}).get("pods") or []]

    def terminate(self, pod_id: str) -> None:
        self.graphql(TERMINATE, {"input": {"podId": pod_id}})

    def graphql(self, query: str, variables: dict[str, Any], *,
                retries: int | None = None) -> dict[str, Any]:
        """The ``data`` of one GraphQL operation; its ``errors`` raised."""
        response = self.api.request("POST", "/graphql", json={"query": query,
                                                              "variables": variables},
                                    retries=retries)
        try:
            body = response.json()
        except ValueError:
            raise ProviderError(self.api.provider, f"HTTP {response.status_code} without JSON"
                                f"{self.api.said(response.text)}") from None
        errors = body.get("errors") or []
        if errors:
            message = "; ".join(str(error.get("message", error)) for error in errors)[:500]
            message = self.api.redact(message)
            kind = NoCapacity if NO_CAPACITY.search(message) else ProviderError
            raise kind(self.api.provider, message)
        return body.get("data") or {}
