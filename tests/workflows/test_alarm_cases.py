"""Alarm handling: raised → acknowledged → handled (actions recorded) → closed with a review note."""
from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from safetwin.twin.api.app import create_app
from safetwin.twin.events import AlarmRaised
from safetwin.twin.state import TwinState
from safetwin.twin.workflows.errors import Forbidden, GuardFailed, InvalidTransition
from wfhelpers import PASSWORD, T0


def _raise(svc, alarm_id="AL-CL-03", source="CL-03", level="high", at=T0):
    svc.on_alarm(AlarmRaised(alarm_id, source, level, at.timestamp(), "chlorine 12 mg/m3"))
    return f"AC-{alarm_id}"


def test_life_cycle_records_who_did_what_when(svc, actors, clock):
    a = actors
    cid = _raise(svc)
    c = svc.alarm_case(cid)
    assert (c.state, c.source_id, c.level, c.raised_at) == ("raised", "CL-03", "high", T0)
    clock.advance(minutes=2)
    c = svc.alarm_action(a["ola"], cid, "acknowledge")
    assert (c.state, c.acknowledged_by, c.acknowledged_at) == ("acknowledged", "ola", T0 + timedelta(minutes=2))
    clock.advance(minutes=3)
    svc.alarm_action(a["ola"], cid, "act", "closed valve XV-12")
    clock.advance(minutes=1)
    c = svc.alarm_action(a["sue"], cid, "act", "area ventilated, reading back to 0.3 mg/m3")
    assert c.state == "handled"
    assert [(x.by, x.action, x.at) for x in c.actions] == [
        ("ola", "closed valve XV-12", T0 + timedelta(minutes=5)),
        ("sue", "area ventilated, reading back to 0.3 mg/m3", T0 + timedelta(minutes=6))]
    clock.advance(hours=1)
    c = svc.alarm_action(a["max"], cid, "close", "gasket failure; add to PM plan")
    assert (c.state, c.closed_by, c.review_note, c.closed_at) == \
        ("closed", "max", "gasket failure; add to PM plan", T0 + timedelta(hours=1, minutes=6))
    assert [r["action"] for r in svc.repo.history("alarm_case", cid)] == \
        ["raise", "acknowledge", "act", "act", "close"]


def test_forbidden_steps_are_refused(svc, actors):
    a = actors
    cid = _raise(svc)
    with pytest.raises(Forbidden):
        svc.alarm_action(a["bob"], cid, "acknowledge")          # a worker does not handle alarms
    with pytest.raises(InvalidTransition):
        svc.alarm_action(a["ola"], cid, "act", "x")              # acknowledge first
    with pytest.raises(InvalidTransition):
        svc.alarm_action(a["ola"], cid, "close", "x")
    svc.alarm_action(a["ola"], cid, "acknowledge")
    with pytest.raises(InvalidTransition):
        svc.alarm_action(a["ola"], cid, "acknowledge")
    with pytest.raises(GuardFailed) as e:
        svc.alarm_action(a["ola"], cid, "act", "   ")
    assert e.value.code == "no_action"
    with pytest.raises(InvalidTransition):                       # nothing handled yet
        svc.alarm_action(a["ola"], cid, "close", "fine")
    svc.alarm_action(a["ola"], cid, "act", "checked")
    with pytest.raises(GuardFailed) as e:
        svc.alarm_action(a["ola"], cid, "close", "")
    assert e.value.code == "no_review"
    with pytest.raises(GuardFailed):
        svc.alarm_action(a["ola"], cid, "escalate")


def test_re_raise_refreshes_open_case_and_opens_new_after_close(svc, actors):
    a = actors
    cid = _raise(svc, level="high")
    _raise(svc, level="high_high", at=T0 + timedelta(minutes=1))
    assert svc.alarm_case(cid).level == "high_high"
    for action, text in (("acknowledge", ""), ("act", "valve closed"), ("close", "ok")):
        svc.alarm_action(a["ola"], cid, action, text)
    later = T0 + timedelta(hours=2)
    _raise(svc, at=later)
    new = f"{cid}-{int(later.timestamp())}"
    assert svc.alarm_case(new).state == "raised" and svc.alarm_case(cid).state == "closed"


def test_alarm_case_routes(svc, small_plant):
    cid = _raise(svc)
    c = TestClient(create_app(TwinState(small_plant), workflows=svc))
    tok = c.post("/auth/token", data={"username": "ola", "password": PASSWORD}).json()["access_token"]
    h = {"Authorization": f"Bearer {tok}"}
    assert [x["id"] for x in c.get("/alarm-cases?state=raised", headers=h).json()] == [cid]
    assert c.post(f"/alarm-cases/{cid}/acknowledge", headers=h).json()["state"] == "acknowledged"
    assert c.post(f"/alarm-cases/{cid}/act", headers=h, json={"text": "valve closed"}).json()["state"] == "handled"
    r = c.post(f"/alarm-cases/{cid}/close", headers=h, json={})
    assert r.status_code == 422 and r.json()["code"] == "no_review"
    assert c.post(f"/alarm-cases/{cid}/close", headers=h, json={"text": "ok"}).json()["state"] == "closed"
    summary = c.get("/alarm-cases?view=summary", headers=h).json()
    assert summary[0]["id"] == cid and summary[0]["state"] == "closed" and "doc" not in summary[0]
