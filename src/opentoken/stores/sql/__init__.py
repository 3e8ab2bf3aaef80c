"""SQL stores on SQLAlchemy Core with async drivers: SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from opentoken.stores.sql.keys import SqlKeyStore
from opentoken.stores.sql.ledger import SqlLedger
from opentoken.stores.sql.replay import SqlReplayStore
from opentoken.stores.sql.sessions import SqlSessionStore

__all__ = ["SqlKeyStore", "SqlLedger", "SqlReplayStore", "SqlSessionStore"]
