"""Stored responses (Responses API ``store: true``) and the gateway's generated secrets.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "stored_responses",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created_at", _time, nullable=False),
        sa.Column("expires_at", _time, nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("input_items", sa.Text(), nullable=False),
        sa.Column("history", sa.Text(), nullable=False),
    )
    op.create_index("ix_stored_responses_expires", "stored_responses", ["expires_at"])
    op.create_table(
        "gateway_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", _time, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("gateway_secrets")
    op.drop_index("ix_stored_responses_expires", table_name="stored_responses")
    op.drop_table("stored_responses")
