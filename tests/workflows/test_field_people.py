"""Training, contractors and the permit gate; a contractor's tag entering a restricted area; equipment due dates."""
from __future__ import annotations

from datetime import timedelta

import pytest

from safetwin.twin.sensor_health import assess_sensors
from safetwin.twin.state import TwinState
from safetwin.twin.workflows.errors import Forbidden
from wfhelpers import PASSWORD, T0, certify

INDUCTION = ("induction_company", "induction_workshop", "induction_team")
LICENCES = [{"type": "safety_production_license", "number": "SP-1", "expires_at": T0 + timedelta(days=400)},
            {"type": "business_license", "number": "BL-1", "expires_at": T0 + timedelta(days=4000)}]


def _induct(svc, sue, person, at, score=90.0):
    for c in INDUCTION:
        svc.field.training.record_training(sue, person_id=person, course_id=c, attended_at=at, exam_score=score)


@pytest.fixture()
def acme(svc, actors):
    """A contractor with valid licences and one worker, Li (tag rtls 'tag-li'), inducted 13 months before T0."""
    sue = actors["sue"]
    co = svc.field.contractors.register_contractor(sue, name="Acme Maintenance", license_no="91-X", contact="acme-boss",
                                                   qualifications=LICENCES)
    svc.field.people.register_person(sue, id="li", name="Li Wei", employer=co.id, rtls_id="tag-li", tag_ids=["UWB-77"])
    svc.users.create("li", PASSWORD, ["worker"])           # a person named on a permit is a user too
    return co


def _hot_work(svc, actors, workers):
    return svc.create_permit(actors["ann"], type="hot_work", level="second", title="weld", holder="bob", guardian="gus",
                             work_polygon=[(40, 40), (45, 40), (45, 45)], workers=workers, jha="sparks",
                             planned_start=T0, planned_end=T0 + timedelta(hours=4))


def test_exam_scores_expiry_and_induction(svc, actors, clock):
    sue = actors["sue"]
    tr = svc.field.training
    r = tr.record_training(sue, person_id="zh", course_id="induction_company", attended_at=T0 - timedelta(days=1),
                           exam_score=70)
    assert (r.passed, r.state) == (False, "failed")          # pass score 80
    day = (T0 - timedelta(days=1)).date()
    assert tr.missing("zh", ["induction_company"], T0) == [f"induction_company: exam failed (70 on {day})"]
    _induct(svc, sue, "zh", T0 - timedelta(days=1))
    assert tr.induction("zh", T0) == {"complete": True, "hours": 72.0, "hours_min": 72.0, "missing": []}
    later = T0 + timedelta(days=366)
    assert tr.induction("zh", later)["missing"][0].startswith("induction_company: expired on")


def test_contractor_with_lapsed_induction_cannot_be_named_on_a_permit(svc, actors, acme):
    """403 with the reason at creation; inducted again, the same permit is accepted."""
    sue = actors["sue"]
    _induct(svc, sue, "li", T0 - timedelta(days=400))        # 12-month validity: lapsed at T0
    for who, ct in (("bob", "hot_work"), ("gus", "guardian"), ("li", "hot_work")):
        certify(svc, actors, who, ct)
    with pytest.raises(Forbidden) as e:
        _hot_work(svc, actors, ["bob", "li"])
    assert e.value.status == 403 and e.value.code == "person_not_cleared"
    assert "li: training induction_company: expired on" in str(e.value)
    _induct(svc, sue, "li", T0 - timedelta(days=1))
    assert _hot_work(svc, actors, ["bob", "li"]).workers == ["bob", "li"]


def test_blacklisted_or_unlicensed_company_blocks_its_people(svc, actors, acme):
    sue, mx = actors["sue"], actors["max"]
    _induct(svc, sue, "li", T0 - timedelta(days=1))
    certify(svc, actors, "li", "hot_work")
    c = svc.field.contractors.evaluate(mx, acme.id, score=55, note="two near misses")
    assert c.blacklisted and "evaluation 55 < 60" in c.blacklist_reason
    with pytest.raises(Forbidden, match="Acme Maintenance: blacklisted"):
        _hot_work(svc, actors, ["li"])
    svc.field.contractors.set_blacklist(mx, acme.id, blacklisted=False, reason="corrective plan accepted")
    assert svc.field.contractors.problems(svc.field.people.person("li"), T0) == []
    later = svc.field.contractors.problems(svc.field.people.person("li"), T0 + timedelta(days=401))
    assert later[0] == "Acme Maintenance: safety_production_license SP-1 expired on " + str((T0 + timedelta(days=400)).date())
    assert later[1].startswith("induction induction_company: expired on")


def test_registered_guardian_needs_guardian_training(svc, actors):
    """An employee in the register is checked too: a guardian without 监护人 training is refused."""
    sue = actors["sue"]
    svc.field.people.register_person(sue, id="gus", name="Gus")
    _induct(svc, sue, "gus", T0 - timedelta(days=1))
    with pytest.raises(Forbidden, match="gus: training guardian_training: never passed"):
        _hot_work(svc, actors, ["bob"])


def test_contractor_tag_in_a_restricted_area_raises_an_alarm(svc, actors, acme, small_plant, clock):
    """Li's tag walks from the office (not restricted) into the storage area (restricted) without an
    entry permission: alarm with the reasons, alarm case, notification; leaving clears it. With a
    permission for the area, the same walk raises nothing."""
    sue = actors["sue"]
    _induct(svc, sue, "li", T0 - timedelta(days=1))
    state = TwinState(small_plant)
    svc.attach(state)
    ts = T0.timestamp()
    state.update_position("tag-li", 150.0, 50.0, ts=ts)          # office
    state.update_position("tag-li", 50.0, 50.0, ts=ts + 10)      # storage
    assert svc.field.entry.drain()
    alarms = state.active_alarms()
    assert [a.alarm_id for a in alarms] == ["ENTRY-li-A-STORE"] and alarms[0].level == "H"
    assert "no entry permission or live permit for area A-STORE" in alarms[0].message
    assert svc.drain()
    assert svc.alarm_case("AC-ENTRY-li-A-STORE").state == "raised"
    assert any(n.event == "restricted_entry" and "acme-boss" in n.recipients for n in svc.notifier.channels[0].sent)
    state.update_position("tag-li", 150.0, 50.0, ts=ts + 20)
    assert svc.field.entry.drain()
    assert state.active_alarms() == []
    svc.field.people.grant_entry(sue, "li", area_ids=["A-STORE"], valid_from=T0 - timedelta(hours=1),
                                 valid_until=T0 + timedelta(hours=8), reason="pump overhaul")
    state.update_position("tag-li", 50.0, 50.0, ts=ts + 30)
    assert svc.field.entry.drain()
    assert state.active_alarms() == []
    # the permission lapses while Li is still inside: the due-job sweep raises the alarm
    clock.advance(hours=9)
    assert svc.run_due_jobs().field_jobs["entry_alarms"] == ["ENTRY-li-A-STORE"]


def test_detector_past_calibration_is_suspect_and_overdue_is_a_hazard(svc, actors, small_plant, clock):
    sue = actors["sue"]
    state = TwinState(small_plant)
    svc.attach(state)
    eq = svc.field.equipment
    item = eq.register(sue, kind="gas_detector", name="GD-01 detector", target_id="GD-01",
                       last_done={"calibration": T0 - timedelta(days=400)})
    assert item.activities[0].next_due_at.date() == (T0 - timedelta(days=400)).replace(year=T0.year).date()
    state.apply_reading("GD-01", 2.0, ts=T0.timestamp())
    h = assess_sensors(state, now_ts=T0.timestamp())["GD-01"]
    assert h.status == "suspect" and not h.votes
    jobs = svc.run_due_jobs().field_jobs
    assert len(jobs["equipment_overdue_hazards"]) == 1
    hz = svc.hazard(jobs["equipment_overdue_hazards"][0])
    assert "calibration overdue since" in hz.title and hz.category == "equipment"
    assert svc.run_due_jobs().field_jobs["equipment_overdue_hazards"] == []      # one hazard per overdue period
    k = svc.field.kpis(T0 - timedelta(days=30), T0 + timedelta(days=1))["equipment"]
    assert k["overdue"] == 1 and k["suspect_detectors"] == ["GD-01"]
    eq.record_done(actors["ola"], item.id, activity="calibration", result="span gas 50 %LEL: ok")
    assert assess_sensors(state, now_ts=T0.timestamp())["GD-01"].votes
