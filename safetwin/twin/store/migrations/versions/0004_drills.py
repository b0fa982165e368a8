"""Drills: emergency plans, the drill plan, drills and their evaluations
(models in ``twin/workflows/drill_models.py``).

Revision ID: 0004_drills
Revises: 0003_workflow_projection
Create Date: 2026-12-04
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_drills"
down_revision: str | None = "0003_workflow_projection"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types at this revision.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TS = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "drill_emergency_plans",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False, server_default=""),
        sa.Column("effective_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_drill_emergency_plans"),
    )
    op.create_table(
        "drill_plan_items",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("plan_id", sa.String(64), nullable=True),
        sa.Column("requirement", sa.String(128), nullable=False),
        sa.Column("content", sa.String(16), nullable=False, server_default="single"),
        sa.Column("form", sa.String(16), nullable=False, server_default="live"),
        sa.Column("due_by", UTC_TS, nullable=False),
        sa.Column("rule", sa.Text(), nullable=False, server_default=""),
        sa.Column("scenario", sa.String(128), nullable=True),
        sa.Column("drill_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_drill_plan_items"),
    )
    op.create_index("ix_drill_plan_items_site_id_due_by", "drill_plan_items", ["site_id", "due_by"])
    op.create_table(
        "drills",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("plan_id", sa.String(64), nullable=True),
        sa.Column("plan_item_id", sa.String(64), nullable=True),
        sa.Column("scenario", sa.String(128), nullable=False, server_default=""),
        sa.Column("title", sa.String(200), nullable=False, server_default=""),
        sa.Column("content", sa.String(16), nullable=False, server_default="single"),
        sa.Column("form", sa.String(16), nullable=False, server_default="live"),
        sa.Column("started_at", UTC_TS, nullable=False),
        sa.Column("ended_at", UTC_TS, nullable=True),
        sa.Column("state", sa.String(32), nullable=False, server_default="ended"),
        sa.PrimaryKeyConstraint("id", name="pk_drills"),
    )
    op.create_index("ix_drills_site_id_started_at", "drills", ["site_id", "started_at"])
    op.create_table(
        "drill_evaluations",
        sa.Column("id", BIG_ID, nullable=False, autoincrement=True),
        sa.Column("drill_id", sa.String(64), nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("scenario", sa.String(128), nullable=False, server_default=""),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("evaluated_at", UTC_TS, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("grade", sa.String(8), nullable=False),
        sa.Column("deficiencies", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("rectifications", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("improvements", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("doc", JSON_DOC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_drill_evaluations"),
    )
    op.create_index("ix_drill_evaluations_drill_id", "drill_evaluations", ["drill_id"])
    op.create_index("ix_drill_evaluations_evaluated_at", "drill_evaluations", ["evaluated_at"])


def downgrade() -> None:
    op.drop_index("ix_drill_evaluations_evaluated_at", table_name="drill_evaluations")
    op.drop_index("ix_drill_evaluations_drill_id", table_name="drill_evaluations")
    op.drop_table("drill_evaluations")
    op.drop_index("ix_drills_site_id_started_at", table_name="drills")
    op.drop_table("drills")
    op.drop_index("ix_drill_plan_items_site_id_due_by", table_name="drill_plan_items")
    op.drop_table("drill_plan_items")
    op.drop_table("drill_emergency_plans")
