"""SQLAlchemy tables of the workflow records, on the store's ``Base`` (one metadata, one migration chain).

* ``wf_records`` — the current version of each regulated record (a JSON document with the fields
  that lists, KPIs and scheduled jobs filter on promoted to columns, see :mod:`.projection`);
* ``wf_record_versions`` — the append-only, keyed audit chain: every change of a record or a user
  is a new row whose ``hash`` is a MAC over the previous row's hash, the new document and an image
  of every other stored column (:mod:`.audit`);
* ``wf_users`` — people who log in: argon2 password hash, roles, whether they are active and the
  version of their login tokens (bumped when a session must end: deactivation, password reset);
* ``wf_deliveries`` — the notification outbox and delivery log: one row per notification and
  channel, with its attempts, the next one's time and its end (delivered or dead letter).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from safetwin.twin.store.models import Base
from safetwin.twin.store.types import BigIntId, JsonDoc, UTCDateTime


class RecordRow(Base):
    """Current version of one record (``kind`` = permit, hazard, certificate, alarm_case, risk_unit)."""

    __tablename__ = "wf_records"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(32))
    subtype: Mapped[str | None] = mapped_column(String(64), nullable=True)
    level: Mapped[str | None] = mapped_column(String(32), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    doc: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    doc_hash: Mapped[str] = mapped_column(String(64))
    # promoted in migration 0003 (projection columns; nullable for kinds that lack them)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    title: Mapped[str | None] = mapped_column(String(200), nullable=True)
    area_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    x_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    y_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (
        Index("ix_wf_records_kind_state", "kind", "state"),
        Index("ix_wf_records_kind_updated_at", "kind", "updated_at"),
        Index("ix_wf_records_kind_subtype_created_at", "kind", "subtype", "created_at"),
        Index("ix_wf_records_kind_due_at", "kind", "due_at"),
    )


class RecordVersionRow(Base):
    """One link of the audit chain: a record's version, who made it, and the chain hash."""

    __tablename__ = "wf_record_versions"

    seq: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    doc: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    doc_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # migration 0008: the keyed chain (NULL only in links written before it, until they are sealed)
    row: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc, nullable=True)
    row_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)

    __table_args__ = (UniqueConstraint("kind", "record_id", "version"),)


class UserRow(Base):
    """A person who can log in."""

    __tablename__ = "wf_users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    roles: Mapped[list[str]] = mapped_column(JsonDoc)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # migration 0009: tokens carry the version they were issued at; a bump refuses the older ones
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class DeliveryRow(Base):
    """One notification to one channel: queued until delivered or dead (``safetwin.twin.workflows.delivery_log``)."""

    __tablename__ = "wf_deliveries"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    site_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(64))
    recipients: Mapped[list[str]] = mapped_column(JsonDoc)
    notification: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str] = mapped_column(String(500), default="")

    __table_args__ = (
        Index("ix_wf_deliveries_channel_state_next", "channel", "state", "next_attempt_at"),
        Index("ix_wf_deliveries_state_created_at", "state", "created_at"),
    )


WORKFLOW_TABLES = [RecordRow.__table__, RecordVersionRow.__table__, UserRow.__table__, DeliveryRow.__table__]
