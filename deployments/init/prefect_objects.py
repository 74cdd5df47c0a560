"""The Prefect objects the stack's deployments need, made where missing: the process work pools
``aima-cpu`` and ``aima-gpu``, the global concurrency limit ``aima-gpu`` (GPU_CONCURRENCY stages at
once, default 1), AIMA's block types, and a block for each provider key that is given.

RUNPOD_API_KEY -> RunPod Credentials block ``aima-runpod``; VASTAI_API_KEY -> VastAI
Credentials block ``aima-vastai``; HF_TOKEN -> Secret block ``aima-hf-token``. A key that is not
given leaves its block as it is (keys can also be entered in the UI: Blocks). Keys are never
printed. The pools and the limit are made as ``aima serve`` makes them (its functions).
"""

from __future__ import annotations

import os

from prefect.blocks.system import Secret
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate

from aima.blocks.providers import RUNPOD_BLOCK, VASTAI_BLOCK, RunPodCredentials, VastAICredentials
from aima.blocks.secrets import HF_TOKEN_BLOCK
from aima.serve import CPU_POOL, GPU_LIMIT, GPU_POOL, ensure_concurrency_limit, ensure_process_pool

BLOCK_TYPES = (RunPodCredentials, VastAICredentials)
BLOCKS = (
    ("RUNPOD_API_KEY", RUNPOD_BLOCK, lambda key: RunPodCredentials(api_key=key)),
    ("VASTAI_API_KEY", VASTAI_BLOCK, lambda key: VastAICredentials(api_key=key)),
    ("HF_TOKEN", HF_TOKEN_BLOCK, lambda key: Secret(value=key)),
)


def main() -> None:
    limit = int(os.environ.get("GPU_CONCURRENCY", "1"))
    with get_client(sync_client=True) as client:
        for pool in (CPU_POOL, GPU_POOL):
            created = ensure_process_pool(client, pool, worker=False)
            print(f"work pool {pool} {'created' if created else 'exists'}")
        if ensure_concurrency_limit(client, GPU_LIMIT, limit) != limit:
            client.update_global_concurrency_limit(
                GPU_LIMIT, GlobalConcurrencyLimitUpdate(limit=limit))
        print(f"global concurrency limit {GPU_LIMIT}: {limit} GPU stage(s) at once")
    for block_type in BLOCK_TYPES:
        block_type.register_type_and_schema()
    print("block types registered: " + ", ".join(b.get_block_type_name() for b in BLOCK_TYPES))
    for variable, name, make in BLOCKS:
        if value := os.environ.get(variable, "").strip():
            make(value).save(name, overwrite=True)
            print(f"block {name} saved from {variable}")
        else:
            print(f"{variable} not given: block {name} left as it is")


if __name__ == "__main__":
    main()
