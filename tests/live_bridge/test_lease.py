"""The store lease that arbitrates active/standby bridges, on SQLite and PostgreSQL: one winner
among racing contenders, takeover after expiry with a new epoch, the old holder's renewal
refused, release hands over at once."""
from __future__ import annotations

import os
import threading
import uuid
from contextlib import ExitStack

import pytest

from safetwin.twin.store import Store
from safetwin.twin.store.db import scratch_schema
from safetwin.twin.store.lease import Lease


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'lease.db'}"
        else:
            pg = os.environ.get("SAFETWIN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
            try:
                url = stack.enter_context(scratch_schema(pg, "safetwin_lease"))
            except Exception as exc:
                pytest.fail(f"PostgreSQL {pg} unavailable ({exc}); tools/ensure_services.sh starts it")
        s = Store.open(url)
        yield s
        s.close()


def test_one_winner_among_racing_contenders(store):
    name = "bridge:" + uuid.uuid4().hex[:8]
    leases = [Lease(store.engine, name, f"h{i}", ttl_s=30) for i in range(6)]
    go = threading.Barrier(len(leases))
    won: list[str] = []

    def contend(lease: Lease) -> None:
        go.wait()
        if lease.acquire():
            won.append(lease.holder)

    threads = [threading.Thread(target=contend, args=(lease,)) for lease in leases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(won) == 1
    holder, epoch, expires_s, now_s = leases[0].state()
    assert holder == won[0] and epoch == 1 and expires_s > now_s


def test_takeover_after_expiry_fences_the_old_holder(store):
    name = "bridge:" + uuid.uuid4().hex[:8]
    a = Lease(store.engine, name, "a", ttl_s=0.3)
    b = Lease(store.engine, name, "b", ttl_s=0.3)
    assert a.acquire() and a.epoch == 1
    assert not b.acquire()
    while not b.acquire():          # a stops renewing: b gets it once a's lease expired
        pass
    assert b.epoch == 2
    assert not a.renew() and a.epoch == 0          # the old holder learns it lost the lease
    assert b.renew()


def test_release_hands_over_at_once(store):
    name = "bridge:" + uuid.uuid4().hex[:8]
    a = Lease(store.engine, name, "a", ttl_s=60)
    b = Lease(store.engine, name, "b", ttl_s=60)
    assert a.acquire() and not b.acquire()
    a.release()
    assert b.acquire() and b.epoch == 2
    assert a.acquire() is False
