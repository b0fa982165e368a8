"""Drills, the drill plan and evaluations in the twin's store (SQLite or PostgreSQL; parameterised
SQLAlchemy Core only). Every function takes a :class:`~safetwin.twin.store.Store` or an Engine.

Public read API for the manager view: :func:`list_evaluations` and :func:`evaluation_summary`
return plain dicts; :func:`drill_kpis` feeds the KPI cockpit's ``drills`` block.

Example::

    >>> from datetime import date, datetime, timezone
    >>> from safetwin.twin.store import Store
    >>> store = Store.open("sqlite://")
    >>> add_emergency_plan(store, "site1", "P-ONSITE-1", "onsite", datetime(2025, 7, 1, tzinfo=timezone.utc))
    >>> generate_plan(store, "site1", 2026)       # due 2026-01-01 and 2026-07-01 (every 6 months)
    ['site1-2026-001', 'site1-2026-002']
    >>> record_drill(store, "site1", "D-1", datetime(2026, 3, 2, 9, tzinfo=timezone.utc), plan_id="P-ONSITE-1")
    'D-1'
    >>> drill_kpis(store, datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2027, 1, 1, tzinfo=timezone.utc),
    ...            datetime(2026, 12, 31, tzinfo=timezone.utc), site_id="site1")["plan_completion"]
    0.5
    >>> store.close()
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import OperationalError, ProgrammingError

from .drill_calendar import DrillDone, EmergencyPlan, PlanItem, plan_completion, schedule
from .drill_models import DrillEvaluationRow, DrillRow, EmergencyPlanRow, PlanItemRow

__all__ = ["add_emergency_plan", "emergency_plans", "record_drill", "drills_done", "generate_plan", "plan_items",
           "save_evaluation", "list_evaluations", "evaluation_summary", "get_evaluation", "drill_kpis",
           "calendar_status"]

PLANS = EmergencyPlanRow.__table__
ITEMS = PlanItemRow.__table__
DRILLS = DrillRow.__table__
EVALS = DrillEvaluationRow.__table__


def _engine(store: Any) -> Any:
    return getattr(store, "engine", store)


def _utc(d: date | datetime) -> datetime:
    if isinstance(d, datetime):
        if d.tzinfo is None:
            raise ValueError(f"naive datetime {d.isoformat()}: pass a timezone-aware UTC datetime")
        return d.astimezone(timezone.utc)
    return datetime.combine(d, time(0, 0), tzinfo=timezone.utc)


def add_emergency_plan(store: Any, site_id: str, plan_id: str, kind: str, effective_at: datetime,
                       title: str = "") -> None:
    """Register an emergency plan that must be drilled (kind comprehensive | special | onsite)."""
    if kind not in ("comprehensive", "special", "onsite"):
        raise ValueError(f"plan {plan_id}: kind must be comprehensive, special or onsite, got {kind!r}")
    with _engine(store).begin() as conn:
        conn.execute(insert(PLANS).values(id=plan_id, site_id=site_id, kind=kind, title=title,
                                          effective_at=_utc(effective_at)))


def emergency_plans(store: Any, site_id: str) -> list[EmergencyPlan]:
    """The site's emergency plans."""
    with _engine(store).connect() as conn:
        rows = conn.execute(select(PLANS.c.id, PLANS.c.kind, PLANS.c.title).where(PLANS.c.site_id == site_id)
                            .order_by(PLANS.c.id)).all()
    return [EmergencyPlan(r.id, r.kind, r.title) for r in rows]


def _first_effective(store: Any, site_id: str) -> date | None:
    with _engine(store).connect() as conn:
        t = conn.execute(select(func.min(PLANS.c.effective_at)).where(PLANS.c.site_id == site_id)).scalar()
    if t is None:
        return None
    if isinstance(t, str):  # SQLite aggregate returns the stored text
        t = datetime.fromisoformat(t)
    return t.date()


def drills_done(store: Any, site_id: str) -> list[DrillDone]:
    """Drills carried out at the site (state ended/evaluated), as calendar entries."""
    with _engine(store).connect() as conn:
        rows = conn.execute(select(DRILLS.c.id, DRILLS.c.plan_id, DRILLS.c.started_at)
                            .where(DRILLS.c.site_id == site_id, DRILLS.c.state.in_(("ended", "evaluated")))
                            .order_by(DRILLS.c.started_at)).all()
    return [DrillDone(r.id, r.plan_id or "", r.started_at.date()) for r in rows]


def generate_plan(store: Any, site_id: str, year: int, *, hazardous_chemicals: bool = False) -> list[str]:
    """Write the year's drill plan items from the statutory intervals (:func:`.drill_calendar.schedule`
    over the site's plans and past drills); existing item ids are kept. Returns the item ids."""
    plans = emergency_plans(store, site_id)
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    items = schedule(plans, [d for d in drills_done(store, site_id) if d.on < start], start, end,
                     anchor=_first_effective(store, site_id) or start, hazardous_chemicals=hazardous_chemicals)
    ids = []
    with _engine(store).begin() as conn:
        have = set(conn.execute(select(ITEMS.c.id).where(ITEMS.c.site_id == site_id)).scalars())
        for k, it in enumerate(items, 1):
            iid = f"{site_id}-{year}-{k:03d}"
            ids.append(iid)
            if iid in have:
                continue
            conn.execute(insert(ITEMS).values(id=iid, site_id=site_id, plan_id=it.plan_id, requirement=it.requirement,
                                              content="comprehensive" if it.plan_id is None else "single",
                                              form="live", due_by=_utc(it.due_by), rule=it.rule))
    return ids


def plan_items(store: Any, site_id: str, start: datetime | None = None, end: datetime | None = None) -> list[dict]:
    """Drill plan items of the site (optionally with ``start <= due_by < end``), oldest due first."""
    stmt = select(ITEMS).where(ITEMS.c.site_id == site_id)
    if start is not None:
        stmt = stmt.where(ITEMS.c.due_by >= _utc(start))
    if end is not None:
        stmt = stmt.where(ITEMS.c.due_by < _utc(end))
    with _engine(store).connect() as conn:
        return [dict(r) for r in conn.execute(stmt.order_by(ITEMS.c.due_by, ITEMS.c.id)).mappings()]


def record_drill(store: Any, site_id: str, drill_id: str, started_at: datetime, *, ended_at: datetime | None = None,
                 plan_id: str | None = None, plan_item_id: str | None = None, scenario: str = "", title: str = "",
                 content: str = "single", form: str = "live", state: str = "ended") -> str:
    """Record a drill; it closes ``plan_item_id`` or else the earliest open plan item it satisfies
    (same on-site plan, or the comprehensive/special requirement for such a plan)."""
    eng = _engine(store)
    with eng.begin() as conn:
        if plan_item_id is None and plan_id is not None:
            kind = conn.execute(select(PLANS.c.kind).where(PLANS.c.id == plan_id)).scalar()
            cond = (ITEMS.c.plan_id == plan_id) if kind == "onsite" else (ITEMS.c.requirement == "comprehensive_or_special")
            plan_item_id = conn.execute(select(ITEMS.c.id).where(ITEMS.c.site_id == site_id, cond,
                                                                 ITEMS.c.drill_id.is_(None))
                                        .order_by(ITEMS.c.due_by).limit(1)).scalar()
        conn.execute(insert(DRILLS).values(id=drill_id, site_id=site_id, plan_id=plan_id, plan_item_id=plan_item_id,
                                           scenario=scenario, title=title, content=content, form=form,
                                           started_at=_utc(started_at),
                                           ended_at=_utc(ended_at) if ended_at else None, state=state))
        if plan_item_id is not None:
            conn.execute(update(ITEMS).where(ITEMS.c.id == plan_item_id, ITEMS.c.drill_id.is_(None))
                         .values(drill_id=drill_id))
    return drill_id


def save_evaluation(store: Any, evaluation: Any, site_id: str) -> int:
    """Store an evaluation (a planner's ``Evaluation`` — :mod:`safetwin.emergency_planner.drill.evaluate` —
    or its dict); returns its id."""
    doc = evaluation.to_dict() if hasattr(evaluation, "to_dict") else dict(evaluation)
    n = {s: sum(1 for f in doc["findings"] if f["severity"] == s) for s in ("不足项", "整改项", "改进项")}
    with _engine(store).begin() as conn:
        res = conn.execute(insert(EVALS).values(
            drill_id=doc.get("drill_id") or "", site_id=site_id, scenario=doc.get("scenario") or "",
            source=doc["source"], evaluated_at=_utc(datetime.fromisoformat(doc["evaluated_at"])),
            score=float(doc["score"]), grade=doc["grade"], deficiencies=n["不足项"], rectifications=n["整改项"],
            improvements=n["改进项"], doc=doc).returning(EVALS.c.id))
        eid = int(res.scalar_one())
        if doc.get("drill_id"):
            conn.execute(update(DRILLS).where(DRILLS.c.id == doc["drill_id"]).values(state="evaluated"))
    return eid


def evaluation_summary(doc: dict[str, Any]) -> dict[str, Any]:
    """A short plain-dict view of an evaluation document for lists and the manager page."""
    sev = {s: [f for f in doc["findings"] if f["severity"] == s] for s in ("不足项", "整改项", "改进项")}
    m = doc.get("metrics") or {}
    return {"drill_id": doc.get("drill_id"), "scenario": doc.get("scenario"), "source": doc.get("source"),
            "evaluated_at": doc.get("evaluated_at"), "t0": doc.get("t0"), "score": doc.get("score"),
            "grade": doc.get("grade"), "deficiencies": len(sev["不足项"]), "rectifications": len(sev["整改项"]),
            "improvements": len(sev["改进项"]),
            "ratings": {md["id"]: md["rating"] for md in doc.get("modules", [])},
            "mustered": m.get("mustered"), "expected_headcount": m.get("expected_headcount"),
            "alarm_s": m.get("alarm_s"), "evacuation_complete_s": m.get("evacuation_complete_s"),
            "top_findings": [{"severity": f["severity"], "text": f["text"], "due": f["due"]}
                             for s in ("不足项", "整改项", "改进项") for f in sev[s]][:5]}


def list_evaluations(store: Any, site_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The newest evaluations (summaries as plain dicts, with their store ``id``), newest first."""
    stmt = select(EVALS.c.id, EVALS.c.site_id, EVALS.c.doc).order_by(EVALS.c.evaluated_at.desc(), EVALS.c.id.desc())
    if site_id is not None:
        stmt = stmt.where(EVALS.c.site_id == site_id)
    with _engine(store).connect() as conn:
        rows = conn.execute(stmt.limit(limit)).all()
    return [{"id": r.id, "site_id": r.site_id, **evaluation_summary(r.doc)} for r in rows]


def get_evaluation(store: Any, evaluation_id: int) -> dict[str, Any] | None:
    """The full evaluation document (None when missing)."""
    with _engine(store).connect() as conn:
        return conn.execute(select(EVALS.c.doc).where(EVALS.c.id == evaluation_id)).scalar()


def calendar_status(store: Any, site_id: str, today: date, *, hazardous_chemicals: bool = False,
                    horizon_days: int = 365) -> dict[str, Any]:
    """Statutory calendar from the site's plans and drills: items due up to ``today`` + horizon,
    overdue ones and the completion of those due by ``today``."""
    from datetime import timedelta

    plans = emergency_plans(store, site_id)
    anchor = _first_effective(store, site_id) or today
    items: list[PlanItem] = schedule(plans, drills_done(store, site_id), anchor, today + timedelta(days=horizon_days),
                                     today=today, anchor=anchor, hazardous_chemicals=hazardous_chemicals)
    return {"site_id": site_id, "today": today.isoformat(), "items": [i.as_dict() for i in items],
            **plan_completion(items, today)}


def drill_kpis(store: Any, start: datetime, end: datetime, now: datetime, site_id: str | None = None) -> dict[str, Any]:
    """KPI cockpit ``drills`` block over [start, end) with cut-off ``now``: 演练计划完成率 = plan items due
    in the period by ``now`` with a drill ÷ those items; overdue items; evaluations in the period and
    their 不足项 count."""
    cut = min(_utc(end), _utc(now))
    stmt = select(ITEMS.c.id, ITEMS.c.drill_id, ITEMS.c.due_by).where(ITEMS.c.due_by >= _utc(start),
                                                                       ITEMS.c.due_by < cut)
    est = select(func.count(), func.coalesce(func.sum(EVALS.c.deficiencies), 0)).where(
        EVALS.c.evaluated_at >= _utc(start), EVALS.c.evaluated_at < _utc(end))
    if site_id is not None:
        stmt = stmt.where(ITEMS.c.site_id == site_id)
        est = est.where(EVALS.c.site_id == site_id)
    try:
        with _engine(store).connect() as conn:
            rows = conn.execute(stmt).all()
            n_eval, n_def = conn.execute(est).one()
    except (OperationalError, ProgrammingError) as err:  # a store not migrated to 0004_drills
        return {"plan_completion": None, "note": f"drill tables unavailable: {type(err).__name__}"}
    done = [r for r in rows if r.drill_id]
    return {"plan_completion": round(len(done) / len(rows), 4) if rows else None, "due": len(rows),
            "done": len(done), "overdue": [r.id for r in rows if not r.drill_id],
            "evaluations": int(n_eval), "deficiencies": int(n_def)}
