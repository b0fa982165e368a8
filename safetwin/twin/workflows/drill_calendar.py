"""Drill calendar: statutory drill intervals, due dates, overdue items and plan completion (pure).

Rules:

* 生产安全事故应急预案管理办法 (应急管理部令第2号) Art. 33 — at least one **comprehensive or special**
  plan drill every **12 months** (requirement ``comprehensive_or_special``, met by a drill of any
  plan of kind ``comprehensive`` or ``special``), and each **on-site disposal plan** (``onsite``)
  drilled every **6 months** (one requirement per on-site plan);
* 生产安全事故应急条例 Art. 8 — hazardous-chemical producers, storers and transporters drill at
  least every **6 months**: with ``hazardous_chemicals=True`` the comprehensive/special interval is 6 months.

Due dates: starting from the last satisfying drill before the period (else ``anchor``, e.g. the
plan's effective date or the period start), the next drill is due ``interval`` calendar months
later; a drill done on or before the due date is on time, later it is done late; the following
due date counts from the drill (or, if none was done, from the missed due date).
Plan completion (演练计划完成率) = requirement items due by the cut-off that were done ÷ items due by
the cut-off.

Example::

    >>> from datetime import date
    >>> plans = [EmergencyPlan("P-ONSITE-1", "onsite"), EmergencyPlan("P-COMP", "comprehensive")]
    >>> done = [DrillDone("D1", "P-ONSITE-1", date(2026, 2, 10))]
    >>> items = schedule(plans, done, date(2026, 1, 1), date(2027, 1, 1), anchor=date(2026, 1, 1))
    >>> [(i.requirement, i.due_by.isoformat(), i.done_on) for i in items if i.plan_id == "P-ONSITE-1"]
    [('onsite:P-ONSITE-1', '2026-07-01', datetime.date(2026, 2, 10)), ('onsite:P-ONSITE-1', '2026-08-10', None)]
"""
from __future__ import annotations

import calendar as _cal
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Literal
from collections.abc import Iterable

__all__ = ["EmergencyPlan", "DrillDone", "PlanItem", "add_months", "interval_months", "requirements", "schedule",
           "overdue", "plan_completion", "PLAN_KINDS"]

PLAN_KINDS = ("comprehensive", "special", "onsite")
#: statutory intervals in months: (normal, hazardous-chemical enterprise)
INTERVALS = {"comprehensive_or_special": (12, 6), "onsite": (6, 6)}


@dataclass(frozen=True)
class EmergencyPlan:
    """An emergency plan (综合应急预案 / 专项应急预案 / 现场处置方案) that must be drilled."""

    id: str
    kind: Literal["comprehensive", "special", "onsite"]
    title: str = ""


@dataclass(frozen=True)
class DrillDone:
    """A drill carried out on ``on`` of plan ``plan_id``."""

    id: str
    plan_id: str
    on: date


@dataclass
class PlanItem:
    """One due drill of a requirement: due date, and the drill that met it (if any)."""

    requirement: str
    plan_id: str | None
    rule: str
    interval_months: int
    due_by: date
    done_on: date | None = None
    drill_id: str | None = None
    status: str = "upcoming"   # done | done_late | overdue | upcoming

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["due_by"] = self.due_by.isoformat()
        d["done_on"] = self.done_on.isoformat() if self.done_on else None
        return d


def add_months(d: date, months: int) -> date:
    """``d`` plus whole calendar months (day clipped to the month's length: 31 Aug + 6 → 28/29 Feb)."""
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    return date(y, m, min(d.day, _cal.monthrange(y, m)[1]))


def interval_months(requirement: str, hazardous_chemicals: bool = False) -> int:
    """Statutory interval (months) of a requirement kind (``comprehensive_or_special`` or ``onsite``)."""
    normal, hazchem = INTERVALS[requirement.split(":", 1)[0]]
    return hazchem if hazardous_chemicals else normal


def requirements(plans: Iterable[EmergencyPlan]) -> list[tuple[str, str | None, set[str], str]]:
    """(requirement id, plan id or None, plan ids that satisfy it, rule text) for a set of plans."""
    plans = list(plans)
    out: list[tuple[str, str | None, set[str], str]] = []
    group = {p.id for p in plans if p.kind in ("comprehensive", "special")}
    if group:
        out.append(("comprehensive_or_special", None, group,
                     "≥1 comprehensive or special plan drill per year (应急管理部令第2号 第33条); "
                     "hazardous-chemical enterprises every 6 months (生产安全事故应急条例 第8条)"))
    for p in plans:
        if p.kind == "onsite":
            out.append((f"onsite:{p.id}", p.id, {p.id}, "each on-site disposal plan every 6 months (第33条)"))
    return out


def schedule(plans: Iterable[EmergencyPlan], drills: Iterable[DrillDone], start: date, end: date, *,
             today: date | None = None, anchor: date | None = None,
             hazardous_chemicals: bool = False) -> list[PlanItem]:
    """Due drills with ``start <= due_by < end`` per requirement (see the module docstring);
    ``today`` (default ``end``) decides overdue vs upcoming; ``anchor`` is the start of the clock for a
    requirement never drilled before ``start`` (default ``start``)."""
    today = today or end
    drills = sorted(drills, key=lambda d: d.on)
    items: list[PlanItem] = []
    for req, plan_id, satisfy, rule in requirements(plans):
        n = interval_months(req, hazardous_chemicals)
        mine = [d for d in drills if d.plan_id in satisfy]
        before = [d.on for d in mine if d.on < start]
        last = before[-1] if before else (anchor or start)
        while True:
            due = add_months(last, n)
            if due >= end:
                break
            nxt = next((d for d in mine if d.on > last), None)
            item = PlanItem(req, plan_id, rule, n, due)
            if nxt is not None and nxt.on <= today:
                item.done_on, item.drill_id = nxt.on, nxt.id
                item.status = "done" if nxt.on <= due else "done_late"
                last = nxt.on
            else:
                item.status = "overdue" if due < today else "upcoming"
                last = due
            if due >= start:
                items.append(item)
    items.sort(key=lambda i: (i.due_by, i.requirement))
    return items


def overdue(items: Iterable[PlanItem]) -> list[PlanItem]:
    """The items not done by their due date and still not done (status ``overdue``)."""
    return [i for i in items if i.status == "overdue"]


def plan_completion(items: Iterable[PlanItem], cutoff: date) -> dict[str, Any]:
    """演练计划完成率: items due on or before ``cutoff`` that were done ÷ those items (None when none due);
    also on-time count, overdue ids and the next due item."""
    items = list(items)
    due = [i for i in items if i.due_by <= cutoff]
    done = [i for i in due if i.done_on is not None]
    on_time = [i for i in done if i.status == "done"]
    upcoming = sorted((i for i in items if i.due_by > cutoff and i.done_on is None), key=lambda i: i.due_by)
    return {"planned": len(items), "due": len(due), "done": len(done), "on_time": len(on_time),
            "plan_completion": None if not due else round(len(done) / len(due), 4),
            "overdue": [i.as_dict() for i in due if i.status == "overdue"],
            "next_due": upcoming[0].as_dict() if upcoming else None}
