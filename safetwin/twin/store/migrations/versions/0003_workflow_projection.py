"""Workflow records: projection columns (created_at, title, area, position, due time) and list indexes.

Lists, the repeat-hazard check and the scheduled jobs (permit expiry, certificate reminders,
hazard escalation) filter and sort on these columns in SQL instead of parsing every stored
document. Existing rows are back-filled from their documents.

Revision ID: 0003_workflow_projection
Revises: 0002_workflows
Create Date: 2025-01-03
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003_workflow_projection"
down_revision: str | None = "0002_workflows"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TS = sa.DateTime(timezone=True)
NEW_COLUMNS: dict[str, sa.types.TypeEngine] = {
    "created_at": UTC_TS, "title": sa.String(200), "area_id": sa.String(64), "x_m": sa.Float(), "y_m": sa.Float(),
    "due_at": UTC_TS,
}
INDEXES = {
    "ix_wf_records_kind_updated_at": ["kind", "updated_at"],
    "ix_wf_records_kind_subtype_created_at": ["kind", "subtype", "created_at"],
    "ix_wf_records_kind_due_at": ["kind", "due_at"],
}


def _ts(value: Any, sqlite: bool) -> datetime | None:
    """An ISO time from a document as a UTC datetime (naive UTC on SQLite, like the models' type)."""
    if not value:
        return None
    t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    t = (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    return t.replace(tzinfo=None) if sqlite else t


def _backfill_values(kind: str, state: str, doc: dict[str, Any], sqlite: bool) -> dict[str, Any]:
    """Projection values of one stored document (frozen copy of the rules at this revision)."""
    due = None
    if kind == "permit" and state in ("approved", "active", "suspended"):
        due = doc.get("valid_until")
    elif kind == "hazard":
        due = doc.get("deadline")
    elif kind == "certificate":
        due = doc.get("expires_at")
    title = doc.get("title") or doc.get("name") or doc.get("number") or doc.get("message")
    area = doc.get("area_id") or ((doc.get("area_ids") or [None])[0] if kind == "permit" else None)
    return {"created_at": _ts(doc.get("created_at"), sqlite), "title": None if title is None else str(title)[:200],
            "area_id": area, "x_m": doc.get("x") if kind == "hazard" else None,
            "y_m": doc.get("y") if kind == "hazard" else None, "due_at": _ts(due, sqlite)}


def upgrade() -> None:
    for name, type_ in NEW_COLUMNS.items():
        op.add_column("wf_records", sa.Column(name, type_, nullable=True))
    for name, cols in INDEXES.items():
        op.create_index(name, "wf_records", cols)
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    records = sa.table("wf_records", sa.column("kind"), sa.column("id"), sa.column("state"),
                       sa.column("doc", sa.Text()), *(sa.column(name) for name in NEW_COLUMNS))
    rows = bind.execute(sa.select(records.c.kind, records.c.id, records.c.state,
                                  sa.cast(records.c.doc, sa.Text()))).all()
    for kind, rid, state, text in rows:
        values = _backfill_values(kind, state, json.loads(text), sqlite)
        bind.execute(records.update().where(records.c.kind == kind, records.c.id == rid).values(**values))


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="wf_records")
    with op.batch_alter_table("wf_records") as batch:
        for name in NEW_COLUMNS:
            batch.drop_column(name)
