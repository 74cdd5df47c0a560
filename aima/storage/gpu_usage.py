"""GPU usage: one row per wave of GPU work, with its seconds and its cost, for monitoring.

The ``analyze-media`` flow records each wave it sent to a GPU pool (the ``gpu-analysis`` run's
wall time, the estimate, and the actual cost: the provider's bill where it rented a machine, else
wall time times the price per machine-hour). The exporter (:mod:`aima.monitoring.figures`) sums the
rows by pool. A row outlives its case: a purge only clears its ``case_id``, as spend is billing,
not case data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Literal

from aima.storage.database import Database
from aima.storage.models import GpuRun

ActualSource = Literal["provider", "wall time"]
ACTUAL_SOURCES: tuple[str, ...] = ("provider", "wall time")


def record_gpu_run(
    metadata: Database,
    *,
    case_id: uuid.UUID | str | None,
    flow_run_id: uuid.UUID | str | None,
    pool: str,
    pool_type: str,
    stages: Iterable[str],
    gpu_seconds: float,
    estimated_usd: float,
    actual_usd: float,
    actual_source: ActualSource,
) -> None:
    """Append one GPU wave in its own transaction."""
    if actual_source not in ACTUAL_SOURCES:
        raise ValueError(f"actual_source must be one of {ACTUAL_SOURCES}, got {actual_source!r}")
    if gpu_seconds < 0 or estimated_usd < 0 or actual_usd < 0:
        raise ValueError("GPU seconds and costs cannot be negative")
    with metadata.session() as session:
        session.add(
            GpuRun(
                case_id=uuid.UUID(str(case_id)) if case_id is not None else None,
                flow_run_id=str(flow_run_id) if flow_run_id is not None else None,
                pool=pool,
                pool_type=pool_type,
                stages=sorted(set(stages)),
                gpu_seconds=float(gpu_seconds),
                estimated_usd=float(estimated_usd),
                actual_usd=float(actual_usd),
                actual_source=actual_source,
            )
        )
