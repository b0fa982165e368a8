"""Alembic migrations, configured in code (no alembic.ini).

Revisions live in ``twin/store/migrations/versions``. :func:`upgrade_to_head` is called each time
a :class:`~safetwin.twin.store.Store` opens, and is a no-op when the schema is current.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from .db import make_engine

_SQLITE_ATTEMPTS = 4
_UPGRADE_LOCK = threading.Lock()
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic ``Config`` pointing at the store's migrations; ``engine`` is handed to env.py
    through ``config.attributes["engine"]`` (no URL goes through the ini parser)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest revision id shipped with the code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(target: str | URL | Engine | None = None) -> str | None:
    """The revision the database at ``target`` (URL or engine; default URL if None) is at."""
    engine = target if isinstance(target, Engine) else make_engine(target)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        if engine is not target:
            engine.dispose()


def upgrade_to_head(target: str | URL | Engine | None = None) -> None:
    """Upgrade the database at ``target`` (URL or engine; default URL if None) to the newest
    revision. Idempotent; on PostgreSQL concurrent callers serialise on an advisory lock."""
    engine = target if isinstance(target, Engine) else make_engine(target)
    try:
        for attempt in range(1, _SQLITE_ATTEMPTS + 1):
            try:
                with _UPGRADE_LOCK:  # alembic's migration context is process-global
                    command.upgrade(alembic_config(engine), "head")
                return
            except OperationalError:
                # SQLite DDL is not serialised: another process may be creating the same tables.
                if engine.dialect.name != "sqlite" or attempt == _SQLITE_ATTEMPTS:
                    raise
                time.sleep(0.2 * attempt)
    finally:
        if engine is not target:
            engine.dispose()
