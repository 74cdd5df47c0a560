"""Vast.ai's REST types, as far as AIMA reads them (field names as on the wire, snake_case).

An offer (``POST /bundles/``) is one host's ask: ``gpu_ram`` is the memory of each GPU in MB,
``dph_total`` the on-demand price per hour for the whole offer, ``min_bid`` the lowest winning
interruptible bid, ``reliability`` the host's score (0-1), ``geolocation`` where it stands and
``hosting_type`` 1 for datacenter hosts (what AIMA calls the secure cloud), 0 for individuals.

An instance (``GET /instances/``) has ``actual_status`` (loading, running, exited, ...) beside
``intended_status`` (running, stopped), the ``label`` it was created with, ``dph_total`` and
``start_date`` (Unix seconds).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_BASE_URL = "https://console.vast.ai"
API_PREFIX = "/api/v0"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class VastOffer(_Wire):
    id: int
    gpu_name: str
    num_gpus: int = 1
    gpu_ram: float = 0  # MB, each GPU
    dph_total: float
    min_bid: float | None = None
    reliability: float | None = None
    geolocation: str | None = None
    hosting_type: int | None = None
    rentable: bool = True


class VastInstance(_Wire):
    id: int
    label: str | None = None
    actual_status: str | None = None
    intended_status: str | None = None
    dph_total: float | None = None
    start_date: float | None = None
    end_date: float | None = None


class CreateRequest(_Wire):
    """The body of ``PUT /asks/{offer_id}/``."""

    client_id: str = "me"
    image: str
    env: dict[str, str] = Field(repr=False)
    disk: int
    onstart: str
    label: str
    price: float | None = None  # an interruptible instance's bid, USD per hour

    def wire(self) -> dict:
        return self.model_dump(exclude_none=True)
