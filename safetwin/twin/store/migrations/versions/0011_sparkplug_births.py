"""Sparkplug B births: the current birth (bdSeq, metric aliases) of each edge node and device a
site's bridge receives, so a restarted bridge decodes the data messages the broker kept for it.

Revision ID: 0011_sparkplug_births
Revises: 0010_notification_deliveries
Create Date: 2026-12-07
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011_sparkplug_births"
down_revision: str | None = "0010_notification_deliveries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sparkplug_births",
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("group_id", sa.String(64), nullable=False),
        sa.Column("edge_node", sa.String(64), nullable=False),
        sa.Column("device", sa.String(64), nullable=False),
        sa.Column("bd_seq", sa.BigInteger(), nullable=False),
        sa.Column("aliases", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site", "group_id", "edge_node", "device", name=op.f("pk_sparkplug_births")),
    )


def downgrade() -> None:
    op.drop_table("sparkplug_births")
