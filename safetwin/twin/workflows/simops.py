"""Geometric SIMOPS check: conflicting permits whose work polygons overlap or lie too close.

Each permit carries tags — its type plus declared activities (``venting``, ``painting`` …) —
and the pack's matrix says which tag pairs conflict within which distance (``N`` refused,
``R`` allowed only with a named SIMOPS coordinator). Only permits whose planned windows overlap
are compared.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shapely.geometry import Polygon

from .domain import Permit
from .rulepack import RulePack, SimopsRule

#: States in which a permit takes part in SIMOPS checks.
LIVE_STATES = frozenset({"submitted", "approved", "active", "suspended"})


@dataclass(frozen=True)
class Conflict:
    """One conflict between the checked permit and ``other_id``."""

    other_id: str
    code: str
    clause: str
    distance_m: float
    rule: str

    def __str__(self) -> str:
        return f"{self.code}: {self.rule} with permit {self.other_id} at {self.distance_m:.1f} m (clause {self.clause})"


def polygon(p: Permit) -> Polygon:
    """The permit's work polygon (local metres)."""
    return Polygon(p.work_polygon)


def tags(p: Permit) -> set[str]:
    """The permit's type plus its declared activities."""
    return {p.type, *p.activities}


def _applies(rule: SimopsRule, a: Permit, b: Permit, dist: float) -> bool:
    ta, tb = tags(a), tags(b)
    if not ((rule.a in ta and (rule.b == "*" or rule.b in tb)) or (rule.a in tb and (rule.b == "*" or rule.b in ta))):
        return False
    if rule.same_line:
        return a.line_id is not None and a.line_id == b.line_id
    if rule.same_fall_line:
        return dist == 0.0
    return rule.within_m is not None and dist <= rule.within_m


def conflicts(pack: RulePack, permit: Permit, others: Iterable[Permit]) -> list[Conflict]:
    """All conflicts of ``permit`` with the live ``others`` (itself and linked-by-id excluded)."""
    mine = polygon(permit)
    out: list[Conflict] = []
    for o in others:
        if o.id == permit.id or o.state not in LIVE_STATES:
            continue
        if o.planned_end <= permit.planned_start or permit.planned_end <= o.planned_start:
            continue
        dist = float(mine.distance(polygon(o)))
        for rule in pack.simops:
            if _applies(rule, permit, o, dist):
                out.append(Conflict(o.id, rule.code, rule.clause, dist, f"{rule.a} vs {rule.b}"))
    return out
