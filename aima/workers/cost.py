"""What a flow run's rented machines actually cost: the provider's price x uptime, per rental.

When a GPU worker ends a machine it records the rental on the flow run as a table artifact with
the key :data:`ARTIFACT_KEY` (one row: provider, instance, GPU, price per hour, uptime, cost and
why it ended), so the flow run's page shows what it cost, and a run retried on a new machine has
one artifact per machine. The worker adds up a run's earlier rentals against the run's budget;
``analyze-media`` reads them back (:func:`rentals`, :func:`actual_cost_usd`) to put the actual cost
beside the estimate in the report.
"""

from __future__ import annotations

import json
from uuid import UUID

from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.actions import ArtifactCreate
from prefect.client.schemas.filters import (
    ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey,
)
from pydantic import BaseModel, Field

ARTIFACT_KEY = "gpu-cost"


class Rental(BaseModel):
    """One machine a flow run rented, as billed."""

    provider: str
    instance_id: str
    label: str
    gpu: str = Field(description="What was rented, e.g. 'runpod 1x RTX A5000 (community, on "
                     "demand, $0.160/h)'.")
    price_per_hour: float
    uptime_s: float = Field(description="Seconds billed, by the provider's clock.")
    cost_usd: float
    ended: str = Field(description="Why the machine was ended (the worker's verdict).")
    attempt: int = 1

    def row(self) -> dict:
        return {"provider": self.provider, "instance": self.instance_id, "gpu": self.gpu,
                "price per hour (USD)": round(self.price_per_hour, 4),
                "uptime (s)": round(self.uptime_s, 1), "cost (USD)": round(self.cost_usd, 6),
                "ended": self.ended, "attempt": self.attempt, "label": self.label}

    @classmethod
    def from_row(cls, row: dict) -> Rental:
        return cls(provider=row["provider"], instance_id=row["instance"], gpu=row["gpu"],
                   price_per_hour=row["price per hour (USD)"], uptime_s=row["uptime (s)"],
                   cost_usd=row["cost (USD)"], ended=row["ended"], attempt=row["attempt"],
                   label=row["label"])


async def record(client: PrefectClient, flow_run_id: UUID, rental: Rental) -> None:
    """Attach ``rental`` to the flow run as a ``gpu-cost`` table artifact."""
    await client.create_artifact(ArtifactCreate(
        key=ARTIFACT_KEY, type="table", flow_run_id=flow_run_id,
        data=json.dumps([rental.row()]),
        description=f"GPU machine {rental.provider}:{rental.instance_id}: "
                    f"${rental.cost_usd:.4f} for {rental.uptime_s:.0f} s ({rental.ended})"))


async def spent_usd(client: PrefectClient, flow_run_id: UUID) -> float:
    """What the flow run's earlier machines cost, in USD."""
    return sum(rental.cost_usd for rental in _parse(await client.read_artifacts(
        artifact_filter=_of(flow_run_id))))


def rentals(flow_run_id: UUID | str) -> list[Rental]:
    """Every machine the flow run rented (blocking; for flows and the report)."""
    with get_client(sync_client=True) as client:
        return _parse(client.read_artifacts(artifact_filter=_of(UUID(str(flow_run_id)))))


def actual_cost_usd(flow_run_id: UUID | str) -> float | None:
    """What the flow run's machines cost (price x uptime from the providers); None when it
    rented none (it ran on a process pool, or never started)."""
    found = rentals(flow_run_id)
    return sum(rental.cost_usd for rental in found) if found else None


def _of(flow_run_id: UUID) -> ArtifactFilter:
    return ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
                          key=ArtifactFilterKey(any_=[ARTIFACT_KEY]))


def _parse(artifacts) -> list[Rental]:
    found = []
    for artifact in artifacts:
        data = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
        found.extend(Rental.from_row(row) for row in data or [])
    return sorted(found, key=lambda rental: rental.attempt)
