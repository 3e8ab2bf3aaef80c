"""Alembic environment: runs on the connection that ``opentoken.stores.sql.migrate`` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from opentoken.stores.sql.schema import VERSION_TABLE, metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError("run migrations with `opentoken migrate` (opentoken.stores.sql.migrate.upgrade)")
run_on(_connection)
