"""What the RunPod and Vast.ai fakes share: the ledger of instances, faults, local processes.

:class:`FakeProvider` is a :class:`~tests.loopback_api.LoopbackAPI` (Starlette served by uvicorn on
127.0.0.1 in a thread) that checks ``Authorization: Bearer KEY``, records every request body in
:attr:`FakeProvider.requests` and keeps a :class:`Ledger`: one :class:`LedgerEntry` per instance
ever created, billed ``price x seconds`` from creation until terminated. The fake bills an instance
whose command has ended, or which was killed, until it is terminated, as a provider bills a machine
it still holds: only terminate stops the meter.

With ``run_commands=True`` each instance's command runs as a local process (``/bin/sh -c``) with
only the instance's environment (plus ``PATH``, ``HOME``, ``LANG`` and ``base_env``), in its own
directory under ``workdir``; :meth:`LedgerEntry.output` is what it printed.

Faults, each consumed by the requests it affects: :meth:`FakeProvider.fail_creates` (the next
creates answer an HTTP status), :meth:`FakeProvider.lose_create_replies` (the instance starts,
then the reply is a 503), :meth:`FakeProvider.rate_limit` (429 with ``Retry-After: 0``),
:meth:`FakeProvider.slow_down` (replies delayed past a client's timeout),
:meth:`FakeProvider.no_capacity_for` (an offer listed but not rentable),
:meth:`FakeProvider.kill` (the instance's process dies mid-run, as when a host is preempted) and
``echo_auth`` (error bodies quote the request's Authorization header, as a careless server might).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.loopback_api import LoopbackAPI


@dataclass
class LedgerEntry:
    provider: str
    instance_id: str
    label: str
    offer_id: str
    gpu_model: str
    gpu_count: int
    price_per_hour: float
    interruptible: bool
    image: str
    command: str
    env: dict[str, str]
    disk_gb: int
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    status: str = "running"  # running | exited | stopped | terminated
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def running(self) -> bool:
        """Still held, so still billed."""
        return self.ended_at is None

    @property
    def billed_seconds(self) -> float:
        return (self.ended_at or time.time()) - self.started_at

    @property
    def cost_usd(self) -> float:
        return self.price_per_hour * self.billed_seconds / 3600

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def wait(self, timeout: float = 30) -> int | None:
        """The command's exit status once it has ended (None without a process)."""
        return self.process.wait(timeout) if self.process is not None else None

    def refresh(self) -> None:
        if (self.status == "running" and self.process is not None
                and self.process.poll() is not None):
            self.status = "exited"


class Ledger:
    """Every instance a fake provider ever created, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, LedgerEntry] = {}

    def add(self, entry: LedgerEntry) -> None:
        with self._lock:
            self._entries[entry.instance_id] = entry

    def get(self, instance_id: str) -> LedgerEntry | None:
        with self._lock:
            entry = self._entries.get(str(instance_id))
        if entry is not None:
            entry.refresh()
        return entry

    def entries(self) -> list[LedgerEntry]:
        with self._lock:
            entries = list(self._entries.values())
        for entry in entries:
            entry.refresh()
        return entries

    def running(self) -> list[LedgerEntry]:
        """Instances still held (billed), whatever their command is doing."""
        return [entry for entry in self.entries() if entry.running]

    def labelled(self, label: str) -> list[LedgerEntry]:
        return [entry for entry in self.entries() if entry.label == label]

    @property
    def billed_seconds(self) -> float:
        return sum(entry.billed_seconds for entry in self.entries())

    @property
    def cost_usd(self) -> float:
        return sum(entry.cost_usd for entry in self.entries())


@dataclass
class Faults:
    create_statuses: list[int] = field(default_factory=list)
    lost_create_replies: int = 0
    rate_limited: int = 0
    slow_replies: int = 0
    slow_s: float = 0.0
    no_capacity: set[str] = field(default_factory=set)
    echo_auth: bool = False


class FakeProvider(LoopbackAPI):
    """The parts of a fake GPU provider that do not depend on its wire format."""

    provider = "fake"

    def __init__(self, *, api_key: str = "test-key", run_commands: bool = False,
                 workdir: Path | None = None, base_env: dict[str, str] | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.run_commands = run_commands
        self.workdir = workdir
        self.base_env = dict(base_env or {})
        self.ledger = Ledger()
        self.faults = Faults()
        self.requests: list[dict[str, Any]] = []
        if run_commands and workdir is None:
            raise ValueError("run_commands needs a workdir")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        for entry in self.ledger.entries():
            _stop_process(entry)
        super().stop()

    def __enter__(self) -> FakeProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- faults -------------------------------------------------------------------------------

    def fail_creates(self, times: int, status: int = 503) -> None:
        self.faults.create_statuses.extend([status] * times)

    def lose_create_replies(self, times: int = 1) -> None:
        self.faults.lost_create_replies += times

    def rate_limit(self, times: int) -> None:
        self.faults.rate_limited += times

    def slow_down(self, times: int, seconds: float) -> None:
        self.faults.slow_replies, self.faults.slow_s = times, seconds

    def no_capacity_for(self, *offer_ids: str) -> None:
        self.faults.no_capacity.update(str(offer_id) for offer_id in offer_ids)

    def kill(self, instance_id: str) -> None:
        """The instance's process dies (a preempted host); the instance stays billed."""
        entry = self.ledger.get(instance_id)
        _stop_process(entry, sig=signal.SIGKILL)
        entry.status = "exited"

    # --- for the wire-format subclasses ---------------------------------------------------------

    async def gate(self, request: Request, body: Any) -> Response | None:
        """Auth, then the faults that hit any request; None lets the request through."""
        self.requests.append({"method": request.method, "path": request.url.path,
                              "params": dict(request.query_params), "json": body})
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return self.error(request, 401, "Unauthorized")
        if self.faults.slow_replies > 0:
            self.faults.slow_replies -= 1
            await asyncio.sleep(self.faults.slow_s)
        if self.faults.rate_limited > 0:
            self.faults.rate_limited -= 1
            return self.error(request, 429, "Too Many Requests", headers={"Retry-After": "0"})
        return None

    def create_fault(self, request: Request) -> Response | None:
        if self.faults.create_statuses:
            status = self.faults.create_statuses.pop(0)
            return self.error(request, status, f"injected failure {status}")
        return None

    def take_lost_reply(self) -> bool:
        if self.faults.lost_create_replies > 0:
            self.faults.lost_create_replies -= 1
            return True
        return False

    def error(self, request: Request, status: int, message: str, **kwargs: Any) -> Response:
        if self.faults.echo_auth:
            message += f" (you sent Authorization: {request.headers.get('authorization')})"
        return JSONResponse({"success": False, "error": message, "msg": message}, status,
                            **kwargs)

    def start_instance(self, **fields: Any) -> LedgerEntry:
        entry = LedgerEntry(provider=self.provider, **fields)
        if self.run_commands:
            self._run(entry)
        self.ledger.add(entry)
        return entry

    def end_instance(self, entry: LedgerEntry, status: str = "terminated") -> None:
        _stop_process(entry)
        entry.status = status
        if status == "terminated" and entry.ended_at is None:
            entry.ended_at = time.time()

    def _run(self, entry: LedgerEntry) -> None:
        home = self.workdir / f"{self.provider}-{entry.instance_id}"
        home.mkdir(parents=True)
        entry.log_path = home / "output.log"
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
               "LANG": "C.UTF-8", **self.base_env, **entry.env}
        with entry.log_path.open("wb") as log:
            entry.process = subprocess.Popen(
                ["/bin/sh", "-c", entry.command], env=env, cwd=home, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def _stop_process(entry: LedgerEntry, sig: int = signal.SIGTERM) -> None:
    process = entry.process
    if process is None or process.poll() is not None:
        return
    inside = _descendants(process.pid)  # some start their own sessions (Prefect's engine)
    try:
        os.killpg(process.pid, sig)
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    except ProcessLookupError:
        pass
    for pid in inside:  # as when a container stops: nothing in it outlives the machine
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
