"""A loopback RunPod: ``POST /graphql`` executed by graphql-core against RunPod's schema, as far
as AIMA uses it, so a query that RunPod would reject (an unknown field, a variable of the wrong
type, a value pasted where a variable belongs and breaking the syntax) fails here too.

Prices are per GPU per hour, as RunPod's. A failed operation answers HTTP 200 with ``errors``;
an offer made unrentable answers RunPod's "no longer any instances available" message.
"""

from __future__ import annotations

import uuid
from typing import Any

from graphql import GraphQLError, build_schema, graphql_sync, parse
from graphql.language import OperationDefinitionNode
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.gpu_providers.fake_base import FakeProvider, LedgerEntry

SCHEMA = build_schema("""
scalar Void
enum CloudTypeEnum { ALL SECURE COMMUNITY }

type Query {
  gpuTypes(input: GpuTypeFilter): [GpuType]
  pod(input: PodFilter!): Pod
  myself: User
}
type Mutation {
  podFindAndDeployOnDemand(input: PodFindAndDeployOnDemandInput): Pod
  podRentInterruptable(input: PodRentInterruptableInput!): Pod
  podStop(input: PodStopInput!): Pod
  podTerminate(input: PodTerminateInput!): Void
}

input GpuTypeFilter { id: String }
input GpuLowestPriceInput { gpuCount: Int! secureCloud: Boolean }
input PodFilter { podId: String! }
input PodStopInput { podId: String! }
input PodTerminateInput { podId: String! }
input EnvironmentVariableInput { key: String! value: String! }
input PodFindAndDeployOnDemandInput {
  name: String imageName: String! cloudType: CloudTypeEnum gpuTypeId: String! gpuCount: Int
  containerDiskInGb: Int volumeInGb: Int dockerArgs: String env: [EnvironmentVariableInput]
  ports: String volumeMountPath: String
}
input PodRentInterruptableInput {
  name: String imageName: String! cloudType: CloudTypeEnum gpuTypeId: String! gpuCount: Int
  containerDiskInGb: Int volumeInGb: Int dockerArgs: String env: [EnvironmentVariableInput]
  ports: String volumeMountPath: String bidPerGpu: Float!
}

type GpuType {
  id: String! displayName: String memoryInGb: Int securePrice: Float communityPrice: Float
  secureCloud: Boolean communityCloud: Boolean lowestPrice(input: GpuLowestPriceInput): LowestPrice
}
type LowestPrice { minimumBidPrice: Float uninterruptablePrice: Float stockStatus: String }
type User { id: String pods: [Pod] }
type PodRuntime { uptimeInSeconds: Int }
type Pod {
  id: String! name: String desiredStatus: String costPerHr: Float uptimeSeconds: Int
  imageName: String gpuCount: Int machineId: String runtime: PodRuntime
}
""")

NO_CAPACITY = ("There are no longer any instances available with the requested specifications. "
               "Please refresh and try again.")

GPU_TYPES: list[dict[str, Any]] = [
    {"id": "NVIDIA GeForce RTX 4090", "displayName": "RTX 4090", "memoryInGb": 24,
     "securePrice": 0.69, "communityPrice": 0.34, "minimumBidPrice": 0.20},
    {"id": "NVIDIA RTX A5000", "displayName": "RTX A5000", "memoryInGb": 24,
     "securePrice": 0.29, "communityPrice": 0.16, "minimumBidPrice": 0.11},
    {"id": "NVIDIA L4", "displayName": "L4", "memoryInGb": 24,
     "securePrice": 0.43, "communityPrice": None, "minimumBidPrice": None},
    {"id": "NVIDIA A100 80GB PCIe", "displayName": "A100 PCIe", "memoryInGb": 80,
     "securePrice": 1.64, "communityPrice": 1.19, "minimumBidPrice": 0.60},
    {"id": "NVIDIA H100 80GB HBM3", "displayName": "H100 SXM", "memoryInGb": 80,
     "securePrice": 2.99, "communityPrice": 2.69, "minimumBidPrice": 1.50},
    {"id": "NVIDIA RTX A4000", "displayName": "RTX A4000", "memoryInGb": 16,
     "securePrice": 0.17, "communityPrice": 0.09, "minimumBidPrice": 0.05},
]


class FakeRunPod(FakeProvider):
    """RunPod's GraphQL API on loopback. ``gpu_types`` replaces the catalogue above."""

    name = "fake RunPod API"
    provider = "runpod"

    def __init__(self, *, gpu_types: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gpu_types = [dict(item) for item in (gpu_types or GPU_TYPES)]

    def routes(self) -> list[Route]:
        return [Route("/graphql", self._graphql, methods=["POST"])]

    def queries(self) -> list[str]:
        """The query text of every GraphQL request received."""
        return [request["json"]["query"] for request in self.requests if request["json"]]

    async def _graphql(self, request: Request) -> Response:
        body = await request.json()
        if (refusal := await self.gate(request, body)) is not None:
            return refusal
        creates = _is_create(body.get("query", ""))
        if creates and (fault := self.create_fault(request)) is not None:
            return fault
        result = graphql_sync(SCHEMA, body.get("query", ""), root_value=_Root(self),
                              variable_values=body.get("variables"))
        if creates and not result.errors and self.take_lost_reply():
            return self.error(request, 503, "upstream connect error")
        reply: dict[str, Any] = {"data": result.data}
        if result.errors:
            reply["errors"] = [error.formatted for error in result.errors]
        return JSONResponse(reply)

    def pod(self, entry: LedgerEntry) -> dict[str, Any] | None:
        if entry.status == "terminated":
            return None
        uptime = int(entry.billed_seconds)
        return {"id": entry.instance_id, "name": entry.label, "imageName": entry.image,
                "desiredStatus": "RUNNING" if entry.status == "running" else "EXITED",
                "costPerHr": entry.price_per_hour, "uptimeSeconds": uptime,
                "gpuCount": entry.gpu_count,
                "runtime": {"uptimeInSeconds": uptime} if entry.status == "running" else None}


def _is_create(query: str) -> bool:
    try:
        document = parse(query)
    except GraphQLError:
        return False
    return any(isinstance(node, OperationDefinitionNode) and node.operation.value == "mutation"
               and any(sel.name.value.startswith(("podFindAndDeploy", "podRent"))
                       for sel in node.selection_set.selections)
               for node in document.definitions)


class _Root:
    """Resolvers of the root fields (graphql-core calls ``root.<field>(info, **args)``)."""

    def __init__(self, fake: FakeRunPod):
        self.fake = fake

    def gpuTypes(self, info, input=None):  # noqa: N802 - GraphQL field names
        types = self.fake.gpu_types
        if input and input.get("id"):
            types = [item for item in types if item["id"] == input["id"]]
        return [{**item, "secureCloud": bool(item["securePrice"]),
                 "communityCloud": bool(item["communityPrice"]),
                 "lowestPrice": _lowest_price(item)} for item in types]

    def pod(self, info, input):
        entry = self.fake.ledger.get(input["podId"])
        return self.fake.pod(entry) if entry is not None else None

    def myself(self, info):
        pods = [self.fake.pod(entry) for entry in self.fake.ledger.entries()]
        return {"id": "user-1", "pods": [pod for pod in pods if pod is not None]}

    def podFindAndDeployOnDemand(self, info, input=None):  # noqa: N802
        gpu_type, count, cloud = self._rentable(input)
        price = gpu_type["securePrice" if cloud == "SECURE" else "communityPrice"]
        if not price:
            raise GraphQLError(NO_CAPACITY)
        return self._start(input, gpu_type, price * count, interruptible=False)

    def podRentInterruptable(self, info, input):  # noqa: N802
        gpu_type, count, _ = self._rentable(input)
        if not gpu_type["minimumBidPrice"] or input["bidPerGpu"] < gpu_type["minimumBidPrice"]:
            raise GraphQLError(f"Your bid price is too low; minimum {gpu_type['minimumBidPrice']}")
        return self._start(input, gpu_type, input["bidPerGpu"] * count, interruptible=True)

    def podStop(self, info, input):  # noqa: N802
        entry = self._entry(input["podId"])
        self.fake.end_instance(entry, status="exited")
        return self.fake.pod(entry)

    def podTerminate(self, info, input):  # noqa: N802
        self.fake.end_instance(self._entry(input["podId"]))

    def _entry(self, pod_id: str) -> LedgerEntry:
        entry = self.fake.ledger.get(pod_id)
        if entry is None or entry.status == "terminated":
            raise GraphQLError("pod not found")
        return entry

    def _rentable(self, input: dict) -> tuple[dict, int, str]:
        gpu_type = next((item for item in self.fake.gpu_types if item["id"] == input["gpuTypeId"]),
                        None)
        if gpu_type is None:
            raise GraphQLError(f"unknown gpuTypeId {input['gpuTypeId']}")
        if gpu_type["id"] in self.fake.faults.no_capacity:
            raise GraphQLError(NO_CAPACITY)
        return gpu_type, input.get("gpuCount") or 1, input.get("cloudType") or "ALL"

    def _start(self, input: dict, gpu_type: dict, price: float, *, interruptible: bool):
        entry = self.fake.start_instance(
            instance_id=uuid.uuid4().hex[:14], label=input.get("name") or "",
            offer_id=gpu_type["id"], gpu_model=gpu_type["displayName"],
            gpu_count=input.get("gpuCount") or 1, price_per_hour=round(price, 4),
            interruptible=interruptible, image=input["imageName"],
            command=input.get("dockerArgs") or "",
            env={item["key"]: item["value"] for item in input.get("env") or []},
            disk_gb=input.get("containerDiskInGb") or 0)
        return self.fake.pod(entry)


def _lowest_price(gpu_type: dict):
    def resolve(info, input=None):
        count = (input or {}).get("gpuCount") or 1
        prices = [p for p in (gpu_type["securePrice"], gpu_type["communityPrice"]) if p]
        return {"minimumBidPrice": gpu_type["minimumBidPrice"],
                "uninterruptablePrice": min(prices) if prices else None,
                "stockStatus": "High" if count <= 8 else None}
    return resolve
