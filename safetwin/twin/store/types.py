"""Column types shared by the models and the migrations."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, UserDefinedType

#: 64-bit autoincrement key; SQLite only autoincrements ``INTEGER PRIMARY KEY`` (64-bit there).
BigIntId = BigInteger().with_variant(Integer(), "sqlite")

#: JSON document; JSONB on PostgreSQL.
JsonDoc = JSON().with_variant(JSONB(), "postgresql")


class SQLiteExactReal(UserDefinedType[float]):
    """A double stored bit for bit by SQLite, the sign of zero included.

    A column of REAL affinity (``FLOAT``, ``REAL``, ``DOUBLE``) stores a float without a
    fractional part as an integer on disk, so -0.0 comes back as +0.0 (SQLite docs, "Datatypes
    In SQLite", §3 type affinity and §2.1 storage of REAL values). The declared type
    ``FLOAT_BLOB`` contains "BLOB", which gives the column BLOB affinity (rule 3 of §3.1 comes
    before rule 4): values are stored as they are bound -- a Python float as an 8-byte IEEE double.
    """

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "FLOAT_BLOB"

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        return lambda value: None if value is None else float(value)


#: a double precision number that keeps -0.0 on every backend (float8 on PostgreSQL)
ExactFloat = Float().with_variant(SQLiteExactReal(), "sqlite")


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
