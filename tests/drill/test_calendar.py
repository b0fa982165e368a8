"""Drill calendar: statutory intervals → due dates and overdue items (hand-computed dates), the drill
plan persisted in the store (migration 0004 on SQLite and PostgreSQL), plan completion for the KPI
cockpit, and corrective actions as hazards in the WorkflowService."""
from __future__ import annotations

import os
from datetime import date, datetime, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from safetwin.emergency_planner.drill.actions import HAZARD_CATEGORY, create_corrective_actions
from safetwin.twin.workflows.drill_calendar import (DrillDone, EmergencyPlan, add_months, overdue, plan_completion,
                                                       schedule)
from safetwin.twin.workflows.drill_models import DRILL_TABLES
from safetwin.twin.workflows.drill_store import (add_emergency_plan, calendar_status, drill_kpis, generate_plan,
                                                      plan_items, record_drill)
from safetwin.twin.store import Store
from safetwin.twin.store.models import Base
from safetwin.twin.workflows import kpi
from safetwin.twin.workflows.roles import Actor

UTC = timezone.utc
PLANS = [EmergencyPlan("CL2-ONSITE", "onsite", "Chlorine leak on-site disposal plan"),
         EmergencyPlan("FIRE-ONSITE", "onsite", "Tank fire on-site disposal plan"),
         EmergencyPlan("COMP", "comprehensive", "Comprehensive plan"),
         EmergencyPlan("HAZMAT", "special", "Hazardous chemicals special plan")]


def test_add_months_clips_to_month_end():
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)      # leap year
    assert add_months(date(2026, 3, 15), 12) == date(2027, 3, 15)


def test_statutory_due_dates_and_overdue_hand_computed():
    drills = [DrillDone("D1", "CL2-ONSITE", date(2026, 3, 10)),     # before its 2026-05-01 due date
              DrillDone("D2", "CL2-ONSITE", date(2026, 10, 20)),    # late: due 2026-09-10
              DrillDone("D3", "HAZMAT", date(2026, 6, 1))]          # special plan: meets the yearly requirement
    items = schedule(PLANS, drills, date(2026, 1, 1), date(2027, 7, 1), today=date(2027, 1, 15),
                     anchor=date(2025, 11, 1))
    got = [(i.requirement, i.due_by, i.status, i.drill_id) for i in items]
    assert got == [
        # anchor 2025-11-01 + 6 months; D1 on time → next due D1 + 6 months = 2026-09-10; D2 late → + 6 months
        ("onsite:CL2-ONSITE", date(2026, 5, 1), "done", "D1"),
        ("onsite:FIRE-ONSITE", date(2026, 5, 1), "overdue", None),
        ("onsite:CL2-ONSITE", date(2026, 9, 10), "done_late", "D2"),
        ("comprehensive_or_special", date(2026, 11, 1), "done", "D3"),     # anchor + 12 months
        ("onsite:FIRE-ONSITE", date(2026, 11, 1), "overdue", None),        # missed due + 6 months
        ("onsite:CL2-ONSITE", date(2027, 4, 20), "upcoming", None),
        ("onsite:FIRE-ONSITE", date(2027, 5, 1), "upcoming", None),
        ("comprehensive_or_special", date(2027, 6, 1), "upcoming", None),   # D3 + 12 months
    ]
    assert [(i.requirement, i.due_by) for i in overdue(items)] == [("onsite:FIRE-ONSITE", date(2026, 5, 1)),
                                                                    ("onsite:FIRE-ONSITE", date(2026, 11, 1))]
    c = plan_completion(items, date(2027, 1, 15))
    assert (c["due"], c["done"], c["on_time"], c["plan_completion"]) == (5, 3, 2, 0.6)
    assert c["next_due"]["due_by"] == "2027-04-20"


def test_hazardous_chemical_enterprise_drills_every_six_months():
    items = schedule([EmergencyPlan("COMP", "comprehensive")], [], date(2026, 1, 1), date(2027, 1, 1),
                     anchor=date(2026, 1, 1), hazardous_chemicals=True)
    assert [i.due_by for i in items] == [date(2026, 7, 1)]
    items = schedule([EmergencyPlan("COMP", "comprehensive")], [], date(2026, 1, 1), date(2028, 1, 1),
                     anchor=date(2026, 1, 1))
    assert [i.due_by for i in items] == [date(2027, 1, 1)]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = Store.open(f"sqlite:///{tmp_path / 'drill.db'}")
        yield s
        s.close()
        return
    from safetwin.twin.store.db import scratch_schema

    url = os.environ.get("SAFETWIN_TEST_PG_URL")
    if not url:
        pytest.fail("SAFETWIN_TEST_PG_URL is not set (source var/services.env)")
    with scratch_schema(url, "drill_test") as scratch:
        s = Store.open(scratch)
        yield s
        s.close()


def test_drill_models_agree_with_migration(store):
    import safetwin.twin.workflows.drill_models  # noqa: F401  (tables on the store's Base)

    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "include_name": lambda name, type_, parent: type_ != "table" or name in DRILL_TABLES,
            "include_object": lambda obj, name, type_, reflected, compare_to: (
                (name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)) in DRILL_TABLES),
        })
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"drill models and migration 0004 disagree: {diff}"


def test_plan_persisted_completion_and_kpi_block(store):
    add_emergency_plan(store, "s1", "CL2-ONSITE", "onsite", datetime(2025, 11, 1, tzinfo=UTC))
    add_emergency_plan(store, "s1", "COMP", "comprehensive", datetime(2025, 11, 1, tzinfo=UTC))
    add_emergency_plan(store, "other", "X", "onsite", datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="kind"):
        add_emergency_plan(store, "s1", "BAD", "monthly", datetime(2025, 1, 1, tzinfo=UTC))
    ids = generate_plan(store, "s1", 2026)
    items = plan_items(store, "s1")
    # onsite: 2025-11-01 + 6 → 2026-05-01, then 2026-11-01; comprehensive: 2026-11-01
    assert [(i["requirement"], i["due_by"].date()) for i in items] == [
        ("onsite:CL2-ONSITE", date(2026, 5, 1)), ("comprehensive_or_special", date(2026, 11, 1)),
        ("onsite:CL2-ONSITE", date(2026, 11, 1))]
    assert generate_plan(store, "s1", 2026) == ids                     # idempotent
    record_drill(store, "s1", "D1", datetime(2026, 4, 20, 9, tzinfo=UTC), plan_id="CL2-ONSITE", scenario="cl2")
    record_drill(store, "s1", "D2", datetime(2026, 10, 5, 9, tzinfo=UTC), plan_id="COMP")
    items = {i["id"]: i for i in plan_items(store, "s1")}
    assert items[ids[0]]["drill_id"] == "D1" and items[ids[1]]["drill_id"] == "D2" and items[ids[2]]["drill_id"] is None
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    k = drill_kpis(store, start, end, datetime(2026, 12, 31, tzinfo=UTC), site_id="s1")
    assert (k["due"], k["done"], k["plan_completion"], k["overdue"]) == (3, 2, 0.6667, [ids[2]])
    k_mid = drill_kpis(store, start, end, datetime(2026, 6, 30, tzinfo=UTC), site_id="s1")
    assert (k_mid["due"], k_mid["plan_completion"]) == (1, 1.0)
    # the cockpit block: kpi.compute passes it through
    cockpit = kpi.compute([], [], [], [], start, end, datetime(2026, 12, 31, tzinfo=UTC), 30.0, drills=k)
    assert cockpit["drills"]["plan_completion"] == 0.6667
    st = calendar_status(store, "s1", date(2026, 12, 31))
    # the statutory calendar counts from the drills actually done: CL2 due again D1 + 6 months
    assert [(i["due_by"], i["status"]) for i in st["items"] if i["due_by"] <= "2026-12-31"] == [
        ("2026-05-01", "done"), ("2026-10-20", "overdue"), ("2026-11-01", "done")]
    assert st["plan_completion"] == 0.6667 and len(st["overdue"]) == 1


def test_corrective_actions_become_hazards(tmp_path, small_plant):
    from safetwin.twin.workflows.service import WorkflowService
    from safetwin.twin.workflows.users import Users

    store = Store.open(f"sqlite:///{tmp_path / 'wf.db'}")
    try:
        svc = WorkflowService(store.engine, small_plant, clock=lambda: datetime(2026, 12, 4, 12, tzinfo=UTC))
        Users(store.engine).create("wang", "pw-12345678", ["worker"], "Wang Wei")
        eng = Actor("li", frozenset({"safety_engineer"}))
        evaluation = {"drill_id": "DR-9", "scenario": "small_cl2_drill", "findings": [
            {"id": "F1", "severity": "不足项", "text": "1 person(s) not accounted for", "action": "fix roll-call",
             "capability_element": "organization", "owner": "Muster wardens", "due": "2027-01-03",
             "module_name": "evacuation", "capability": "Mass Care", "indicator": "headcount_accuracy",
             "evidence": {"missing": [{"id": "P-7", "x_m": 60.0, "y_m": 70.0, "t_s": 120.0}]}},
            {"id": "F2", "severity": "整改项", "text": "alarm late", "action": "train control room",
             "capability_element": "training", "owner": "Control room", "due": "2027-03-04",
             "module_name": "alerting", "capability": "Operational Communications", "indicator": "alarm_time"},
            {"id": "F3", "severity": "改进项", "text": "optional", "action": "-", "capability_element": "planning",
             "owner": "-", "due": "2027-06-02", "module_name": "x", "capability": "y", "indicator": "z"}]}
        rows = create_corrective_actions(svc, eng, evaluation, rectifier="wang")
        assert [r["finding"] for r in rows] == ["F1", "F2"]                  # 改进项 are optional
        hz = {h.id: h for h in svc.list_hazards()}
        h1, h2 = hz[rows[0]["hazard_id"]], hz[rows[1]["hazard_id"]]
        assert h1.category == HAZARD_CATEGORY == h2.category and h1.level == "general"
        assert h1.state == "assigned" and h1.rectifier == "wang"
        assert h1.deadline == datetime(2027, 1, 3, 23, 59, tzinfo=UTC)
        assert (h1.x, h1.y) == (60.0, 70.0)                                   # where the missing person was last seen
        assert "[演练不足项]" in h1.title and "DR-9" in h1.title and "fix roll-call" in h1.description
        # the hazard runs the normal closed loop from here
        h = svc.hazard_action(Actor("wang", frozenset({"worker"})), h1.id, "accept")
        assert h.state == "rectifying"
        worker_rows = create_corrective_actions(svc, eng, evaluation, severities=("改进项",))
        assert svc.hazard(worker_rows[0]["hazard_id"]).state == "reported"
    finally:
        store.close()


def test_from_store_on_both_backends(store, small_plant):
    """The recorded-drill loader on SQLite and PostgreSQL: window, epoch seconds, other plant and
    alarm kinds filtered, first raise and first acknowledgement per alarm only."""
    from datetime import timedelta

    from safetwin.app.drill_records import from_store
    from safetwin.twin.store.records import AlarmEvent, Position

    t0 = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    rows = [Position(small_plant.id, f"P-{p}", t0 + timedelta(seconds=s + 0.25), 10.0 * p + s, 5.0)
            for p in range(3) for s in range(0, 60, 10)]
    rows += [Position("other_plant", "P-9", t0 + timedelta(seconds=5), 0.0, 0.0),
             Position(small_plant.id, "P-0", t0 - timedelta(seconds=1), 0.0, 0.0),       # before the window
             Position(small_plant.id, "P-0", t0 + timedelta(seconds=600), 0.0, 0.0)]     # after it
    store.write_positions(rows)
    store.append_alarm_events([
        AlarmEvent("CL-02_LVL", "HH", "UNACK", t0 + timedelta(seconds=20.5), "CL-02"),
        AlarmEvent("CL-02_LVL", "HH", "ACKED", t0 + timedelta(seconds=40), "CL-02"),
        AlarmEvent("CL-02_LVL", "HH", "UNACK", t0 + timedelta(seconds=45), "CL-02"),       # re-raise: ignored
        AlarmEvent("CL-03_STL", "STL", "UNACK", t0 + timedelta(seconds=30), "CL-03")])     # stale: not a detection
    rec = from_store(store, small_plant, t0, t0 + timedelta(seconds=300))
    assert rec.person_ids == ["P-0", "P-1", "P-2"] and rec.t_s.size == 18
    assert rec.t_s[rec.person == 1].tolist() == [0.25, 10.25, 20.25, 30.25, 40.25, 50.25]
    assert rec.x_m[rec.person == 2].tolist() == [20.0, 30.0, 40.0, 50.0, 60.0, 70.0]
    assert [(e.kind, e.source, e.t_s) for e in rec.events] == [("detection", "CL-02", 20.5), ("alarm_ack", "CL-02", 40.0)]
    assert rec.metrics["alarm_acks_recorded"]
    assert rec.t0 == t0 and rec.source == "recorded"
    with pytest.raises(ValueError, match="timezone-aware"):
        from_store(store, small_plant, datetime(2026, 12, 4, 10), t0)
