"""RunPod's GraphQL types, as far as AIMA reads them (field names as on the wire, camelCase).

RunPod prices a GPU type per GPU and per hour: ``securePrice`` (secure cloud, datacenters),
``communityPrice`` (community cloud) and ``lowestPrice(input: {gpuCount})`` with the lowest
interruptible bid (``minimumBidPrice``) and on-demand price (``uninterruptablePrice``, RunPod's
spelling). A null or zero price means that cloud does not sell the type now.

A pod's ``desiredStatus`` is RUNNING while it should run; its ``runtime`` stays null until the
container has started. RunPod has no labels: AIMA marks its pods by their ``name``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

DEFAULT_BASE_URL = "https://api.runpod.io"


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class LowestPrice(_Wire):
    minimum_bid_price: float | None = None
    uninterruptable_price: float | None = None


class GpuType(_Wire):
    id: str
    display_name: str | None = None
    memory_in_gb: int = 0
    secure_price: float | None = None
    community_price: float | None = None
    lowest_price: LowestPrice | None = None


class PodRuntime(_Wire):
    uptime_in_seconds: int | None = None


class Pod(_Wire):
    id: str
    name: str | None = None
    desired_status: str | None = None
    cost_per_hr: float | None = None
    uptime_seconds: int | None = None
    runtime: PodRuntime | None = None


class EnvVar(_Wire):
    key: str
    value: str


class PodInput(_Wire):
    """``PodFindAndDeployOnDemandInput``; with ``bid_per_gpu``, ``PodRentInterruptableInput``."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    name: str
    image_name: str
    cloud_type: str  # SECURE | COMMUNITY
    gpu_type_id: str
    gpu_count: int
    container_disk_in_gb: int
    volume_in_gb: int = 0
    docker_args: str
    env: list[EnvVar] = Field(repr=False)
    bid_per_gpu: float | None = None

    def wire(self) -> dict:
        return self.model_dump(by_alias=True, exclude_none=True)
