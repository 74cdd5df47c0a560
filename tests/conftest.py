"""Session-wide fixtures: real servers (started only when a test needs them) and store factories."""

from __future__ import annotations

import os
import tempfile
import uuid

import pytest

from tests.services import MilvusServer, MongoServer, PostgresServer, S3Server

# No test may reach a model hub: everything runs offline with bundled weights.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The default data directory is per user ($XDG_DATA_HOME/aima): a test that forgets to set
# AIMA_DATA_DIR writes under this session's own directory, never into the user's home.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="aima-test-xdg-")


def _server(request: pytest.FixtureRequest, server_class):
    server = server_class()
    request.addfinalizer(server.stop)  # runs also when the start or a test fails
    return server.start()


@pytest.fixture(scope="session")
def postgres(request) -> PostgresServer:
    return _server(request, PostgresServer)


@pytest.fixture(scope="session")
def milvus_server(request) -> MilvusServer:
    return _server(request, MilvusServer)


@pytest.fixture(scope="session")
def s3_server(request) -> S3Server:
    return _server(request, S3Server)


@pytest.fixture(scope="session")
def mongo_server(request) -> MongoServer:
    return _server(request, MongoServer)


@pytest.fixture
def case_id() -> str:
    """A fresh case id: tests sharing a server never see each other's data."""
    return str(uuid.uuid4())


# --- settings for the two ways AIMA runs -------------------------------------------------------


def embedded_settings(data_dir):
    from aima.settings import Settings

    return Settings(data_dir=data_dir)


def server_settings(data_dir, postgres, mongo_server, milvus_server, s3_server):
    from aima.settings import S3Settings, Settings

    return Settings(
        data_dir=data_dir,
        database_url=postgres.create_database(),
        documents_url=mongo_server.url,
        documents_database="aima_" + uuid.uuid4().hex[:8],
        vectors_url=milvus_server.url,
        objects_url=f"s3://aima-{uuid.uuid4().hex[:8]}",
        s3=S3Settings(
            endpoint=s3_server.endpoint,
            access_key=s3_server.access_key,
            secret_key=s3_server.secret_key,
            region="us-east-1",
        ),
    )


@pytest.fixture(params=["embedded", "servers"])
def settings(request, tmp_path):
    """AIMA's settings with every store embedded, and with every store on a real server."""
    if request.param == "embedded":
        return embedded_settings(tmp_path / "aima-data")
    return server_settings(
        tmp_path / "aima-data",
        request.getfixturevalue("postgres"),
        request.getfixturevalue("mongo_server"),
        request.getfixturevalue("milvus_server"),
        request.getfixturevalue("s3_server"),
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """A fresh metadata database, once on SQLite and once on the session's PostgreSQL."""
    from aima.storage.database import Database

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'meta.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database()
    db = Database(url)
    yield db
    db.dispose()
