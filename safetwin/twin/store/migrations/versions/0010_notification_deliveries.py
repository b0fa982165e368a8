"""The notification outbox and delivery log (``wf_deliveries``): one row per notification and channel,
its attempts, the time of the next one, and how it ended (delivered, or dead letter).

Revision ID: 0010_notification_deliveries
Revises: 0009_user_sessions
Create Date: 2026-12-09
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_notification_deliveries"
down_revision: str | None = "0009_user_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "wf_deliveries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("recipients", JSON_DOC, nullable=False),
        sa.Column("notification", JSON_DOC, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_TS, nullable=False),
        sa.Column("last_attempt_at", UTC_TS, nullable=True),
        sa.Column("delivered_at", UTC_TS, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wf_deliveries")),
    )
    op.create_index("ix_wf_deliveries_channel_state_next", "wf_deliveries", ["channel", "state", "next_attempt_at"])
    op.create_index("ix_wf_deliveries_state_created_at", "wf_deliveries", ["state", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_wf_deliveries_state_created_at", table_name="wf_deliveries")
    op.drop_index("ix_wf_deliveries_channel_state_next", table_name="wf_deliveries")
    op.drop_table("wf_deliveries")
