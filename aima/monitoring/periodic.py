"""A figure that is too costly to compute at every scrape: renewed at most once per interval.

The rented GPU machines (one request to each provider) and the failed flow runs (requests to
Prefect) are read at most once per ``AIMA_EXPORTER_LISTING_INTERVAL_S``; the scrapes in between
serve the last reading.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Every(Generic[T]):
    """``read()`` at the first call and again once ``interval_s`` has passed since the last
    reading (0: at every call). Concurrent scrapes share one reading: the first that finds the
    value stale renews it while the others wait for it. ``read`` must not raise."""

    def __init__(self, interval_s: float, read: Callable[[], T],
                 clock: Callable[[], float] = time.monotonic):
        self.interval_s = interval_s
        self._read = read
        self._clock = clock
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._value: T | None = None

    def current(self) -> T:
        with self._lock:
            if self._read_at is None or self._clock() - self._read_at >= self.interval_s:
                self._value = self._read()
                self._read_at = self._clock()
            return self._value  # type: ignore[return-value]
