"""The keyed, anchored audit trail: each way of tampering with the database behind the application's
back is found by the scheduled verification (the due-job scheduler), which opens an alarm case —
on SQLite and on PostgreSQL (a scratch schema of the test server)."""
from __future__ import annotations

import json
import os
import stat
import time
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import text

from safetwin.twin.store import Store
from safetwin.twin.workflows import audit
from safetwin.twin.workflows.audit import AuditKey, legacy_link_hash, load_or_create_key
from safetwin.twin.workflows.audit_anchor import AuditSetup, CheckpointDir
from safetwin.twin.workflows.notify import MemoryChannel, Notifier
from safetwin.twin.workflows.scheduler import DueJobScheduler
from safetwin.twin.workflows.service import WorkflowService
from wfhelpers import PEOPLE, T0, Clock, make_service, wf_settings


@pytest.fixture()
def site(db_url, small_plant, tmp_path):
    """A migrated store, the workflows with a key and a checkpoint directory, a fake clock, a scheduler."""
    store = Store.open(db_url)
    clock = Clock(T0)
    setup = AuditSetup(AuditKey.generate(), tmp_path / "checkpoints")
    svc = _service(store, small_plant, clock, setup)
    yield store, svc, clock, DueJobScheduler(svc, clock=clock)
    svc.close()
    store.close()


def _service(store, plant, clock, setup, users=True):
    """The workflows on ``store`` (with the test users, or a restart on a store that has them)."""
    if users:
        return make_service(store.engine, plant, clock, MemoryChannel(), audit=setup)
    return WorkflowService(store.engine, plant, settings=wf_settings(), clock=clock, audit=setup,
                           notifier=Notifier([MemoryChannel()]))


def _actors():
    from safetwin.twin.workflows.roles import Actor
    return {k: Actor(k, frozenset(v)) for k, v in PEOPLE.items()}


def _assigned_hazard(svc, a, days=7):
    h = svc.report_hazard(a["bob"], title="missing guard", category="equipment", level="general", x=20, y=20)
    svc.hazard_action(a["sue"], h.id, "confirm")
    return svc.hazard_action(a["sue"], h.id, "assign", rectifier="cwo", deadline=T0 + timedelta(days=days))


def _closed_hazard(svc, a):
    h = _assigned_hazard(svc, a)
    svc.hazard_action(a["cwo"], h.id, "accept")
    svc.hazard_action(a["cwo"], h.id, "rectify", measures="guard refitted", evidence=["after.jpg"])
    svc.hazard_action(a["sue"], h.id, "verify", ok=True)
    return svc.hazard_action(a["sue"], h.id, "close")


def _tick_after(sched, clock, minutes=11):
    """One scheduled pass, late enough for a full verification."""
    clock.advance(minutes=minutes)
    return sched.tick().audit


def _alarm_case(svc):
    cases = [c for c in svc.list_alarm_cases() if c.source_id == "audit-trail"]
    assert len(cases) == 1, cases
    return cases[0]


def _assert_alarm(svc, done, *needles):
    assert done is not None and not done.ok and done.full
    for needle in needles:
        assert any(needle in p for p in done.problems), (needle, done.problems)
    case = _alarm_case(svc)
    assert case.state == "raised" and done.alarm_case == case.id and case.level == "HH"
    assert any(n.subject == "audit/trail" and "role:admin" in n.recipients for n in svc.notifier.channels[0].sent)


def test_clean_passes_write_signed_checkpoints_and_raise_nothing(site, tmp_path):
    store, svc, clock, sched = site
    a = _actors()
    _closed_hazard(svc, a)
    first = _tick_after(sched, clock)
    assert first.ok and first.full and first.checkpoint is not None and first.checkpoint.seq == len(PEOPLE) + 7
    assert sched.tick().audit.checkpoint is None     # nothing new: no new checkpoint
    svc.report_hazard(a["bob"], title="leak", category="equipment", level="general", x=5, y=5)
    clock.advance(minutes=2)
    tail = sched.tick().audit
    assert tail.ok and not tail.full and tail.checkpoint.seq == len(PEOPLE) + 8
    files = CheckpointDir(tmp_path / "checkpoints", svc.site_id).files()
    assert files and stat.S_IMODE(files[0].stat().st_mode) == 0o600
    lines = [json.loads(x) for x in files[0].read_text().splitlines()]
    assert [cp["seq"] for cp in lines] == [len(PEOPLE) + 7, len(PEOPLE) + 8]
    assert {"head_hash", "rows", "time", "mac", "key_id"} <= set(lines[0])
    assert not [c for c in svc.list_alarm_cases() if c.source_id == "audit-trail"]


def test_index_column_edit_is_found_and_would_have_stopped_escalation(site):
    store, svc, clock, sched = site
    h = _assigned_hazard(svc, _actors(), days=1)
    assert _tick_after(sched, clock).ok
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE wf_records SET due_at=:t WHERE kind='hazard' AND id=:i"),
                     {"t": T0.replace(year=2099).replace(tzinfo=None) if store.engine.dialect.name == "sqlite"
                      else T0.replace(year=2099), "i": h.id})
    clock.advance(days=3)
    assert svc.escalate_overdue() == []              # the edit silences the escalation ...
    done = _tick_after(sched, clock)
    _assert_alarm(svc, done, f"record hazard {h.id}", "column due_at differs", "2099")   # ... and is found


def test_deleting_the_newest_link_with_its_record_is_found(site, small_plant):
    store, svc, clock, sched = site
    a = _actors()
    _closed_hazard(svc, a)
    assert _tick_after(sched, clock).checkpoint is not None
    h = svc.report_hazard(a["bob"], title="oil on stairs", category="environment", level="general", x=9, y=9)
    clock.advance(minutes=2)
    assert sched.tick().audit.checkpoint.seq == len(PEOPLE) + 8    # the newest link is anchored
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM wf_records WHERE kind='hazard' AND id=:i"), {"i": h.id})
        conn.execute(text("DELETE FROM wf_record_versions WHERE seq=(SELECT max(seq) FROM wf_record_versions)"))
    # the chain left behind is valid on its own ...
    assert audit.verify(store.engine, svc.repo.chain.key).ok
    # ... the checkpoint and this process's newest link are not
    done = _tick_after(sched, clock)
    _assert_alarm(svc, done, "the newest links were deleted")
    # a restarted server (no memory of what it wrote) finds it from the checkpoint files alone (the
    # alarm case has meanwhile taken seq 19 again: the anchored link is not the one there now)
    fresh = _service(store, small_plant, clock, svc.audit.setup, users=False)
    rep = fresh.audit.verify()
    assert not rep.ok and any(f"link seq={len(PEOPLE) + 8} is not the one anchored" in p for p in rep.problems)


def _recompute_chain(conn, key, from_seq, edit):
    """What an intruder with database access does: edit a link, then recompute every hash after it —
    with a key of their own (they cannot read ours)."""
    rows = conn.execute(text("SELECT * FROM wf_record_versions ORDER BY seq")).mappings().all()
    prev = "0" * 64
    for r in rows:
        r = dict(r)
        for col in ("doc", "row"):
            if isinstance(r[col], str):
                r[col] = json.loads(r[col])
        if r["seq"] >= from_seq:
            if r["seq"] == from_seq:
                edit(r)
            r["doc_hash"] = audit.doc_hash(r["doc"])
            if r["row"] is not None:
                r["row"]["doc_hash"] = r["doc_hash"] if r["kind"] != "user" else r["row"].get("doc_hash")
                r["row_hash"] = audit.row_hash(r["row"])
            r["hash"] = audit.link_mac(key, prev, r["seq"], r["kind"], r["record_id"], r["version"], r["ts"],
                                       r["actor"], r["action"], r["doc_hash"], r["row_hash"] or "")
            conn.execute(text("UPDATE wf_record_versions SET doc=:doc, doc_hash=:dh, row=:row, row_hash=:rh, "
                              "prev_hash=:prev, hash=:h WHERE seq=:seq"),
                         {"doc": json.dumps(r["doc"]), "dh": r["doc_hash"], "row": json.dumps(r["row"]),
                          "rh": r["row_hash"], "prev": prev, "h": r["hash"], "seq": r["seq"]})
        prev = r["hash"]
    return rows


def test_a_rewritten_and_recomputed_chain_is_found(site):
    store, svc, clock, sched = site
    h = _closed_hazard(svc, _actors())
    assert _tick_after(sched, clock).ok
    with store.engine.begin() as conn:
        seq = conn.execute(text("SELECT max(seq) FROM wf_record_versions WHERE record_id=:i"), {"i": h.id}).scalar()
        doc = json.loads(conn.execute(text("SELECT CAST(doc AS TEXT) FROM wf_records WHERE id=:i"),
                                      {"i": h.id}).scalar())
        doc["measures_taken"] = "nothing"
        conn.execute(text("UPDATE wf_records SET doc=:d, doc_hash=:dh WHERE kind='hazard' AND id=:i"),
                     {"d": json.dumps(doc), "dh": audit.doc_hash(doc), "i": h.id})
        _recompute_chain(conn, AuditKey.generate(), seq, lambda r: r.update(doc=doc))
    done = _tick_after(sched, clock)
    _assert_alarm(svc, done, f"link seq={seq}", "MAC mismatch")


def test_stripping_the_keys_to_the_old_unkeyed_chain_is_found(site):
    store, svc, clock, sched = site
    _closed_hazard(svc, _actors())
    assert _tick_after(sched, clock).ok
    with store.engine.begin() as conn:   # recompute as the unkeyed chain of before migration 0008
        prev = "0" * 64
        for r in conn.execute(text("SELECT seq, kind, record_id, version, ts, actor, action, doc_hash "
                                   "FROM wf_record_versions ORDER BY seq")).mappings().all():
            ts = r["ts"] if hasattr(r["ts"], "isoformat") else __import__("datetime").datetime.fromisoformat(r["ts"])
            h = legacy_link_hash(prev, r["seq"], r["kind"], r["record_id"], r["version"], ts, r["actor"], r["action"],
                                 r["doc_hash"])
            conn.execute(text("UPDATE wf_record_versions SET key_id=NULL, row=NULL, row_hash=NULL, prev_hash=:p, "
                              "hash=:h WHERE seq=:s"), {"p": prev, "h": h, "s": r["seq"]})
            prev = h
    assert svc.audit.seal_legacy() == 0               # anchored: never sealed again
    done = _tick_after(sched, clock)
    _assert_alarm(svc, done, "unkeyed link")


def test_a_user_given_admin_in_the_users_table_is_found(site):
    store, svc, clock, sched = site
    assert _tick_after(sched, clock).ok
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE wf_users SET roles=:r WHERE id='bob'"), {"r": json.dumps(["admin", "worker"])})
    done = _tick_after(sched, clock)
    _assert_alarm(svc, done, "user bob: column roles differs", '["admin","worker"]')


def test_a_user_inserted_or_reactivated_behind_the_back_is_found(site):
    store, svc, clock, sched = site
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO wf_users (id, full_name, password_hash, roles, active, created_at) "
                          "VALUES ('eve', '', 'x', :r, :a, :t)"),
                     {"r": json.dumps(["admin"]), "a": True, "t": T0})
        conn.execute(text("UPDATE wf_users SET active=:a WHERE id='ann'"), {"a": False})
    done = _tick_after(sched, clock)
    _assert_alarm(svc, done, "user eve: has no audit chain entry", "user ann: column active differs")


def test_a_document_edit_and_link_metadata_edit_are_found(site):
    store, svc, clock, sched = site
    h = _closed_hazard(svc, _actors())
    with store.engine.begin() as conn:
        doc = json.loads(conn.execute(text("SELECT CAST(doc AS TEXT) FROM wf_records WHERE id=:i"),
                                      {"i": h.id}).scalar())
        doc["measures_taken"] = "nothing"
        conn.execute(text("UPDATE wf_records SET doc=:d WHERE kind='hazard' AND id=:i"),
                     {"d": json.dumps(doc), "i": h.id})
        conn.execute(text("UPDATE wf_record_versions SET actor='mallory' WHERE seq=3"))
    done = _tick_after(sched, clock)
    _assert_alarm(svc, done, "edited in the DB", "seq=3", "MAC mismatch")


def test_key_file_is_created_private_and_reused(tmp_path):
    path = tmp_path / "data" / "audit.key"
    key = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and load_or_create_key(path) == key
    os.chmod(path, 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        load_or_create_key(path)


def test_a_chain_from_before_the_key_is_sealed_once(tmp_path, small_plant):
    store = Store.open(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        clock, setup = Clock(T0), AuditSetup(AuditKey.generate(), tmp_path / "cp")
        svc = make_service(store.engine, small_plant, clock, MemoryChannel(), audit=setup)
        _closed_hazard(svc, _actors())
        with store.engine.begin() as conn:    # as migrations 0002-0007 left it: unkeyed, no row images, users unchained
            conn.execute(text("DELETE FROM wf_record_versions WHERE kind='user'"))
            prev, seq = "0" * 64, 0
            for r in conn.execute(text("SELECT seq, kind, record_id, version, ts, actor, action, doc_hash "
                                       "FROM wf_record_versions ORDER BY seq")).mappings().all():
                seq += 1
                ts = __import__("datetime").datetime.fromisoformat(r["ts"]).replace(tzinfo=T0.tzinfo)
                h = legacy_link_hash(prev, seq, r["kind"], r["record_id"], r["version"], ts, r["actor"], r["action"],
                                     r["doc_hash"])
                conn.execute(text("UPDATE wf_record_versions SET seq=:n, key_id=NULL, row=NULL, row_hash=NULL, "
                                  "prev_hash=:p, hash=:h WHERE seq=:s"), {"n": seq, "p": prev, "h": h, "s": r["seq"]})
                prev = h
        fresh = _service(store, small_plant, clock, setup, users=False)   # the first start after the upgrade
        rep = fresh.audit.verify()
        assert rep.ok, rep.problems
        assert rep.links == 7 + len(PEOPLE) and rep.users == len(PEOPLE)
        assert fresh.audit.seal_legacy() == 0
    finally:
        store.close()


def test_api_and_cli_verify_and_export(site, tmp_path):
    from fastapi.testclient import TestClient

    from safetwin.app.cli import app as cli
    from safetwin.twin.api.app import create_app
    from safetwin.twin.state import TwinState
    from typer.testing import CliRunner
    from wfhelpers import PASSWORD

    store, svc, clock, sched = site
    _closed_hazard(svc, _actors())
    sched.tick()
    client = TestClient(create_app(TwinState(svc.plant), workflows=svc))

    def login(user):
        token = client.post("/auth/token", data={"username": user, "password": PASSWORD}).json()["access_token"]
        return {"Authorization": f"Bearer {token}"}

    assert client.get("/audit/verify", headers=login("bob")).status_code == 403
    sue = login("sue")
    got = client.get("/audit/verify", headers=sue).json()
    assert got["ok"] and got["links"] == len(PEOPLE) + 7 and got["checkpoints"] == 1
    assert client.get("/audit/status", headers=sue).json()["last_pass"]["ok"]
    resp = client.get("/audit/export", headers=sue)
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/zip"
    bundle = zipfile.ZipFile(__import__("io").BytesIO(resp.content))
    manifest = json.loads(bundle.read("manifest.json"))
    assert manifest["verified_ok"] and set(manifest["files"]) >= {"links.jsonl", "rows.jsonl", "report.json"}
    assert any(n.startswith("checkpoints/") for n in bundle.namelist())
    # the command line, with the key file and checkpoint directory the server uses
    key_file = tmp_path / "audit.key"
    key_file.write_text(svc.repo.chain.key.secret.hex())
    key_file.chmod(0o600)
    where = ["--db", store.engine.url.render_as_string(hide_password=False), "--key-file", str(key_file),
             "--checkpoints", str(tmp_path / "checkpoints"), "--site", svc.site_id]
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify", *where])
    assert ok.exit_code == 0 and "OK" in ok.output, ok.output
    out = runner.invoke(cli, ["audit", "export", str(tmp_path / "evidence.zip"), *where])
    assert out.exit_code == 0, out.output
    assert json.loads(zipfile.ZipFile(tmp_path / "evidence.zip").read("report.json"))["ok"]
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE wf_records SET state='reported' WHERE kind='hazard'"))
    bad = runner.invoke(cli, ["audit", "verify", *where])
    assert bad.exit_code == 1 and "TAMPERED" in bad.output and "column state differs" in bad.output


def test_verification_beside_concurrent_writers_raises_no_false_alarm(site):
    import threading

    store, svc, clock, sched = site
    a, stop, errors = _actors(), threading.Event(), []

    def write():
        try:
            while not stop.is_set():
                _assigned_hazard(svc, a)
        except Exception as exc:   # pragma: no cover - reported below
            errors.append(exc)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for w in writers:
        w.start()
    reports = []
    try:   # verify again and again while the writers add at least 30 links
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (len(reports) < 6 or reports[-1].links < reports[0].links + 30):
            reports.append(svc.audit.verify())
    finally:
        stop.set()
        for w in writers:
            w.join()
    assert not errors and all(r.ok for r in reports), [r.problems[:3] for r in reports if not r.ok][:2]
    assert reports[-1].links >= reports[0].links + 30


def test_every_change_of_a_user_is_chained(site):
    store, svc, clock, sched = site
    users = svc.users
    users.set_roles("bob", ["worker", "guardian"], by="root")
    users.set_active("ann", False, by="root")
    users.set_full_name("gus", "Gus G.", by="root")
    users.reset_password("al", "another-long-pass", by="root")
    users.delete("cwo", by="root")
    rep = svc.audit.verify()
    assert rep.ok, rep.problems
    history = svc.repo.history("user", "bob")
    assert [(h["action"], h["actor"]) for h in history] == [("create", "system"), ("set_roles", "root")]
    doc = history[-1]["doc"]
    assert doc["roles"] == ["guardian", "worker"] and doc["password_hash"].startswith("hmac:")
    assert "$argon2" not in json.dumps(doc)                  # the chain never holds the password hash itself
    assert [h["action"] for h in svc.repo.history("user", "cwo")] == ["create", "delete"]
    with store.engine.begin() as conn:      # the deleted user comes back behind the application's back
        conn.execute(text("INSERT INTO wf_users (id, full_name, password_hash, roles, active, created_at, "
                          "token_version) VALUES ('cwo', '', 'x', :r, :a, :t, 0)"),
                     {"r": json.dumps(["worker"]), "a": True, "t": T0})
    assert any("user cwo: deleted at link" in p for p in svc.audit.verify().problems)
