"""History partitioned by time, and retention.

PostgreSQL: ``sensor_readings`` and ``position_history`` are range-partitioned by ``ts`` (declarative
partitioning, PostgreSQL docs §5.11): one partition per UTC day, ``<table>_pYYYYMMDD``, plus a
DEFAULT partition that takes rows of days without a partition (so an insert never fails for want
of one). :func:`ensure_partitions` creates the partitions of a range of days (the store does it
for yesterday to a week ahead when it opens, the live bridge once a day); rows already in the
DEFAULT partition for such a day are moved into the new partition in the same transaction.
Retention (:func:`apply_retention`) drops whole daily partitions older than the cut-off and
deletes older rows from the DEFAULT partition -- no table-wide DELETE, no bloat.

SQLite has no partitioning: retention deletes older rows in chunks of ``rowid``.

With TimescaleDB, make hypertables of the same tables instead (before partitioning); their
unique keys already contain ``ts`` as a hypertable requires.

Example::

    >>> from safetwin.twin.store import Store
    >>> from datetime import datetime, timezone
    >>> store = Store.open("sqlite://")
    >>> apply_retention(store.engine, keep_days=30, now=datetime(2025, 1, 31, tzinfo=timezone.utc))
    {'sensor_readings': 0, 'position_history': 0}
"""
from __future__ import annotations

import logging
import re
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection

from .models import Base

log = logging.getLogger("safetwin.store.partitions")

#: the history tables partitioned by time
PARTITIONED_TABLES: tuple[str, ...] = ("sensor_readings", "position_history")
#: days of partitions made ahead of today when the store opens
DAYS_AHEAD = 7
_NAME = re.compile(r"_p(\d{8})$")
#: rows deleted per statement by SQLite retention
SQLITE_DELETE_CHUNK = 50_000


def partition_name(table: str, day: date) -> str:
    """``sensor_readings_p20250101`` for the UTC day 2025-01-01."""
    return f"{table}_p{day:%Y%m%d}"


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), timezone.utc)


def _check_table(table: str) -> None:
    if table not in PARTITIONED_TABLES:   # the names below go into DDL text: fixed names only
        raise ValueError(f"not a partitioned history table: {table!r}")


def partitions(conn: Connection, table: str) -> list[date]:
    """The days that have a partition of ``table`` (PostgreSQL), ascending."""
    _check_table(table)
    rows = conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST(:parent AS regclass)"), {"parent": table}).scalars()
    days = []
    for name in rows:
        m = _NAME.search(name)
        if m:
            days.append(datetime.strptime(m.group(1), "%Y%m%d").date())
    return sorted(days)


def is_partitioned(conn: Connection, table: str) -> bool:
    """True when ``table`` is a partitioned table (PostgreSQL)."""
    return bool(conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = CAST(:t AS regclass))"),
        {"t": table}).scalar())


def ensure_partitions(engine: Engine, first_day: date, last_day: date) -> list[str]:
    """Create the daily partitions of every history table for ``first_day`` .. ``last_day``
    (inclusive) that do not exist yet; returns the names created. No-op on SQLite. Rows of those
    days already in the DEFAULT partition move into the new partition (one transaction per
    partition, so concurrent writers wait at most for one day's move)."""
    if engine.dialect.name != "postgresql":
        return []
    made: list[str] = []
    for table in PARTITIONED_TABLES:
        with engine.connect() as conn:
            if not is_partitioned(conn, table):
                continue
            have = set(partitions(conn, table))
        day = first_day
        while day <= last_day:
            if day not in have:
                made.append(_create_partition(engine, table, day))
            day += timedelta(days=1)
    if made:
        log.info("created history partitions %s", ", ".join(made))
    return made


def _create_partition(engine: Engine, table: str, day: date) -> str:
    name = partition_name(table, day)
    lo, hi = _day_start(day), _day_start(day + timedelta(days=1))
    bounds = {"lo": lo, "hi": hi}
    with engine.begin() as conn:
        # Serialise with other creators; a concurrent one may have made it meanwhile.
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:n))"), {"n": name})
        if conn.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar() is not None:
            return name
        conn.execute(text(f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)'))
        cols = ", ".join(f'"{c}"' for c in Base.metadata.tables[table].c.keys())   # by name: orders differ
        conn.execute(text(f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM "{table}_default" '
                          "WHERE ts >= :lo AND ts < :hi"), bounds)
        conn.execute(text(f'DELETE FROM "{table}_default" WHERE ts >= :lo AND ts < :hi'), bounds)
        conn.execute(text(f"ALTER TABLE \"{table}\" ATTACH PARTITION \"{name}\" FOR VALUES FROM ('{lo.isoformat()}') "
                          f"TO ('{hi.isoformat()}')"))
    return name


def ensure_current_partitions(engine: Engine, now: datetime | None = None, days_ahead: int = DAYS_AHEAD) -> list[str]:
    """Partitions for yesterday to ``days_ahead`` days after today (UTC)."""
    today = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).date()
    return ensure_partitions(engine, today - timedelta(days=1), today + timedelta(days=days_ahead))


def apply_retention(engine: Engine, *, keep_days: float, now: datetime | None = None) -> dict[str, int]:
    """Delete history older than ``keep_days`` days before ``now`` (UTC). PostgreSQL: drops the
    daily partitions entirely before the cut-off and deletes the older rows of the DEFAULT
    partition; SQLite: deletes the older rows in chunks. Returns rows (SQLite, PostgreSQL's
    DEFAULT partition) or partitions (PostgreSQL) removed per table, approximately."""
    if keep_days <= 0:
        raise ValueError("keep_days must be > 0")
    cutoff = (now or datetime.now(timezone.utc)).astimezone(timezone.utc) - timedelta(days=keep_days)
    removed: dict[str, int] = {}
    for table in PARTITIONED_TABLES:
        if engine.dialect.name == "postgresql":
            removed[table] = _retention_postgresql(engine, table, cutoff)
        else:
            removed[table] = _retention_sqlite(engine, table, cutoff)
    return removed


def _retention_postgresql(engine: Engine, table: str, cutoff: datetime) -> int:
    removed = 0
    with engine.connect() as conn:
        partitioned = is_partitioned(conn, table)
        days = partitions(conn, table) if partitioned else []
    for day in days:
        if _day_start(day + timedelta(days=1)) <= cutoff:
            name = partition_name(table, day)
            with engine.begin() as conn:
                conn.execute(text(f'ALTER TABLE "{table}" DETACH PARTITION "{name}"'))
                conn.execute(text(f'DROP TABLE "{name}"'))
            removed += 1
    target = f"{table}_default" if partitioned else table
    with engine.begin() as conn:
        removed += conn.execute(text(f'DELETE FROM "{target}" WHERE ts < :c'), {"c": cutoff}).rowcount or 0
    return removed


def _retention_sqlite(engine: Engine, table: str, cutoff: datetime) -> int:
    from .sqlitefast import sqlite_datetime
    removed = 0
    while True:
        with engine.begin() as conn:
            n = conn.execute(text(f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} "
                                  f"WHERE ts < :c LIMIT {SQLITE_DELETE_CHUNK})"),
                             {"c": sqlite_datetime(cutoff)}).rowcount
        removed += n
        if n < SQLITE_DELETE_CHUNK:
            return removed
