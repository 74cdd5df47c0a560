"""docker-compose.yml is right by construction: Docker is not on our machines, so the file is
checked by `docker-compose config` (Debian package docker-compose) and by the rules it promises.

- every AIMA_* variable is a real setting, every PREFECT_* one a real Prefect setting;
- every URL names a service of the file, on a network both share, at a port it exposes;
- every long-running service has a health check, every dependency waits for it to be healthy
  (or, for a one-shot service, to have completed);
- nothing but the gateway publishes a port; no secret has a default; data is in named volumes;
- the gateway routes only to services it can reach, and the Prefect UI is reachable only
  through it; the UI's calls that create flow runs or write labels go through the run-labelling
  gateway (aima/gateway.py), nothing else does;
- images build from files that exist and run as an unprivileged user.

And what the stack runs at its start does what it says: PostgreSQL's first-start script makes
one user per database and a read-only monitor; the init service registers pools, the GPU
concurrency limit, blocks and deployments with Prefect's auth string, and can run again.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from aima.errors import StoreUnavailable
from aima.monitoring.figures import read_figures
from aima.settings import Settings
from aima.storage.database import Database
from tests.monitoring.casedata import fill_case
from tests.services import BIN, PostgresServer, free_port

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
TRAEFIK = ROOT / "deployments" / "traefik"
GATEWAY = "traefik"
# Optional keys of third-party services: empty means "not configured", never a working default.
OPTIONAL_SECRETS = {"RUNPOD_API_KEY", "VASTAI_API_KEY", "HF_TOKEN"}
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?:(:\?|:-|\?|-)([^}]*))?\}")


def is_secret(name: str) -> bool:
    """Passwords, keys, tokens, auth strings; an access key id names a user and is no secret."""
    return bool(re.search(r"PASSWORD|SECRET|AUTH_STRING|_KEY$|TOKEN|_AUTH$", name)) and not (
        name.endswith("ACCESS_KEY"))


def raw() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def interpolate(text: str, values: dict[str, str]) -> str:
    """Compose's variable substitution, for the forms this file uses."""
    def substitute(match: re.Match) -> str:
        name, operator, default = match.group(1), match.group(2), match.group(3)
        value = values.get(name, "")
        if operator == ":?" and not value:
            raise AssertionError(f"{name} is required: {default}")
        return value if value or operator != ":-" else default

    return INTERPOLATION.sub(substitute, text.replace("$$", "\0")).replace("\0", "$")


def read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines()
             if line and not line.startswith("#") and "=" in line)
    return {name: value for name, value in pairs}


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Path:
    """A folder with the .env and secrets/ that deployments/make-secrets.sh writes."""
    folder = tmp_path_factory.mktemp("stack")
    subprocess.run([str(ROOT / "deployments" / "make-secrets.sh"), str(folder)], check=True,
                   capture_output=True, timeout=120)
    return folder


@pytest.fixture(scope="module")
def services(stack) -> dict[str, dict]:
    """The services with the variables of the generated .env substituted."""
    return yaml.safe_load(interpolate(COMPOSE.read_text(), read_env(stack / ".env")))["services"]


def docker_compose(*args: str, env_file: Path) -> subprocess.CompletedProcess:
    tool = shutil.which("docker-compose")
    assert tool, "docker-compose is missing: scripts/bootstrap installs it (Debian docker-compose)"
    return subprocess.run([tool, "--env-file", str(env_file), "-f", str(COMPOSE), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def one_shot(service: dict) -> bool:
    return service.get("restart") == "on-failure"


def networks(service: dict) -> set[str]:
    return set(service.get("networks") or ["default"])


def environment(service: dict) -> dict[str, str]:
    return {name: str(value) for name, value in (service.get("environment") or {}).items()}


# --- docker-compose itself ------------------------------------------------------------------


def test_docker_compose_accepts_the_file_with_every_profile(stack):
    result = docker_compose("--profile", "gpu", "--profile", "monitoring", "config", "-q",
                            env_file=stack / ".env")
    assert result.returncode == 0, result.stderr


def test_the_stack_refuses_to_start_without_its_secrets():
    example = read_env(ROOT / ".env.example")
    referenced = {m.group(1) for m in INTERPOLATION.finditer(COMPOSE.read_text())}
    assert referenced <= set(example), f".env.example lacks {referenced - set(example)}"
    assert not [name for name in referenced if is_secret(name) and example[name]]

    result = docker_compose("config", "-q", env_file=ROOT / ".env.example")

    assert result.returncode != 0
    assert "in .env" in result.stderr  # the message of a `${NAME:?set NAME in .env}`


# --- settings in step -------------------------------------------------------------------------


def test_every_aima_variable_is_a_real_setting_and_names_server_stores(services, monkeypatch):
    known = {"AIMA_" + name.upper() for name in Settings.model_fields} | {
        "AIMA_S3__" + name.upper() for name in Settings.model_fields["s3"].annotation.model_fields}
    with_stores = 0
    for name, service in services.items():
        env = environment(service)
        unknown = {v for v in env if v.startswith("AIMA_")} - known
        assert not unknown, f"{name} sets unknown settings: {unknown}"
        if "AIMA_DATABASE_URL" in env:
            for variable in list(os.environ):
                if variable.startswith("AIMA_"):
                    monkeypatch.delenv(variable)
            for variable, value in env.items():
                monkeypatch.setenv(variable, value)
            settings = Settings(_env_file=None)
            assert not settings.uses_embedded_stores, name
            assert settings.gpu_concurrency_limit == "aima-gpu"
            with_stores += 1
    assert with_stores >= 3  # worker-cpu, init, aima-exporter


def test_every_prefect_variable_is_a_real_prefect_setting(services):
    from prefect.settings import Settings as PrefectSettings
    from prefect.settings.legacy import _get_valid_setting_names

    known = _get_valid_setting_names(PrefectSettings)
    # prefect-redis's own settings (prefect_redis.client.RedisMessagingSettings), not in Prefect.
    known |= {f"PREFECT_REDIS_MESSAGING_{f}" for f in ("HOST", "PORT", "DB", "USERNAME",
                                                       "PASSWORD", "SSL", "URL")}
    for name, service in services.items():
        unknown = {v for v in environment(service) if v.startswith("PREFECT_")} - known
        assert not unknown, f"{name} sets unknown Prefect settings: {unknown}"


def endpoints(value: str) -> list[tuple[str, int | None]]:
    """(host, port) of a URL (scheme://...; s3://BUCKET names none) or of a host:port value."""
    if "://" in value:
        parts = urlsplit(value)
        return [(parts.hostname, parts.port)] if parts.hostname and parts.scheme != "s3" else []
    return [(m.group(1), int(m.group(2))) for m in
            re.finditer(r"(?:^|,)([a-z][a-z0-9-]*):(\d+)(?=/|,|$)", value)]


def test_every_url_names_a_service_on_a_shared_network_at_an_exposed_port(services):
    def exposed(service: str) -> set[int]:
        return {int(p) for p in services[service].get("expose", [])}

    checked = 0
    for name, service in services.items():
        env = environment(service)
        if "PREFECT_REDIS_MESSAGING_HOST" in env:
            host, port = env["PREFECT_REDIS_MESSAGING_HOST"], env["PREFECT_REDIS_MESSAGING_PORT"]
            env["redis"] = f"{host}:{port}"
        for variable, value in env.items():
            for host, port in endpoints(value):
                if "." in host or host == "localhost":
                    continue  # the public host name, or the service itself
                assert host in services, f"{name}: {variable} names no service: {host}"
                assert networks(service) & networks(services[host]), f"{name} cannot reach {host}"
                assert port in exposed(host), f"{name}: {variable}: {host} exposes no port {port}"
                checked += 1
    assert checked >= 20


# --- health, dependencies, ports, secrets, volumes ----------------------------------------------


def test_every_service_is_health_checked_and_every_dependency_waits_for_it():
    services = raw()["services"]
    for name, service in services.items():
        check = service.get("healthcheck", {})
        if one_shot(service):
            assert check == {"disable": True}, f"one-shot {name}: dependents wait for its end"
        else:
            assert service.get("restart") == "unless-stopped", name
            assert check.get("test") and not check.get("disable"), f"{name} has no health check"
        dependencies = service.get("depends_on", {})
        assert isinstance(dependencies, dict), f"{name}: depends_on needs conditions"
        for dependency, how in dependencies.items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            expected = ("service_completed_successfully" if one_shot(services[dependency])
                        else "service_healthy")
            assert how == {"condition": expected}, f"{name} -> {dependency}: {how}"
            if not service.get("profiles"):
                assert not services[dependency].get("profiles"), f"{name} needs a profile's service"


def test_only_the_gateway_publishes_ports_and_it_publishes_its_entry_points():
    services = raw()["services"]
    assert {name for name, s in services.items() if s.get("ports")} == {GATEWAY}
    static = yaml.safe_load((TRAEFIK / "traefik.yml").read_text())
    entry_ports = {int(e["address"].rsplit(":", 1)[1]) for n, e in static["entryPoints"].items()
                   if n != "internal"}
    published = {int(p.split(":")[0]) for p in services[GATEWAY]["ports"]}
    assert published == entry_ports


def test_no_secret_has_a_default_or_a_literal_value():
    text = COMPOSE.read_text()
    for match in INTERPOLATION.finditer(text):
        name, operator, default = match.groups()
        if not is_secret(name):
            continue
        if name in OPTIONAL_SECRETS:
            assert operator == ":-" and default == "", f"{match.group(0)}: optional, empty default"
        else:
            assert operator == ":?", f"{match.group(0)} would start without the secret"
    for service_name, service in raw()["services"].items():
        for variable, value in environment(service).items():
            if is_secret(variable):
                assert "${" in value, f"{service_name}: {variable} has a literal value"
            for part in re.findall(r"://([^@/\s]+)@", value):
                assert ":${" in part, f"{service_name}: {variable} has a literal password"


def test_data_lives_in_named_volumes_and_host_files_are_read_only(services):
    compose = raw()
    used = set()
    for name, service in services.items():
        for mount in service.get("volumes", []):
            source, target, *mode = mount.split(":")
            if source.startswith((".", "/")):
                assert mode == ["ro"], f"{name}: host path {source} must be mounted read-only"
            else:
                assert source in compose["volumes"], f"{name}: undeclared volume {source}"
                used.add(source)
    assert used == set(compose["volumes"])


# --- gateway ----------------------------------------------------------------------------------


def test_the_gateway_routes_only_to_services_it_can_reach(services):
    static = yaml.safe_load((TRAEFIK / "traefik.yml").read_text())
    dynamic = yaml.safe_load((TRAEFIK / "dynamic" / "gateway.yml").read_text())["http"]
    gateway = services[GATEWAY]
    mounted = {f"/run/secrets/{name}" for name in gateway["secrets"]}
    for name, router in dynamic["routers"].items():
        assert set(router["entryPoints"]) <= set(static["entryPoints"]), name
        assert router["service"] in dynamic["services"], name
        assert set(router.get("middlewares", [])) <= set(dynamic["middlewares"]), name
        if "people" in router.get("middlewares", []):
            # a client cannot send its own identity: it is dropped before the login sets it
            chain = router["middlewares"]
            assert chain.index("no-client-identity") < chain.index("people"), name
    for name, service in dynamic["services"].items():
        for server in service["loadBalancer"]["servers"]:
            host, port = endpoints(server["url"])[0]
            assert host in services, f"route {name} names no service: {host}"
            assert networks(gateway) & networks(services[host]), f"gateway cannot reach {host}"
            assert str(port) in services[host]["expose"], f"{host} exposes no port {port}"
    people = dynamic["middlewares"]["people"]["basicAuth"]
    certificate = yaml.safe_load((TRAEFIK / "dynamic" / "gateway.yml").read_text())["tls"]
    default = certificate["stores"]["default"]["defaultCertificate"]
    assert {people["usersFile"], default["certFile"], default["keyFile"]} <= mounted


def test_the_prefect_ui_is_reachable_only_through_the_gateway(services):
    """prefect-ui serves the API without an auth string: no AIMA process may reach it."""
    ui = networks(services["prefect-ui"])
    reach = {name for name, s in services.items() if networks(s) & ui and name != "prefect-ui"}
    # aima-gateway: Traefik's only way to it is edge; it holds the auth string of prefect-server.
    assert reach == {GATEWAY, "prometheus", "prefect-server", "prefect-services", "prefect-migrate",
                     "postgres", "redis", "minio", "grafana", "aima-gateway"}
    assert "PREFECT_SERVER_API_AUTH_STRING" in environment(services["prefect-server"])
    for name in ("worker-cpu", "worker-gpu", "init", "aima-exporter"):
        assert not networks(services[name]) & ui, name


def routed_to(entry_point: str, method: str, path: str) -> str | None:
    """The service Traefik sends a request to: of the routers of the entry point whose rule
    matches, the one of highest priority (by default the length of its rule)."""
    routers = yaml.safe_load((TRAEFIK / "dynamic" / "gateway.yml").read_text())["http"]["routers"]
    matchers = {"Method": lambda value: method == value, "Path": lambda value: path == value,
                "PathPrefix": lambda value: path.startswith(value),
                "PathRegexp": lambda value: re.search(value, path) is not None}

    def matches(rule: str) -> bool:
        expression = re.sub(r"(\w+)\(`([^`]*)`\)",
                            lambda m: str(matchers[m.group(1)](m.group(2))), rule)
        expression = expression.replace("&&", " and ").replace("||", " or ")
        assert not re.sub(r"True|False|and|or|[()\s]", "", expression), f"unknown in {rule}"
        return eval(expression, {"__builtins__": {}})  # only True, False, and, or, parentheses

    candidates = [r for r in routers.values() if entry_point in r["entryPoints"]
                  and matches(r["rule"])]
    best = max(candidates, key=lambda r: r.get("priority", len(r["rule"])), default=None)
    return best and best["service"]


def test_people_create_flow_runs_only_through_the_run_labelling_gateway():
    from aima.gateway import ROUTES, UI_API_PREFIX

    routers = yaml.safe_load((TRAEFIK / "dynamic" / "gateway.yml").read_text())["http"]["routers"]
    (labelling,) = [r for r in routers.values() if r["service"] == "aima-gateway"]
    assert labelling["middlewares"] == routers["prefect-ui"]["middlewares"]
    run_id = "0b7a4c56-2d8e-4f35-9b1a-3c2d1e0f9a87"
    for method, path, _ in ROUTES:
        path = UI_API_PREFIX + path.replace("{id}", run_id)
        for variant in (path, path.rstrip("/"), path.rstrip("/") + "/"):
            assert routed_to("websecure", method, variant) == "aima-gateway", (method, variant)
        assert routed_to("prefect-api", method, path) == "prefect-api"  # machines: straight
    for method, path in (("GET", "/"), ("GET", f"/api/flow_runs/{run_id}"),
                         ("POST", "/api/flow_runs/filter"), ("POST", "/api/deployments/filter"),
                         ("POST", f"/api/flow_runs/{run_id}/set_state"),
                         ("PATCH", f"/api/deployments/{run_id}"),
                         ("GET", f"/api/deployments/{run_id}/create_flow_run")):
        assert routed_to("websecure", method, path) == "prefect-ui", (method, path)
    assert routed_to("websecure", "POST", "/grafana/api/ds/query") == "grafana"


# --- images -----------------------------------------------------------------------------------


def stages(dockerfile: Path) -> list[str]:
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    return re.split(r"(?m)^FROM\s", text)[1:]


def test_images_build_from_files_that_exist_and_run_unprivileged():
    for name, service in raw()["services"].items():
        if "build" in service:
            build = service["build"]  # compose reads the Dockerfile relative to the context
            dockerfile = ROOT / build["context"] / build.get("dockerfile", "Dockerfile")
            assert dockerfile.is_file(), f"{name}: {dockerfile} is missing"
    worker = stages(ROOT / "deployments" / "Dockerfile")
    assert len(worker) >= 2, "multi-stage: compilers stay in the build stage"
    final = worker[-1]
    assert "build-essential" not in final and "gcc" not in final
    assert re.search(r"(?m)^USER\s+(?!root)\w+", final) and re.search(r"(?m)^HEALTHCHECK\s", final)
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    for source in re.findall(r"(?m)^COPY\s+(?!--from)(.+)\s+\S+$", "".join(worker)):
        for path in source.split():
            assert (ROOT / path).exists(), f"deployments/Dockerfile copies missing {path}"
            assert path.split("/")[0] not in ignored
    server = stages(ROOT / "deployments" / "prefect" / "Dockerfile")[-1]
    assert re.search(r"(?m)^USER\s+(?!root)\w+", server)
    assert "prefect==3.8.8" in (ROOT / "pyproject.toml").read_text()
    assert "prefecthq/prefect:3.8.8-" in server and "prefect==3.8.8" in server


# --- what the stack runs at its first start ---------------------------------------------------


@pytest.fixture
def fresh_postgres(request) -> PostgresServer:
    """A PostgreSQL of its own, as new as the stack's on its first start."""
    server = PostgresServer()
    request.addfinalizer(server.stop)
    return server.start()


def test_postgres_first_start_makes_one_user_per_database_and_a_read_only_monitor(
        fresh_postgres, services):
    env = services["postgres"]["environment"]
    script = ROOT / "deployments" / "postgres" / "init-databases.sh"
    subprocess.run(
        ["bash", str(script)], check=True, capture_output=True, timeout=60,
        env={**os.environ, **env, "PATH": f"{fresh_postgres._bin}:{os.environ['PATH']}",
             "POSTGRES_USER": fresh_postgres.user, "PGHOST": "127.0.0.1",
             "PGPORT": str(fresh_postgres.port), "PGPASSWORD": fresh_postgres.password})

    def url(user: str, variable: str, database: str) -> str:
        where = f"127.0.0.1:{fresh_postgres.port}/{database}"
        return f"postgresql+psycopg://{user}:{env[variable]}@{where}"

    # AIMA's URL in the compose file names the user and database that the script made.
    worker_url = urlsplit(environment(services["worker-cpu"])["AIMA_DATABASE_URL"])
    assert (worker_url.username, worker_url.password, worker_url.path) == (
        "aima", env["DB_PASSWORD_AIMA"], "/aima")
    aima = Database(url("aima", "DB_PASSWORD_AIMA", "aima"))  # migrates, as AIMA does
    fill_case(aima)
    monitor = Database(url("aima_monitor", "DB_PASSWORD_MONITOR", "aima"), migrate=False)
    assert read_figures(monitor).queue_depth == 2  # reads every table migrations made
    with pytest.raises(ProgrammingError, match="permission denied"), monitor.session() as session:
        session.execute(text("DELETE FROM jobs"))
    for user, variable, database in (("prefect", "DB_PASSWORD_PREFECT", "aima"),
                                     ("aima", "DB_PASSWORD_AIMA", "prefect")):
        with pytest.raises(StoreUnavailable):
            Database(url(user, variable, database), migrate=False)
    prefect = create_engine(url("prefect", "DB_PASSWORD_PREFECT", "prefect"))
    with prefect.begin() as connection:  # the Prefect server's migrations make tables
        connection.execute(text("CREATE TABLE made_by_prefect (id integer)"))
    for database in (aima, monitor):
        database.dispose()
    prefect.dispose()


@pytest.fixture
def prefect_with_auth(tmp_path) -> tuple[str, str]:
    """A Prefect server that, like the stack's prefect-server, wants an auth string."""
    auth = "aima-worker:" + secrets.token_hex(8)
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "server"),
           "PREFECT_SERVER_API_AUTH_STRING": auth, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port),
         "--no-services"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while not _healthy(api):
            assert server.poll() is None, "the Prefect server exited"
            assert time.monotonic() < deadline, "the Prefect server did not answer in 120 s"
            time.sleep(0.5)
        yield api, auth
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def run_init(api: str, auth: str, data: Path, **extra: str) -> str:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "AIMA_PROJECT_DIR": str(ROOT),
           "AIMA_DATA_DIR": str(data), "AIMA_DATABASE_URL": f"sqlite:///{data / 'aima.db'}",
           "PREFECT_HOME": str(data / "client"), "PREFECT_API_URL": api,
           "PREFECT_API_AUTH_STRING": auth, **extra}
    result = subprocess.run([str(ROOT / "deployments" / "init" / "init-stack.sh")], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def test_init_registers_pools_limit_blocks_and_deployments_and_runs_again(
        prefect_with_auth, tmp_path):
    from prefect.blocks.system import Secret
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings
    from prefect.utilities.importtools import import_object

    from aima.blocks.providers import RunPodCredentials

    api, auth = prefect_with_auth
    keys = {"RUNPOD_API_KEY": "rp-" + secrets.token_hex(8),
            "HF_TOKEN": "hf_" + secrets.token_hex(8)}
    first = run_init(api, auth, tmp_path, GPU_CONCURRENCY="2", **keys)
    again = run_init(api, auth, tmp_path, GPU_CONCURRENCY="3")  # e.g. after an upgrade

    for output in (first, again):
        assert auth.split(":")[1] not in output
        assert not any(key in output for key in keys.values())
    assert "work pool aima-cpu exists" in again
    assert httpx.post(f"{api}/work_pools/filter", json={}).status_code == 401  # no auth string
    project = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    expected = {f"{import_object(d['entrypoint']).name}/{d['name']}"
                for d in project["deployments"]}
    with temporary_settings({PREFECT_API_URL: api, PREFECT_API_AUTH_STRING: auth}):
        with get_client(sync_client=True) as client:
            pools = {pool.name: pool.type for pool in client.read_work_pools()}
            limit = client.read_global_concurrency_limit_by_name("aima-gpu")
            deployments = {f"{client.read_flow(d.flow_id).name}/{d.name}"
                           for d in client.read_deployments()}
            blocks = {name: client.read_block_document_by_name(
                name, block_type.get_block_type_slug(), include_secrets=True).data
                for name, block_type in (("aima-runpod", RunPodCredentials),
                                         ("aima-hf-token", Secret))}
    assert pools == {"aima-cpu": "process", "aima-gpu": "process"}
    assert {d["work_pool"]["name"] for d in project["deployments"]} <= set(pools)
    assert limit.limit == 3
    assert deployments == expected
    assert blocks["aima-runpod"]["api_key"] == keys["RUNPOD_API_KEY"]  # kept by the second run
    assert blocks["aima-hf-token"]["value"] == keys["HF_TOKEN"]
    assert Database(f"sqlite:///{tmp_path / 'aima.db'}", migrate=False).current_revision()
