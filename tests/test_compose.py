"""docker-compose.yml stays in step with the settings: every AIMA_* variable is a valid setting
and every store URL points at a service of the file on that service's published port."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import yaml

from aima.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def aima_env() -> dict[str, str]:
    env = compose()["services"]["aima"]["environment"]
    # ${VAR:-default} -> default
    return {k: v.split(":-", 1)[1].rstrip("}") if v.startswith("${") else v for k, v in env.items()}


def test_every_aima_variable_is_a_known_valid_setting(monkeypatch):
    env = aima_env()
    known = {"AIMA_" + name.upper() for name in Settings.model_fields} | {
        "AIMA_S3__" + name.upper() for name in Settings.model_fields["s3"].annotation.model_fields
    }
    unknown = {name for name in env if name.startswith("AIMA_")} - known
    assert not unknown, f"docker-compose.yml sets unknown settings: {unknown}"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert not settings.uses_embedded_stores


def test_store_urls_point_at_compose_services_and_their_ports():
    services = compose()["services"]
    env = aima_env()

    def published(service: str) -> set[int]:
        return {int(p.split(":")[-1]) for p in services[service].get("ports", [])}

    for variable in ("AIMA_DATABASE_URL", "AIMA_DOCUMENTS_URL", "AIMA_VECTORS_URL", "AIMA_S3__ENDPOINT"):
        parts = urlsplit(env[variable])
        assert parts.hostname in services, f"{variable} names no service: {parts.hostname}"
        assert parts.port in published(parts.hostname), f"{variable}: port {parts.port}"
    assert env["AIMA_S3__ACCESS_KEY"] == services["minio"]["environment"]["MINIO_ROOT_USER"].split(":-")[1].rstrip("}")
    database = urlsplit(env["AIMA_DATABASE_URL"])
    pg = services["postgres"]["environment"]
    assert (database.username, database.password, database.path.strip("/")) == (
        pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_DB"])
