"""``aima serve``: AIMA's Prefect side on one machine, started and stopped as one.

It starts a Prefect server (PostgreSQL when ``AIMA_PREFECT_DATABASE_URL`` is set, else SQLite under
the Prefect home), waits until it answers, creates the work pools that prefect.yaml names (process
pools; ``aima-cpu`` always) and the global concurrency limit ``aima-gpu`` that caps GPU stages,
registers prefect.yaml's deployments (``prefect deploy --all``), starts a process worker on
``aima-cpu`` (and on ``aima-gpu`` with ``--gpu-worker``), prints where the UI is and how to run a
deployment, and on Ctrl-C or SIGTERM stops all of it (:mod:`aima.ops.processes`).

What each child is given, and why:

- the server alone gets the database URL (``PREFECT_API_DATABASE_CONNECTION_URL``); it is never
  printed, and no worker or flow run sees it;
- workers and ``prefect deploy`` get ``PREFECT_API_URL`` of this server;
- the CPU worker gets an absolute ``AIMA_DATA_DIR``: a process worker runs each flow run in a
  temporary directory that it deletes afterwards, so a relative data directory would vanish
  with it;
- the GPU worker gets no store settings at all (database, documents, vectors, objects): the
  gpu-analysis flow reads and writes through presigned URLs that its parent passes it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console

from aima.errors import AimaError, ConfigError
from aima.ops.processes import (
    Child,
    ChildExited,
    Children,
    Stopped,
    signals_ignored,
    stop_on_signals,
)
from aima.settings import ENV_PREFIX, Settings, load_settings

CPU_POOL = "aima-cpu"
GPU_POOL = "aima-gpu"
GPU_LIMIT = "aima-gpu"
DEPLOY_TIMEOUT_S = 600.0
STOP_GRACE_S = 20.0

# Settings that reach a store: the GPU worker runs without them (see the module docstring).
STORE_SETTINGS = ("AIMA_DATABASE_URL", "AIMA_DOCUMENTS_URL", "AIMA_DOCUMENTS_DATABASE",
                  "AIMA_VECTORS_URL", "AIMA_OBJECTS_URL", "AIMA_S3__")
# The Prefect server's database: only the server process may see it.
SERVER_ONLY_SETTINGS = ("AIMA_PREFECT_DATABASE_URL", "PREFECT_API_DATABASE_",
                        "PREFECT_SERVER_DATABASE_")


class ServeError(AimaError):
    """``aima serve`` cannot start or keep running; the message says what to do."""


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 4200
    project_dir: Path = Path(".")
    gpu_worker: bool = False
    gpu_limit: int = 1
    startup_timeout_s: float = 120.0
    stop_grace_s: float = STOP_GRACE_S
    log_dir: Path | None = None

    @property
    def connect_host(self) -> str:
        """The address that clients on this machine use (a wildcard bind is not one)."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host

    @property
    def ui_url(self) -> str:
        return f"http://{self.connect_host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.ui_url}/api"


@dataclass
class Project:
    """The prefect.yaml that ``aima serve`` deploys, and the work pools its deployments use."""

    dir: Path
    pools: list[str] = field(default_factory=list)


def serve(
    gpu_worker: Annotated[bool, typer.Option(
        "--gpu-worker", help=f"Also start a process worker on the {GPU_POOL} pool, for the GPU "
        "stages on this machine's GPU (sets AIMA_GPU_POOL for the CPU worker's flow runs).",
    )] = False,
    host: Annotated[str, typer.Option(help="Address the Prefect server listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the Prefect server and its UI.")] = 4200,
    project_dir: Annotated[Path, typer.Option(
        help="Directory holding prefect.yaml (the AIMA checkout).")] = Path("."),
    gpu_limit: Annotated[int, typer.Option(
        min=1, help=f"Slots of the global concurrency limit {GPU_LIMIT} (GPU stages at once), "
        "when it is created.")] = 1,
    startup_timeout: Annotated[float, typer.Option(
        help="Seconds to wait for the server and the workers to come up.")] = 120.0,
) -> None:
    """Run a Prefect server with AIMA's work pools, deployments and workers on this machine.
    Ctrl-C stops all of it."""
    options = ServeOptions(host=host, port=port, project_dir=project_dir, gpu_worker=gpu_worker,
                           gpu_limit=gpu_limit, startup_timeout_s=startup_timeout)
    run(options, load_settings(), Console())


def run(options: ServeOptions, settings: Settings, console: Console) -> None:
    """Start everything, print where it is, and block until SIGINT or SIGTERM; then stop it all.
    Raises :class:`ServeError` when something cannot start or dies."""
    project = read_project(options.project_dir)
    check_port_free(options.host, options.port)
    log_dir = options.log_dir or _prefect_home() / "aima-serve"
    children = Children(log_dir)
    with stop_on_signals():
        try:
            _start(options, settings, project, children, console)
            while True:  # until a signal raises Stopped
                children.check()
                time.sleep(1.0)
        except Stopped as stop:
            console.print(f"[bold]{stop}[/]: stopping the workers and the server (what still "
                          f"runs after {options.stop_grace_s:.0f} s is killed)")
        except ChildExited as exc:
            raise ServeError(str(exc)) from None
        finally:
            with signals_ignored():
                children.stop_all(options.stop_grace_s,
                                  on_stop=lambda child: console.print(f"  stopping {child.name}"))
    console.print("stopped")


def _start(options: ServeOptions, settings: Settings, project: Project, children: Children,
           console: Console) -> None:
    env = _base_env()
    _start_server(options, settings, project, children, env, console)
    _create_pools_and_limit(options, project, console)
    deployments = _deploy(options, project, children, env, console)
    data_dir = settings.data_dir.expanduser().resolve()
    _start_workers(options, project, children, env, data_dir, console)
    _print_ready(console, options, deployments, data_dir, children.log_dir)


def _start_server(options: ServeOptions, settings: Settings, project: Project,
                  children: Children, env: dict[str, str], console: Console) -> None:
    server = children.start(
        "server", _prefect("server", "start", "--host", options.host, "--port", str(options.port)),
        env=_server_env(env, settings, options.api_url), cwd=project.dir)
    console.print(f"starting the Prefect server on {options.ui_url} "
                  f"({_describe_database(settings)}) ...")
    wait_healthy(options.api_url, server, options.startup_timeout_s)
    console.print("[green]✓[/] Prefect server healthy")


def _create_pools_and_limit(options: ServeOptions, project: Project, console: Console) -> None:
    polled = [CPU_POOL, *([GPU_POOL] if options.gpu_worker else [])]
    with _client(options.api_url) as client:
        for pool in dict.fromkeys([*polled, *project.pools]):
            created = ensure_process_pool(client, pool, worker=pool in polled)
            console.print(f"[green]✓[/] work pool {pool} "
                          f"{'created (type process)' if created else 'exists'}")
        limit = ensure_concurrency_limit(client, GPU_LIMIT, options.gpu_limit)
        console.print(f"[green]✓[/] global concurrency limit {GPU_LIMIT}: {limit} at once")


def _deploy(options: ServeOptions, project: Project, children: Children, env: dict[str, str],
            console: Console) -> list[str]:
    console.print(f"registering the deployments of {project.dir / 'prefect.yaml'} ...")
    try:
        deploy = children.run("deploy", _prefect("--no-prompt", "deploy", "--all"),
                              env=_client_env(env, options.api_url), cwd=project.dir,
                              timeout_s=DEPLOY_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ServeError(f"prefect deploy --all did not finish within {DEPLOY_TIMEOUT_S:.0f} s; "
                         f"its output is in {children.log_dir / 'deploy.log'}") from None
    if deploy.process.returncode != 0:
        raise ServeError(f"prefect deploy --all failed in {project.dir} (exit "
                         f"{deploy.process.returncode}); its last output ({deploy.log}):\n"
                         f"{deploy.tail()}")
    with _client(options.api_url) as client:
        deployments = deployment_names(client)
    console.print(f"[green]✓[/] deployments: {', '.join(deployments) or '(none)'}")
    return deployments


def _start_workers(options: ServeOptions, project: Project, children: Children,
                   env: dict[str, str], data_dir: Path, console: Console) -> None:
    client_env = _client_env(env, options.api_url)
    workers = {CPU_POOL: _cpu_worker_env(client_env, data_dir, options.gpu_worker)}
    if options.gpu_worker:
        workers[GPU_POOL] = _gpu_worker_env(client_env)
    started = [children.start(f"worker-{pool}", _prefect("worker", "start", "--pool", pool),
                              env=worker_env, cwd=project.dir)
               for pool, worker_env in workers.items()]
    with _client(options.api_url) as client:
        for pool, child in zip(workers, started):
            wait_worker_online(client, pool, child, options.startup_timeout_s)
            console.print(f"[green]✓[/] worker polling {pool}")


# --- checks before starting -------------------------------------------------------------------


def read_project(project_dir: Path) -> Project:
    """The directory's prefect.yaml and the work pools its deployments name."""
    path = project_dir.expanduser().resolve() / "prefect.yaml"
    if not path.is_file():
        raise ServeError(f"no prefect.yaml in {path.parent}: run aima serve in the AIMA checkout "
                         "or name it with --project-dir")
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ServeError(f"{path} is not valid YAML: {exc}") from None
    deployments = config.get("deployments") or []
    if not deployments:
        raise ServeError(f"{path} has no deployments to register")
    pools = [d["work_pool"]["name"] for d in deployments
             if isinstance(d.get("work_pool"), dict) and d["work_pool"].get("name")]
    return Project(dir=path.parent, pools=list(dict.fromkeys(pools)))


def check_port_free(host: str, port: int) -> None:
    """Fail early, naming the port, when something already listens on it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ServeError(f"cannot listen on {host}:{port} ({exc.strerror}): another program "
                             "(perhaps another aima serve or prefect server) uses it; stop it or "
                             "choose another --port") from None


# --- the server and its objects ----------------------------------------------------------------


def wait_healthy(api_url: str, server: Child, timeout_s: float) -> None:
    """Return once the server answers /health; raise with the tail of its log otherwise."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not server.running():
            raise ServeError(f"the Prefect server exited with status {server.process.returncode} "
                             f"while starting; its last output ({server.log}):\n{server.tail()}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise ServeError(f"the Prefect server did not become healthy within {timeout_s:.0f} s "
                     f"(--startup-timeout); its last output ({server.log}):\n{server.tail()}")


def ensure_process_pool(client, name: str, *, worker: bool) -> bool:
    """Create work pool ``name`` of type process unless it exists; True when created. A pool that
    exists with another type (e.g. runpod) is kept, unless this machine's worker is to poll it."""
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    try:
        pool = client.read_work_pool(name)
    except ObjectNotFound:
        client.create_work_pool(WorkPoolCreate(
            name=name, type=ProcessWorker.type,
            base_job_template=ProcessWorker.get_default_base_job_template(),
            description="Created by aima serve: flow runs in processes on this machine."))
        return True
    if worker and pool.type != ProcessWorker.type:
        raise ServeError(f"work pool {name} exists with type {pool.type}, but aima serve starts a "
                         f"process worker on it; delete it (prefect work-pool delete {name}) or "
                         "run that pool's own worker instead")
    return False


def ensure_concurrency_limit(client, name: str, limit: int) -> int:
    """Create the global concurrency limit unless it exists; returns the limit in force."""
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectNotFound

    try:
        return client.read_global_concurrency_limit_by_name(name).limit
    except ObjectNotFound:
        client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=name, limit=limit, active=True))
        return limit


def deployment_names(client) -> list[str]:
    """Every deployment on the server as ``flow/deployment``, the way ``prefect deployment run``
    names them."""
    flows = {f.id: f.name for f in client.read_flows()}
    return sorted(f"{flows.get(d.flow_id, '?')}/{d.name}" for d in client.read_deployments())


def wait_worker_online(client, pool: str, worker: Child, timeout_s: float) -> None:
    """Return once a worker of ``pool`` has sent its heartbeat."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not worker.running():
            raise ServeError(f"the {pool} worker exited with status {worker.process.returncode}; "
                             f"its last output ({worker.log}):\n{worker.tail()}")
        if any(w.status == "ONLINE" for w in client.read_workers_for_work_pool(pool)):
            return
        time.sleep(0.5)
    raise ServeError(f"no worker of {pool} came online within {timeout_s:.0f} s; its last output "
                     f"({worker.log}):\n{worker.tail()}")


@contextlib.contextmanager
def _client(api_url: str) -> Iterator:
    from prefect.client.orchestration import SyncPrefectClient

    with SyncPrefectClient(api_url) as client:
        yield client


# --- what each child sees -------------------------------------------------------------------


def _prefect(*args: str) -> list[str]:
    return [sys.executable, "-m", "prefect", *args]


def _base_env() -> dict[str, str]:
    """This process's environment without a Prefect API of its own (children use this server),
    with the AIMA settings of the ``.env`` file that AIMA read here: a worker runs each flow run
    in a directory of its own, where that file is not found."""
    env = {**_dotenv_settings(Path(".env")), **os.environ}  # the environment wins, as in AIMA
    env = {k: v for k, v in env.items() if k not in ("PREFECT_API_URL", "PREFECT_API_KEY")}
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # offline machines
    return env


def _dotenv_settings(path: Path) -> dict[str, str]:
    """The ``AIMA_*`` variables of a ``.env`` file (none when there is no such file)."""
    from dotenv import dotenv_values

    if not path.is_file():
        return {}
    return {name: value for name, value in dotenv_values(path).items()
            if name.upper().startswith(ENV_PREFIX) and value is not None}


def _server_env(env: dict[str, str], settings: Settings, api_url: str) -> dict[str, str]:
    server = dict(env)
    # The UI asks the server where its API is; Prefect's default ignores --port (it says 4200).
    if not _ui_api_url_set(env):
        server["PREFECT_UI_API_URL"] = api_url
    database = server_database_url(settings)
    if database is not None:
        server["PREFECT_API_DATABASE_CONNECTION_URL"] = database
    return server


def _client_env(env: dict[str, str], api_url: str) -> dict[str, str]:
    """For ``prefect deploy`` and the workers: this server's API, not its database."""
    client = {k: v for k, v in env.items() if not k.startswith(SERVER_ONLY_SETTINGS)}
    client["PREFECT_API_URL"] = api_url
    return client


def _ui_api_url_set(env) -> bool:
    return any(env.get(name) for name in ("PREFECT_UI_API_URL", "PREFECT_SERVER_UI_API_URL"))


def server_database_url(settings: Settings) -> str | None:
    """AIMA_PREFECT_DATABASE_URL with the driver Prefect needs (asyncpg); None when unset."""
    if settings.prefect_database_url is None:
        return None
    url = settings.prefect_database_url.get_secret_value()
    scheme, _, rest = url.partition("://") if "://" in url else ("", "", "")
    if scheme in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+asyncpg"):
        return f"postgresql+asyncpg://{rest}"
    if scheme == "sqlite+aiosqlite":
        return url
    got = f", got scheme {scheme!r}" if scheme else ""  # never echo the URL: it holds a password
    raise ConfigError("AIMA_PREFECT_DATABASE_URL",
                      f"expected postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DB{got}")


def _describe_database(settings: Settings) -> str:
    """Where the server keeps its data, without credentials."""
    from prefect.settings import get_current_settings
    from sqlalchemy.engine import make_url

    url = server_database_url(settings)
    if url is None:  # Prefect's own setting (environment or profile), SQLite by default
        own = get_current_settings().server.database.connection_url
        url = own.get_secret_value() if own is not None else ""
    try:
        parsed = make_url(url)
    except Exception:  # its message would show the URL
        return "the database of PREFECT_API_DATABASE_CONNECTION_URL"
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite in {parsed.database}"
    return f"PostgreSQL {parsed.host}:{parsed.port or 5432}/{parsed.database}"


def _cpu_worker_env(env: dict[str, str], data_dir: Path, gpu_worker: bool) -> dict[str, str]:
    worker = {**env, "AIMA_DATA_DIR": str(data_dir)}
    worker.setdefault("PREFECT_WORKER_ENABLE_CANCELLATION", "true")  # also cancels Pending runs
    worker.setdefault("AIMA_GPU_CONCURRENCY_LIMIT", GPU_LIMIT)
    if gpu_worker:
        worker.setdefault("AIMA_GPU_POOL", GPU_POOL)
    return worker


def _gpu_worker_env(env: dict[str, str]) -> dict[str, str]:
    worker = {k: v for k, v in env.items() if not k.startswith(STORE_SETTINGS)}
    worker.setdefault("PREFECT_WORKER_ENABLE_CANCELLATION", "true")
    return worker


def _prefect_home() -> Path:
    from prefect.settings import get_current_settings

    return Path(get_current_settings().home).expanduser()


# --- output ------------------------------------------------------------------------


def _print_ready(console: Console, options: ServeOptions, deployments: list[str],
                 data_dir: Path, log_dir: Path) -> None:
    example = next((d for d in deployments if d.startswith("analyze-media/")),
                   deployments[0] if deployments else "FLOW/DEPLOYMENT")
    params = ("--param case=demo --param 'sources=[\"/path/to/media\"]'"
              if example.startswith("analyze-media/") else "--param NAME=VALUE")
    console.print(
        f"\n[bold green]AIMA on Prefect is running.[/]\n"
        f"  Prefect UI   {options.ui_url}\n"
        f"  API          {options.api_url}  (export PREFECT_API_URL={options.api_url} for the "
        "prefect and aima commands)\n"
        f"  workers      {CPU_POOL}{f', {GPU_POOL}' if options.gpu_worker else ''}; flow runs "
        f"keep their data in {data_dir}\n"
        f"  logs         {log_dir}\n"
        f"Run a deployment: in the UI, Deployments > {example} > Run > Custom run; or\n"
        f"  PREFECT_API_URL={options.api_url} prefect deployment run '{example}' {params} "
        "--watch\n"
        "Ctrl-C stops the workers and the server.",
        highlight=False, soft_wrap=True)
    if options.connect_host != options.host and not _ui_api_url_set(os.environ):
        console.print("Listening on all interfaces: for the UI on other machines, start aima "
                      f"serve with PREFECT_UI_API_URL=http://THIS-HOST:{options.port}/api (the "
                      "address their browsers reach).", highlight=False, soft_wrap=True)


def main() -> None:
    """``python -m aima.serve``: the same command as ``aima serve``."""
    try:
        typer.run(serve)
    except AimaError as exc:
        Console(stderr=True).print(f"error: {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
