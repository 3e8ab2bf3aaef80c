"""Operator catalog entries and the price history.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copies of the column types of opentoken.stores.sql.schema as of this revision.
_money = sa.Numeric(20, 9).with_variant(sa.BigInteger(), "sqlite")  # SQLite: whole nano-dollars
_time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "catalog_models",
        sa.Column("model_id", sa.String(200), primary_key=True),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("updated_at", _time, nullable=False),
    )
    op.create_table(
        "catalog_prices",
        sa.Column("model_id", sa.String(200), primary_key=True),
        sa.Column("effective_from", _time, primary_key=True),
        sa.Column("input", _money, nullable=False),
        sa.Column("output", _money, nullable=False),
        sa.Column("cache_read", _money, nullable=False),
        sa.Column("cache_write", _money, nullable=False),
        sa.Column("created_at", _time, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("catalog_prices")
    op.drop_table("catalog_models")
