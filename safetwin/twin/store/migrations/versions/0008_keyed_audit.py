"""The keyed audit chain: each link holds an image of the stored row, its hash, and the id of the key
whose MAC it carries (``safetwin.twin.workflows.audit``).

Links written before stay as they are (``key_id`` NULL); the application seals them once with
its key at the first start after this upgrade (``audit_seal.seal_legacy_chain``).

Revision ID: 0008_keyed_audit
Revises: 0007_leases
Create Date: 2026-12-09
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008_keyed_audit"
down_revision: str | None = "0007_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("wf_record_versions") as batch:
        batch.add_column(sa.Column("row", JSON_DOC, nullable=True))
        batch.add_column(sa.Column("row_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("key_id", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("wf_record_versions") as batch:
        batch.drop_column("key_id")
        batch.drop_column("row_hash")
        batch.drop_column("row")
