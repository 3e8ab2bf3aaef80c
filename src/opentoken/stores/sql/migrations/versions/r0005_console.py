"""Console: per-request detail columns, request-log indexes, per-day rollups (with a backfill), sessions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Frozen copies of the column types of opentoken.stores.sql.schema as of this revision.
_money = sa.Numeric(20, 9).with_variant(sa.BigInteger(), "sqlite")  # SQLite: whole nano-dollars
_time = sa.DateTime(timezone=True)
_TOKENS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")
_COUNTERS = ("requests", *_TOKENS, "cost", "errors")


def _counters() -> list[sa.Column[Any]]:
    return [
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in ("requests", *_TOKENS)),
        sa.Column("cost", _money, nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
    ]


def _backfill(dialect: str) -> list[str]:
    """The rollups of every ledger row already there (the same SQL as stores.sql.rollups.rebuild_statements)."""
    day = "substr(created_at, 1, 10)" if dialect == "sqlite" else "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    sums = ", ".join(f"sum({n})" for n in _TOKENS)
    error = "sum(CASE WHEN error_code IS NOT NULL OR status >= 400 THEN 1 ELSE 0 END)"
    counters = ", ".join(_COUNTERS)
    resum = ", ".join(f"sum({n})" for n in _COUNTERS)
    return [
        f"INSERT INTO usage_daily (key_id, day, model, provider, {counters}) "
        f"SELECT key_id, {day}, model, provider, count(*), {sums}, sum(cost), {error} "
        f"FROM usage_ledger GROUP BY key_id, {day}, model, provider",
        f"INSERT INTO usage_daily_models (day, model, provider, {counters}) "
        f"SELECT day, model, provider, {resum} FROM usage_daily GROUP BY day, model, provider",
        f"INSERT INTO usage_monthly_keys (month, key_id, {counters}) "
        f"SELECT substr(day, 1, 7), key_id, {resum} FROM usage_daily GROUP BY substr(day, 1, 7), key_id",
    ]


def _fill_key_search() -> None:
    """``search`` of every existing key: name, owner, id and prefix, case-folded (as stores.base.search_text)."""
    bind = op.get_bind()
    keys = sa.table(
        "api_keys", sa.column("id"), sa.column("name"), sa.column("owner"), sa.column("prefix"), sa.column("search")
    )
    rows = bind.execute(sa.select(keys.c.id, keys.c.name, keys.c.owner, keys.c.prefix)).all()
    update = keys.update().where(keys.c.id == sa.bindparam("key_id")).values(search=sa.bindparam("text"))
    values = [{"key_id": r.id, "text": " ".join((r.name, r.owner or "", r.id, r.prefix)).casefold()} for r in rows]
    if values:
        bind.execute(update, values)


def upgrade() -> None:
    op.add_column("usage_ledger", sa.Column("ingress", sa.String(32), nullable=False, server_default="openai_chat"))
    op.add_column("usage_ledger", sa.Column("deployment", sa.String(200)))
    for name in ("deployments_tried", "ignored_params", "adjusted_params"):
        op.add_column("usage_ledger", sa.Column(name, sa.Text(), nullable=False, server_default=""))
    op.drop_index("ix_usage_ledger_key_created", "usage_ledger")
    op.drop_index("ix_usage_ledger_created", "usage_ledger")
    op.create_index("ix_usage_ledger_created_request", "usage_ledger", ["created_at", "request_id"])
    op.create_index("ix_usage_ledger_key_created_request", "usage_ledger", ["key_id", "created_at", "request_id"])
    op.create_index("ix_usage_ledger_model_created_request", "usage_ledger", ["model", "created_at", "request_id"])
    op.create_index(
        "ix_usage_ledger_errors_created_request",
        "usage_ledger",
        ["created_at", "request_id"],
        sqlite_where=sa.text("error_code IS NOT NULL"),
        postgresql_where=sa.text("error_code IS NOT NULL"),
    )
    op.add_column("api_keys", sa.Column("search", sa.Text(), nullable=False, server_default=""))
    _fill_key_search()
    op.create_index("ix_api_keys_listing", "api_keys", ["created_at", "id", "search"])

    op.create_table(
        "usage_daily",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("provider", sa.String(64), primary_key=True),
        *_counters(),
    )
    op.create_table(
        "usage_daily_models",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("provider", sa.String(64), primary_key=True),
        *_counters(),
    )
    op.create_table(
        "usage_monthly_keys",
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("key_id", sa.String(64), primary_key=True),
        *_counters(),
    )
    op.create_index("ix_usage_monthly_keys_month_cost", "usage_monthly_keys", ["month", "cost"])
    for statement in _backfill(op.get_bind().dialect.name):
        op.execute(sa.text(statement))

    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("key_id", sa.String(64)),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", _time, nullable=False),
        sa.Column("expires_at", _time, nullable=False),
    )
    op.create_index("ix_console_sessions_expires", "console_sessions", ["expires_at"])
    op.create_index("ix_console_sessions_key", "console_sessions", ["key_id"])


def downgrade() -> None:
    op.drop_table("console_sessions")
    op.drop_table("usage_monthly_keys")
    op.drop_table("usage_daily_models")
    op.drop_table("usage_daily")
    op.drop_index("ix_api_keys_listing", "api_keys")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("search")
    for name in (
        "ix_usage_ledger_errors_created_request",
        "ix_usage_ledger_model_created_request",
        "ix_usage_ledger_key_created_request",
        "ix_usage_ledger_created_request",
    ):
        op.drop_index(name, "usage_ledger")
    op.create_index("ix_usage_ledger_key_created", "usage_ledger", ["key_id", "created_at"])
    op.create_index("ix_usage_ledger_created", "usage_ledger", ["created_at"])
    with op.batch_alter_table("usage_ledger") as batch:
        for name in ("adjusted_params", "ignored_params", "deployments_tried", "deployment", "ingress"):
            batch.drop_column(name)
