"""The one machine-readable line every benchmark prints last: ``RESULT {json}``.

``python -m bench`` runs each benchmark in its own process and reads this line from its output
to fill the summary table (the headline ratio, what it compares, its target and whether it was
met) and the ``--json`` file. The human-readable figures stay above it, as before.

    RESULT {"ratio": 0.99, "ratio_of": "AIMA / direct faster-whisper, wall time",
            "target": "<= 1.10", "met": true, "figures": {"aima_s": 5.19, ...}}

``ratio`` is the benchmark's headline ratio against the baseline it measured in the same run;
``met`` is null where the benchmark has no target for it.
"""

from __future__ import annotations

import json
import math
from typing import Any

PREFIX = "RESULT "


def print_result(ratio: float | None, ratio_of: str, target: str | None = None,
                 met: bool | None = None, **figures: Any) -> None:
    """Print the ``RESULT`` line; ``figures`` are the benchmark's other headline numbers."""
    record = {"ratio": _number(ratio), "ratio_of": ratio_of, "target": target, "met": met,
              "figures": {name: _number(value) for name, value in figures.items()}}
    print(PREFIX + json.dumps(record, default=str), flush=True)


def print_skipped(reason: str) -> None:
    """Print the ``RESULT`` line of a benchmark that could not run here, saying why."""
    print(PREFIX + json.dumps({"skipped": reason}), flush=True)


def parse_result(output: str) -> dict[str, Any] | None:
    """The last ``RESULT`` line of a benchmark's output, decoded; None when it printed none."""
    for line in reversed(output.splitlines()):
        if line.startswith(PREFIX):
            return json.loads(line[len(PREFIX):])
    return None


def _number(value: Any) -> Any:
    """Round floats for reading; NaN and infinity become null (JSON has neither)."""
    if hasattr(value, "item"):  # a numpy scalar
        value = value.item()
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else None
    return value
