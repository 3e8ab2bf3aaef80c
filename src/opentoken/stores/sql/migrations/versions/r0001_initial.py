"""Keys, usage ledger and replay state.

Revision ID: 0001
Revises:
Create Date: 2025-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the column types of opentoken.stores.sql.schema as of this revision.
_money = sa.Numeric(20, 9).with_variant(sa.BigInteger(), "sqlite")  # SQLite: whole nano-dollars
_time = sa.DateTime(timezone=True)
_row_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _time, nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("models", sa.Text(), nullable=False),
        sa.Column("budget_usd", _money),
        sa.Column("budget_period", sa.String(16), nullable=False),
        sa.Column("rpm", sa.Integer()),
        sa.Column("tpm", sa.BigInteger()),
        sa.Column("max_concurrent", sa.Integer()),
        sa.Column("expires_at", _time),
        sa.Column("revoked_at", _time),
        sa.Column("metadata", sa.Text(), nullable=False),
    )
    op.create_index("ux_api_keys_key_hash", "api_keys", ["key_hash"], unique=True)

    op.create_table(
        "usage_ledger",
        sa.Column("id", _row_id, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("upstream_model", sa.String(200), nullable=False),
        sa.Column("created_at", _time, nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("stream", sa.Boolean(), nullable=False),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "input_tokens",
                "cache_read_tokens",
                "cache_write_tokens",
                "output_tokens",
                "reasoning_tokens",
            )
        ),
        *(
            sa.Column(name, _money, nullable=False)
            for name in (
                "cost",
                "cost_input",
                "cost_cache_read",
                "cost_cache_write",
                "cost_output",
                "cost_reasoning",
            )
        ),
        sa.Column("error_code", sa.String(64)),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("ttft_ms", sa.Float()),
        sa.Column("attempts", sa.Integer(), nullable=False),
    )
    op.create_index("ux_usage_ledger_request_id", "usage_ledger", ["request_id"], unique=True)
    op.create_index("ix_usage_ledger_key_created", "usage_ledger", ["key_id", "created_at"])
    op.create_index("ix_usage_ledger_created", "usage_ledger", ["created_at"])

    op.create_table(
        "replay_state",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("expires_at", _time, nullable=False),
    )
    op.create_index("ix_replay_state_expires", "replay_state", ["expires_at"])


def downgrade() -> None:
    op.drop_table("replay_state")
    op.drop_table("usage_ledger")
    op.drop_table("api_keys")
