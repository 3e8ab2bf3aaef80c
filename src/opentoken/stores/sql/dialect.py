"""The one statement that differs by backend: INSERT ... ON CONFLICT (same API on both dialects).

Each dialect's module is imported on first use: a gateway on SQLite does not load PostgreSQL's (about 2.7 MB
resident), which the engine loads anyway when the database is PostgreSQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Table

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite


def upsert_insert(dialect_name: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    if dialect_name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    if dialect_name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    raise ValueError(f"unsupported SQL dialect {dialect_name!r}")
