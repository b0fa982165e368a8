"""SQLite bulk path: executemany on the driver cursor with values pre-converted to SQLite's
storage form, skipping SQLAlchemy's per-row bind processing (about twice as fast).

The SQL text is compiled by SQLAlchemy Core from the same insert construct as the normal path;
values travel only as bound parameters.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, Insert

#: below this many rows the plain SQLAlchemy path is used
FAST_MIN_ROWS = 50


def sqlite_datetime(value: datetime) -> str:
    """An aware datetime as naive-UTC text, exactly as SQLAlchemy's SQLite DateTime stores it."""
    v = value.astimezone(timezone.utc)
    return (f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}."
            f"{v.microsecond:06d}")


def executemany(conn: Connection, stmt: Insert, params: Sequence[dict[str, Any]],
                datetime_keys: frozenset[str]) -> int:
    """Insert validated ``params`` (all with the same keys) with ``stmt`` in the open
    transaction of ``conn``; returns the number of rows inserted."""
    keys = list(params[0])
    compiled = stmt.compile(dialect=conn.dialect, column_keys=keys)
    order = list(compiled.positiontup or ())
    convert = [k in datetime_keys for k in order]
    rows = [
        tuple(sqlite_datetime(p[k]) if is_dt and p[k] is not None else p[k]
              for k, is_dt in zip(order, convert))
        for p in params
    ]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(compiled.string, rows)
        return int(cursor.rowcount)
    finally:
        cursor.close()
