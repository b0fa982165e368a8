"""Fixtures: a workflow service on a migrated database, users of every role, a settable clock."""
from __future__ import annotations

import pytest

from safetwin.twin.store import Store
from safetwin.twin.workflows.notify import MemoryChannel
from safetwin.twin.workflows.roles import Actor
from safetwin.twin.workflows.service import WorkflowService
from wfhelpers import PEOPLE, T0, Clock, make_service


@pytest.fixture()
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture()
def memory() -> MemoryChannel:
    return MemoryChannel()


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
