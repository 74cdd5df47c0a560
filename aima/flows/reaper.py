"""The ``gpu-reaper`` flow: terminate rented GPU machines that no flow run needs any more.

A GPU worker ends each machine with its flow run; a worker that was killed cannot. Every ten
minutes (deployment ``gpu-reaper/every-10-min`` on the CPU pool, which has the metadata database
for the audit log) this flow lists every AIMA-labelled machine at each provider that has an API
key here, and terminates those whose flow run is over, gone or on a later attempt, and those
older than ``max_age_hours`` (:mod:`aima.workers.orphans` says which and why). Each termination
is written to the audit log (``gpu.instance.terminated``, with the machine, its flow run, the
reason and the cost so far) and listed in the run's artifact.

Only the metadata database is opened (the audit log lives there): an embedded Milvus Lite file
admits one process at a time, and an analysis may hold it while the reaper runs.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client

from aima.blocks.providers import open_computes
from aima.settings import load_settings
from aima.storage import audit, open_metadata
from aima.workers.orphans import Orphan, Reaped, reap
from aima.workers.orphans import flow_run_owner as _owner  # shared with the exporter


@flow(name="gpu-reaper", flow_run_name="gpu-reaper", log_prints=True)
def gpu_reaper(max_age_hours: float = 8.0, dry_run: bool = False) -> dict:
    """Terminate AIMA's rented GPU machines whose flow run is over, or that are too old.

    Args:
        max_age_hours: A machine older than this is terminated whatever its run is doing; keep
            it above the GPU pools' instance_ttl_s (6 h by default), which the workers enforce.
        dry_run: Only list what would be terminated.
    """
    logger = get_run_logger()
    settings = load_settings()
    computes, _ = open_computes(settings)  # as the exporter lists them
    metadata = None
    try:
        if not computes:
            logger.info("no GPU provider has an API key here (AIMA_RUNPOD_API_KEY, "
                        "AIMA_VASTAI_API_KEY or their credentials blocks): nothing to reap")
            return {"checked": 0, "terminated": 0, "failed": 0}

        metadata = open_metadata(settings)

        def audited(orphan: Orphan) -> None:
            instance = orphan.instance
            audit.record(metadata, actor="gpu-reaper", action="gpu.instance.terminated",
                         details={"instance": instance.infrastructure_pid,
                                  "label": instance.label, "flow_run_id": orphan.flow_run_id,
                                  "reason": orphan.reason, "uptime_s": round(instance.uptime_s),
                                  "price_per_hour": instance.price_per_hour,
                                  "cost_usd": round(instance.cost_usd, 4)})

        with get_client(sync_client=True) as client:
            reaped = reap(computes, lambda flow_run_id: _owner(client, flow_run_id),
                          max_age_s=max_age_hours * 3600, on_terminated=audited, dry_run=dry_run)
        create_markdown_artifact(reaped_markdown(reaped, dry_run), key="gpu-reaper",
                                 description="GPU machines the reaper terminated")
        logger.info("%d AIMA machines checked, %d %s, %d problems", reaped.checked,
                    len(reaped.terminated), "to terminate" if dry_run else "terminated",
                    len(reaped.failed))
        if reaped.failed:
            raise RuntimeError(f"{len(reaped.failed)} problems (first: {reaped.failed[0]}); "
                               "the next run tries again")
        return {"checked": reaped.checked, "terminated": len(reaped.terminated),
                "failed": len(reaped.failed)}
    finally:
        for compute in computes.values():
            compute.close()
        if metadata is not None:
            metadata.dispose()


def reaped_markdown(reaped: Reaped, dry_run: bool = False) -> str:
    """The run's artifact: what was terminated and why."""
    verb = "would terminate" if dry_run else "terminated"
    lines = [f"# GPU reaper: {reaped.checked} AIMA machines checked, {len(reaped.terminated)} "
             f"{verb}", ""]
    if reaped.terminated:
        lines += ["| machine | flow run | uptime | cost | reason |", "|---|---|---:|---:|---|"]
        lines += [f"| {o.instance.infrastructure_pid} | {o.flow_run_id} | "
                  f"{o.instance.uptime_s:.0f} s | ${o.instance.cost_usd:.4f} | {o.reason} |"
                  for o in reaped.terminated]
    lines += [f"- problem: {problem}" for problem in reaped.failed]
    return "\n".join(lines)
