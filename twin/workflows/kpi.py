"""KPI cockpit figures over a period (definitions documented in docs/workflows.md)."""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from statistics import mean
from typing import Any

from . import certificates, hazards
from .domain import AlarmCase, Certificate, Hazard, Permit


def _rate(n: int, d: int) -> float | None:
    return None if d == 0 else round(n / d, 4)


def compute(hz: list[Hazard], pm: list[Permit], certs: list[Certificate], cases: list[AlarmCase],
            start: datetime, end: datetime, now: datetime, gas_max_age_min: float) -> dict[str, Any]:
    """Rectification rate = closed ÷ found in period (valid ones); on-time rate = closed by deadline ÷
    deadlines in period; overdue rate = open past deadline ÷ open at ``now``."""
    found = [h for h in hz if start <= h.created_at < end and h.state != "invalid"]
    closed = [h for h in found if h.state == "closed"]
    due = [h for h in hz if h.deadline and start <= h.deadline < end]
    on_time = [h for h in due if h.closed_at and h.closed_at <= h.deadline]
    open_ = [h for h in hz if h.state in hazards.OPEN_STATES]
    overdue = [h for h in open_ if hazards.overdue(h, now)]
    ttc = [(h.closed_at - h.created_at).total_seconds() / 3600 for h in closed if h.closed_at]
    pp = [p for p in pm if start <= p.created_at < end]
    started = [p for p in pp if p.started_at]
    timely = [p for p in started if any(t.passed and 0 <= (p.started_at - t.sampled_at).total_seconds() <= gas_max_age_min * 60
                                        for t in p.gas_tests)]
    needs_gas = [p for p in started if p.gas_tests]
    cert_status = Counter(certificates.status(c, now) for c in certs)
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "hazards": {
            "found": len(found), "closed": len(closed), "rectification_rate": _rate(len(closed), len(found)),
            "on_time_rate": _rate(len(on_time), len(due)), "overdue_rate": _rate(len(overdue), len(open_)),
            "open_major": [{"id": h.id, "title": h.title, "deadline": h.deadline.isoformat() if h.deadline else None}
                           for h in open_ if h.level == "major"],
            "mean_time_to_close_h": round(mean(ttc), 2) if ttc else None,
        },
        "permits": {
            "by_type_level": dict(Counter(f"{p.type}/{p.level or 'none'}" for p in pp)),
            "by_state": dict(Counter(p.state for p in pp)),
            "compliance_rate": _rate(sum(1 for p in pp if p.state in ("closed", "completed", "active", "approved")),
                                     sum(1 for p in pp if p.state != "draft")),
            "gas_test_timeliness": _rate(len(timely), len(needs_gas)),
            "auto_suspensions": sum(1 for p in pp for h in p.history if h.action == "suspend" and h.by == "system"),
        },
        "certificates": {"by_status": dict(cert_status), "holders": len({c.person_id for c in certs})},
        "alarms": {"cases": len(cases), "open": sum(1 for c in cases if c.state != "closed")},
        "drills": {"plan_completion": None, "note": "drill module not built yet"},
    }
