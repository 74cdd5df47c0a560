"""Child processes that are started together and stopped together, leaving nothing behind.

``aima serve`` runs a Prefect server and workers as children. Each child starts in a process
group of its own, so that a terminal's Ctrl-C reaches only ``aima serve``, which then stops the
children in order. A child is stopped with SIGINT to its whole group (Prefect's server and workers
shut down cleanly on it), and with SIGKILL after a grace period. Flow-run processes that a worker
started in sessions of their own are not in its group: they are found as the child's descendants
(psutil) and stopped first, with SIGTERM, so that they report themselves Crashed (and can be
retried) instead of staying Running on the server.

Every child is started through ``env --default-signal=INT``: a process started from a
non-interactive shell in the background inherits SIGINT as ignored, and Prefect's worker then
needs two SIGTERMs to stop (FACTS.md, Prefect 3).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

RESET_SIGINT = ["env", "--default-signal=INT"]


@dataclass
class Child:
    """One started child process and the file its output goes to."""

    name: str
    process: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 40) -> str:
        """The last lines of the child's output, for error messages."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no output)"
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"


class ChildExited(RuntimeError):
    """A child that should run until stopped has exited."""

    def __init__(self, child: Child):
        self.child = child
        super().__init__(
            f"{child.name} exited with status {child.process.returncode}; its last output "
            f"({child.log}):\n{child.tail()}"
        )


class Stopped(Exception):
    """SIGINT or SIGTERM arrived (see :func:`stop_on_signals`)."""


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise :class:`Stopped` naming the signal."""

    def stop(signum, _frame):
        raise Stopped(signal.Signals(signum).name)

    with _handlers(stop):
        yield


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM are ignored: a second Ctrl-C must not cut the
    stopping of the children short."""
    with _handlers(signal.SIG_IGN):
        yield


@contextlib.contextmanager
def _handlers(handler) -> Iterator[None]:
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class Children:
    """The children of one ``aima serve``, stopped in reverse order of their start."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[Child] = []

    def start(self, name: str, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> Child:
        """Start ``argv`` in a process group of its own, its output appended to
        ``<log_dir>/<name>.log``."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [*RESET_SIGINT, *argv], env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        child = Child(name, process, log)
        self.started.append(child)
        return child

    def run(self, name: str, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path,
            timeout_s: float) -> Child:
        """Start ``argv`` and wait for it to finish; the caller checks its return code."""
        child = self.start(name, argv, env=env, cwd=cwd)
        try:
            child.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            stop(child, grace_s=5)
            raise
        self.started.remove(child)  # finished: nothing left to stop or watch
        return child

    def check(self) -> None:
        """Raise :class:`ChildExited` when a long-running child has stopped on its own."""
        for child in self.started:
            if not child.running():
                raise ChildExited(child)

    def stop_all(self, grace_s: float, *, on_stop: Callable[[Child], None] | None = None) -> None:
        """Stop every child, newest first (workers before the server they talk to)."""
        for child in reversed(self.started):
            if on_stop is not None and _alive(child):
                on_stop(child)
            stop(child, grace_s)


def stop(child: Child, grace_s: float) -> None:
    """Stop the child and everything it started; return once none of them runs.

    First SIGTERM to the process groups of its descendants that live in groups of their own
    (a worker's flow runs: on SIGTERM a flow run reports itself Crashed, which it can only do
    while its worker and the server still run), then SIGINT to the child's own group, and
    SIGKILL to whatever still runs ``grace_s`` seconds after the start."""
    deadline = time.monotonic() + grace_s
    descendants = _descendants(child.pid)
    apart = [p for p in descendants if _group_of(p) not in (child.pid, None)]
    own_groups = {_group_of(p) for p in apart} - {None}
    for group in own_groups:
        _signal_group(group, signal.SIGTERM)
    _wait_until(lambda: all(_gone(p) for p in apart), deadline)
    _signal_group(child.pid, signal.SIGINT)
    if not _wait_until(lambda: _gone_all(child, descendants), deadline):
        for group in (*own_groups, child.pid):
            _signal_group(group, signal.SIGKILL)
        for process in descendants:
            _send(process, signal.SIGKILL)
        _wait_until(lambda: _gone_all(child, descendants), time.monotonic() + 10)
    child.process.poll()


def _alive(child: Child) -> bool:
    return child.running() or _group_exists(child.pid)


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _group_of(process: psutil.Process) -> int | None:
    try:
        return os.getpgid(process.pid)
    except ProcessLookupError:
        return None


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _send(process: psutil.Process, sig: int) -> None:
    try:
        process.send_signal(sig)
    except psutil.NoSuchProcess:
        pass


def _gone(process: psutil.Process) -> bool:
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _gone_all(child: Child, descendants: list[psutil.Process]) -> bool:
    child.process.poll()  # reaps the direct child once it exits
    return (not child.running() and not _group_exists(child.pid)
            and all(_gone(p) for p in descendants))


def _wait_until(done: Callable[[], bool], deadline: float) -> bool:
    while not done():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True
