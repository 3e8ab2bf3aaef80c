"""The one statement that differs by backend: INSERT ... ON CONFLICT (same API on both dialects)."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite


def upsert_insert(dialect_name: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    if dialect_name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"unsupported SQL dialect {dialect_name!r}")
