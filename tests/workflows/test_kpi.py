"""KPI cockpit figures against values computed by hand from a known history."""
from __future__ import annotations

from datetime import timedelta

from safetwin.twin.events import AlarmRaised
from safetwin.twin.workflows import kpi
from safetwin.twin.workflows.domain import GasTest, Permit
from test_permits import FAR, WORK, approve_all, portable
from wfhelpers import T0, certify

DAY = timedelta(days=1)
PLAN = {"measures": "re-route drain", "responsible": "cwo", "funds": 5000.0, "deadline": T0 + 20 * DAY,
        "contingency": "bund and absorbent"}


def _report(svc, a, category, x, y, level="general"):
    return svc.report_hazard(a["bob"], title=f"{category} issue", category=category, level=level, x=x, y=y)


def _assign(svc, a, h):
    svc.hazard_action(a["sue"], h.id, "confirm")
    svc.hazard_action(a["sue"], h.id, "assign", rectifier="cwo")


def _finish(svc, a, h):
    for who, action, kw in (("cwo", "accept", {}), ("cwo", "rectify", {"measures": "m", "evidence": ["e.jpg"]}),
                            ("sue", "verify", {"ok": True}), ("sue", "close", {})):
        svc.hazard_action(a[who], h.id, action, **kw)


def _history(svc, a, clock):
    """Six hazards, four permits, four certificates, one alarm case (see the expected values below)."""
    clock.t = T0 - 5 * DAY
    h6 = _report(svc, a, "person", 10, 10)                       # before the period; deadline T0+2d; open
    _assign(svc, a, h6)
    clock.t = T0
    h1 = _report(svc, a, "equipment", 20, 20)                    # deadline T0+7d
    _assign(svc, a, h1)
    clock.t = T0 + DAY
    h2 = _report(svc, a, "person", 30, 30)                       # deadline T0+8d; repeat of h6 (same area)
    _assign(svc, a, h2)
    clock.t = T0 + 2 * DAY
    _finish(svc, a, h1)                                          # closed on time after 48 h
    h3 = _report(svc, a, "environment", 40, 40, level="major")   # 重大, plan deadline T0+20d, stays open
    svc.hazard_action(a["sue"], h3.id, "confirm")
    svc.hazard_action(a["sue"], h3.id, "plan", plan=PLAN)
    svc.hazard_action(a["max"], h3.id, "assign")
    svc.hazard_action(a["cwo"], h3.id, "accept")
    clock.t = T0 + 3 * DAY
    h4 = _report(svc, a, "management", 50, 50)                   # confirmed only: open, no deadline
    svc.hazard_action(a["sue"], h4.id, "confirm")
    clock.t = T0 + 4 * DAY
    h5 = _report(svc, a, "equipment", 20, 21)                    # invalid: excluded everywhere
    svc.hazard_action(a["sue"], h5.id, "invalidate", reason="duplicate of h1")
    clock.t = T0 + 5 * DAY
    certify(svc, a, "bob", "hot_work", expires=T0 + 1000 * DAY)
    certify(svc, a, "gus", "guardian", expires=T0 + 1000 * DAY)
    certify(svc, a, "pia", "crane_operator", expires=T0 + 80 * DAY)
    certify(svc, a, "al", "electrician", expires=T0 + 10 * DAY)
    now = clock()
    p1 = svc.create_permit(a["ann"], type="hot_work", level="first", title="p1", work_polygon=WORK, holder="bob",
                           guardian="gus", jha="sparks", planned_start=now, planned_end=now + timedelta(hours=6))
    svc.permit_action(a["ann"], p1.id, "submit")
    approve_all(svc, a, p1.id)
    portable(svc, a, p1.id)
    svc.permit_action(a["bob"], p1.id, "start")                  # active, gas test 5 min old
    svc.create_permit(a["ann"], type="hot_work", level="second", title="p2", work_polygon=FAR, holder="bob",
                      guardian="gus", jha="x", planned_start=now, planned_end=now + timedelta(hours=6))  # draft
    p3 = svc.create_permit(a["ann"], type="confined_space", level=None, title="p3",
                           work_polygon=[(160, 20), (165, 20), (165, 25)], holder="bob", guardian="gus", jha="x",
                           planned_start=now, planned_end=now + timedelta(hours=6))
    svc.permit_action(a["ann"], p3.id, "submit")
    svc.permit_action(a["ann"], p3.id, "cancel", reason="postponed")
    p4 = svc.create_permit(a["ann"], type="work_at_height", level="II", title="p4",
                           work_polygon=[(180, 100), (185, 100), (185, 105)], holder="cwo", guardian="gus", jha="x",
                           planned_start=now, planned_end=now + timedelta(hours=6))
    svc.permit_action(a["ann"], p4.id, "submit")
    svc.on_alarm(AlarmRaised("AL-1", "GD-99", "high", now.timestamp(), "no such sensor"))
    return {"h1": h1, "h2": h2, "h3": h3, "h4": h4, "h5": h5, "h6": h6}


def test_cockpit_kpis_match_hand_computed_values(svc, actors, clock):
    hz = _history(svc, actors, clock)
    now = T0 + 30 * DAY
    k = svc.kpis(T0, T0 + 30 * DAY, now)
    h = k["hazards"]
    # found in period: h1 h2 h3 h4 (h5 invalid, h6 before the period); closed: h1 only (h2 stays open here)
    assert h["found"] == 4
    assert h["closed"] == 1 and h["rectification_rate"] == 0.25
    # deadlines in period: h6 (T0+2d), h1 (T0+7d), h2 (T0+8d), h3 (T0+20d); on time: h1 → 1/4
    assert (h["due_in_period"], h["closed_on_time"], h["on_time_rate"]) == (4, 1, 0.25)
    # open at cut-off: h6 h2 h3 h4; overdue: h6 h2 h3 (h4 has no deadline) → 3/4
    assert (h["open"], h["overdue"], h["overdue_rate"]) == (4, 3, 0.75)
    assert h["open_major"] == [{"id": hz["h3"].id, "title": "environment issue", "state": "rectifying",
                                "deadline": (T0 + 20 * DAY).isoformat()}]
    assert h["mean_time_to_close_h"] == 48.0
    assert h["mean_time_to_close_h_by_level"] == {"general": 48.0, "major": None}
    assert h["repeats"] == 1                                     # h2 repeats h6 (person, same area)
    p = k["permits"]
    assert p["by_type_level"] == {"hot_work/first": 1, "hot_work/second": 1, "confined_space/none": 1,
                                  "work_at_height/II": 1}
    assert p["by_state"] == {"active": 1, "draft": 1, "cancelled": 1, "submitted": 1}
    assert p["compliance_rate"] == round(1 / 3, 4)               # p1 of p1, p3, p4
    assert (p["gas_test_starts"], p["gas_test_timeliness"]) == (1, 1.0)
    c = k["certificates"]
    assert c["by_status"] == {"valid": 2, "expiring": 1, "expired": 1} and c["holders"] == 4
    assert c["expiring_within_days"] == {"30": 0, "60": 1, "90": 1}   # pia: 50 days left at the cut-off
    # required by live permits p1, p4: bob/hot_work, gus/guardian, cwo/work_at_height → 2 of 3 held
    assert (c["required"], c["covered"], c["coverage"], c["missing"]) == (3, 2, 0.6667, ["cwo:work_at_height"])
    assert k["alarms"] == {"cases": 1, "open": 1}


def test_mttc_and_rates_with_two_closures(svc, actors, clock):
    hz = _history(svc, actors, clock)
    clock.t = T0 + 10 * DAY
    _finish(svc, actors, hz["h2"])                               # closed late: 9 days after its report
    h = svc.kpis(T0, T0 + 30 * DAY, T0 + 30 * DAY)["hazards"]
    assert (h["closed"], h["rectification_rate"]) == (2, 0.5)
    assert h["on_time_rate"] == 0.25                             # h2 missed its T0+8d deadline
    assert (h["open"], h["overdue"], h["overdue_rate"]) == (3, 2, 0.6667)
    assert h["mean_time_to_close_h"] == (48 + 216) / 2           # 132 h
    # a period that starts after everything: nothing found, rates undefined (None), not zero
    later = svc.kpis(T0 + 60 * DAY, T0 + 90 * DAY, T0 + 90 * DAY)["hazards"]
    assert (later["found"], later["rectification_rate"], later["on_time_rate"]) == (0, None, None)


def _permit(pid: str, started_min: float | None, tests: list[tuple[float, bool]], ptype: str = "hot_work") -> Permit:
    base = dict(id=pid, site_id="s", state="active" if started_min is not None else "approved", created_at=T0,
                created_by="ann", pack_id="gb", pack_version="1", type=ptype, level="first", title=pid,
                work_polygon=[(0, 0), (1, 0), (1, 1)], applicant="ann", holder="bob", planned_start=T0,
                planned_end=T0 + timedelta(hours=8))
    start = T0 + timedelta(minutes=started_min) if started_min is not None else None
    gts = [GasTest(sampled_at=T0 + timedelta(minutes=m), gas="methane", value=0.1, unit="%vol", source="portable",
                   analyst="gus", passed=ok, reason="") for m, ok in tests]
    return Permit(**base, started_at=start, gas_tests=gts)


def test_gas_test_timeliness_counts_starts_with_a_passing_test_at_most_30_min_old():
    pm = [_permit("P1", 40, [(20, True)]),            # 20 min before start: timely
          _permit("P2", 40, [(5, True)]),             # 35 min before start: late
          _permit("P3", 40, [(30, False), (0, True)]),  # the fresh one failed, the passing one is 40 min old
          _permit("P4", 40, [(35, True), (45, True)]),  # one 5 min before start: timely (the later one does not count)
          _permit("P5", None, [(0, True)]),           # never started: not counted
          _permit("P6", 40, [], ptype="work_at_height")]  # type needs no gas test: not counted
    got = kpi.permit_kpis(pm, T0, T0 + DAY, ["hot_work", "confined_space"], 30.0)
    assert (got["gas_test_starts"], got["gas_test_timeliness"]) == (4, 0.5)


def test_the_cockpit_read_is_at_most_max_age_old(svc, actors):
    """``recent``: one computation serves until it is ``kpi_max_age_s`` old; 0 computes each time;
    the shared parsed records see a changed record (its new version) at once."""
    svc.settings.kpi_max_age_s = 3600
    first = svc.kpi.recent(30)
    assert first["as_of"] and first["hazards"]["open"] == 0
    h = _report(svc, actors, "equipment", 20, 20)
    assert svc.kpi.recent(30) is first                           # within the age: the same figures
    svc.settings.kpi_max_age_s = 0
    assert (svc.kpi.recent(30)["hazards"]["found"], svc.kpi.recent(30)["hazards"]["open"]) == (1, 1)
    svc.hazard_action(actors["sue"], h.id, "invalidate", reason="a duplicate")    # a new version of the record
    assert (svc.kpi.recent(30)["hazards"]["found"], svc.kpi.recent(30)["hazards"]["open"]) == (0, 0)
