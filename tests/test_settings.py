"""Settings: embedded defaults with no configuration, and one clear error line for bad settings."""

from __future__ import annotations

import inspect
import os
from pathlib import Path
import subprocess
import sys

import pytest

from aima.errors import ConfigError
from aima.settings import load_settings
from tests.services import S3Server, free_port

AIMA = [sys.executable, "-m", "aima.cli"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("AIMA_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_no_configuration_means_every_store_embedded_under_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    settings = load_settings()
    data = (tmp_path / "share" / "aima").as_posix()
    assert settings.data_dir.is_absolute()  # never inside a worker's temporary directory
    assert settings.database_url == f"sqlite:///{data}/aima.db"
    assert settings.documents_url == "sql"
    assert settings.vectors_url == f"{data}/vectors.db"
    assert settings.objects_url == f"{data}/objects"
    assert settings.uses_embedded_stores
    assert settings.max_file_bytes == 2 * 1024**3


def test_without_xdg_data_home_the_data_lives_under_the_users_home(monkeypatch):
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert load_settings().data_dir == Path.home() / ".local" / "share" / "aima"


def test_environment_with_prefix_and_nested_delimiter(monkeypatch):
    monkeypatch.setenv("AIMA_DATA_DIR", "/srv/aima")
    monkeypatch.setenv("AIMA_DATABASE_URL", "postgresql://aima:pw@db:5432/aima")
    monkeypatch.setenv("AIMA_OBJECTS_URL", "s3://aima-media/prod")
    monkeypatch.setenv("AIMA_S3__ENDPOINT", "http://minio:9000")
    monkeypatch.setenv("AIMA_S3__SECRET_KEY", "s3cr3t")
    settings = load_settings()
    assert settings.vectors_url == "/srv/aima/vectors.db"
    assert settings.database_url == "postgresql+psycopg://aima:pw@db:5432/aima"
    assert settings.s3.endpoint == "http://minio:9000"
    assert settings.s3.secret_key.get_secret_value() == "s3cr3t"
    assert "s3cr3t" not in repr(settings)
    assert not settings.uses_embedded_stores


def test_a_dot_env_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("AIMA_DOCUMENTS_URL=mongodb://mongo:27017\nAIMA_MAX_FILE_BYTES=1000\n")
    settings = load_settings()
    assert settings.documents_url == "mongodb://mongo:27017"
    assert settings.max_file_bytes == 1000


def test_max_image_pixels_defaults_to_pillows_bomb_threshold_and_is_read_from_the_environment(
        monkeypatch):
    from PIL import Image

    default = load_settings().max_image_pixels
    assert default == 178_956_970 == 2 * Image.MAX_IMAGE_PIXELS
    monkeypatch.setenv("AIMA_MAX_IMAGE_PIXELS", "50000000")
    assert load_settings().max_image_pixels == 50_000_000


def test_media_functions_default_to_the_settings_pixel_limit():
    """Callers that pass no max_pixels still get the check, at the setting's default."""
    from aima.media.images import open_image
    from aima.media.keyframes import extract_keyframes, iter_keyframes
    from aima.media.probe import probe
    from aima.media.sniff import sniff
    from aima.media.thumbnails import load_image

    default = load_settings().max_image_pixels
    for function in (sniff, probe, load_image, iter_keyframes, extract_keyframes, open_image):
        assert inspect.signature(function).parameters["max_pixels"].default == default, function


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("AIMA_DATABASE_URL", "mysql://db/aima", "unknown scheme 'mysql'"),
        ("AIMA_DOCUMENTS_URL", "couchdb://x", "unknown documents store"),
        ("AIMA_VECTORS_URL", "redis://x", "expected a Milvus Lite file ending in .db"),
        ("AIMA_OBJECTS_URL", "gs://bucket", "unknown scheme 'gs'"),
        ("AIMA_OBJECTS_URL", "s3://", "needs a bucket name"),
        ("AIMA_S3__ENDPOINT", "minio:9000", "expected http://host:port"),
        ("AIMA_MAX_FILE_BYTES", "-5", "greater than 0"),
        ("AIMA_MAX_IMAGE_PIXELS", "0", "greater than 0"),
        ("AIMA_MAX_IMAGE_PIXELS", "lots", "valid integer"),
        ("AIMA_MODEL_PROFILE", "tpu", "'embedded' or 'gpu'"),
    ],
)
def test_invalid_settings_name_the_variable_and_the_problem(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert raised.value.setting == variable
    assert message in str(raised.value)


# --- through the CLI: one line on stderr, exit status 2 -----------------------------------------


def run_aima(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AIMA_")}
    environment.update({"AIMA_CONNECT_TIMEOUT_S": "2", **env})
    return subprocess.run([*AIMA, *args], capture_output=True, text=True, env=environment, timeout=120)


def assert_one_error_line(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_cli_unknown_scheme():
    result = run_aima("db", "upgrade", AIMA_DATABASE_URL="oracle://db")
    assert_one_error_line(result, "AIMA_DATABASE_URL", "unknown scheme 'oracle'")


def test_cli_unreachable_postgresql():
    result = run_aima("db", "upgrade",
                      AIMA_DATABASE_URL=f"postgresql://aima:pw@127.0.0.1:{free_port()}/aima")
    assert_one_error_line(result, "AIMA_DATABASE_URL", "cannot reach PostgreSQL")
    assert "pw" not in result.stderr.replace("AIMA", "")


def test_cli_bad_postgresql_credentials(postgres):
    result = run_aima("db", "upgrade", AIMA_DATABASE_URL=postgres.url(password="wrong-password"))
    assert_one_error_line(result, "AIMA_DATABASE_URL", "rejected the credentials for user 'postgres'")
    assert "wrong-password" not in result.stderr


def test_cli_unreachable_mongodb():
    result = run_aima("purge", "x", "--yes", AIMA_DOCUMENTS_URL=f"mongodb://127.0.0.1:{free_port()}")
    assert_one_error_line(result, "AIMA_DOCUMENTS_URL", "cannot reach MongoDB")


def test_cli_unreachable_milvus():
    result = run_aima("purge", "x", "--yes", AIMA_VECTORS_URL=f"http://127.0.0.1:{free_port()}")
    assert_one_error_line(result, "AIMA_VECTORS_URL", "cannot reach Milvus")


def test_cli_unreachable_s3():
    result = run_aima("purge", "x", "--yes", AIMA_OBJECTS_URL="s3://media",
                      AIMA_S3__ENDPOINT=f"http://127.0.0.1:{free_port()}")
    assert_one_error_line(result, "AIMA_S3__ENDPOINT", "cannot reach S3 endpoint")


def test_cli_bad_s3_credentials():
    server = S3Server().start()
    try:
        result = run_aima("purge", "x", "--yes", AIMA_OBJECTS_URL="s3://media",
                          AIMA_S3__ENDPOINT=server.endpoint, AIMA_S3__ACCESS_KEY="nobody",
                          AIMA_S3__SECRET_KEY="wrong-secret")
    finally:
        server.stop()
    assert_one_error_line(result, "AIMA_S3__ACCESS_KEY", "rejected the credentials")
    assert "wrong-secret" not in result.stderr


def test_cli_unwritable_local_object_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run_aima("purge", "x", "--yes", AIMA_OBJECTS_URL=str(blocker / "objects"))
    assert_one_error_line(result, "AIMA_OBJECTS_URL", "cannot write to")


def test_cli_milvus_lite_file_in_use_by_another_process(tmp_path):
    from aima.storage.vectors import MilvusVectorStore

    holder = MilvusVectorStore(str(tmp_path / "aima-data" / "vectors.db"))
    try:
        result = run_aima("purge", "x", "--yes", AIMA_DATA_DIR=str(tmp_path / "aima-data"))
    finally:
        holder.close()
    assert_one_error_line(result, "AIMA_VECTORS_URL", "in use by another process")


def test_cli_analyze_with_an_unreachable_store_fails_before_any_flow_run(tmp_path):
    (tmp_path / "in.jpg").write_bytes(b"\xff\xd8\xff")
    result = run_aima("analyze", str(tmp_path / "in.jpg"), "--case", "c",
                      AIMA_DOCUMENTS_URL=f"mongodb://127.0.0.1:{free_port()}")
    assert_one_error_line(result, "AIMA_DOCUMENTS_URL", "cannot reach MongoDB")
    assert "prefect" not in result.stdout.lower()


def test_relative_store_paths_are_named_for_a_deployment_run_to_refuse(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert load_settings().relative_store_paths() == []
    assert load_settings(data_dir=Path("aima-data")).relative_store_paths() == [
        "AIMA_DATABASE_URL", "AIMA_VECTORS_URL", "AIMA_OBJECTS_URL"]
    servers = load_settings(data_dir=Path("aima-data"),
                            database_url="postgresql+psycopg://u:p@db/aima",
                            vectors_url="http://milvus:19530", objects_url="s3://media")
    assert servers.relative_store_paths() == []
