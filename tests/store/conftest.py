"""Fixtures: every store test runs on SQLite (a temporary file) and on PostgreSQL.

PostgreSQL comes from ``SAFETWIN_TEST_PG_URL`` (default: local server, trust auth, database
``test``). Each test gets its own schema, dropped afterwards. An unreachable server makes the
PostgreSQL tests FAIL unless ``SAFETWIN_SKIP_PG=1``.
"""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from safetwin.twin.store import Store, make_engine
from safetwin.twin.store.db import scratch_schema

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pg_url() -> URL:
    return make_url(os.environ.get("SAFETWIN_TEST_PG_URL") or DEFAULT_PG_URL)


@pytest.fixture(scope="session")
def pg_admin_url() -> URL:
    """The PostgreSQL URL, after checking the server answers (fail or skip if not)."""
    url = pg_url()
    engine = make_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001
        message = (f"PostgreSQL is not reachable at {url.render_as_string(hide_password=True)}: "
                   f"{type(exc).__name__}: {str(exc).splitlines()[0]}. Start the server (make test "
                   "does), point SAFETWIN_TEST_PG_URL at one, or set SAFETWIN_SKIP_PG=1 to skip.")
        if os.environ.get("SAFETWIN_SKIP_PG") == "1":
            pytest.skip(message)
        pytest.fail(message, pytrace=False)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def pg_schema_url(pg_admin_url: URL) -> Iterator[URL]:
    """A URL whose connections use a fresh, empty schema (search_path), dropped afterwards."""
    with scratch_schema(pg_admin_url, "safetwin_test") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path) -> URL:
    """An empty database on each backend."""
    if request.param == "sqlite":
        return make_url(f"sqlite:///{(tmp_path / 'store.db').as_posix()}")
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def store(db_url: URL) -> Iterator[Store]:
    """An open store on an empty database."""
    s = Store.open(db_url)
    try:
        yield s
    finally:
        s.close()
