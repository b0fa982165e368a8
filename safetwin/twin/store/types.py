"""Column types shared by the models and the migrations."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

#: 64-bit autoincrement key; SQLite only autoincrements ``INTEGER PRIMARY KEY`` (64-bit there).
BigIntId = BigInteger().with_variant(Integer(), "sqlite")

#: JSON document; JSONB on PostgreSQL.
JsonDoc = JSON().with_variant(JSONB(), "postgresql")


def as_utc(value: datetime, field: str = "timestamp") -> datetime:
    """Return ``value`` converted to UTC; a naive datetime is rejected with ``ValueError``."""
    if not isinstance(value, datetime):
        raise TypeError(f"{field}: expected a timezone-aware datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"{field}: naive datetime {value.isoformat()}; pass a timezone-aware UTC datetime")
    return value.astimezone(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetime on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is stored as naive
    UTC and made aware again on the way out. Naive datetimes are refused on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = as_utc(value)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
