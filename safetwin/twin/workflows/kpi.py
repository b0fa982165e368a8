"""KPI cockpit figures over a period [start, end) with a reporting cut-off ``now``.

Definitions (documented choices; rates are fractions 0..1 rounded to 4 places, None when the
denominator is 0; durations in hours):

* rectification rate = hazards found in the period and closed ÷ hazards found in the period
  (``invalid`` reports excluded);
* on-time rate = hazards whose deadline fell in the period and that were closed on or before it ÷
  hazards whose deadline fell in the period;
* overdue rate = open hazards past their deadline at ``now`` ÷ open hazards at ``now``;
* open 重大 hazards: listed by id and title;
* mean time to close (MTTC) = mean of (closed_at − created_at) over the closed ones found in the
  period, overall and per level;
* permit counts by ``type/level`` and by state (permits created in the period);
* permit compliance = permits created in the period that reached approval without being cancelled
  or expired ÷ those submitted (every state but ``draft``);
* gas-test timeliness = starts (of permit types whose rules need a gas test) with a passing test
  taken at most ``gas_max_age_min`` before the start ÷ those starts;
* certificate coverage = required (person, certificate type) pairs of live permits held by a
  valid certificate at ``now`` ÷ required pairs; expiring counts within 30/60/90 days.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from statistics import mean
from typing import Any

from . import certificates, hazards
from .domain import AlarmCase, Certificate, Hazard, Permit

COMPLIANT_STATES = frozenset({"approved", "active", "suspended", "completed", "closed"})


def rate(n: int, d: int) -> float | None:
    """``n / d`` rounded to 4 places; None when ``d`` is 0."""
    return None if d == 0 else round(n / d, 4)


def _hours(hs: list[float]) -> float | None:
    return round(mean(hs), 2) if hs else None


def hazard_kpis(hz: list[Hazard], start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    """The hazard figures (see the module docstring)."""
    found = [h for h in hz if start <= h.created_at < end and h.state != "invalid"]
    closed = [h for h in found if h.state == "closed" and h.closed_at]
    due = [h for h in hz if h.deadline and start <= h.deadline < end and h.state != "invalid"]
    on_time = [h for h in due if h.closed_at and h.deadline and h.closed_at <= h.deadline]
    open_ = [h for h in hz if h.state in hazards.OPEN_STATES]
    overdue = [h for h in open_ if hazards.overdue(h, now)]
    ttc = {h.id: (h.closed_at - h.created_at).total_seconds() / 3600 for h in closed if h.closed_at}
    return {
        "found": len(found), "closed": len(closed), "rectification_rate": rate(len(closed), len(found)),
        "due_in_period": len(due), "closed_on_time": len(on_time), "on_time_rate": rate(len(on_time), len(due)),
        "open": len(open_), "overdue": len(overdue), "overdue_rate": rate(len(overdue), len(open_)),
        "open_major": [{"id": h.id, "title": h.title, "state": h.state,
                        "deadline": h.deadline.isoformat() if h.deadline else None}
                       for h in sorted(open_, key=lambda h: h.created_at) if h.level == "major"],
        "mean_time_to_close_h": _hours(list(ttc.values())),
        "mean_time_to_close_h_by_level": {lvl: _hours([ttc[h.id] for h in closed if h.level == lvl])
                                          for lvl in ("general", "major")},
        "repeats": sum(1 for h in found if h.repeat_of),
    }


def permit_kpis(pm: list[Permit], start: datetime, end: datetime, gas_types: Iterable[str],
                gas_max_age_min: float) -> dict[str, Any]:
    """The permit figures (see the module docstring)."""
    pp = [p for p in pm if start <= p.created_at < end]
    gas_types = set(gas_types)
    starts = [p for p in pp if p.started_at and p.type in gas_types]
    timely = [p for p in starts
              if any(t.passed and 0 <= (p.started_at - t.sampled_at).total_seconds() <= gas_max_age_min * 60
                     for t in p.gas_tests)]
    submitted = [p for p in pp if p.state != "draft"]
    return {
        "by_type_level": dict(Counter(f"{p.type}/{p.level or 'none'}" for p in pp)),
        "by_state": dict(Counter(p.state for p in pp)),
        "compliance_rate": rate(sum(1 for p in submitted if p.state in COMPLIANT_STATES), len(submitted)),
        "gas_test_starts": len(starts),
        "gas_test_timeliness": rate(len(timely), len(starts)),
        "auto_suspensions": sum(1 for p in pp for h in p.history if h.action == "suspend" and h.by == "system"),
    }


def certificate_kpis(certs: list[Certificate], now: datetime, required: set[tuple[str, str]]) -> dict[str, Any]:
    """Certificate status counts, expiries within 30/60/90 days and coverage of ``required`` (person, type)."""
    left = [(c.expires_at - now).total_seconds() / 86400 for c in certs
            if certificates.status(c, now) in ("valid", "expiring")]
    covered = [pt for pt in sorted(required) if certificates.check(certs, pt[0], pt[1], now) is None]
    return {
        "by_status": dict(Counter(certificates.status(c, now) for c in certs)),
        "holders": len({c.person_id for c in certs}),
        "expiring_within_days": {str(d): sum(1 for x in left if x <= d) for d in sorted(certificates.REMINDER_DAYS)},
        "required": len(required), "covered": len(covered), "coverage": rate(len(covered), len(required)),
        "missing": [f"{p}:{t}" for p, t in sorted(required) if (p, t) not in covered],
    }


def compute(hz: list[Hazard], pm: list[Permit], certs: list[Certificate], cases: list[AlarmCase],
            start: datetime, end: datetime, now: datetime, gas_max_age_min: float,
            required_certs: set[tuple[str, str]] | None = None,
            gas_types: Iterable[str] = ("hot_work", "confined_space"),
            drills: dict[str, Any] | None = None) -> dict[str, Any]:
    """All cockpit figures over [start, end) with cut-off ``now`` (see the module docstring).

    ``drills`` is the drill block (演练计划完成率 and evaluations) from
    :func:`.drill_store.drill_kpis` over the same period."""
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat(), "now": now.isoformat()},
        "hazards": hazard_kpis(hz, start, end, now),
        "permits": permit_kpis(pm, start, end, gas_types, gas_max_age_min),
        "certificates": certificate_kpis(certs, now, required_certs or set()),
        "alarms": {"cases": len(cases), "open": sum(1 for c in cases if c.state != "closed")},
        # fed by drill_store.drill_kpis (plan completion, overdue, evaluations)
        "drills": drills if drills is not None else {"plan_completion": None, "note": "no drill plan data given"},
    }
