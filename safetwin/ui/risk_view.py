"""Who is at risk and where to send them: the latest recommendations as the control room lists them.

Core objects: :class:`RiskView` (built by :func:`risk_view` from one live evaluation document —
``safetwin.app.live.live_evaluation`` — or from ``Recommendations.to_dict()``), its rows
:class:`RiskPerson` (everyone the recommendations mark at risk, worst first) and
:class:`AreaStep` (the per-area instruction the site receives). Pure data: no UI here.

Units: dose ratios are the predicted toxic load over the AEGL-2 (30 min) load (1.0 = the limit);
``arrival_s`` is seconds from the recommendation's t0 to the muster point.

Example::

    >>> doc = {"evaluation_id": "61.0", "incident": {"declared": True}, "recommendations": {
    ...     "people": [{"id": "P-7", "area": "A-PU1", "action": "evacuate", "muster_point": "MP-S",
    ...                 "arrival_s": 212.4, "shelter_building": None, "dose_ratio": 0.4,
    ...                 "stay_dose_ratio": 3.2, "harm_probability": 0.0, "at_risk": True},
    ...                {"id": "P-8", "area": "A-ADMIN", "action": "none", "at_risk": False}],
    ...     "areas": [{"area_id": "A-PU1", "action": "evacuate", "route": ["R-3", "R-7"],
    ...                "route_xy": [[0, 0], [10, 0]], "muster_point": "MP-S", "reason": "AEGL-2", "people": 1}]}}
    >>> view = risk_view(doc)
    >>> [(p.id, p.route_text, p.muster_point) for p in view.people]
    [('P-7', 'R-3 → R-7', 'MP-S')]
    >>> view.routes[0][0]
    'A-PU1 → MP-S'
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["RiskPerson", "AreaStep", "RiskView", "risk_view"]


@dataclass(frozen=True, slots=True)
class RiskPerson:
    """One person the recommendations mark at risk (ratios: load / AEGL-2 (30 min) load)."""

    id: str
    area: str | None
    action: str
    dose_ratio: float
    stay_dose_ratio: float
    harm_probability: float
    muster_point: str | None
    arrival_s: float | None
    shelter_building: str | None
    route: tuple[str, ...]

    @property
    def route_text(self) -> str:
        """The route as road / walkway ids in walking order ("" when the person has none named)."""
        return " → ".join(self.route)


@dataclass(frozen=True, slots=True)
class AreaStep:
    """The instruction for everyone in one work area."""

    area_id: str
    action: str
    route: tuple[str, ...]
    muster_point: str | None
    reason: str
    people: int


@dataclass(frozen=True)
class RiskView:
    """The latest recommendations: people at risk (worst first), per-area steps and labelled
    routes ``(label, (k, 2) array of plant-frame m)``."""

    evaluation_id: str
    declared: bool
    people: tuple[RiskPerson, ...]
    areas: tuple[AreaStep, ...]
    routes: tuple[tuple[str, np.ndarray], ...]
    at_risk_total: int


def _num(value: Any, default: float = 0.0) -> float:
    try:
        return float(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def risk_view(doc: dict[str, Any]) -> RiskView:
    """The :class:`RiskView` of a live evaluation document (or of ``Recommendations.to_dict()``)."""
    rec = doc.get("recommendations") if "recommendations" in doc else doc
    rec = rec or {}
    steps = tuple(AreaStep(str(a["area_id"]), str(a.get("action", "")), tuple(a.get("route") or ()),
                           a.get("muster_point"), str(a.get("reason") or ""), int(a.get("people") or 0))
                  for a in rec.get("areas") or ())
    by_area = {s.area_id: s for s in steps}
    people = []
    for p in rec.get("people") or ():
        if not p.get("at_risk"):
            continue
        step = by_area.get(p.get("area"))
        same_way = step is not None and step.muster_point == p.get("muster_point") and p.get("action") == "evacuate"
        people.append(RiskPerson(
            str(p["id"]), p.get("area"), str(p.get("action", "")), _num(p.get("dose_ratio")),
            _num(p.get("stay_dose_ratio")), _num(p.get("harm_probability")), p.get("muster_point"),
            None if p.get("arrival_s") is None else _num(p.get("arrival_s")), p.get("shelter_building"),
            step.route if same_way and step is not None else ()))
    people.sort(key=lambda r: -max(r.dose_ratio, r.stay_dose_ratio, r.harm_probability))
    routes = tuple((f"{a['area_id']} → {a.get('muster_point') or '?'}", np.asarray(a["route_xy"], float).reshape(-1, 2))
                   for a in rec.get("areas") or ()
                   if a.get("action") == "evacuate" and len(a.get("route_xy") or ()) >= 2)
    incident = doc.get("incident") or {}
    return RiskView(evaluation_id=str(doc.get("evaluation_id", "")), declared=bool(incident.get("declared", True)),
                    people=tuple(people), areas=steps, routes=routes, at_risk_total=len(people))
