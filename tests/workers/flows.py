"""A tiny flow for the GPU worker tests, deployed by module entrypoint
(``tests.workers.flows:gpu_probe``) and run by the fake providers as the rented machine's command.

It leaves its traces in ``trace_dir`` (a directory of the test): ``env-<key>-<n>.json`` with the
environment the machine gave it, ``stage-<key>-<uuid>`` each time its first stage really computes
(a stored result skips it on a retry), and ``sleeping-<key>`` once it waits: up to ``sleep_s``
seconds while the file ``hold-<key>`` exists (a test holds the run there, then lets it go).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import INPUTS, TASK_SOURCE
from prefect.runtime import flow_run


@task(persist_result=True, cache_policy=INPUTS + TASK_SOURCE)
def first_stage(key: str, trace_dir: str) -> str:
    """Computes once per key: a retried run finds its stored result."""
    (Path(trace_dir) / f"stage-{key}-{uuid.uuid4().hex[:8]}").touch()
    return f"stage of {key} done"


@flow(name="gpu-probe")
def gpu_probe(key: str, trace_dir: str, sleep_s: float = 0.0) -> str:
    trace = Path(trace_dir)
    (trace / f"env-{key}-{flow_run.run_count}.json").write_text(json.dumps(dict(os.environ)))
    done = first_stage(key, trace_dir)
    (trace / f"sleeping-{key}").touch()
    deadline = time.monotonic() + sleep_s
    while (trace / f"hold-{key}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    return done
