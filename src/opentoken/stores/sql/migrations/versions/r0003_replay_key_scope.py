"""Replay state is scoped to the API key that produced it: ``replay_state`` is keyed by (key_id, key).

Rows written before this revision carry no key id and cannot be attributed to a tenant, so they are
dropped (replay state is a short-lived cache: a tool loop in flight loses its stored thinking at most once).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_time = sa.DateTime(timezone=True)


def _create(scoped: bool) -> None:
    columns = [sa.Column("key_id", sa.String(64), primary_key=True)] if scoped else []
    op.create_table(
        "replay_state",
        *columns,
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("expires_at", _time, nullable=False),
    )
    op.create_index("ix_replay_state_expires", "replay_state", ["expires_at"])


def upgrade() -> None:
    op.drop_table("replay_state")
    _create(scoped=True)


def downgrade() -> None:
    op.drop_table("replay_state")
    _create(scoped=False)
