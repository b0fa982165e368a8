"""Fixtures: a workflow service on a migrated database, users of every role, a settable clock."""
from __future__ import annotations

import pytest

from safetwin.twin.store import Store
from safetwin.twin.workflows.notify import MemoryChannel
from safetwin.twin.workflows.roles import Actor
from safetwin.twin.workflows.service import WorkflowService
from wfhelpers import PEOPLE, T0, Clock, make_service, pg_url, service_missing


@pytest.fixture()
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture()
def memory() -> MemoryChannel:
    return MemoryChannel()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A file SQLite URL, then a scratch schema of the test PostgreSQL server (dropped after the test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'wf.db'}"
        return
    from safetwin.twin.store.db import scratch_schema

    try:
        schema = scratch_schema(pg_url(), prefix="safetwin_wf_test")
        url = schema.__enter__()
    except Exception as e:  # pragma: no cover - depends on the environment
        service_missing(f"PostgreSQL at {pg_url()}", "SAFETWIN_SKIP_PG", e)
    try:
        yield url
    finally:
        schema.__exit__(None, None, None)


@pytest.fixture()
def store():
    s = Store.open("sqlite://")
    yield s
    s.close()


@pytest.fixture()
def svc(store, small_plant, clock, memory) -> WorkflowService:
    s = make_service(store.engine, small_plant, clock, memory)
    yield s
    s.close()


@pytest.fixture()
def actors() -> dict[str, Actor]:
    return {k: Actor(k, frozenset(v)) for k, v in PEOPLE.items()}
