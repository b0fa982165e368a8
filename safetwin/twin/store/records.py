"""Plain records going in and out of the store, and their validation.

Timestamps are timezone-aware UTC; positions are metres in the plant frame; a reading's value is
in the unit named by ``unit`` (SI; concentrations in mg/m³).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

from .models import QUALITY_VALUES, Quality
from .types import as_utc


@dataclass(frozen=True, slots=True)
class Reading:
    """A sensor reading. ``ts``: source time; ``received_ts``: arrival time (now if None);
    ``value`` None means no number (e.g. quality "fault"; NaN is stored as None)."""

    plant_id: str
    sensor_id: str
    ts: datetime
    value: float | None
    unit: str
    quality: str = Quality.OK.value
    received_ts: datetime | None = None
    source: str = ""
    seq: int | None = None
    site: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """A person's position fix on ``site``: metres in the plant frame, ``area_id`` of the named
    area if any."""

    plant_id: str
    person_id: str
    ts: datetime
    x_m: float
    y_m: float
    z_m: float = 0.0
    area_id: str | None = None
    site: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """A change of an alarm's state (e.g. raised / acknowledged / cleared) at ``ts``."""

    alarm_id: str
    level: str
    state: str
    ts: datetime
    sensor_id: str | None = None
    message: str = ""
    site: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """An audit trail entry; ``ts`` defaults to now, ``details`` must be JSON-serialisable."""

    actor: str
    action: str
    subject: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    ts: datetime | None = None
    id: int | None = None


RowLike = Mapping[str, Any] | Reading | Position | AlarmEvent | AuditEntry
R = TypeVar("R", Reading, Position, AlarmEvent, AuditEntry)


def _as_mapping(row: Any, kind: str) -> Mapping[str, Any]:
    if isinstance(row, Mapping):
        return row
    if is_dataclass(row) and not isinstance(row, type):
        return {f.name: getattr(row, f.name) for f in fields(row)}
    raise TypeError(f"{kind}: expected a mapping or a {kind} record, got {type(row).__name__}")


def _text(m: Mapping[str, Any], key: str, kind: str, *, required: bool = True) -> str | None:
    value = m.get(key)
    if value is None or value == "":
        if required:
            raise ValueError(f"{kind}: field {key!r} is missing or empty")
        return None if value is None else ""
    if not isinstance(value, str):
        raise ValueError(f"{kind}: field {key!r} must be a string, got {type(value).__name__}")
    return value


def _number(m: Mapping[str, Any], key: str, kind: str, *, finite: bool, default: float | None = None) -> float:
    value = m.get(key, default)
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{kind}: field {key!r} must be a number, got {value!r}")
    number = float(value)
    if finite and not math.isfinite(number):
        raise ValueError(f"{kind}: field {key!r} must be finite, got {number}")
    return number


def _optional_value(m: Mapping[str, Any], kind: str) -> float | None:
    """A reading's value; None or NaN (a faulty sensor with no number) is stored as NULL."""
    if m.get("value") is None:
        return None
    number = _number(m, "value", kind, finite=False)
    if math.isnan(number):
        return None
    if math.isinf(number):
        raise ValueError(f"{kind}: field 'value' must be finite, got {number}")
    return number


def _time(m: Mapping[str, Any], key: str, kind: str, default: datetime | None = None) -> datetime:
    value = m.get(key)
    if value is None:
        if default is None:
            raise ValueError(f"{kind}: field {key!r} is missing")
        return default
    return as_utc(value, f"{kind}: field {key!r}")


def reading_params(row: RowLike, now: datetime | None = None) -> dict[str, Any]:
    """Validate one reading and return the insert parameters (UTC datetimes).

    Raises ``ValueError``/``TypeError`` naming the field. ``received_ts`` defaults to ``now``.
    """
    kind = "reading"
    m = _as_mapping(row, kind)
    quality = m.get("quality") or Quality.OK.value
    quality = quality.value if isinstance(quality, Quality) else quality
    if quality not in QUALITY_VALUES:
        raise ValueError(f"{kind}: field 'quality' must be one of {QUALITY_VALUES}, got {quality!r}")
    seq = m.get("seq")
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
        raise ValueError(f"{kind}: field 'seq' must be an integer or None, got {seq!r}")
    return {
        "plant_id": _text(m, "plant_id", kind),
        "sensor_id": _text(m, "sensor_id", kind),
        "ts": _time(m, "ts", kind),
        "received_ts": _time(m, "received_ts", kind, now or datetime.now(timezone.utc)),
        "value": _optional_value(m, kind),
        "unit": _text(m, "unit", kind, required=False) or "",
        "quality": quality,
        "source": _text(m, "source", kind, required=False) or "",
        "seq": seq,
        "site": _text(m, "site", kind, required=False) or "",
    }


def position_params(row: RowLike) -> dict[str, Any]:
    """Validate one position fix (metres, finite) and return the insert parameters."""
    kind = "position"
    m = _as_mapping(row, kind)
    return {
        "plant_id": _text(m, "plant_id", kind),
        "person_id": _text(m, "person_id", kind),
        "ts": _time(m, "ts", kind),
        "x_m": _number(m, "x_m", kind, finite=True),
        "y_m": _number(m, "y_m", kind, finite=True),
        "z_m": _number(m, "z_m", kind, finite=True, default=0.0),
        "area_id": _text(m, "area_id", kind, required=False),
        "site": _text(m, "site", kind, required=False) or "",
    }


def alarm_params(row: RowLike) -> dict[str, Any]:
    """Validate one alarm event and return the insert parameters."""
    kind = "alarm event"
    m = _as_mapping(row, kind)
    return {
        "alarm_id": _text(m, "alarm_id", kind),
        "sensor_id": _text(m, "sensor_id", kind, required=False),
        "level": _text(m, "level", kind),
        "state": _text(m, "state", kind),
        "ts": _time(m, "ts", kind),
        "message": _text(m, "message", kind, required=False) or "",
        "site": _text(m, "site", kind, required=False) or "",
    }


def audit_params(row: RowLike, now: datetime | None = None) -> dict[str, Any]:
    """Validate one audit entry (``ts`` defaults to ``now``) and return the insert parameters."""
    kind = "audit entry"
    m = _as_mapping(row, kind)
    details = m.get("details") or {}
    if not isinstance(details, Mapping):
        raise ValueError(f"{kind}: field 'details' must be a mapping, got {type(details).__name__}")
    return {
        "ts": _time(m, "ts", kind, now or datetime.now(timezone.utc)),
        "actor": _text(m, "actor", kind),
        "action": _text(m, "action", kind),
        "subject": _text(m, "subject", kind, required=False) or "",
        "details": dict(details),
    }


def to_record(cls: type[R], row: Mapping[str, Any]) -> R:
    """Build a record of type ``cls`` from a result row mapping (extra keys ignored)."""
    return cls(**{f.name: row[f.name] for f in fields(cls) if f.name in row})


__all__ = [
    "AlarmEvent", "AuditEntry", "Position", "Reading", "RowLike",
    "alarm_params", "audit_params", "position_params", "reading_params", "to_record",
]
