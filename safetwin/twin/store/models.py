"""Declarative models of the store's tables (SQLAlchemy 2 typed mappings).

Units: positions in metres in the plant's local frame (x east, y north, z up); timestamps are
timezone-aware UTC; reading values are in the unit named in ``unit`` (SI, concentrations mg/m³).

History (``sensor_readings``, ``position_history``) carries the **site** and the plant of every
row, and its unique keys end with the row's time ``ts``: several sites share one store (two
sites may both have a gateway ``gw-1``), and the keys suit a table partitioned by time. On
PostgreSQL both tables are range-partitioned by ``ts`` (one partition per day plus a default
one, :mod:`.partitions`) and their primary key is ``(id, ts)`` (a partitioned table's keys must
contain the partition column); on SQLite the key stays ``id`` (the rowid). The same keys let
TimescaleDB make hypertables of these tables (its unique indexes must contain the time column).
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Float, Index, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import BigIntId, ExactFloat, JsonDoc, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Quality(str, enum.Enum):
    """Quality of a sensor reading."""

    OK = "ok"
    STALE = "stale"
    OUT_OF_RANGE = "out_of_range"
    FAULT = "fault"


QUALITY_VALUES: tuple[str, ...] = tuple(q.value for q in Quality)


class Base(DeclarativeBase):
    """Declarative base holding the store's metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SensorReadingRow(Base):
    """One sensor reading of a site. A message's readings are identified for dedupe by
    ``(site, plant_id, source, seq, ts)`` when seq is set (a NULL seq never conflicts)."""

    __tablename__ = "sensor_readings"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), default="", server_default="")
    plant_id: Mapped[str] = mapped_column(String(64))
    sensor_id: Mapped[str] = mapped_column(String(128))
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    received_ts: Mapped[datetime] = mapped_column(UTCDateTime())
    value: Mapped[float | None] = mapped_column(ExactFloat, nullable=True)  # NULL: no number (fault)
    unit: Mapped[str] = mapped_column(String(32))
    quality: Mapped[str] = mapped_column(
        String(16), default=Quality.OK.value, server_default=Quality.OK.value
    )
    source: Mapped[str] = mapped_column(String(128), default="", server_default="")
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (
        CheckConstraint(quality.in_(QUALITY_VALUES), name="quality"),
        Index("ix_sensor_readings_sensor_id_site_ts", "sensor_id", "site", "ts"),
        Index("uq_sensor_readings_key", "site", "plant_id", "source", "seq", "ts", unique=True),
    )


#: the columns of the unique key of each history table (ON CONFLICT targets)
READING_KEY: tuple[str, ...] = ("site", "plant_id", "source", "seq", "ts")
POSITION_KEY: tuple[str, ...] = ("site", "plant_id", "person_id", "ts")


class PositionRow(Base):
    """One position fix of a person on a site, metres in the plant frame; one fix per person
    and time (``(site, plant_id, person_id, ts)``)."""

    __tablename__ = "position_history"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), default="", server_default="")
    plant_id: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(String(128))
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    x_m: Mapped[float] = mapped_column(Float)
    y_m: Mapped[float] = mapped_column(Float)
    z_m: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    area_id: Mapped[str | None] = mapped_column(String(128), nullable=True)

    __table_args__ = (
        Index("uq_position_history_key", "person_id", "site", "plant_id", "ts", unique=True),
        Index("ix_position_history_site_ts", "site", "ts"),
    )


class AlarmEventRow(Base):
    """A change of an alarm's state (raised, acknowledged, cleared ...)."""

    __tablename__ = "alarm_events"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64), default="", server_default="")
    alarm_id: Mapped[str] = mapped_column(String(128))
    sensor_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    level: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32))
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    message: Mapped[str] = mapped_column(Text, default="", server_default="")

    __table_args__ = (
        Index("ix_alarm_events_alarm_id_site_ts", "alarm_id", "site", "ts"),
        Index("ix_alarm_events_ts", "ts"),
    )


class AuditRow(Base):
    """An entry of the audit trail: who did what to which subject, with details."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(String(256), default="", server_default="")
    details: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)

    __table_args__ = (
        Index("ix_audit_log_ts", "ts"),
        Index("ix_audit_log_subject_ts", "subject", "ts"),
    )


class SiteSecretRow(Base):
    """A secret of one site generated by the software on first use (e.g. the key with which the
    site's bridge signs its retained alarm records); never entered or shown by a person."""

    __tablename__ = "site_secrets"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_hex: Mapped[str] = mapped_column(String(128))
    created: Mapped[datetime] = mapped_column(UTCDateTime())


class SparkplugBirthRow(Base):
    """The current Sparkplug B birth of an edge node (``device`` '') or of one of its devices, as a
    site's bridge last received it: the node's ``bd_seq`` and the metric aliases
    (``aliases``: ``[[alias, name, datatype], ...]``), so a restarted bridge can decode the data
    messages the broker kept for it."""

    __tablename__ = "sparkplug_births"

    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    edge_node: Mapped[str] = mapped_column(String(64), primary_key=True)
    device: Mapped[str] = mapped_column(String(64), primary_key=True)
    bd_seq: Mapped[int] = mapped_column(BigInteger())
    aliases: Mapped[Any] = mapped_column(JsonDoc)
    updated: Mapped[datetime] = mapped_column(UTCDateTime())


class LeaseRow(Base):
    """A named lease (e.g. ``bridge:site1``): who holds it, until when (``expires_s``, seconds
    since the Unix epoch on the database's clock) and its ``epoch``, which grows by one at each
    change of holder (a fencing token). See :mod:`safetwin.twin.store.lease`."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128), default="", server_default="")
    epoch: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    expires_s: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
