"""The metadata database: engine, sessions and migrations (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from aima.errors import StoreUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"
SETTING = "AIMA_DATABASE_URL"


class Database:
    """One metadata database. Opening it checks the connection and applies pending migrations."""

    def __init__(self, url: str, *, connect_timeout_s: float = 5.0, migrate: bool = True):
        self.url = url
        self.engine = _make_engine(url, connect_timeout_s)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.check()
        if migrate:
            self.upgrade()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def check(self) -> None:
        """Connect once; turn driver errors into one line that names the setting."""
        try:
            with self.engine.connect():
                pass
        except OperationalError as exc:
            raise StoreUnavailable(SETTING, _describe(self.url, exc)) from None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    # --- migrations ---------------------------------------------------------------------------

    def _alembic_config(self, connection) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        return config

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def head_revision(self) -> str:
        with self.engine.connect() as connection:
            script = ScriptDirectory.from_config(self._alembic_config(connection))
            return script.get_current_head()

    def upgrade(self, revision: str = "head") -> None:
        """Apply migrations up to ``revision`` (no-op when already there)."""
        if revision == "head" and self.current_revision() == self.head_revision():
            return
        with self.engine.begin() as connection:
            command.upgrade(self._alembic_config(connection), revision)

    def dispose(self) -> None:
        self.engine.dispose()


def _make_engine(url: str, connect_timeout_s: float) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        connect_args={"connect_timeout": max(1, int(connect_timeout_s))},
    )


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # ON DELETE CASCADE as in PostgreSQL
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.close()


def _describe(url: str, exc: OperationalError) -> str:
    """One line saying what went wrong, without the password."""
    parts = urlsplit(url)
    where = f"{parts.hostname}:{parts.port or 5432}" if parts.hostname else url
    text = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    lowered = text.lower()
    if "password authentication failed" in lowered or "authentication failed" in lowered:
        return f"PostgreSQL at {where} rejected the credentials for user {parts.username!r}"
    if "does not exist" in lowered and "database" in lowered:
        return f"PostgreSQL at {where}: {text}"
    if "connection refused" in lowered or "timeout" in lowered or "could not" in lowered:
        return f"cannot reach PostgreSQL at {where}: connection refused or timed out"
    if url.startswith("sqlite"):
        return f"cannot open SQLite database {url.split(':///', 1)[-1]!r}: {text}"
    return f"cannot connect to the database at {where}: {text}"
