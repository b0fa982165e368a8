"""Users whose sessions end: a token version and the time of the last change of each user.

``token_version`` is written into every login token; deactivating a user, resetting the
password or deleting the user bumps it, so tokens issued before are refused on the next
request. ``updated_at`` says when the user's state (roles, activity, password) last changed.

Revision ID: 0009_user_sessions
Revises: 0008_keyed_audit
Create Date: 2026-12-09
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_user_sessions"
down_revision: str | None = "0008_keyed_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("wf_users") as batch:
        batch.add_column(sa.Column("token_version", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("wf_users") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("token_version")
