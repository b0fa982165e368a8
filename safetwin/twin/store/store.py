"""The Store: history and audit persistence over SQLAlchemy (SQLite or PostgreSQL)."""
from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

import msgspec
from sqlalchemy import Engine, Insert, Select, Table, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection
from sqlalchemy.orm import Session, sessionmaker

from . import partitions, pgcopy, sqlitefast
from .db import make_engine
from .migrate import upgrade_to_head
from .types import as_utc
from .models import (POSITION_KEY, READING_KEY, AlarmEventRow, AuditRow, PositionRow, SensorReadingRow,
                     SiteSecretRow, SparkplugBirthRow)
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

#: field order of a prepared reading row for :meth:`Store.insert_reading_rows` and
#: ``BatchWriter.put_prepared_readings``; ``ts`` and ``received_ts`` are float seconds since
#: the Unix epoch (UTC), ``value`` a finite float or None, ``quality`` one of QUALITY_VALUES,
#: ``source`` a string ("" when none), ``seq`` an int or None and ``site`` the site's id.
READING_ROW_FIELDS: tuple[str, ...] = (
    "plant_id", "sensor_id", "ts", "received_ts", "value", "unit", "quality", "source", "seq", "site")
ReadingRow = tuple[str, str, float, float, float | None, str, str, str, int | None, str]
#: SQLite ≥ 3.38 has the ``->>`` JSON operator used by the bulk reading path
_SQLITE_JSON_ROWS = sqlite3.sqlite_version_info >= (3, 38, 0)
_JSON_ENCODER = msgspec.json.Encoder()


def _sqlite_text_sql(us: str) -> str:
    """SQL of SQLite's stored DateTime text for the integer microseconds since the epoch ``us``
    (the same text as :func:`epoch_to_sqlite_text`)."""
    return f"strftime('%Y-%m-%d %H:%M:%S', {us} / 1000000, 'unixepoch') || '.' || printf('%06d', {us} % 1000000)"


# Identifiers only (fixed table/column names); the rows travel as one bound JSON parameter, times
# as epoch seconds that SQLite turns into its DateTime text (microseconds rounded half up).
_SQLITE_JSON_INSERT = (
    f"INSERT INTO {READINGS.name} ({', '.join(READING_ROW_FIELDS)}) "
    f"SELECT p, sid, {_sqlite_text_sql('ts_us')}, {_sqlite_text_sql('rx_us')}, v, u, q, src, seq, site FROM ("
    "SELECT value->>0 AS p, value->>1 AS sid, CAST((value->>2) * 1000000.0 + 0.5 AS INTEGER) AS ts_us, "
    "CAST((value->>3) * 1000000.0 + 0.5 AS INTEGER) AS rx_us, value->>4 AS v, value->>5 AS u, value->>6 AS q, "
    "value->>7 AS src, value->>8 AS seq, value->>9 AS site FROM json_each(?)) WHERE true "
    f"ON CONFLICT ({', '.join(READING_KEY)}) DO NOTHING")

_SECOND_TEXT: dict[int, str] = {}


def epoch_to_sqlite_text(ts_s: float) -> str:
    """Seconds since the Unix epoch (UTC, after 1970) as SQLite's stored DateTime text
    (``YYYY-MM-DD HH:MM:SS.ffffff``, naive UTC, exactly as SQLAlchemy stores an aware UTC
    datetime), rounded half up to the microsecond (``floor(ts_s * 1e6 + 0.5)``, the same
    arithmetic as the bulk insert's SQL); the second prefix is cached.

    >>> epoch_to_sqlite_text(1735689600.1234565)
    '2025-01-01 00:00:00.123457'
    """
    sec, us = divmod(int(ts_s * 1e6 + 0.5), 1_000_000)
    prefix = _SECOND_TEXT.get(sec)
    if prefix is None:
        if len(_SECOND_TEXT) > 100_000:
            _SECOND_TEXT.clear()
        prefix = _SECOND_TEXT[sec] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(sec))
    return f"{prefix}.{us:06d}"


def sqlite_text_to_epoch(text: str) -> float:
    """Inverse of :func:`epoch_to_sqlite_text` (to the microsecond)."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


def _epoch_to_datetime(ts_s: float) -> datetime:
    return datetime.fromtimestamp(ts_s, timezone.utc)


class Store:
    """Persistence of sensor and position history, alarm events and the audit trail.

    >>> store = Store.open("sqlite://")           # in-memory
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
            partitions.ensure_current_partitions(engine)
        self.session_factory: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)
        self._dialect = engine.dialect.name

    @classmethod
    def open(cls, url: str | URL, *, migrate: bool = True, **engine_kwargs: Any) -> Store:
        """Open the store at ``url``, creating or upgrading its schema. ``engine_kwargs`` go to
        ``create_engine``."""
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
        """Insert sensor readings in batches, in one transaction; rows whose key ``(site,
        plant_id, source, seq, ts)`` is already stored are skipped. Returns the number of rows
        inserted."""
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

    def insert_reading_rows(self, rows: Sequence[ReadingRow]) -> int:
        """Insert readings given as tuples in :data:`READING_ROW_FIELDS` order (times as float
        seconds since the epoch, UTC), already validated by the caller -- e.g. the live
        bridge, whose msgspec decoders and registry checks guarantee the field types -- so no
        per-row validation happens here. One transaction; rows whose key is stored are
        skipped. Returns the number of rows inserted. On SQLite (≥ 3.38) a batch goes in as one
        ``INSERT … SELECT … FROM json_each(?)`` (older SQLite: ``executemany``); on PostgreSQL
        through COPY.

        >>> store = Store.open("sqlite://")
        >>> store.insert_reading_rows([("demo", "GD-01", 1.7e9, 1.7e9, 0.5, "%LEL", "ok", "gw-1", 7, "site1")])
        1
        >>> store.readings("GD-01")[0].ts.isoformat()
        '2023-11-14T22:13:20+00:00'
        """
        if not rows:
            return 0
        if self._dialect == "sqlite" and len(rows) >= sqlitefast.FAST_MIN_ROWS:
            if _SQLITE_JSON_ROWS:
                # One statement reading the whole batch from a JSON array (json_each): SQLite
                # parses and inserts it in C with the GIL released, instead of Python binding
                # ten parameters per row under the GIL -- the ingest thread keeps running.
                # Floats survive exactly (shortest round-trip repr, correctly rounded parse).
                return self.insert_reading_rows_json(_JSON_ENCODER.encode(rows))
            sql_text, order = self._sqlite_reading_rows_sql()
            conv = epoch_to_sqlite_text
            data = [tuple(conv(r[i]) if i in (2, 3) else r[i] for i in order) for r in rows]
            with self.engine.begin() as conn:
                cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                try:
                    cursor.executemany(sql_text, data)
                    return int(cursor.rowcount)
                finally:
                    cursor.close()
        to_dt = _epoch_to_datetime
        params = [{"plant_id": r[0], "sensor_id": r[1], "ts": to_dt(r[2]), "received_ts": to_dt(r[3]),
                   "value": r[4], "unit": r[5], "quality": r[6], "source": r[7], "seq": r[8], "site": r[9]}
                  for r in rows]
        return self.insert_prepared_readings(params)

    def insert_reading_rows_json(self, doc: bytes) -> int:
        """Insert readings given as one JSON array of rows in :data:`READING_ROW_FIELDS` order
        (times as epoch seconds), already validated -- the live bridge's ingest log records.
        One transaction; rows whose key is stored are skipped, so inserting a document twice is
        harmless. Returns rows inserted. On SQLite the document is expanded by SQLite itself
        (``json_each``, GIL released), times included.

        >>> store = Store.open("sqlite://")
        >>> doc = b'[["demo","GD-01",1735689600.5,1735689601.0,-0.0,"%LEL","ok","gw",7,"s1"]]'
        >>> store.insert_reading_rows_json(doc), store.insert_reading_rows_json(doc)
        (1, 0)
        >>> r = store.readings("GD-01")[0]; r.ts.isoformat(), r.value
        ('2025-01-01T00:00:00.500000+00:00', -0.0)
        """
        if len(doc) <= 2:
            return 0
        if self._dialect == "sqlite" and _SQLITE_JSON_ROWS:
            with self.engine.begin() as conn:
                cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                try:
                    cursor.execute(_SQLITE_JSON_INSERT, (doc,))
                    return int(cursor.rowcount)
                finally:
                    cursor.close()
        return self.insert_reading_rows(msgspec.json.decode(doc))

    def _sqlite_reading_rows_sql(self) -> tuple[str, tuple[int, ...]]:
        """The compiled dedupe INSERT for SQLite and the row-field index of each placeholder."""
        cached = getattr(self, "_reading_rows_sql", None)
        if cached is None:
            compiled = self._dedupe_insert().compile(dialect=self.engine.dialect,
                                                     column_keys=list(READING_ROW_FIELDS))
            order = tuple(READING_ROW_FIELDS.index(k) for k in (compiled.positiontup or ()))
            cached = self._reading_rows_sql = (compiled.string, order)
        return cached

    def insert_prepared_positions(self, params: Sequence[dict[str, Any]], *,
                                  chunk_rows: int = DEFAULT_CHUNK_ROWS) -> int:
        """Insert positions already validated by :func:`position_params`."""
        with self.engine.begin() as conn:
            if self._dialect == "postgresql" and len(params) >= pgcopy.COPY_MIN_ROWS:
                return pgcopy.copy_positions(conn, POSITIONS, params)
            stmt = self._dedupe_insert(POSITIONS, POSITION_KEY)
            if self._dialect == "sqlite" and len(params) >= sqlitefast.FAST_MIN_ROWS:
                return sqlitefast.executemany(conn, stmt, params, _POSITION_TIMES)
            return self._insert_chunks(conn, stmt, params, chunk_rows)

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

    def _dedupe_insert(self, table: Table = READINGS, key: Sequence[str] = READING_KEY) -> Insert:
        """INSERT into ``table`` skipping rows whose unique ``key`` is stored."""
        if self._dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(key))
        if self._dialect == "sqlite":
            return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(key))
        raise NotImplementedError(f"store: unsupported database backend {self._dialect!r}")

    @staticmethod
    def _insert_chunks(conn: Connection, stmt: Insert, params: Sequence[dict[str, Any]], chunk_rows: int) -> int:
        inserted = 0
        for start in range(0, len(params), chunk_rows):
            chunk = params[start:start + chunk_rows]
            result = conn.execute(stmt, list(chunk), execution_options={"preserve_rowcount": True})
            inserted += result.rowcount if result.rowcount >= 0 else len(chunk)
        return inserted

    # ---- site secrets -------------------------------------------------------------------
    def site_secret(self, site: str, name: str, *, nbytes: int = 32) -> bytes:
        """The secret ``name`` of ``site`` (``nbytes`` random bytes made on first use and kept in
        the store, so every process of the site -- a restarted or a standby bridge -- gets the
        same one; concurrent first uses agree on one).

        >>> store = Store.open("sqlite://")
        >>> key = store.site_secret("site1", "alarm-signing")
        >>> len(key), key == store.site_secret("site1", "alarm-signing") != store.site_secret("site2", "alarm-signing")
        (32, True)
        """
        import secrets
        table = SiteSecretRow.__table__
        cond = (table.c.site == site) & (table.c.name == name)
        with self.engine.begin() as conn:
            found = conn.execute(select(table.c.secret_hex).where(cond)).scalar()
            if found is None:
                row = {"site": site, "name": name, "secret_hex": secrets.token_hex(nbytes),
                       "created": datetime.now(timezone.utc)}
                ins = (postgresql.insert(table) if self._dialect == "postgresql" else sqlite.insert(table))
                conn.execute(ins.values(**row).on_conflict_do_nothing(index_elements=["site", "name"]))
                found = conn.execute(select(table.c.secret_hex).where(cond)).scalar_one()
        return bytes.fromhex(found)

    # ---- Sparkplug B births --------------------------------------------------------------
    def keep_sparkplug_birth(self, site: str, group: str, edge: str, device: str | None, bd_seq: int,
                             aliases: dict[int, tuple[str, int]]) -> None:
        """Keep the current birth of an edge node (``device`` None; its device births are dropped:
        a new node birth ends them) or of one of its devices: ``aliases`` maps alias → (metric
        name, datatype).

        >>> store = Store.open("sqlite://")
        >>> store.keep_sparkplug_birth("site1", "g1", "edge1", None, 3, {1: ("bdSeq", 4)})
        >>> store.keep_sparkplug_birth("site1", "g1", "edge1", "plc1", 3, {7: ("Gas/GD-01", 9)})
        >>> store.sparkplug_births("site1")
        [('g1', 'edge1', None, 3, {1: ('bdSeq', 4)}), ('g1', 'edge1', 'plc1', 3, {7: ('Gas/GD-01', 9)})]
        """
        table = SparkplugBirthRow.__table__
        row = {"site": site, "group_id": group, "edge_node": edge, "device": device or "", "bd_seq": bd_seq,
               "aliases": [[a, n, d] for a, (n, d) in sorted(aliases.items())], "updated": datetime.now(timezone.utc)}
        ins = postgresql.insert(table) if self._dialect == "postgresql" else sqlite.insert(table)
        stmt = ins.values(**row).on_conflict_do_update(
            index_elements=["site", "group_id", "edge_node", "device"],
            set_={"bd_seq": row["bd_seq"], "aliases": row["aliases"], "updated": row["updated"]})
        c = table.c
        with self.engine.begin() as conn:
            if device is None:
                conn.execute(table.delete().where((c.site == site) & (c.group_id == group) & (c.edge_node == edge)))
            conn.execute(stmt)

    def sparkplug_births(self, site: str) -> list[tuple[str, str, str | None, int, dict[int, tuple[str, int]]]]:
        """The births kept for ``site``: (group, edge, device or None, bdSeq, aliases), node births first."""
        table = SparkplugBirthRow.__table__
        c = table.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(c.group_id, c.edge_node, c.device, c.bd_seq, c.aliases)
                                .where(c.site == site).order_by(c.group_id, c.edge_node, c.device)).all()
        return [(g, e, d or None, int(bd), {int(a): (str(n), int(t)) for a, n, t in al}) for g, e, d, bd, al in rows]

    # ---- time partitions and retention ----------------------------------------------------
    def maintain_partitions(self, now: datetime | None = None) -> list[str]:
        """Create the daily history partitions from yesterday to a week ahead (PostgreSQL; a
        no-op on SQLite); returns the names created. Run daily (the live bridge does)."""
        return partitions.ensure_current_partitions(self.engine, now)

    def apply_retention(self, *, keep_days: float, now: datetime | None = None) -> dict[str, int]:
        """Delete readings and positions older than ``keep_days`` days (see
        :func:`~safetwin.twin.store.partitions.apply_retention`)."""
        return partitions.apply_retention(self.engine, keep_days=keep_days, now=now)

    # ---- queries ------------------------------------------------------------------------
    def readings(self, sensor_id: str, since: datetime | None = None, until: datetime | None = None,
                 *, limit: int | None = None, site: str | None = None) -> list[Reading]:
        """Readings of ``sensor_id`` (of ``site`` if given) with ``since <= ts < until`` (UTC,
        either open), oldest first."""
        stmt = select(READINGS).where(READINGS.c.sensor_id == sensor_id)
        if site is not None:
            stmt = stmt.where(READINGS.c.site == site)
        return self._fetch(_window(stmt, READINGS, since, until, limit), Reading)

    def latest_readings(self, site: str, sensor_ids: Iterable[str], *, plant_id: str | None = None,
                        since: datetime | None = None, until: datetime | None = None) -> dict[str, Reading]:
        """The newest stored reading (largest ``ts``) of each of ``sensor_ids`` on ``site`` (and
        plant) with ``since <= ts <= until`` (either open); sensors without one are left out. One
        indexed look-up per sensor (index ``(sensor_id, site, ts)``)."""
        out: dict[str, Reading] = {}
        with self.engine.connect() as conn:
            for sid in sensor_ids:
                stmt = select(READINGS).where(READINGS.c.sensor_id == sid, READINGS.c.site == site)
                if plant_id is not None:
                    stmt = stmt.where(READINGS.c.plant_id == plant_id)
                if since is not None:
                    stmt = stmt.where(READINGS.c.ts >= as_utc(since, "since"))
                if until is not None:
                    stmt = stmt.where(READINGS.c.ts <= as_utc(until, "until"))
                row = conn.execute(stmt.order_by(READINGS.c.ts.desc(), READINGS.c.id.desc()).limit(1)).mappings().first()
                if row is not None:
                    out[sid] = to_record(Reading, row)
        return out

    def latest_positions(self, site: str, since: datetime, *, plant_id: str | None = None) -> list[Position]:
        """The newest position fix of each person seen on ``site`` (and plant) at or after
        ``since`` (UTC), ordered by person."""
        since = as_utc(since, "since")
        cond = [POSITIONS.c.site == site, POSITIONS.c.ts >= since]
        if plant_id is not None:
            cond.append(POSITIONS.c.plant_id == plant_id)
        newest = (select(POSITIONS.c.person_id, func.max(POSITIONS.c.ts).label("ts_max"))
                  .where(*cond).group_by(POSITIONS.c.person_id).subquery())
        stmt = (select(POSITIONS).join(newest, (POSITIONS.c.person_id == newest.c.person_id)
                                       & (POSITIONS.c.ts == newest.c.ts_max))
                .where(*cond).order_by(POSITIONS.c.person_id, POSITIONS.c.id))
        out: dict[str, Position] = {}
        for p in self._fetch(stmt, Position):
            out.setdefault(p.person_id, p)
        return list(out.values())

    def positions(self, person_id: str, since: datetime | None = None, until: datetime | None = None,
                  *, limit: int | None = None, site: str | None = None) -> list[Position]:
        """Position fixes of ``person_id`` (on ``site`` if given) with ``since <= ts < until``,
        oldest first."""
        stmt = select(POSITIONS).where(POSITIONS.c.person_id == person_id)
        if site is not None:
            stmt = stmt.where(POSITIONS.c.site == site)
        return self._fetch(_window(stmt, POSITIONS, since, until, limit), Position)

    def alarm_events(self, alarm_id: str | None = None, since: datetime | None = None,
                     until: datetime | None = None, *, sensor_id: str | None = None,
                     limit: int | None = None, site: str | None = None) -> list[AlarmEvent]:
        """Alarm events (optionally of one alarm, sensor and/or site) with ``since <= ts < until``."""
        stmt = select(ALARMS)
        if site is not None:
            stmt = stmt.where(ALARMS.c.site == site)
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

    def count_readings(self, sensor_id: str | None = None, *, site: str | None = None) -> int:
        """Number of stored readings (of one sensor and/or site if given)."""
        stmt = select(func.count()).select_from(READINGS)
        if sensor_id is not None:
            stmt = stmt.where(READINGS.c.sensor_id == sensor_id)
        if site is not None:
            stmt = stmt.where(READINGS.c.site == site)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def count_positions(self, person_id: str | None = None, *, site: str | None = None) -> int:
        """Number of stored position fixes (of one person and/or site if given)."""
        stmt = select(func.count()).select_from(POSITIONS)
        if person_id is not None:
            stmt = stmt.where(POSITIONS.c.person_id == person_id)
        if site is not None:
            stmt = stmt.where(POSITIONS.c.site == site)
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
