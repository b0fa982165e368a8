"""Cockpit KPIs of the field workflows (pure functions over records; the period is half-open).

* **Inspections** over rounds *due* in [start, end) whose deadline has passed by ``now`` (or that
  are completed): ``completion_rate`` = completed / due, ``on_time_rate`` = completed by the
  deadline / due, ``rtls_verified_rate`` = completed with the inspector's track at every
  checkpoint / completed; ``missed``, ``late``, ``flagged`` (completed but not verified) and
  ``findings`` (hazards raised by scans) as counts; ``by_route`` and ``exceptions`` (the missed,
  late and flagged rounds) for drill-down.
* **Training** at ``now``: ``induction_coverage`` = registered people holding the whole three-level
  induction / registered people; ``exam_pass_rate`` over exams taken in the period;
  ``expiring_30d`` / ``expired`` = (person, course) pairs whose newest passed record expires within
  30 days / has expired; ``people`` rows for drill-down.
* **Contractors** at ``now``: companies, blacklisted, companies with problems, people cleared /
  not cleared (with the reasons), ``entry_alarms`` = restricted-area entry alarm cases raised in the
  period; ``companies`` rows for drill-down.
* **Equipment** at ``now``: items, overdue activities (by kind), due within 30 days, suspect
  detectors (calibration overdue); ``overdue`` rows for drill-down.

Rates are 0..1, None when the denominator is 0.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from .domain import AlarmCase
from .field_domain import EquipmentItem, InspectionRound, Person, TrainingRecord

SOON = timedelta(days=30)


def _rate(num: int, den: int) -> float | None:
    return None if den == 0 else round(num / den, 4)


def inspection_kpis(rounds: Iterable[InspectionRound], start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    """The inspection block (see the module docstring)."""
    due = [r for r in rounds if start <= r.due_at < end and (r.state == "completed" or r.deadline <= now)]
    done = [r for r in due if r.state == "completed"]
    on_time = [r for r in done if not r.late]
    verified = [r for r in done if r.rtls_verified]
    missed = [r for r in due if r.state == "missed"]
    late = [r for r in due if r.late]
    flagged = [r for r in done if not r.rtls_verified]
    by_route: dict[str, dict[str, Any]] = {}
    for r in due:
        row = by_route.setdefault(r.route_id, {"route": r.route_name, "due": 0, "completed": 0, "missed": 0, "late": 0,
                                               "verified": 0})
        row["due"] += 1
        row["completed"] += r.state == "completed"
        row["missed"] += r.state == "missed"
        row["late"] += r.late
        row["verified"] += bool(r.rtls_verified)
    odd = {r.id: r for r in (*missed, *late, *flagged)}
    exceptions = [{"round": r.id, "route": r.route_name, "due_at": r.due_at.isoformat(), "state": r.state,
                   "inspector": r.inspector, "flags": r.flags}
                  for r in sorted(odd.values(), key=lambda r: r.due_at, reverse=True)]
    return {"due": len(due), "completed": len(done), "missed": len(missed), "late": len(late),
            "flagged": len(flagged), "findings": sum(len(r.findings) for r in due),
            "completion_rate": _rate(len(done), len(due)), "on_time_rate": _rate(len(on_time), len(due)),
            "rtls_verified_rate": _rate(len(verified), len(done)), "by_route": by_route, "exceptions": exceptions[:200]}


def training_kpis(people: Sequence[Person], records: Sequence[TrainingRecord], induction: Sequence[str],
                  start: datetime, end: datetime, now: datetime,
                  missing: Callable[[list[TrainingRecord], str, Sequence[str], datetime], list[str]]) -> dict[str, Any]:
    """The training block; ``missing`` is :func:`safetwin.twin.workflows.training.missing_courses`."""
    by_person: dict[str, list[TrainingRecord]] = {}
    for r in records:
        by_person.setdefault(r.person_id, []).append(r)
    rows, complete = [], 0
    for p in people:
        gaps = missing(by_person.get(p.id, []), p.id, induction, now)
        complete += not gaps
        rows.append({"person": p.id, "name": p.name, "employer": p.employer, "induction_complete": not gaps,
                     "missing": gaps})
    exams = [r for r in records if start <= r.attended_at < end and r.exam_score is not None]
    newest: dict[tuple[str, str], TrainingRecord] = {}
    for r in records:
        key = (r.person_id, r.course_id)
        if r.passed and (key not in newest or r.expires_at > newest[key].expires_at):
            newest[key] = r
    expiring = [k for k, r in newest.items() if now < r.expires_at <= now + SOON]
    expired = [k for k, r in newest.items() if r.expires_at <= now]
    return {"people": len(people), "induction_complete": complete, "induction_coverage": _rate(complete, len(people)),
            "exams": len(exams), "exam_pass_rate": _rate(sum(r.passed for r in exams), len(exams)),
            "expiring_30d": len(expiring), "expired": len(expired),
            "rows": sorted(rows, key=lambda row: (row["induction_complete"], row["person"]))[:500]}


def contractor_kpis(companies: Sequence[dict[str, Any]], entry_cases: Iterable[AlarmCase], start: datetime,
                    end: datetime) -> dict[str, Any]:
    """The contractor block; ``companies`` are rows {id, name, blacklisted, problems, score, people, cleared,
    not_cleared: [{person, problems}]} built by the service."""
    alarms = [c for c in entry_cases if start <= c.raised_at < end]
    people = sum(c["people"] for c in companies)
    cleared = sum(c["cleared"] for c in companies)
    return {"companies": len(companies), "blacklisted": sum(bool(c["blacklisted"]) for c in companies),
            "with_problems": sum(bool(c["problems"]) for c in companies), "people": people, "cleared": cleared,
            "clearance_rate": _rate(cleared, people), "entry_alarms": len(alarms),
            "rows": sorted(companies, key=lambda c: (not c["problems"], c["name"]))}


def equipment_kpis(items: Sequence[EquipmentItem], now: datetime, suspect: Sequence[str]) -> dict[str, Any]:
    """The equipment block; ``suspect`` are the sensor ids the twin judges past calibration."""
    overdue, soon = [], 0
    kinds: Counter[str] = Counter(i.kind for i in items)
    by_kind: Counter[str] = Counter()
    for i in items:
        for a in i.activities:
            if now > a.next_due_at:
                overdue.append({"item": i.id, "name": i.name, "kind": i.kind, "activity": a.name,
                                "due": a.next_due_at.isoformat(), "days_overdue": round((now - a.next_due_at).days),
                                "hazard": a.overdue_hazard_id})
                by_kind[i.kind] += 1
            elif a.next_due_at <= now + SOON:
                soon += 1
    return {"items": len(items), "by_kind": dict(kinds), "overdue": len(overdue), "overdue_by_kind": dict(by_kind),
            "due_30d": soon, "suspect_detectors": list(suspect),
            "rows": sorted(overdue, key=lambda r: -r["days_overdue"])[:500]}
