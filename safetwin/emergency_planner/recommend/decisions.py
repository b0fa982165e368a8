"""The decision rules of the recommendations, one function each.

Every rule takes the numbers it decides on and returns the decision with its reason (the text
people and operators see). Dose ratios are toxic loads over the AEGL-2 (30 min) equivalent load;
"limit ratio" is ``max(c / AEGL-2 (30 min), q / 5 kW/m²)`` of the hazard envelope.

* :func:`shelter_or_evacuate_building` — per occupied building: evacuate when heat reaches the
  building (and a safe route exists); nothing when neither indoors nor the route sees any load;
  shelter when the indoor load stays below the AEGL-2 load and below the evacuation load (the
  comparison of Wilson 1987 and Mannan & Kilpatrick 2000, see :mod:`.shelter`); evacuate when a
  route is better; shelter as the last resort when there is no safe route.
* :func:`best_shelter_within_reach` — for one person: among the buildings advised to shelter
  within ``shelter_reach_m``, the one with the lowest indoor load.
* :func:`evacuate_or_shelter_person` — for one person: the checked route, unless a reachable
  shelter gives a lower load; a shelter when there is no route; else ``escape`` (flagged: no
  safe route and no adequate shelter; never "evacuate" without a route).
* :func:`person_is_affected` / :func:`person_at_risk` — whether the person must act, and
  whether they are at risk (load or harm above the thresholds, or no safe option).
* :func:`area_action` — one instruction per work area that agrees with its people: none when
  unaffected and nobody in it acts; evacuate when at least as many of its people leave by checked
  routes as shelter or escape; else shelter (an empty area: by its own checked route);
  :func:`area_exceptions` names its people told otherwise.

The muster choice rules (safety tiers, best point, capacity assignment) are in :mod:`.muster`.

Example::

    >>> shelter_or_evacuate_building(indoor_dose_ratio=0.3, evacuation_dose_ratio=0.8, peak_flux_w_m2=0.0,
    ...                              has_safe_route=True, air_changes_per_h=0.5)
    ('shelter', 'indoor load 0.30 x AEGL-2 load (0.5 ACH) <= evacuation 0.80 x')
    >>> area_action(people_actions=["evacuate", "shelter", "shelter"], any_at_risk=True, area_peak_ratio=0.4,
    ...             has_safe_route=True, scope="affected", affected_ratio=0.1)
    ('shelter', '2 of 3 people are safer indoors')
    >>> area_action(people_actions=["evacuate", "evacuate", "escape"], any_at_risk=True, area_peak_ratio=3.0,
    ...             has_safe_route=False, scope="affected", affected_ratio=0.1)
    ('evacuate', '2 of 3 people leave by checked routes')
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from .routing import FLUX_LIMIT_W_M2


def shelter_or_evacuate_building(*, indoor_dose_ratio: float, evacuation_dose_ratio: float, peak_flux_w_m2: float,
                                 has_safe_route: bool, air_changes_per_h: float) -> tuple[str, str]:
    """``(advice, reason)`` for an occupied building: ``evacuate``, ``shelter`` or ``none``.

    ``indoor_dose_ratio``: the indoor load over the window; ``evacuation_dose_ratio``: the load
    of leaving by the building's checked route (``inf`` without one)."""
    indoor, evacuation = indoor_dose_ratio, evacuation_dose_ratio
    if peak_flux_w_m2 >= FLUX_LIMIT_W_M2 and has_safe_route:
        return "evacuate", f"heat flux on the building reaches {peak_flux_w_m2 / 1e3:.1f} kW/m2"
    if indoor < 1e-6 and evacuation < 1e-6:
        return "none", "no toxic exposure predicted indoors or on the route"
    if indoor < 1.0 and indoor <= evacuation:
        return "shelter", (f"indoor load {indoor:.2f} x AEGL-2 load ({air_changes_per_h:g} ACH) "
                           f"<= evacuation {evacuation:.2f} x")
    if has_safe_route:
        return "evacuate", f"evacuation load {evacuation:.2f} x AEGL-2 load < indoor {indoor:.2f} x"
    return "shelter", f"no safe route; indoor load {indoor:.2f} x AEGL-2 load (inadequate protection)"


def best_shelter_within_reach(xy_m: tuple[float, float], buildings: Iterable[tuple[str, BaseGeometry]],
                              sheltering_dose_ratio: dict[str, float], *, reach_m: float) -> tuple[str | None, float]:
    """``(building id, indoor dose ratio)`` of the lowest-load building advised to shelter whose
    footprint is within ``reach_m`` of the person (the first such in plant order on ties);
    ``(None, inf)`` if none. ``sheltering_dose_ratio``: indoor dose ratio of the buildings advised
    to shelter."""
    best, best_ratio = None, math.inf
    for building_id, geometry in buildings:
        if (sheltering_dose_ratio.get(building_id, math.inf) < best_ratio
                and geometry.distance(Point(xy_m)) <= reach_m):
            best, best_ratio = building_id, sheltering_dose_ratio[building_id]
    return best, best_ratio


@dataclass(frozen=True)
class PersonChoice:
    """What one person is told to do, with the load and harm that choice implies."""

    action: str                    # evacuate | shelter
    dose_ratio: float
    harm_probability: float
    reason: str
    shelter_building: str | None   # the building when sheltering


def evacuate_or_shelter_person(*, has_safe_route: bool, route_dose_ratio: float, route_harm: float,
                               muster_point: str | None, over_capacity: bool, shelter_building: str | None,
                               shelter_dose_ratio: float, shelter_harm: float, stay_dose_ratio: float,
                               stay_harm: float, exit_gate: str | None = None) -> PersonChoice:
    """Evacuate by the checked route unless the best reachable shelter gives a strictly lower
    load; shelter when there is no route; else ``escape`` (no safe option: leave crosswind on
    their own; the outdoor stay load is what they face). Nobody is told to evacuate without a
    checked route. ``exit_gate``: the gate an off-site assembly point is reached through (the
    instruction names it)."""
    if has_safe_route and not (shelter_building is not None and shelter_dose_ratio < route_dose_ratio):
        reason = (f"safe route to {muster_point}" if exit_gate is None else
                  f"safe route off site: leave by {exit_gate} to {muster_point}")
        if over_capacity:
            reason += " (muster point over capacity)"
        return PersonChoice("evacuate", float(route_dose_ratio), float(route_harm), reason, None)
    if shelter_building is not None:
        return PersonChoice("shelter", float(shelter_dose_ratio), shelter_harm,
                            f"shelter in {shelter_building}" + ("" if has_safe_route else " (no safe route)"),
                            shelter_building)
    return PersonChoice("escape", float(stay_dose_ratio), float(stay_harm),
                        "no safe route and no adequate shelter within reach: leave crosswind, away from the release",
                        None)


def person_is_affected(*, scope: str, area_peak_ratio: float | None, stay_dose_ratio: float,
                       affected_ratio: float, area_has_risk: bool = False) -> bool:
    """Whether a person must act: the whole site is told to (``scope == "site"``), their area's
    limit ratio reaches ``affected_ratio`` (``area_peak_ratio`` None outside every area) or
    somebody in their area is at risk (``area_has_risk``: the area acts, so do its people), or
    their own load of staying put reaches ``affected_ratio``. An unaffected person with a route
    is told ``none``."""
    return (scope == "site" or (area_peak_ratio is not None and area_peak_ratio >= affected_ratio)
            or area_has_risk or stay_dose_ratio >= affected_ratio)


def person_at_risk(*, dose_ratio: float, stay_dose_ratio: float, harm_probability: float, stay_harm: float,
                   harm_threshold: float, has_safe_route: bool, action: str) -> bool:
    """At risk: the load of the advice or of staying put reaches the AEGL-2 load, either harm
    probability reaches ``harm_threshold``, or the person has neither a safe route nor a shelter."""
    return bool(dose_ratio >= 1.0 or stay_dose_ratio >= 1.0 or harm_probability >= harm_threshold
                or stay_harm >= harm_threshold or (not has_safe_route and action != "shelter"))


def area_action(*, people_actions: Sequence[str], any_at_risk: bool, area_peak_ratio: float, has_safe_route: bool,
                scope: str, affected_ratio: float) -> tuple[str, str]:
    """``(action, reason)`` for a work area: ``none``, ``shelter`` or ``evacuate``, agreeing with
    what its people are told.

    The area is affected when the whole site is told to act, its limit ratio reaches
    ``affected_ratio``, one of its people is at risk or one of them is told to act. With people in
    it, the area evacuates when at least as many of them evacuate (each by a checked route) as
    shelter or escape, and shelters otherwise; without people, it evacuates when its own route is
    checked and shelters when there is none. ``people_actions``: the actions of the people in
    the area (``evacuate`` always with a checked route); ``has_safe_route``: the area's own route
    is checked. Its people told otherwise are the area's exceptions (:func:`area_exceptions`)."""
    acting = Counter(a for a in people_actions if a != "none")
    affected = scope == "site" or area_peak_ratio >= affected_ratio or any_at_risk or bool(acting)
    if not affected:
        return "none", f"hazard below {affected_ratio:g} x AEGL-2 / 5 kW/m2 in the area"
    if acting:
        evacuating = acting["evacuate"]
        staying = sum(acting.values()) - evacuating
        if evacuating and evacuating >= staying:
            return "evacuate", f"{evacuating} of {len(people_actions)} people leave by checked routes"
        return "shelter", (f"{acting['shelter']} of {len(people_actions)} people are safer indoors"
                           + (f", {acting['escape']} have no safe option" if acting["escape"] else ""))
    if not has_safe_route:
        return "shelter", "no safe route from the area"
    return "evacuate", f"hazard reaches {area_peak_ratio:.2f} x the limit; safe route checked"


def area_exceptions(area_action: str, people: Sequence[tuple[str, str]]) -> list[str]:
    """The people (``(id, action)``) of an area told something other than the area's action (the
    area's message names them: they follow their own instruction)."""
    return [pid for pid, action in people if action != area_action]
