"""Strict grading: a recorded drill with planted defects — RTLS tracks and alarm events written to
a real SQLite store, read back by ``from_store``, with a manual drill log — against the simulated
plan (baseline) of the small-plant chlorine drill. Every planted defect must come back as a named
finding, and the person never accounted for must grade the drill 不合格 whatever its score. The same
construction without defects is the control: none of those findings, and not 不合格.

Planted defects:
* the site alarm raised at 250 s (the plan: detection + 20 s);
* the first detector alarm acknowledged 180 s after it was raised (the plan allows 20 s);
* five people mustering 400 s later than the plan, counted from the alarm;
* one person whose tag stops half-way (never at a muster point);
* a false "everyone present" head count.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from safetwin.app.drill_records import from_store
from safetwin.emergency_planner.drill.evaluate import evaluate
from safetwin.emergency_planner.drill.metrics import muster_arrivals, muster_polygons
from safetwin.emergency_planner.drill.record import DrillRecord, parse_drill_log
from safetwin.emergency_planner.drill.report import report_html
from safetwin.twin.store import Store
from safetwin.twin.store.records import AlarmEvent, Position

T0 = datetime(2026, 12, 4, 10, 0, tzinfo=timezone.utc)
LATE_S = 400.0
ALARM_S = 250.0
ACK_AFTER_S = 180.0
N_LATE = 5


def _plan_people(base: DrillRecord, plant) -> tuple[list[str], str]:
    """Five people who walk to their muster point in the plan (not already there) and the last of
    them to muster (the one whose tag will stop)."""
    arrival, _ = muster_arrivals(base, muster_polygons(plant), base.moving_from_s)
    walking = np.flatnonzero(np.isfinite(arrival) & (arrival > base.moving_from_s + 20.0))
    by_arrival = [base.person_ids[p] for p in walking[np.argsort(arrival[walking])]]
    return by_arrival[:N_LATE], by_arrival[-1]


def _drill(base: DrillRecord, plant, tmp_path, *, defects: bool):
    """Write the drill's tracks and alarm events to a SQLite store and read it back with its log."""
    plan_alarm = base.first("alarm").t_s
    detection = base.first("detection").t_s
    shift = (ALARM_S - plan_alarm) if defects else 0.0      # everybody moves after the (late) alarm
    late, missing = _plan_people(base, plant)
    rows = []
    for k, pid in enumerate(base.person_ids):
        sel = base.person == k
        t, x, y = base.t_s[sel], base.x_m[sel], base.y_m[sel]
        hold = shift + (LATE_S if defects and pid in late else 0.0)
        if hold:
            wait = np.arange(0.0, hold, 5.0)
            t, x, y = np.r_[wait, t + hold], np.r_[np.full(wait.size, x[0]), x], np.r_[np.full(wait.size, y[0]), y]
        if defects and pid == missing:
            keep = t < 0.5 * t.max()
            t, x, y = t[keep], x[keep], y[keep]
        rows += [Position(plant.id, pid, T0 + timedelta(seconds=float(tk)), float(xk), float(yk))
                 for tk, xk, yk in zip(t, x, y)]
    ack = detection + (ACK_AFTER_S if defects else 10.0)
    db = f"sqlite:///{tmp_path / ('bad' if defects else 'good')}.db"
    store = Store.open(db)
    try:
        store.write_positions(rows)
        sensor = base.first("detection").source
        store.append_alarm_events([AlarmEvent(f"{sensor}_LVL", "HH", "UNACK", T0 + timedelta(seconds=detection), sensor),
                                   AlarmEvent(f"{sensor}_LVL", "HH", "ACKED", T0 + timedelta(seconds=ack), sensor)])
        rec = from_store(store, plant, T0, T0 + timedelta(seconds=1500), scenario=base.scenario)
    finally:
        store.close()
    alarm = ALARM_S if defects else plan_alarm
    counted = base.n_people     # "everyone present": true in the clean drill, a false all-clear with the defects
    log = parse_drill_log({
        "drill": {"id": "DR-PLANTED" if defects else "DR-CLEAN", "expected_headcount": base.n_people,
                  "roster": list(base.person_ids)},
        "events": [{"t_s": alarm, "kind": "alarm_raised", "by": "control room"},
                   {"t_s": alarm + 30, "kind": "response_started", "by": "shift leader"},
                   {"t_s": alarm + 300, "kind": "reported_to_authority"},
                   {"t_s": 1400, "kind": "headcount_reported", "count": counted, "by": "muster warden"}]})
    return rec.with_log(log), late, missing


@pytest.fixture(scope="module")
def planted(tmp_path_factory, small_plant, drill_scenario, baseline):
    tmp = tmp_path_factory.mktemp("planted")
    out = {}
    for defects in (True, False):
        rec, late, missing = _drill(baseline, small_plant, tmp, defects=defects)
        out[defects] = (evaluate(rec, small_plant, scenario=drill_scenario.scenario, baseline=baseline,
                                 drill_id=f"D-{defects}"), late, missing)
    return out


def _kinds(ev) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in ev.findings:
        out.setdefault(f["kind"], []).append(f)
    return out


def test_the_unaccounted_person_is_named_and_fails_the_drill(planted):
    ev, _, missing = planted[True]
    kinds = _kinds(ev)
    (f,) = kinds["unaccounted"]
    assert f["severity"] == "不足项" and f["people"] == [missing] and missing in f["text"]
    assert f["evidence"]["missing"][0]["id"] == missing and "last seen" in f["text"]
    assert ev.grade == "不合格"
    # whatever the score: the same drill with every weight on what went well still fails
    assert ev.metrics["people_not_accounted_for"] == 1


def test_each_late_musterer_is_named_with_the_delay(planted, baseline):
    ev, late, missing = planted[True]
    rows = [r for f in _kinds(ev)["late_muster"] for r in f["evidence"]["late"]]
    assert {r["id"] for r in rows} == set(late)                    # exactly the five planted, nobody else
    assert all(r["delay_s"] == pytest.approx(LATE_S, abs=6.0) for r in rows)   # counted from the alarm
    for f in _kinds(ev)["late_muster"]:
        assert f["severity"] == "整改项"
        assert all(pid in f["text"] for pid in f["people"])


def test_the_late_alarm_the_slow_acknowledgement_and_the_false_head_count_are_findings(planted, baseline):
    ev, _, _ = planted[True]
    kinds = _kinds(ev)
    plan_alarm = baseline.first("alarm").t_s
    (alarm,) = kinds["alarm_late"]
    assert f"at {ALARM_S:.0f} s, plan {plan_alarm:.0f} s" in alarm["text"]
    assert alarm["evidence"]["delay_s"] == pytest.approx(ALARM_S - plan_alarm)
    assert ev.indicator("alarm_ack_time")["value"] == pytest.approx(ACK_AFTER_S, abs=0.01)
    (ack,) = kinds["alarm_ack_late"]
    assert ack["indicator"] == "alarm_ack_time" and "180 s" in ack["text"]
    (hc,) = kinds["false_headcount"]
    assert hc["severity"] == "不足项"
    assert f"reported {baseline.n_people} present" in hc["text"] and f"{baseline.n_people - 1} reached" in hc["text"]


def test_the_clean_drill_is_the_control(planted):
    ev, _, _ = planted[False]
    kinds = _kinds(ev)
    for k in ("unaccounted", "late_muster", "alarm_late", "alarm_ack_late", "false_headcount",
              "alarm_not_acknowledged", "response_before_alarm"):
        assert k not in kinds, (k, kinds.get(k))
    assert ev.metrics["people_not_accounted_for"] == 0 and ev.grade != "不合格"
    assert ev.indicator("alarm_ack_time")["value"] == pytest.approx(10.0, abs=0.01)


def test_the_report_lists_every_named_person(planted):
    ev, late, missing = planted[True]
    html = report_html(ev.to_dict())
    assert "需跟进人员" in html and all(pid in html for pid in [*late, missing])
    assert "不合格" in html


def test_a_simulated_record_with_a_later_logged_alarm_stays_causal(small_plant, drill_scenario, baseline):
    """The simulated drill with a log that says the alarm came at 250 s: the simulated engine
    dispatched on the simulated alarm is named as a response before the alarm (not credited as a
    prompt response), and nobody counts as mustered before the alarm that sent them."""
    log = parse_drill_log({"drill": {"id": "DR-LOG"}, "events": [{"t_s": ALARM_S, "kind": "alarm_raised"}]})
    rec = baseline.with_log(log)
    ev = evaluate(rec, small_plant, scenario=drill_scenario.scenario, baseline=baseline)
    early = [e for e in baseline.events if e.kind == "engine_dispatched" and e.t_s < ALARM_S]
    assert early, "the plan dispatches an engine before 250 s (the premise of this test)"
    found = _kinds(ev)["response_before_alarm"]
    assert {f["evidence"]["source"] for f in found} == {e.source for e in early}
    assert all(e.source in f["text"] for e, f in zip(early, found))
    assert ev.metrics["response_delay_s"] is None or ev.metrics["response_delay_s"] >= 0
    finite = [a for a in ev.arrivals_s if a != float("inf")]
    assert finite and min(finite) >= ALARM_S
