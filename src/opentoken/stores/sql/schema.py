"""Tables of the SQL stores and the column types that keep money exact and times in UTC on every backend.

The migrations under ``migrations/versions`` create these tables; a test checks that the migrated schema
equals this metadata, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine

VERSION_TABLE = "opentoken_schema_version"  # Alembic's revision table
NANOS = 9  # money is kept to 1e-9 USD, the cost quantum of opentoken.core.money


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out. SQLite keeps naive UTC text (sortable), PostgreSQL
    ``timestamptz``. Naive datetimes are refused: they are a bug at the caller."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """Exact USD amounts: ``NUMERIC(20, 9)`` on PostgreSQL; whole nano-dollars in an INTEGER on SQLite,
    whose NUMERIC affinity would round through a float. Sums stay exact on both. Amounts finer than 1e-9
    are refused rather than rounded."""

    impl = Numeric(20, NANOS, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(20, NANOS, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Decimal | int | None:
        if value is None:
            return None
        amount = Decimal(value)
        nanos = amount.scaleb(NANOS)
        if nanos != nanos.to_integral_value():
            raise ValueError(f"amount {amount} has more than {NANOS} decimal places")
        return int(nanos) if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Decimal | int | None, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-NANOS)
        return Decimal(value)


class JSONText(TypeDecorator[Any]):
    """A JSON document in a TEXT column (portable; these columns are never queried inside)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else orjson.dumps(value).decode()

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else orjson.loads(value)


class NameList(TypeDecorator[tuple[str, ...]]):
    """A tuple of names (deployments, request fields) as one comma-separated TEXT column ("" for none)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: tuple[str, ...] | list[str] | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if any("," in name for name in value):
            raise ValueError(f"names may not contain commas: {value!r}")
        return ",".join(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> tuple[str, ...] | None:
        if value is None:
            return None
        return tuple(value.split(",")) if value else ()


class utc_day(FunctionElement[str]):  # lower case, like the SQL functions it stands for
    """``YYYY-MM-DD`` of a UTCDateTime column, in UTC."""

    type = String()
    inherit_cache = True


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


metadata = MetaData()

# BIGINT autoincrement on PostgreSQL; SQLite needs exactly INTEGER PRIMARY KEY to alias the rowid.
RowId = BigInteger().with_variant(Integer(), "sqlite")

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("prefix", String(32), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("owner", String(200)),
    Column("models", JSONText(), nullable=False),
    Column("budget_usd", Money()),
    Column("budget_period", String(16), nullable=False),
    Column("rpm", Integer()),
    Column("tpm", BigInteger()),
    Column("max_concurrent", Integer()),
    Column("expires_at", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),
    Column("metadata", JSONText(), nullable=False),
    Column("search", Text(), nullable=False, server_default=""),  # stores.base.search_text of the key
    Index("ux_api_keys_key_hash", "key_hash", unique=True),
    # the console's key list, newest first by keyset, searched without reading the table
    Index("ix_api_keys_listing", "created_at", "id", "search"),
)

usage_ledger = Table(
    "usage_ledger",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("request_id", String(128), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("model", String(200), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("upstream_model", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("status", Integer(), nullable=False),
    Column("stream", Boolean(), nullable=False),
    Column("input_tokens", Integer(), nullable=False),
    Column("cache_read_tokens", Integer(), nullable=False),
    Column("cache_write_tokens", Integer(), nullable=False),
    Column("output_tokens", Integer(), nullable=False),
    Column("reasoning_tokens", Integer(), nullable=False),
    Column("cost", Money(), nullable=False),
    Column("cost_input", Money(), nullable=False),
    Column("cost_cache_read", Money(), nullable=False),
    Column("cost_cache_write", Money(), nullable=False),
    Column("cost_output", Money(), nullable=False),
    Column("cost_reasoning", Money(), nullable=False),
    Column("error_code", String(64)),
    Column("latency_ms", Float(), nullable=False),
    Column("ttft_ms", Float()),
    Column("attempts", Integer(), nullable=False),
    Column("ingress", String(32), nullable=False, server_default="openai_chat"),
    Column("deployment", String(200)),
    Column("deployments_tried", NameList(), nullable=False, server_default=""),
    Column("ignored_params", NameList(), nullable=False, server_default=""),
    Column("adjusted_params", NameList(), nullable=False, server_default=""),
    Index("ux_usage_ledger_request_id", "request_id", unique=True),
    # the request log pages newest first by keyset (created_at, request_id), alone or per key / model / errors
    Index("ix_usage_ledger_created_request", "created_at", "request_id"),
    Index("ix_usage_ledger_key_created_request", "key_id", "created_at", "request_id"),
    Index("ix_usage_ledger_model_created_request", "model", "created_at", "request_id"),
    # Partial on both backends (`WHERE error_code IS NOT NULL`, migration 0005; a test reads it back from each).
    # The condition is not repeated here: a `postgresql_where` option makes SQLAlchemy import its whole
    # PostgreSQL dialect in every gateway, SQLite ones included (2.7 MB resident), and Alembic does not compare it.
    Index("ix_usage_ledger_errors_created_request", "created_at", "request_id"),
)


def _rollup_counters() -> list[Column[Any]]:
    """The sums every rollup row keeps (errors: rows with an error code or a status of 400 or more)."""
    return [
        Column("requests", BigInteger(), nullable=False),
        Column("input_tokens", BigInteger(), nullable=False),
        Column("cache_read_tokens", BigInteger(), nullable=False),
        Column("cache_write_tokens", BigInteger(), nullable=False),
        Column("output_tokens", BigInteger(), nullable=False),
        Column("reasoning_tokens", BigInteger(), nullable=False),
        Column("cost", Money(), nullable=False),
        Column("errors", BigInteger(), nullable=False),
    ]


# Rollups of the ledger, written in the same transaction as the ledger rows they count (see ledger.py and
# sqlite_appender.py), so totals read from them equal the ledger's. Days and months are UTC.
usage_daily = Table(  # per key: a key holder's charts and spend, the operator's view of one key
    "usage_daily",
    metadata,
    Column("key_id", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("model", String(200), primary_key=True),
    Column("provider", String(64), primary_key=True),
    *_rollup_counters(),
)

usage_daily_models = Table(  # across keys: the operator's charts (a few rows a day, whatever the key count)
    "usage_daily_models",
    metadata,
    Column("day", String(10), primary_key=True),
    Column("model", String(200), primary_key=True),
    Column("provider", String(64), primary_key=True),
    *_rollup_counters(),
)

usage_monthly_keys = Table(  # top keys of a month, read through the (month, cost) index
    "usage_monthly_keys",
    metadata,
    Column("month", String(7), primary_key=True),
    Column("key_id", String(64), primary_key=True),
    *_rollup_counters(),
    Index("ix_usage_monthly_keys_month_cost", "month", "cost"),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("key_id", String(64)),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_console_sessions_expires", "expires_at"),
    Index("ix_console_sessions_key", "key_id"),
)

replay_state = Table(
    "replay_state",
    metadata,
    Column("key_id", String(64), primary_key=True),  # the API key that produced the state: its only reader
    Column("key", String(255), primary_key=True),
    Column("provider", String(64), nullable=False),
    Column("data", Text(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_replay_state_expires", "expires_at"),
)

# The operator's catalog entries (a ModelSpec as JSON: only what the operator set) and the price history.
catalog_models = Table(
    "catalog_models",
    metadata,
    Column("model_id", String(200), primary_key=True),
    Column("spec", Text(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

catalog_prices = Table(
    "catalog_prices",
    metadata,
    Column("model_id", String(200), primary_key=True),
    Column("effective_from", UTCDateTime(), primary_key=True),
    Column("input", Money(), nullable=False),
    Column("output", Money(), nullable=False),
    Column("cache_read", Money(), nullable=False),
    Column("cache_write", Money(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Responses kept for ``previous_response_id`` and ``GET /v1/responses/{id}`` (``store: true``), per API key.
stored_responses = Table(
    "stored_responses",
    metadata,
    Column("key_id", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("model", String(200), nullable=False),
    Column("response", Text(), nullable=False),
    Column("input_items", Text(), nullable=False),
    Column("history", Text(), nullable=False),
    Index("ix_stored_responses_expires", "expires_at"),
)

# Secrets the gateway generated for itself (the default sealing key), shared by every replica.
gateway_secrets = Table(
    "gateway_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
