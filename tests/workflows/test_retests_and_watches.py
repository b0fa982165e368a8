"""Re-tests after interruptions, the daily test, the fire watch, and who runs the job (GB 30871-2022).

* 5.3.1 d: a 特级/一级 hot-work interruption over 30 min, a 二级 one over 60 min, needs a new gas
  analysis; every day needs one before hot work; 6.3 f: a confined-space interruption over 60 min;
* 5.2.6 / 6.5: a stop for a cause (gas alarm, abnormality) always needs a new passing test;
* 5.2.14: hot work closes only after the fire watch confirmed no embers remain (30 min, as OSHA
  1910.252(a)(2)(iii)(B));
* 4.10: the guardian and the fire watch watch the job: they neither approve nor start it.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from safetwin.twin.workflows.errors import Forbidden, GuardFailed
from safetwin.twin.workflows.roles import Actor
from wfhelpers import T0, certify

WORK = [(150.0, 20.0), (156.0, 20.0), (156.0, 26.0)]       # open ground: no detector, no SIMOPS neighbour
SIGNER = {"approver": "al", "safety_engineer": "sue", "operator": "ola", "manager": "max"}


@pytest.fixture()
def ready(svc, actors):
    for who, ct in (("bob", "hot_work"), ("bob", "confined_space"), ("gus", "guardian")):
        certify(svc, actors, who, ct)
    return svc


def started(svc, a, clock, ptype="hot_work", level="first", **kw):
    p = svc.create_permit(a["ann"], type=ptype, level=level, title=f"{ptype} {level}", work_polygon=WORK,
                          holder="bob", guardian="gus", jha="hazards identified", planned_start=T0,
                          planned_end=T0 + timedelta(hours=8), **kw)
    svc.permit_action(a["ann"], p.id, "submit")
    while svc.permit(p.id).state == "submitted":
        svc.permit_action(a[SIGNER[svc.permit(p.id).chain[len(svc.permit(p.id).approvals)]]], p.id, "approve")
    gas_test(svc, a, p.id, clock)
    if ptype == "confined_space" or level == "special":     # continuous monitoring: a portable feed
        svc.monitor_reading(a["gus"], p.id, instrument_id="MX4", sampled_at=clock(), readings=[("O2", 20.9, "%vol")])
    svc.permit_action(a["bob"], p.id, "start")
    return p


def gas_test(svc, a, pid, clock):
    return svc.add_gas_test(a["gus"], pid, sampled_at=clock(), instrument_id="MX4",
                            readings=[("O2", 20.9, "%vol"), ("methane", 0.1, "%vol")])


def feed(svc, a, pid, clock):
    svc.monitor_reading(a["gus"], pid, instrument_id="MX4", sampled_at=clock(), readings=[("O2", 20.9, "%vol")])


@pytest.mark.parametrize("ptype,level,gap_min,clause", [
    ("hot_work", "first", 30, "5.3.1 d"), ("hot_work", "special", 30, "5.3.1 d"),
    ("hot_work", "second", 60, "5.3.1 d"), ("confined_space", None, 60, "6.3 f")])
def test_a_pause_longer_than_the_gap_needs_a_new_test(ready, actors, clock, ptype, level, gap_min, clause):
    svc, a = ready, actors
    p = started(svc, a, clock, ptype, level)
    # a short pause: resume without a new test
    svc.permit_action(a["bob"], p.id, "pause", reason="lunch")
    clock.advance(minutes=gap_min - 1)
    if ptype == "confined_space" or level == "special":
        feed(svc, a, p.id, clock)
    assert svc.permit_action(a["bob"], p.id, "resume").state == "active"
    # a long one: a test taken after the pause began is needed
    svc.permit_action(a["bob"], p.id, "pause", reason="waiting for parts")
    clock.advance(minutes=gap_min + 1)
    if ptype == "confined_space" or level == "special":
        feed(svc, a, p.id, clock)
    with pytest.raises(GuardFailed, match=rf"interruption of {gap_min + 1} min \(> {gap_min} min .*{clause}"):
        svc.permit_action(a["bob"], p.id, "resume")
    gas_test(svc, a, p.id, clock)
    assert svc.permit_action(a["bob"], p.id, "resume").state == "active"


def test_a_stop_for_a_cause_always_needs_a_new_test(ready, actors, clock):
    svc, a = ready, actors
    p = started(svc, a, clock)
    clock.advance(minutes=1)
    svc.permit_action(a["ola"], p.id, "suspend", reason="unit upset")
    clock.advance(minutes=2)
    with pytest.raises(GuardFailed, match="taken after the suspension"):
        svc.permit_action(a["bob"], p.id, "resume")
    gas_test(svc, a, p.id, clock)
    assert svc.permit_action(a["bob"], p.id, "resume").state == "active"


def test_hot_work_needs_a_test_every_day(ready, actors, clock):
    svc, a = ready, actors
    clock.t = T0.replace(hour=15, minute=30)                # 23:30 in Shanghai (UTC+8)
    p = svc.create_permit(a["ann"], type="hot_work", level="second", title="night weld", work_polygon=WORK,
                          holder="bob", guardian="gus", jha="x", planned_start=clock(),
                          planned_end=clock() + timedelta(hours=20))
    svc.permit_action(a["ann"], p.id, "submit")
    svc.permit_action(a["al"], p.id, "approve")
    svc.permit_action(a["ola"], p.id, "approve")
    gas_test(svc, a, p.id, clock)
    svc.permit_action(a["bob"], p.id, "start")
    svc.permit_action(a["bob"], p.id, "pause", reason="break")
    clock.advance(minutes=40)                               # 00:10 the next day, under the 60 min gap of 二级
    with pytest.raises(GuardFailed, match="a new day needs a new flammable/toxic gas test"):
        svc.permit_action(a["bob"], p.id, "resume")
    gas_test(svc, a, p.id, clock)
    assert svc.permit_action(a["bob"], p.id, "resume").state == "active"


def test_hot_work_closes_only_after_the_fire_watch(ready, actors, clock):
    svc, a = ready, actors
    p = started(svc, a, clock)
    svc.permit_action(a["bob"], p.id, "complete")
    with pytest.raises(GuardFailed, match="has not confirmed that no embers remain") as e:
        svc.permit_action(a["al"], p.id, "close")
    assert e.value.code == "fire_watch"
    clock.advance(minutes=29)
    with pytest.raises(GuardFailed, match=r"the fire watch lasts 30 min after completion \(gb30871_2022 5.2.14\)"):
        svc.permit_action(a["gus"], p.id, "fire_watch_done")
    clock.advance(minutes=1)
    with pytest.raises(Forbidden, match="only the fire watch gus"):
        svc.permit_action(a["bob"], p.id, "fire_watch_done")
    svc.permit_action(a["gus"], p.id, "fire_watch_done", note="no embers, area wet down")
    done = svc.permit_action(a["al"], p.id, "close")
    assert done.state == "closed" and done.fire_watch_cleared_by == "gus"


def test_a_named_fire_watch_keeps_the_watch_and_does_not_approve(ready, actors, clock):
    svc, a = ready, actors
    svc.users.create("fw", "long-enough-pw", ["guardian", "approver"])
    p = svc.create_permit(a["ann"], type="hot_work", level="first", title="cut", work_polygon=WORK, holder="bob",
                          guardian="gus", fire_watch="fw", jha="x", planned_start=T0, planned_end=T0 + timedelta(hours=4))
    svc.permit_action(a["ann"], p.id, "submit")
    with pytest.raises(Forbidden, match="guardian or fire watch on it") as e:
        svc.permit_action(Actor("fw", frozenset({"guardian", "approver"})), p.id, "approve")
    assert e.value.code == "own_approval"


def test_the_guardian_neither_approves_nor_starts_the_job_they_guard(ready, actors, clock):
    svc, a = ready, actors
    gus_approver = Actor("gus", frozenset({"guardian", "approver", "operator"}))
    p = svc.create_permit(a["ann"], type="hot_work", level="first", title="weld", work_polygon=WORK, holder="bob",
                          guardian="gus", jha="x", planned_start=T0, planned_end=T0 + timedelta(hours=4))
    svc.permit_action(a["ann"], p.id, "submit")
    with pytest.raises(Forbidden, match="guardian or fire watch on it"):
        svc.permit_action(gus_approver, p.id, "approve")
    for who in ("al", "sue", "ola"):
        svc.permit_action(a[who], p.id, "approve")
    gas_test(svc, a, p.id, clock)
    with pytest.raises(Forbidden, match="only the holder bob may start"):
        svc.permit_action(gus_approver, p.id, "start")
    svc.permit_action(a["bob"], p.id, "start")
    # the guardian may stop the job (4.10 e) but not resume it
    svc.permit_action(a["gus"], p.id, "suspend", reason="guardian must leave")
    gas_test(svc, a, p.id, clock)
    with pytest.raises(Forbidden, match="only the holder bob may resume"):
        svc.permit_action(a["gus"], p.id, "resume")
