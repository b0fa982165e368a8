"""Declarative models of the store's tables (SQLAlchemy 2 typed mappings).

Units: positions in metres in the plant's local frame (x east, y north, z up); timestamps are
timezone-aware UTC; reading values are in the unit named in ``unit`` (SI, concentrations mg/m³).
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Float, Index, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import BigIntId, JsonDoc, UTCDateTime

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
    """One sensor reading; ``(source, seq)`` identifies a message for dedupe when seq is set."""

    __tablename__ = "sensor_readings"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    plant_id: Mapped[str] = mapped_column(String(64))
    sensor_id: Mapped[str] = mapped_column(String(128))
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    received_ts: Mapped[datetime] = mapped_column(UTCDateTime())
    value: Mapped[float | None] = mapped_column(Float, nullable=True)  # NULL: no number (fault)
    unit: Mapped[str] = mapped_column(String(32))
    quality: Mapped[str] = mapped_column(
        String(16), default=Quality.OK.value, server_default=Quality.OK.value
    )
    source: Mapped[str] = mapped_column(String(128), default="", server_default="")
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (
        CheckConstraint(quality.in_(QUALITY_VALUES), name="quality"),
        Index("ix_sensor_readings_sensor_id_ts", "sensor_id", "ts"),
        Index(
            "uq_sensor_readings_source_seq", "source", "seq", unique=True,
            sqlite_where=seq.is_not(None), postgresql_where=seq.is_not(None),
        ),
    )


class PositionRow(Base):
    """One position fix of a person, metres in the plant frame."""

    __tablename__ = "position_history"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    plant_id: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(String(128))
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    x_m: Mapped[float] = mapped_column(Float)
    y_m: Mapped[float] = mapped_column(Float)
    z_m: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    area_id: Mapped[str | None] = mapped_column(String(128), nullable=True)

    __table_args__ = (Index("ix_position_history_person_id_ts", "person_id", "ts"),)


class AlarmEventRow(Base):
    """A change of an alarm's state (raised, acknowledged, cleared ...)."""

    __tablename__ = "alarm_events"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    alarm_id: Mapped[str] = mapped_column(String(128))
    sensor_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    level: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32))
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    message: Mapped[str] = mapped_column(Text, default="", server_default="")

    __table_args__ = (
        Index("ix_alarm_events_alarm_id_ts", "alarm_id", "ts"),
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
