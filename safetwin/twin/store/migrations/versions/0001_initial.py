"""Initial store schema: sensor readings, position history, alarm events, audit log.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types at this revision (models may change later).
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TS = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _id() -> sa.Column:
    return sa.Column("id", BIG_ID, primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "sensor_readings",
        _id(),
        sa.Column("plant_id", sa.String(64), nullable=False),
        sa.Column("sensor_id", sa.String(128), nullable=False),
        sa.Column("ts", UTC_TS, nullable=False),
        sa.Column("received_ts", UTC_TS, nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("quality", sa.String(16), nullable=False, server_default="ok"),
        sa.Column("source", sa.String(128), nullable=False, server_default=""),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "quality IN ('ok', 'stale', 'out_of_range', 'fault')",
            name=op.f("ck_sensor_readings_quality"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensor_readings")),
    )
    op.create_index("ix_sensor_readings_sensor_id_ts", "sensor_readings", ["sensor_id", "ts"])
    op.create_index(
        "uq_sensor_readings_source_seq", "sensor_readings", ["source", "seq"], unique=True,
        sqlite_where=sa.text("seq IS NOT NULL"), postgresql_where=sa.text("seq IS NOT NULL"),
    )

    op.create_table(
        "position_history",
        _id(),
        sa.Column("plant_id", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(128), nullable=False),
        sa.Column("ts", UTC_TS, nullable=False),
        sa.Column("x_m", sa.Float(), nullable=False),
        sa.Column("y_m", sa.Float(), nullable=False),
        sa.Column("z_m", sa.Float(), nullable=False, server_default="0"),
        sa.Column("area_id", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_position_history")),
    )
    op.create_index("ix_position_history_person_id_ts", "position_history", ["person_id", "ts"])

    op.create_table(
        "alarm_events",
        _id(),
        sa.Column("alarm_id", sa.String(128), nullable=False),
        sa.Column("sensor_id", sa.String(128), nullable=True),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("ts", UTC_TS, nullable=False),
        sa.Column("message", sa.Text(), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_events")),
    )
    op.create_index("ix_alarm_events_alarm_id_ts", "alarm_events", ["alarm_id", "ts"])
    op.create_index("ix_alarm_events_ts", "alarm_events", ["ts"])

    op.create_table(
        "audit_log",
        _id(),
        sa.Column("ts", UTC_TS, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(128), nullable=False),
        sa.Column("subject", sa.String(256), nullable=False, server_default=""),
        sa.Column("details", JSON_DOC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_ts", "audit_log", ["ts"])
    op.create_index("ix_audit_log_subject_ts", "audit_log", ["subject", "ts"])


def downgrade() -> None:
    for table in ("audit_log", "alarm_events", "position_history", "sensor_readings"):
        op.drop_table(table)
