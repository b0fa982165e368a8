"""Certificates: status by date, reminders at 90/60/30 days (each once), expired certificates block permit roles."""
from __future__ import annotations

from datetime import timedelta

import pytest

from safetwin.twin.workflows import certificates
from safetwin.twin.workflows.domain import Certificate
from safetwin.twin.workflows.errors import GuardFailed
from test_permits import approve_all, hot_permit, portable
from wfhelpers import T0, certify


def _cert(expires_days: float, **kw) -> Certificate:
    return Certificate(id="C", site_id="s", state=kw.pop("state", "valid"), created_at=T0, created_by="sue",
                       person_id="bob", type="hot_work", number="N", issued_at=T0 - timedelta(days=300),
                       expires_at=T0 + timedelta(days=expires_days), **kw)


def test_status_boundaries():
    assert certificates.status(_cert(91), T0) == "valid"
    assert certificates.status(_cert(89.5), T0) == "expiring"
    assert certificates.status(_cert(0), T0) == "expired"             # expiry instant: no longer valid
    assert certificates.status(_cert(-1), T0) == "expired"
    assert certificates.status(_cert(200, state="revoked"), T0) == "revoked"


def test_due_reminders_thresholds():
    assert certificates.due_reminders(_cert(100), T0) == []
    assert certificates.due_reminders(_cert(90), T0) == [90]
    assert certificates.due_reminders(_cert(45), T0) == [90, 60]
    assert certificates.due_reminders(_cert(45, reminders_sent=[90]), T0) == [60]
    assert certificates.due_reminders(_cert(10), T0) == [90, 60, 30]
    assert certificates.due_reminders(_cert(-1), T0) == []               # expired: no reminder, it blocks


def test_reminders_at_90_60_30_days_each_once(svc, actors, memory):
    c = svc.add_certificate(actors["sue"], person_id="bob", type="hot_work", number="HW-1",
                            issued_at=T0 - timedelta(days=600), expires_at=T0 + timedelta(days=100))
    sent = []
    for day in range(0, 105):
        sent += [(day, d) for _, d in svc.run_due_jobs(T0 + timedelta(days=day, hours=12)).certificate_reminders]
    # 100 d left at T0: 90 d left on day 10 (12:00 is past the instant), 60 on day 40, 30 on day 70
    assert sent == [(10, 90), (40, 60), (70, 30)]
    got = [n for n in memory.sent if n.subject == f"certificates/{c.id}" and n.event == "expiring"]
    assert [n.recipients for n in got] == [("bob",)] * 3
    assert "≤ 30 days" in got[-1].text
    assert svc.list_certificates("bob")[0].reminders_sent == [90, 60, 30]
    # on day 100 the due job marks it expired (once) and tells the holder
    assert [r["action"] for r in svc.repo.history("certificate", c.id)] == ["create"] + ["reminder"] * 3 + ["expire"]
    assert [n.event for n in memory.sent if n.subject == f"certificates/{c.id}"][-1] == "expired"


def test_a_late_registered_certificate_gets_one_reminder(svc, actors, memory):
    svc.add_certificate(actors["sue"], person_id="gus", type="guardian", number="G-1",
                        issued_at=T0 - timedelta(days=700), expires_at=T0 + timedelta(days=20))
    assert [d for _, d in svc.run_due_jobs(T0).certificate_reminders] == [30]
    assert svc.run_due_jobs(T0 + timedelta(days=5)).certificate_reminders == []
    assert len([n for n in memory.sent if n.event == "expiring"]) == 1


def test_expired_guardian_certificate_blocks_start_until_renewed(svc, actors, clock):
    a = actors
    certify(svc, a, "bob", "hot_work")
    certify(svc, a, "gus", "guardian", expires=T0 + timedelta(hours=1))
    p = hot_permit(svc, a)
    svc.permit_action(a["ann"], p.id, "submit")
    approve_all(svc, a, p.id)
    clock.advance(hours=2)
    portable(svc, a, p.id)
    with pytest.raises(GuardFailed, match="guardian gus: guardian certificate .* expired") as e:
        svc.permit_action(a["bob"], p.id, "start")
    assert e.value.code == "certificate"
    svc.add_certificate(a["sue"], person_id="gus", type="guardian", number="G-NEW",
                        issued_at=clock() - timedelta(minutes=5), expires_at=clock() + timedelta(days=700))
    assert svc.permit_action(a["bob"], p.id, "start").state == "active"


def test_someone_elses_certificate_does_not_count(svc, actors):
    a = actors
    certify(svc, a, "cwo", "hot_work")                  # cwo, not the worker bob
    certify(svc, a, "gus", "guardian")
    p = hot_permit(svc, a)
    svc.permit_action(a["ann"], p.id, "submit")
    with pytest.raises(GuardFailed, match="worker bob: no hot_work certificate"):
        svc.permit_action(a["al"], p.id, "approve")
