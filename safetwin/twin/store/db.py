"""Database URL and engine construction for the store.

SQLite (a file under the data directory) is the embedded default; PostgreSQL is used when the
URL says so, e.g. ``postgresql+psycopg://user@host:5432/db``.
"""
from __future__ import annotations

import shutil
import tempfile
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.schema import CreateSchema, DropSchema

from safetwin.errors import require_extra

#: seconds a SQLite connection waits for a lock held by another connection before failing
SQLITE_BUSY_TIMEOUT_S = 30.0


def normalize_url(url: str | URL) -> URL:
    """Parse ``url`` and pick the psycopg 3 driver for bare ``postgresql://`` / ``postgres://`` URLs.

    >>> normalize_url("postgresql://u@db:5432/twin").drivername
    'postgresql+psycopg'
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_sqlite_memory(url: URL) -> bool:
    """True for an in-memory SQLite URL (``sqlite://`` or ``sqlite:///:memory:``)."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the store's connection settings.

    SQLite: creates the parent directory of the file, enables WAL (readers do not block the
    writer), foreign keys and a busy timeout of :data:`SQLITE_BUSY_TIMEOUT_S` seconds. An
    in-memory URL (``sqlite://``) gets a private scratch file instead, removed with the engine and
    never synced to disk: every thread then has its own connection and transaction, as with a file.
    (One in-memory connection shared by threads interleaves their transactions: a reader saw
    another thread's uncommitted write that was then rolled back.) Extra ``kwargs`` go to
    :func:`sqlalchemy.create_engine`.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "postgresql":
        require_extra("psycopg", extra="postgres", purpose=f"the PostgreSQL store {parsed.render_as_string()}")
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **kwargs)

    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("check_same_thread", False)
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
    scratch = is_sqlite_memory(parsed)
    if scratch:
        folder = tempfile.mkdtemp(prefix="safetwin-scratch-db-")
        parsed = parsed.set(database=str(Path(folder) / "store.db"))
    else:
        Path(parsed.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args=connect_args, **kwargs)
    # FULL: a committed batch survives power loss too (flush() promises durability); OFF for scratch
    synchronous = "OFF" if scratch else "FULL"
    event.listen(engine, "connect", lambda dbapi_connection, _record: _sqlite_on_connect(dbapi_connection, synchronous))
    if scratch:
        weakref.finalize(engine, shutil.rmtree, folder, True)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, synchronous: str) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
    finally:
        cursor.close()


@contextmanager
def scratch_schema(url: str | URL, prefix: str = "safetwin_scratch") -> Iterator[URL]:
    """A URL on the PostgreSQL server at ``url`` whose connections use a fresh, empty schema
    (``search_path``), dropped on exit — for tests and benchmarks that must not touch ``public``."""
    base = normalize_url(url)
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(CreateSchema(schema))
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"})
    finally:
        with admin.begin() as conn:
            conn.execute(DropSchema(schema, cascade=True, if_exists=True))
        admin.dispose()
