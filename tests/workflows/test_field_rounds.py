"""Inspection rounds: schedule, scans with checklists, findings as hazards, RTLS evidence, missed rounds."""
from __future__ import annotations

from datetime import timedelta

import pytest

from safetwin.twin.state import TwinState
from safetwin.twin.store.records import Position
from safetwin.twin.workflows.errors import Forbidden, GuardFailed
from wfhelpers import T0

ALL_OK = {"tk-leak": True, "tk-bund": True, "tk-breather": True}


def _answers(checklist_ok: dict[str, bool]) -> list[dict]:
    return [{"item_id": k, "ok": v} for k, v in checklist_ok.items()]


@pytest.fixture()
def route(svc, actors):
    """Two checkpoints (the tank TK-1 at (40, 40), the drum store at ~(70, 107)), walked every 2 h from T0."""
    f = svc.field.inspections
    sue = actors["sue"]
    tank = f.add_checkpoint(sue, name="Gasoline tank", kind="equipment", target_id="TK-1", code="TK1-A")
    drums = f.add_checkpoint(sue, name="Chlorine drums", kind="equipment", target_id="CL2-DRUMS", code="CL2-B")
    rt = f.add_route(sue, name="Storage round", checkpoint_ids=[tank.id, drums.id], interval_h=2, first_due_at=T0,
                     grace_min=30)
    return rt, tank, drums


def _walk(svc, actors, clock, rnd, tank, drums, *, tank_ok=None, photos=None):
    f = svc.field.inspections
    ola = actors["ola"]
    f.scan(ola, rnd, code="TK1-A", client_key="scan-tank-0001", scanned_at=clock(),
           answers=_answers(tank_ok or ALL_OK), photos=photos)
    clock.advance(minutes=5)
    f.scan(ola, rnd, code="CL2-B", client_key="scan-drum-0001", scanned_at=clock(),
           answers=_answers({"ds-segregation": True, "ds-leak": True}))
    clock.advance(minutes=2)
    return f.complete_round(ola, rnd)


def _track(store, site, person, points):
    store.write_positions([Position("small_plant", person, t, x, y, site=site) for t, x, y in points])


def test_due_job_generates_each_round_once(svc, route, clock):
    rt, _, _ = route
    r1 = svc.run_due_jobs().field_jobs["rounds_generated"]
    assert len(r1) == 2                        # the one due now and the next one (2 h ahead)
    clock.advance(minutes=30)
    assert svc.run_due_jobs().field_jobs["rounds_generated"] == []
    rounds = svc.field.inspections.rounds()
    assert sorted(r.due_at for r in rounds) == [T0, T0 + timedelta(hours=2)]
    assert all(r.route_id == rt.id and r.state == "scheduled" for r in rounds)


def test_walk_with_track_at_every_checkpoint_is_verified(svc, route, actors, clock, store):
    rt, tank, drums = route
    svc.run_due_jobs()
    rnd = min(svc.field.inspections.rounds_for(actors["ola"]), key=lambda r: r.due_at).id
    t = clock()
    _track(store, svc.site_id, "ola", [(t, 45.0, 45.0), (t + timedelta(minutes=3), 60.0, 90.0),
                                       (t + timedelta(minutes=5), 68.0, 104.0)])
    r = _walk(svc, actors, clock, rnd, tank, drums)
    assert r.state == "completed" and r.rtls_verified and r.flags == []
    assert [e.present for e in r.evidence] == [True, True]
    assert r.evidence[0].min_distance_m == pytest.approx(7.1, abs=0.1)


def test_walk_without_the_inspectors_track_at_the_checkpoints_is_flagged(svc, route, actors, clock, store):
    """The codes were scanned but the tag never came near the drum store (and a second round with
    no track at all): both rounds are flagged, and the flags name the checkpoint."""
    rt, tank, drums = route
    svc.run_due_jobs()
    first, second = sorted(svc.field.inspections.rounds_for(actors["ola"]), key=lambda r: r.due_at)
    t = clock()
    _track(store, svc.site_id, "ola", [(t, 42.0, 38.0), (t + timedelta(minutes=5), 150.0, 20.0)])   # office, not drums
    r = _walk(svc, actors, clock, first.id, tank, drums)
    assert not r.rtls_verified and r.flags == [f"not_at:{drums.id}"]
    assert svc.notifier.channels[0].sent[-1].event == "flagged"
    clock.advance(hours=2)
    r2 = _walk(svc, actors, clock, second.id, tank, drums)
    assert not r2.rtls_verified and r2.flags[0] == "no_rtls_track"
    assert {f"not_at:{tank.id}", f"not_at:{drums.id}"} <= set(r2.flags)


def test_live_fix_at_scan_time_counts_as_evidence(svc, route, actors, clock, small_plant):
    """With the twin attached, the inspector's live position when each scan arrives is evidence too."""
    rt, tank, drums = route
    state = TwinState(small_plant)
    svc.attach(state)
    svc.run_due_jobs()
    rnd = min(svc.field.inspections.rounds_for(actors["ola"]), key=lambda r: r.due_at).id
    f = svc.field.inspections
    state.update_position("ola", 41.0, 44.0, ts=clock().timestamp())
    f.scan(actors["ola"], rnd, code="TK1-A", client_key="scan-tank-0002", scanned_at=clock(), answers=_answers(ALL_OK))
    clock.advance(minutes=4)
    state.update_position("ola", 71.0, 100.0, ts=clock().timestamp())
    f.scan(actors["ola"], rnd, code="CL2-B", client_key="scan-drum-0002", scanned_at=clock(),
           answers=_answers({"ds-segregation": True, "ds-leak": True}))
    r = f.complete_round(actors["ola"], rnd)
    assert r.rtls_verified, r.flags


def test_scans_check_code_role_answers_and_count_once(svc, route, actors, clock):
    rt, tank, drums = route
    svc.run_due_jobs()
    f = svc.field.inspections
    rnd = min(f.rounds_for(actors["ola"]), key=lambda r: r.due_at).id
    with pytest.raises(GuardFailed, match="not a checkpoint of route"):
        f.scan(actors["ola"], rnd, code="NOPE", client_key="k-000000001", scanned_at=clock(), answers=[])
    with pytest.raises(GuardFailed, match="not answered"):
        f.scan(actors["ola"], rnd, code="TK1-A", client_key="k-000000002", scanned_at=clock(),
               answers=_answers({"tk-leak": True}))
    with pytest.raises(Forbidden):
        f.scan(actors["bob"], rnd, code="TK1-A", client_key="k-000000003", scanned_at=clock(), answers=_answers(ALL_OK))
    r, found = f.scan(actors["ola"], rnd, code="TK1-A", client_key="k-000000004", scanned_at=clock(),
                      answers=_answers({**ALL_OK, "tk-bund": False}))
    assert len(found) == 1 and r.state == "in_progress" and r.inspector == "ola"
    h = svc.hazard(found[0])
    assert h.category == "equipment" and "Bund drain valve closed" in h.title and (h.x, h.y) == (tank.x, tank.y)
    r2, again = f.scan(actors["ola"], rnd, code="TK1-A", client_key="k-000000004", scanned_at=clock(),
                       answers=_answers({**ALL_OK, "tk-bund": False}))
    assert again == found and len(r2.scans) == 1 and len(svc.list_hazards()) == 1


def test_missed_round_raises_an_alarm_that_a_later_round_clears(svc, route, actors, clock, small_plant, store):
    rt, tank, drums = route
    state = TwinState(small_plant)
    svc.attach(state)
    svc.run_due_jobs()
    clock.advance(minutes=31)                        # the T0 round's deadline passed untouched
    jobs = svc.run_due_jobs().field_jobs
    assert len(jobs["rounds_missed"]) == 1
    missed = svc.field.inspections.round(jobs["rounds_missed"][0])
    assert missed.state == "missed" and "missed" in missed.flags
    assert [a.alarm_id for a in state.active_alarms()] == [f"ROUND-{missed.id}"]
    assert state.active_alarms()[0].level == "H"
    assert svc.drain()
    assert svc.alarm_case(f"AC-ROUND-{missed.id}").state == "raised"   # an alarm case like any alarm
    clock.advance(minutes=89)                        # T0 + 2 h: the next round
    nxt = min(svc.field.inspections.rounds_for(actors["ola"]), key=lambda r: r.due_at).id
    _walk(svc, actors, clock, nxt, tank, drums)
    assert state.active_alarms() == []
    k = svc.field.kpis(T0 - timedelta(hours=1), T0 + timedelta(hours=3))["inspections"]
    assert (k["due"], k["completed"], k["missed"], k["flagged"]) == (2, 1, 1, 1)
    assert k["completion_rate"] == 0.5 and k["rtls_verified_rate"] == 0.0
