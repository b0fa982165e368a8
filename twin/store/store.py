"""The Store: history and audit persistence over SQLAlchemy (SQLite or PostgreSQL)."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, Insert, Select, Table, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection
from sqlalchemy.orm import Session, sessionmaker

from . import pgcopy, sqlitefast
from .db import make_engine
from .migrate import upgrade_to_head
from .types import as_utc
from .models import AlarmEventRow, AuditRow, PositionRow, SensorReadingRow
from .records import (
    AlarmEvent, AuditEntry, Position, Reading, RowLike,
    alarm_params, audit_params, position_params, reading_params, to_record,
)

log = logging.getLogger("safetwin.store")

READINGS: Table = SensorReadingRow.__table__  # type: ignore[assignment]
POSITIONS: Table = PositionRow.__table__  # type: ignore[assignment]
ALARMS: Table = AlarmEventRow.__table__  # type: ignore[assignment]
AUDIT: Table = AuditRow.__table__  # type: ignore[assignment]

_READING_TIMES = frozenset({"ts", "received_ts"})
_POSITION_TIMES = frozenset({"ts"})

#: rows per INSERT statement / executemany call
DEFAULT_CHUNK_ROWS = 5000


class Store:
    """Persistence of sensor and position history, alarm events and the audit trail.

    >>> store = Store.open("sqlite://")           # in-memory; Store.open() uses SAFETWIN_DB_URL
    >>> from datetime import datetime, timezone
    >>> t = datetime(2025, 1, 1, tzinfo=timezone.utc)
    >>> store.write_readings([Reading("demo", "GD-01", t, 0.5, "mg/m3")])
    1
    >>> store.readings("GD-01")[0].value
    0.5
    >>> store.close()
    """

    def __init__(self, engine: Engine, *, migrate: bool = True) -> None:
        """Wrap ``engine``; with ``migrate`` the schema is upgraded to the newest revision."""
        self.engine = engine
        if migrate:
            upgrade_to_head(engine)
        self.session_factory: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)
        self._dialect = engine.dialect.name

    @classmethod
    def open(cls, url: str | URL | None = None, *, migrate: bool = True, **engine_kwargs: Any) -> Store:
        """Open the store at ``url`` (default: :func:`~safetwin.twin.store.db.default_db_url`),
        creating or upgrading its schema. ``engine_kwargs`` go to ``create_engine``."""
        return cls(make_engine(url, **engine_kwargs), migrate=migrate)

    @property
    def dialect(self) -> str:
        """Backend name: ``"sqlite"`` or ``"postgresql"``."""
        return self._dialect

    def close(self) -> None:
        """Release all connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def session(self) -> Session:
        """A new ORM session (use as a context manager)."""
        return self.session_factory()

    # ---- writes -------------------------------------------------------------------------
    def write_readings(self, rows: Iterable[RowLike], *, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> int:
        """Insert sensor readings in batches, in one transaction; rows whose ``(source, seq)``
        is already stored are skipped. Returns the number of rows inserted."""
        now = datetime.now(timezone.utc)
        return self.insert_prepared_readings([reading_params(r, now) for r in rows], chunk_rows=chunk_rows)

    def write_positions(self, rows: Iterable[RowLike], *, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> int:
        """Insert position fixes (metres) in batches, in one transaction. Returns rows inserted."""
        return self.insert_prepared_positions([position_params(r) for r in rows], chunk_rows=chunk_rows)

    def insert_prepared_readings(self, params: Sequence[dict[str, Any]], *,
                                 chunk_rows: int = DEFAULT_CHUNK_ROWS) -> int:
        """Insert readings already validated by :func:`reading_params` (dedupe on source/seq)."""
        with self.engine.begin() as conn:
            if self._dialect == "postgresql" and len(params) >= pgcopy.COPY_MIN_ROWS:
                return pgcopy.copy_readings(conn, READINGS, params)
            if self._dialect == "sqlite" and len(params) >= sqlitefast.FAST_MIN_ROWS:
                return sqlitefast.executemany(conn, self._dedupe_insert(), params, _READING_TIMES)
            return self._insert_chunks(conn, self._dedupe_insert(), params, chunk_rows)

    def insert_prepared_positions(self, params: Sequence[dict[str, Any]], *,
                                  chunk_rows: int = DEFAULT_CHUNK_ROWS) -> int:
        """Insert positions already validated by :func:`position_params`."""
        with self.engine.begin() as conn:
            if self._dialect == "postgresql" and len(params) >= pgcopy.COPY_MIN_ROWS:
                return pgcopy.copy_positions(conn, POSITIONS, params)
            if self._dialect == "sqlite" and len(params) >= sqlitefast.FAST_MIN_ROWS:
                return sqlitefast.executemany(conn, insert(POSITIONS), params, _POSITION_TIMES)
            return self._insert_chunks(conn, insert(POSITIONS), params, chunk_rows)

    def append_alarm_events(self, events: Iterable[RowLike]) -> int:
        """Append alarm events; returns how many were written."""
        params = [alarm_params(e) for e in events]
        with self.engine.begin() as conn:
            return self._insert_chunks(conn, insert(ALARMS), params, DEFAULT_CHUNK_ROWS)

    def audit(self, actor: str, action: str, subject: str = "", details: dict[str, Any] | None = None,
              ts: datetime | None = None) -> None:
        """Append one audit entry (``ts`` defaults to now, UTC; ``details`` JSON-serialisable)."""
        self.append_audit([AuditEntry(actor, action, subject, details or {}, ts)])

    def append_audit(self, entries: Iterable[RowLike]) -> int:
        """Append audit entries; returns how many were written."""
        now = datetime.now(timezone.utc)
        params = [audit_params(e, now) for e in entries]
        with self.engine.begin() as conn:
            return self._insert_chunks(conn, insert(AUDIT), params, DEFAULT_CHUNK_ROWS)

    def _dedupe_insert(self) -> Insert:
        seq = READINGS.c.seq
        if self._dialect == "postgresql":
            return postgresql.insert(READINGS).on_conflict_do_nothing(
                index_elements=["source", "seq"], index_where=seq.is_not(None))
        if self._dialect == "sqlite":
            return sqlite.insert(READINGS).on_conflict_do_nothing(
                index_elements=["source", "seq"], index_where=seq.is_not(None))
        raise NotImplementedError(f"store: unsupported database backend {self._dialect!r}")

    @staticmethod
    def _insert_chunks(conn: Connection, stmt: Insert, params: Sequence[dict[str, Any]], chunk_rows: int) -> int:
        inserted = 0
        for start in range(0, len(params), chunk_rows):
            chunk = params[start:start + chunk_rows]
            result = conn.execute(stmt, list(chunk), execution_options={"preserve_rowcount": True})
            inserted += result.rowcount if result.rowcount >= 0 else len(chunk)
        return inserted

    # ---- queries ------------------------------------------------------------------------
    def readings(self, sensor_id: str, since: datetime | None = None, until: datetime | None = None,
                 *, limit: int | None = None) -> list[Reading]:
        """Readings of ``sensor_id`` with ``since <= ts < until`` (UTC, either open), oldest first."""
        stmt = _window(select(READINGS).where(READINGS.c.sensor_id == sensor_id), READINGS, since, until, limit)
        return self._fetch(stmt, Reading)

    def positions(self, person_id: str, since: datetime | None = None, until: datetime | None = None,
                  *, limit: int | None = None) -> list[Position]:
        """Position fixes of ``person_id`` with ``since <= ts < until``, oldest first."""
        stmt = _window(select(POSITIONS).where(POSITIONS.c.person_id == person_id), POSITIONS, since, until, limit)
        return self._fetch(stmt, Position)

    def alarm_events(self, alarm_id: str | None = None, since: datetime | None = None,
                     until: datetime | None = None, *, sensor_id: str | None = None,
                     limit: int | None = None) -> list[AlarmEvent]:
        """Alarm events (optionally of one alarm and/or sensor) with ``since <= ts < until``."""
        stmt = select(ALARMS)
        if alarm_id is not None:
            stmt = stmt.where(ALARMS.c.alarm_id == alarm_id)
        if sensor_id is not None:
            stmt = stmt.where(ALARMS.c.sensor_id == sensor_id)
        return self._fetch(_window(stmt, ALARMS, since, until, limit), AlarmEvent)

    def audit_entries(self, since: datetime | None = None, until: datetime | None = None, *,
                      actor: str | None = None, subject: str | None = None,
                      limit: int | None = None) -> list[AuditEntry]:
        """Audit entries (optionally of one actor and/or subject) with ``since <= ts < until``."""
        stmt = select(AUDIT)
        if actor is not None:
            stmt = stmt.where(AUDIT.c.actor == actor)
        if subject is not None:
            stmt = stmt.where(AUDIT.c.subject == subject)
        return self._fetch(_window(stmt, AUDIT, since, until, limit), AuditEntry)

    def count_readings(self, sensor_id: str | None = None) -> int:
        """Number of stored readings (of one sensor if given)."""
        stmt = select(func.count()).select_from(READINGS)
        if sensor_id is not None:
            stmt = stmt.where(READINGS.c.sensor_id == sensor_id)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def count_positions(self, person_id: str | None = None) -> int:
        """Number of stored position fixes (of one person if given)."""
        stmt = select(func.count()).select_from(POSITIONS)
        if person_id is not None:
            stmt = stmt.where(POSITIONS.c.person_id == person_id)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def _fetch(self, stmt: Select[Any], cls: type) -> list[Any]:
        with self.engine.connect() as conn:
            return [to_record(cls, row) for row in conn.execute(stmt).mappings()]


def _window(stmt: Select[Any], table: Table, since: datetime | None, until: datetime | None,
            limit: int | None) -> Select[Any]:
    if since is not None:
        stmt = stmt.where(table.c.ts >= as_utc(since, "since"))
    if until is not None:
        stmt = stmt.where(table.c.ts < as_utc(until, "until"))
    stmt = stmt.order_by(table.c.ts, table.c.id)
    return stmt.limit(limit) if limit is not None else stmt
