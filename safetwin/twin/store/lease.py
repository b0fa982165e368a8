"""A lease in the store: one holder at a time for a name, with expiry and a fencing epoch.

Used for an active/standby pair of bridges of one site (``safetwin.live_bridge.ha``): whoever
holds ``bridge:{site}`` processes the site's traffic; the others wait. The rules:

* **acquire** succeeds when nobody holds the lease, it has expired, or the caller already holds
  it; a change of holder increments ``epoch`` (the fencing token).
* **renew** extends the caller's own, unexpired lease of the same epoch; it fails (False) once
  another process took over, so the former holder learns it must stop.
* **release** ends the caller's lease at once (a clean shutdown hands over without waiting for
  the expiry).

Each is one UPDATE guarded by its WHERE clause, so two contenders cannot both win: SQLite
serialises writers and PostgreSQL row-locks the row (READ COMMITTED re-checks the WHERE clause
on the locked row). Times come from the database's clock (``clock_timestamp()`` in PostgreSQL,
``julianday('now')`` in SQLite) so holders on different machines need no synchronised clocks.

Example::

    >>> from safetwin.twin.store import Store
    >>> store = Store.open("sqlite://")
    >>> a, b = Lease(store.engine, "bridge:site1", "a", ttl_s=5), Lease(store.engine, "bridge:site1", "b", ttl_s=5)
    >>> a.acquire(), b.acquire(), a.renew()
    (True, False, True)
    >>> a.release(); b.acquire(), b.epoch
    (True, 2)
"""
from __future__ import annotations

from sqlalchemy import Engine, case, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from .models import LeaseRow

LEASES = LeaseRow.__table__


def db_now_s(engine: Engine) -> ColumnElement[float]:
    """SQL for the database's current time, seconds since the Unix epoch (float)."""
    if engine.dialect.name == "postgresql":
        return literal_column("extract(epoch from clock_timestamp())::float8")
    return literal_column("((julianday('now') - 2440587.5) * 86400.0)")


class Lease:
    """The lease ``name`` as seen by ``holder`` (a unique id of this process); ``ttl_s``: how
    long an acquisition or renewal lasts (s). Not thread-safe: one owner thread."""

    def __init__(self, engine: Engine, name: str, holder: str, *, ttl_s: float = 3.0) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self.engine, self.name, self.holder, self.ttl_s = engine, name, holder, ttl_s
        #: the epoch of our current holding (0: not held)
        self.epoch = 0
        self._now = db_now_s(engine)

    def _ensure_row(self) -> None:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(LEASES).values(name=self.name, holder="", epoch=0, expires_s=0.0)
        with self.engine.begin() as conn:
            conn.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))

    def acquire(self) -> bool:
        """Take the lease if it is free, expired or already ours (True when we hold it now)."""
        self._ensure_row()
        t = LEASES.c
        stmt = (update(LEASES)
                .where(t.name == self.name, (t.holder == self.holder) | (t.expires_s < self._now))
                .values(expires_s=self._now + self.ttl_s,
                        epoch=t.epoch + case((t.holder == self.holder, 0), else_=1),
                        holder=self.holder)
                .returning(t.epoch))
        with self.engine.begin() as conn:
            row = conn.execute(stmt).first()
        self.epoch = int(row[0]) if row is not None else 0
        return row is not None

    def renew(self) -> bool:
        """Extend our holding; False when it was lost (expired and taken, or never held)."""
        if not self.epoch:
            return False
        t = LEASES.c
        stmt = (update(LEASES)
                .where(t.name == self.name, t.holder == self.holder, t.epoch == self.epoch,
                       t.expires_s >= self._now)
                .values(expires_s=self._now + self.ttl_s))
        with self.engine.begin() as conn:
            ok = conn.execute(stmt).rowcount == 1
        if not ok:
            self.epoch = 0
        return ok

    def release(self) -> None:
        """Give the lease up now (no-op when not held)."""
        if not self.epoch:
            return
        t = LEASES.c
        with self.engine.begin() as conn:
            conn.execute(update(LEASES).where(t.name == self.name, t.holder == self.holder, t.epoch == self.epoch)
                         .values(expires_s=0.0))
        self.epoch = 0

    def state(self) -> tuple[str, int, float, float] | None:
        """(holder, epoch, expires_s, database now in s), or None when the lease was never taken."""
        t = LEASES.c
        with self.engine.connect() as conn:
            row = conn.execute(select(t.holder, t.epoch, t.expires_s, self._now).where(t.name == self.name)).first()
        return None if row is None else (row[0], int(row[1]), float(row[2]), float(row[3]))
