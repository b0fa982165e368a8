"""The audit chain stays one unbroken chain under concurrent writers (threads; two engines = two processes),
and the workflow tables of the models agree with the migrations."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from safetwin.twin.store import Store
from safetwin.twin.store.db import scratch_schema
from safetwin.twin.store.models import Base
from safetwin.twin.workflows import audit
from safetwin.twin.workflows.notify import MemoryChannel
from safetwin.twin.workflows.roles import Actor
from wfhelpers import PEOPLE, T0, Clock, make_service, pg_url, service_missing

A = {k: Actor(k, frozenset(v)) for k, v in PEOPLE.items()}
WF_TABLES = ("wf_records", "wf_record_versions", "wf_users", "wf_deliveries")


def _work(svc, n: int) -> list[str]:
    """Report ``n`` hazards and move each through three more audited steps."""
    ids = []
    for i in range(n):
        h = svc.report_hazard(A["bob"], title=f"h{i}", category="equipment", level="general", x=i % 90, y=5)
        svc.hazard_action(A["sue"], h.id, "confirm")
        svc.hazard_action(A["sue"], h.id, "assign", rectifier="cwo")
        svc.hazard_action(A["cwo"], h.id, "accept")
        ids.append(h.id)
    return ids


def _check_chain(engine, key, expected_links: int) -> None:
    rep = audit.verify(engine, key)
    assert rep.ok, rep.problems[:5]
    assert rep.links == expected_links
    with engine.connect() as conn:
        seqs = [r[0] for r in conn.execute(text("SELECT seq FROM wf_record_versions ORDER BY seq"))]
    assert seqs == list(range(1, expected_links + 1))


def test_threads_keep_one_chain_on_sqlite(tmp_path, small_plant):
    store = Store.open(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        svc = make_service(store.engine, small_plant, Clock(T0), MemoryChannel())
        with ThreadPoolExecutor(8) as pool:
            done = [f.result() for f in [pool.submit(_work, svc, 10) for _ in range(8)]]
        assert sum(len(d) for d in done) == 80
        _check_chain(store.engine, svc.repo.chain.key, len(PEOPLE) + 80 * 4)   # a link per user, 4 per hazard
        assert {h.state for h in svc.list_hazards(limit=1000)} == {"rectifying"}
    finally:
        store.close()


def test_same_record_raced_by_threads_gets_each_step_once(tmp_path, small_plant):
    store = Store.open(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        svc = make_service(store.engine, small_plant, Clock(T0), MemoryChannel())
        h = svc.report_hazard(A["bob"], title="t", category="equipment", level="general", x=1, y=1)

        def confirm() -> str:
            try:
                return svc.hazard_action(A["sue"], h.id, "confirm").state
            except Exception as e:   # the losers see the new state: invalid transition
                return type(e).__name__

        with ThreadPoolExecutor(6) as pool:
            got = sorted(pool.map(lambda _: confirm(), range(6)))
        assert got == ["InvalidTransition"] * 5 + ["confirmed"]
        assert [r["action"] for r in svc.repo.history("hazard", h.id)] == ["report", "confirm"]
    finally:
        store.close()


@pytest.mark.postgres
def test_two_engines_keep_one_chain_on_postgres(small_plant):
    try:   # a scratch schema of the test server: other test runs on the server are not disturbed
        schema = scratch_schema(pg_url(), prefix="safetwin_chain_test")
        url = schema.__enter__()
        stores = [Store.open(url), Store.open(url)]
    except Exception as e:  # pragma: no cover - depends on the environment
        service_missing(f"PostgreSQL at {pg_url()}", "SAFETWIN_SKIP_PG", e)
    try:
        svcs = [make_service(stores[0].engine, small_plant, Clock(T0), MemoryChannel())]
        svcs.append(svcs[0].__class__(stores[1].engine, small_plant, settings=svcs[0].settings, clock=Clock(T0),
                                      audit=svcs[0].audit.setup))   # a second "process": own engine, own locks
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(_work, svcs[i % 2], 6) for i in range(8)]
            assert sum(len(f.result()) for f in futures) == 48
        _check_chain(stores[0].engine, svcs[0].repo.chain.key, len(PEOPLE) + 48 * 4)
    finally:
        for s in stores:
            s.close()
        schema.__exit__(None, None, None)


def test_workflow_models_agree_with_migrations(tmp_path):
    with Store.open(f"sqlite:///{tmp_path / 'm.db'}") as store, store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "include_name": lambda name, type_, parent: type_ != "table" or name in WF_TABLES,
            "include_object": lambda obj, name, type_, reflected, compare_to: (
                (name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)) in WF_TABLES),
        })
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"workflow models and migrations disagree: {diff}"
