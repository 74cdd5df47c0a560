"""Alembic environment for AIMA's metadata store.

AIMA runs migrations itself (``aima db upgrade`` and automatically on first use) and hands Alembic
an open connection through ``config.attributes["connection"]``.
"""

from alembic import context

from aima.storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
