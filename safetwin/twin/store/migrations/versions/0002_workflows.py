"""Workflow records: current documents, hash-chained versions (audit trail), users.

Revision ID: 0002_workflows
Revises: 0001_initial
Create Date: 2025-01-02
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_workflows"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TS = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "wf_records",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("subtype", sa.String(64), nullable=True),
        sa.Column("level", sa.String(32), nullable=True),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.Column("doc", JSON_DOC, nullable=False),
        sa.Column("doc_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("kind", "id", name="pk_wf_records"),
    )
    op.create_index("ix_wf_records_kind_state", "wf_records", ["kind", "state"])
    op.create_table(
        "wf_record_versions",
        sa.Column("seq", BIG_ID, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("ts", UTC_TS, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("doc", JSON_DOC, nullable=False),
        sa.Column("doc_hash", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_wf_record_versions"),
        sa.UniqueConstraint("kind", "record_id", "version", name="uq_wf_record_versions_kind_record_id_version"),
    )
    op.create_table(
        "wf_users",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("full_name", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("roles", JSON_DOC, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_wf_users"),
    )


def downgrade() -> None:
    op.drop_table("wf_users")
    op.drop_table("wf_record_versions")
    op.drop_index("ix_wf_records_kind_state", table_name="wf_records")
    op.drop_table("wf_records")
