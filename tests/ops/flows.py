"""A flow for the aima serve tests: a run that is still going when aima serve is stopped."""

from __future__ import annotations

import os
import time
from pathlib import Path

from prefect import flow


@flow(name="linger")
def linger(pid_file: str, seconds: float = 300.0) -> None:
    """Write this flow run's process id, then wait.

    Args:
        pid_file: Where to write the id of the process that runs the flow.
        seconds: How long to wait before finishing.
    """
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(seconds)
