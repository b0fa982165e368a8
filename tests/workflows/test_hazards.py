"""Hazard (隐患) closed loop: every transition, 五定 plan, assignment rules, extensions, overdue
escalation, repeat detection and segregation of duties."""
from __future__ import annotations

from datetime import timedelta

import pytest

from safetwin.twin.workflows import hazards
from safetwin.twin.workflows.errors import Forbidden, GuardFailed, InvalidTransition
from wfhelpers import T0

PLAN = {"measures": "replace corroded flange", "responsible": "cwo", "funds": 12000.0,
        "deadline": T0 + timedelta(days=20), "contingency": "isolate line, gas watch"}


def _report(svc, a, who="bob", level="general", x=20.0, y=20.0, category="equipment"):
    return svc.report_hazard(a[who], title="leaking flange", category=category, level=level, x=x, y=y)


def test_general_hazard_full_loop_records_each_step(svc, actors, memory):
    a = actors
    h = _report(svc, a)
    assert (h.state, h.area_id, h.reporter) == ("reported", "A-STORE", "bob")
    steps = [("sue", "confirm", {}), ("sue", "assign", {"rectifier": "cwo"}), ("cwo", "accept", {}),
             ("cwo", "rectify", {"measures": "gasket replaced", "evidence": ["after.jpg"]}),
             ("sue", "verify", {"ok": True}), ("sue", "close", {})]
    states = []
    for who, action, kw in steps:
        states.append(svc.hazard_action(a[who], h.id, action, **kw).state)
    assert states == ["confirmed", "assigned", "rectifying", "pending_verification", "verified", "closed"]
    h = svc.hazard(h.id)
    assert h.deadline == T0 + hazards.DEFAULT_SLA["general"]
    assert h.closed_at == T0 and h.verifier == "sue"
    assert [c.action for c in h.history] == ["confirm", "assign", "accept", "submit_rectification", "verify",
                                            "close"]
    assert [r["action"] for r in svc.repo.history("hazard", h.id)] == ["report"] + [s[1] for s in steps]
    assert any(n.subject == f"hazards/{h.id}" and "cwo" in n.recipients for n in memory.sent)


def test_major_hazard_needs_five_fixes_plan_approved_by_a_manager(svc, actors):
    a = actors
    h = _report(svc, a, level="major")
    svc.hazard_action(a["sue"], h.id, "confirm")
    with pytest.raises(InvalidTransition):          # no assignment before the plan
        svc.hazard_action(a["max"], h.id, "assign", rectifier="cwo")
    with pytest.raises(Exception):                  # the plan must be complete (pydantic: missing fields)
        svc.hazard_action(a["sue"], h.id, "plan", plan={"measures": "x"})
    h = svc.hazard_action(a["sue"], h.id, "plan", plan=PLAN)
    assert h.state == "plan_pending" and h.plan.funds == 12000.0 and h.plan.responsible == "cwo"
    with pytest.raises(Forbidden) as e:             # approving a 重大 plan is a manager's job
        svc.hazard_action(a["sue"], h.id, "assign", rectifier="cwo")
    assert e.value.code == "wrong_role"
    h = svc.hazard_action(a["max"], h.id, "assign")  # default: the plan's responsible person
    assert (h.state, h.rectifier, h.deadline) == ("assigned", "cwo", PLAN["deadline"])
    svc.hazard_action(a["cwo"], h.id, "accept")
    svc.hazard_action(a["cwo"], h.id, "rectify", measures="flange replaced", evidence=["a.jpg", "ndt.pdf"])
    svc.hazard_action(a["sue"], h.id, "verify", ok=True)
    with pytest.raises(Forbidden):                  # closing a 重大 hazard: manager only
        svc.hazard_action(a["sue"], h.id, "close")
    assert svc.hazard_action(a["max"], h.id, "close").state == "closed"


def test_plan_is_only_for_major_hazards(svc, actors):
    h = _report(svc, actors)
    svc.hazard_action(actors["sue"], h.id, "confirm")
    with pytest.raises(GuardFailed) as e:
        svc.hazard_action(actors["sue"], h.id, "plan", plan=PLAN)
    assert e.value.code == "not_major"


def test_assignment_rule_area_owner_and_refusals(svc, actors):
    a = actors
    h = _report(svc, a)
    svc.hazard_action(a["sue"], h.id, "confirm")
    with pytest.raises(GuardFailed) as e:           # area owner 'storage-lead' is not a user yet
        svc.hazard_action(a["sue"], h.id, "assign")
    assert e.value.code == "no_rectifier"
    svc.users.create("storage-lead", "long-enough-pw", ["worker"])
    h = svc.hazard_action(a["sue"], h.id, "assign")
    assert h.rectifier == "storage-lead"
    h2 = _report(svc, a, x=150.0, y=50.0)           # office area: owner site-manager
    assert h2.area_id == "A-OFFICE"
    svc.hazard_action(a["sue"], h2.id, "confirm")
    with pytest.raises(GuardFailed) as e:
        svc.hazard_action(a["sue"], h2.id, "assign", rectifier="cwo", deadline=T0 - timedelta(hours=1))
    assert e.value.code == "bad_deadline"
    with pytest.raises(Forbidden):                  # a worker may not assign
        svc.hazard_action(a["bob"], h2.id, "assign", rectifier="cwo")


def test_reporter_of_major_hazard_cannot_rectify_it(svc, actors):
    a = actors
    h = _report(svc, a, who="cwo", level="major")
    svc.hazard_action(a["sue"], h.id, "confirm")
    svc.hazard_action(a["sue"], h.id, "plan", plan=PLAN)
    with pytest.raises(Forbidden) as e:
        svc.hazard_action(a["max"], h.id, "assign", rectifier="cwo")
    assert e.value.code == "segregation"


def _rectifying(svc, a, rectifier="cwo"):
    h = _report(svc, a)
    svc.hazard_action(a["sue"], h.id, "confirm")
    svc.hazard_action(a["sue"], h.id, "assign", rectifier=rectifier)
    return svc.hazard_action(a[rectifier], h.id, "accept")


def test_nobody_verifies_their_own_rectification(svc, actors):
    a = actors
    svc.users.create("eng2", "long-enough-pw", ["safety_engineer"])
    from safetwin.twin.workflows.roles import Actor

    eng2 = Actor("eng2", frozenset({"safety_engineer"}))
    a = {**a, "eng2": eng2}
    h = _rectifying(svc, a, rectifier="eng2")
    with pytest.raises(Forbidden) as e:             # only the rectifier accepts/submits
        svc.hazard_action(a["cwo"], h.id, "rectify", measures="m", evidence=["e.jpg"])
    assert e.value.code == "not_rectifier"
    with pytest.raises(GuardFailed) as e:           # evidence is required
        svc.hazard_action(eng2, h.id, "rectify", measures="done", evidence=[])
    assert e.value.code == "no_evidence"
    svc.hazard_action(eng2, h.id, "rectify", measures="done", evidence=["after.jpg"])
    with pytest.raises(Forbidden) as e:             # an engineer who rectified may not verify it
        svc.hazard_action(eng2, h.id, "verify", ok=True)
    assert e.value.code == "own_approval"
    with pytest.raises(Forbidden):                  # a worker may not verify
        svc.hazard_action(a["bob"], h.id, "verify", ok=True)
    h = svc.hazard_action(a["sue"], h.id, "verify", ok=False, note="still dripping")
    assert h.state == "rectifying"                  # failed verification goes back
    with pytest.raises(InvalidTransition):
        svc.hazard_action(a["sue"], h.id, "close")


def test_extension_request_and_decision(svc, actors):
    a = actors
    h = _rectifying(svc, a)
    old = h.deadline
    with pytest.raises(GuardFailed):                # must move the deadline later
        svc.hazard_action(a["cwo"], h.id, "extend", new_deadline=old - timedelta(days=1), reason="r")
    with pytest.raises(Forbidden):                  # only the rectifier asks
        svc.hazard_action(a["bob"], h.id, "extend", new_deadline=old + timedelta(days=3), reason="r")
    h = svc.hazard_action(a["cwo"], h.id, "extend", new_deadline=old + timedelta(days=3), reason="spare part late")
    assert h.state == "extension_pending"
    with pytest.raises(InvalidTransition):          # no rectification while the request is pending
        svc.hazard_action(a["cwo"], h.id, "rectify", measures="m", evidence=["e"])
    h = svc.hazard_action(a["sue"], h.id, "decide_extension", approve=False)
    assert (h.state, h.deadline, h.extensions[-1].decision) == ("rectifying", old, "denied")
    svc.hazard_action(a["cwo"], h.id, "extend", new_deadline=old + timedelta(days=5), reason="again")
    h = svc.hazard_action(a["max"], h.id, "decide_extension", approve=True)
    assert (h.deadline, h.extensions[-1].decided_by) == (old + timedelta(days=5), "max")


def test_invalid_report_and_forbidden_transitions(svc, actors):
    a = actors
    h = _report(svc, a)
    with pytest.raises(Forbidden):
        svc.hazard_action(a["bob"], h.id, "confirm")
    with pytest.raises(InvalidTransition):
        svc.hazard_action(a["sue"], h.id, "accept")
    h = svc.hazard_action(a["sue"], h.id, "invalidate", reason="duplicate")
    assert h.state == "invalid"
    for action in ("confirm", "assign", "close"):
        with pytest.raises(InvalidTransition):
            svc.hazard_action(a["sue"], h.id, action, rectifier="cwo")


def test_overdue_escalates_one_layer_per_day_to_company(svc, actors, clock, memory):
    a = actors
    h = _rectifying(svc, a)
    assert h.deadline == T0 + timedelta(days=7)
    assert svc.run_due_jobs(T0 + timedelta(days=7)).escalated_hazards == []     # due, not late
    assert not hazards.overdue(svc.hazard(h.id), T0 + timedelta(days=7))
    late = T0 + timedelta(days=7, hours=1)
    assert svc.run_due_jobs(late).escalated_hazards == [(h.id, "team")]
    assert svc.run_due_jobs(late).escalated_hazards == []                       # idempotent
    assert svc.run_due_jobs(T0 + timedelta(days=8, hours=2)).escalated_hazards == [(h.id, "workshop")]
    assert svc.run_due_jobs(T0 + timedelta(days=9, hours=2)).escalated_hazards == [(h.id, "company")]
    assert svc.run_due_jobs(T0 + timedelta(days=30)).escalated_hazards == []     # top layer reached
    got = [n for n in memory.sent if n.event == "overdue"]
    assert [n.recipients[0] for n in got] == ["layer:team", "layer:workshop", "layer:company"]
    assert all("cwo" in n.recipients for n in got)
    assert svc.hazard(h.id).escalation_level == 3
    assert [r["action"] for r in svc.repo.history("hazard", h.id)][-3:] == \
        ["escalate:team", "escalate:workshop", "escalate:company"]


def test_closed_or_verified_hazards_are_not_escalated(svc, actors):
    a = actors
    h = _rectifying(svc, a)
    svc.hazard_action(a["cwo"], h.id, "rectify", measures="m", evidence=["e.jpg"])
    svc.hazard_action(a["sue"], h.id, "verify", ok=True)
    assert svc.run_due_jobs(T0 + timedelta(days=20)).escalated_hazards == []


def test_repeat_hazards_same_place_and_category_within_n_days(svc, actors, clock):
    a = actors
    first = _report(svc, a, x=20.0, y=20.0)
    clock.advance(days=10)
    near = _report(svc, a, x=30.0, y=25.0)           # same area, 11 m away
    assert near.repeat_of == [first.id] and near.repeat_count == 1
    other_cat = _report(svc, a, x=20.0, y=20.0, category="person")
    assert other_cat.repeat_of == []
    office = _report(svc, a, x=110.0, y=20.0)        # other area, 90 m away
    assert office.repeat_of == []
    close_across = _report(svc, a, x=105.0, y=20.0)  # other area but within 20 m of 'office'
    assert close_across.repeat_of == [office.id]
    svc.hazard_action(a["sue"], near.id, "invalidate", reason="duplicate")
    clock.advance(days=85)                            # first is 95 days old now: outside the window
    again = _report(svc, a, x=20.0, y=20.0)
    assert again.repeat_of == [] and again.repeat_count == 0   # near was invalidated, first too old
    clock.advance(days=1)
    assert _report(svc, a, x=21.0, y=21.0).repeat_of == [again.id]


def test_repeat_ids_are_bounded_but_counted(svc, actors, clock):
    ids = []
    for _ in range(hazards.MAX_REPEAT_IDS + 3):
        ids.append(_report(svc, actors).id)
        clock.advance(minutes=1)
    h = _report(svc, actors)
    assert h.repeat_count == len(ids)
    assert h.repeat_of == list(reversed(ids))[:hazards.MAX_REPEAT_IDS]   # the most recent ones


def test_escalation_due_is_pure_and_bounded():
    from safetwin.twin.workflows.domain import Hazard

    h = Hazard(id="H", site_id="s", state="rectifying", created_at=T0, created_by="b", title="t",
               category="equipment", level="general", x=0, y=0, reporter="b", deadline=T0)
    assert hazards.escalation_due(h, T0) == 0
    assert hazards.escalation_due(h, T0 + timedelta(seconds=1)) == 1
    assert hazards.escalation_due(h, T0 + timedelta(days=1, seconds=1)) == 2
    assert hazards.escalation_due(h, T0 + timedelta(days=99)) == len(hazards.LAYERS)
    assert hazards.escalation_due(h, T0 + timedelta(hours=13), every=timedelta(hours=6)) == 3
