"""The hash-chained audit trail detects direct database edits of closed records."""
from __future__ import annotations


import pytest
from sqlalchemy import text

from safetwin.twin.store import Store
from safetwin.twin.workflows import audit
from safetwin.twin.workflows.notify import MemoryChannel
from wfhelpers import T0, Clock, make_service, pg_url, service_missing


def _closed_hazard(svc, a):
    h = svc.report_hazard(a["bob"], title="missing guard", category="equipment", level="general", x=20, y=20)
    svc.hazard_action(a["sue"], h.id, "confirm")
    svc.hazard_action(a["sue"], h.id, "assign", rectifier="cwo")
    svc.hazard_action(a["cwo"], h.id, "accept")
    svc.hazard_action(a["cwo"], h.id, "rectify", measures="guard refitted", evidence=["after.jpg"])
    svc.hazard_action(a["sue"], h.id, "verify", ok=True)
    return svc.hazard_action(a["sue"], h.id, "close")


def _run(engine, plant, actors):
    svc = make_service(engine, plant, Clock(T0), MemoryChannel())
    h = _closed_hazard(svc, actors)
    assert h.state == "closed"
    rep = audit.verify(engine)
    assert rep.ok, rep.problems
    assert rep.links == 7
    with engine.begin() as conn:   # a direct edit, bypassing the application
        doc = conn.execute(text("SELECT doc FROM wf_records WHERE kind='hazard' AND id=:i"), {"i": h.id}).scalar_one()
        doc = dict(doc) if isinstance(doc, dict) else __import__("json").loads(doc)
        doc["measures_taken"] = "nothing"
        conn.execute(text("UPDATE wf_records SET doc=:d WHERE kind='hazard' AND id=:i"),
                     {"d": __import__("json").dumps(doc), "i": h.id})
    rep = audit.verify(engine)
    assert not rep.ok and any(h.id in p and "edited in the DB" in p for p in rep.problems)
    # editing the chain itself to match is detected too
    with engine.begin() as conn:
        conn.execute(text("UPDATE wf_record_versions SET actor='mallory' WHERE seq=3"))
    rep = audit.verify(engine)
    assert any("seq=3" in p and "link hash mismatch" in p for p in rep.problems)
    return svc


def test_sqlite_tamper_detected(store, small_plant, actors, capsys):
    _run(store.engine, small_plant, actors)


def test_cli_reports_tampering(tmp_path, small_plant, actors, capsys):
    url = f"sqlite:///{tmp_path / 'wf.db'}"
    s = Store.open(url)
    try:
        svc = make_service(s.engine, small_plant, Clock(T0), MemoryChannel())
        _closed_hazard(svc, actors)
        assert audit.main(["--db", url]) == 0
        with s.engine.begin() as conn:
            conn.execute(text("UPDATE wf_records SET state='reported' WHERE kind='hazard'"))
        assert audit.main(["--db", url]) == 1
        assert "TAMPERED" in capsys.readouterr().out
    finally:
        s.close()


@pytest.mark.postgres
def test_postgres_tamper_detected(small_plant, actors):
    try:
        s = Store.open(pg_url())
    except Exception as e:  # pragma: no cover - depends on the environment
        service_missing(f"PostgreSQL at {pg_url()}", "SAFETWIN_SKIP_PG", e)
    try:
        with s.engine.begin() as conn:
            conn.execute(text("DELETE FROM wf_records"))
            conn.execute(text("DELETE FROM wf_record_versions"))
            conn.execute(text("DELETE FROM wf_users"))
        _run(s.engine, small_plant, actors)
    finally:
        with s.engine.begin() as conn:
            conn.execute(text("DELETE FROM wf_records"))
            conn.execute(text("DELETE FROM wf_record_versions"))
            conn.execute(text("DELETE FROM wf_users"))
        s.close()
