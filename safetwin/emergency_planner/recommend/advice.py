"""Advice records from the computed routes and doses, by the rules of :mod:`.decisions`.

* :func:`advise_buildings` — shelter or evacuate per occupied building;
* :func:`advise_people` — per person: the checked route, a shelter within reach, or neither
  (``escape``); ``none`` for an unaffected person with a route; at-risk flags;
* :func:`instruct_areas` — one instruction per work area that agrees with its people, with its
  route as road ids and simplified waypoints and the people told otherwise;
* :func:`muster_status` — per usable muster point: capacity, people assigned, exclusion, tier.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from safetwin.plant_models.geometry import roads_followed
from safetwin.plant_models.loader import Plant

from .decisions import (PersonChoice, area_action, area_exceptions, best_shelter_within_reach,
                        evacuate_or_shelter_person, person_at_risk, person_is_affected, shelter_or_evacuate_building)
from .doses import BuildingExposure, Doses
from .limits import ToxicChannels
from .muster import MusterSafety
from .records import AreaInstruction, BuildingAdvice, MusterStatus, PersonAdvice, RecommendParams
from .route_planner import PlannedRoutes
from .routing import sample_route


@dataclass
class BuildingAdvices:
    """The advice per building and what people near a building need to know of it."""

    advice: list[BuildingAdvice]
    sheltering_dose_ratio: dict[str, float]   # indoor dose ratio of the buildings advised to shelter (inf others)
    indoor_harm: dict[str, float]             # indoor harm probability of every building


def advise_buildings(exposures: Sequence[BuildingExposure], routes: PlannedRoutes, evacuation_dose_ratio: np.ndarray,
                     channels: ToxicChannels, musters: Sequence) -> BuildingAdvices:
    """Shelter or evacuate per occupied building; ``routes`` and ``evacuation_dose_ratio`` (the
    load of leaving by the route, indoors until the departure) in the order of ``exposures``."""
    advice: list[BuildingAdvice] = []
    sheltering_ratio: dict[str, float] = {}
    indoor_harm: dict[str, float] = {}
    for k, ex in enumerate(exposures):
        b = ex.building
        indoor_ratio = max([w / ref for w, ref in zip(ex.window_loads, channels.dose_ref)], default=0.0)
        has_route = routes.polylines[k] is not None
        evacuation_ratio = float(evacuation_dose_ratio[k]) if has_route else math.inf
        muster_point = musters[routes.goal[k]].id if has_route else None
        action, reason = shelter_or_evacuate_building(
            indoor_dose_ratio=indoor_ratio, evacuation_dose_ratio=evacuation_ratio, peak_flux_w_m2=ex.peak_flux_w_m2,
            has_safe_route=has_route, air_changes_per_h=b.air_changes_per_h)
        sheltering_ratio[b.id] = indoor_ratio if action == "shelter" else math.inf
        indoor_harm[b.id] = max([float(e.harm_probability(np.array([w]))[0])
                                 for e, w in zip(channels.exposures, ex.window_loads)], default=0.0)
        advice.append(BuildingAdvice(b.id, action, round(indoor_ratio, 6),
                                     round(evacuation_ratio, 6) if np.isfinite(evacuation_ratio) else None,
                                     b.air_changes_per_h, muster_point, reason))
    return BuildingAdvices(advice, sheltering_ratio, indoor_harm)


def advise_people(ids: Sequence[str], xy_m: np.ndarray, area_of_person: Sequence[str | None], routes: PlannedRoutes,
                  musters: Sequence, on_route: Doses, staying: Doses, channels: ToxicChannels,
                  buildings: BuildingAdvices, building_geometries: Sequence[tuple[str, BaseGeometry]],
                  area_peak_ratio: dict[str, float], params: RecommendParams,
                  exit_gates: Sequence[str | None] = ()) -> list[PersonAdvice]:
    """One :class:`PersonAdvice` per person (see the module docstring); ``on_route`` and ``staying``
    are the doses of walking the person's checked route and of staying put. Two passes: every
    person's choice and risk, then ``none`` for those with a route whose area nobody is at risk
    in and which the hazard leaves below ``affected_ratio`` (so an area's people act together).
    ``exit_gates``: per muster point, the gate of an off-site assembly point (None on-site)."""
    p = params
    choices: list[PersonChoice] = []
    risky: list[bool] = []
    for k in range(len(ids)):
        has_route = routes.polylines[k] is not None
        goal = routes.goal[k]
        shelter_b, shelter_r = best_shelter_within_reach(xy_m[k], building_geometries, buildings.sheltering_dose_ratio,
                                                         reach_m=p.shelter_reach_m)
        choice = evacuate_or_shelter_person(
            has_safe_route=has_route, route_dose_ratio=on_route.ratio[k], route_harm=on_route.harm[k],
            muster_point=musters[goal].id if has_route else None, over_capacity=bool(routes.over_capacity[k]),
            exit_gate=exit_gates[goal] if has_route and exit_gates else None,
            shelter_building=shelter_b, shelter_dose_ratio=shelter_r,
            shelter_harm=buildings.indoor_harm[shelter_b] if shelter_b is not None else 0.0,
            stay_dose_ratio=staying.ratio[k], stay_harm=staying.harm[k])
        choices.append(choice)
        risky.append(person_at_risk(dose_ratio=choice.dose_ratio, stay_dose_ratio=staying.ratio[k],
                                    harm_probability=choice.harm_probability, stay_harm=staying.harm[k],
                                    harm_threshold=p.harm_threshold, has_safe_route=has_route, action=choice.action))
    areas_at_risk = {area for area, r in zip(area_of_person, risky) if r and area is not None}
    people: list[PersonAdvice] = []
    for k, pid in enumerate(ids):
        has_route = routes.polylines[k] is not None
        goal = routes.goal[k]
        choice = choices[k]
        action, reason = choice.action, choice.reason
        area = area_of_person[k]
        affected = person_is_affected(scope=p.scope,
                                      area_peak_ratio=area_peak_ratio.get(area, 0.0) if area is not None else None,
                                      stay_dose_ratio=staying.ratio[k], affected_ratio=p.affected_ratio,
                                      area_has_risk=area in areas_at_risk)
        if not affected and action == "evacuate" and has_route and not risky[k]:
            action, reason = "none", "area not affected; route prepared"
        routed = has_route and action in ("evacuate", "none")
        dose = ({n: float(L[k]) for n, L in zip(channels.names, on_route.loads)} if has_route else
                {n: float(L[k]) for n, L in zip(channels.names, staying.loads)})
        if on_route.thermal is not None and staying.thermal is not None:
            dose["thermal"] = float(on_route.thermal[k] if has_route else staying.thermal[k])
        people.append(PersonAdvice(
            id=pid, xy=(float(xy_m[k, 0]), float(xy_m[k, 1])), area=area, action=action,
            route_xy=routes.polylines[k] if routed else None,
            route_t_s=routes.times_s[k] if routed else None,
            muster_point=musters[goal].id if routed else None,
            arrival_s=float(routes.times_s[k][-1]) if routed else None,  # type: ignore[index]
            shelter_building=choice.shelter_building if action == "shelter" else None,
            dose=dose, dose_ratio=round(choice.dose_ratio, 6), harm_probability=round(choice.harm_probability, 6),
            stay_dose_ratio=round(float(staying.ratio[k]), 6), stay_harm_probability=round(float(staying.harm[k]), 6),
            at_risk=risky[k], over_capacity=bool(routes.over_capacity[k]) and action == "evacuate", reason=reason))
    return people


def _area_route(plant: Plant, polyline: np.ndarray, times_s: np.ndarray) -> tuple[list[str], list[list[float]]]:
    """An area's route as the road / walkway ids it follows and simplified waypoints (m, 0.1 m)."""
    samples, _ = sample_route(polyline, times_s, 2.0)
    waypoints = LineString(polyline).simplify(2.0) if len(polyline) > 1 else Point(polyline[0])
    return roads_followed(plant, samples), np.round(np.asarray(waypoints.coords)[:, :2], 1).tolist()


def instruct_areas(plant: Plant, areas: Sequence, people: Sequence[PersonAdvice], routes: PlannedRoutes,
                   musters: Sequence, area_peak_ratio: dict[str, float],
                   params: RecommendParams, exit_gates: Sequence[str | None] = ()) -> list[AreaInstruction]:
    """One :class:`AreaInstruction` per work area (:func:`.decisions.area_action`), agreeing with its
    people: an evacuating area's route and muster point are those of its evacuating person nearest
    the area's representative point (a checked route; the area's own route, from that point, when
    nobody is in it); its people told otherwise are its ``exceptions``; an off-site assembly point's
    instruction names its gate (``exit_gates`` per muster point, None on-site)."""
    gate_of = {m.id: g for m, g in zip(musters, exit_gates)}
    instructions: list[AreaInstruction] = []
    for ka, a in enumerate(areas):
        mine = [pp for pp in people if pp.area == a.id]
        polyline = routes.polylines[ka]
        action, reason = area_action(people_actions=[pp.action for pp in mine],
                                     any_at_risk=any(pp.at_risk for pp in mine),
                                     area_peak_ratio=area_peak_ratio[a.id], has_safe_route=polyline is not None,
                                     scope=params.scope, affected_ratio=params.affected_ratio)
        muster_point, route_ids, route_xy = None, [], []
        if action == "evacuate":
            leaving = [pp for pp in mine if pp.action == "evacuate" and pp.route_xy is not None]
            if leaving:
                centre = a.geometry.representative_point()
                lead = min(leaving, key=lambda pp: centre.distance(Point(pp.xy)))
                muster_point = lead.muster_point
                route_ids, route_xy = _area_route(plant, lead.route_xy, lead.route_t_s)  # type: ignore[arg-type]
            elif polyline is not None:
                muster_point = musters[routes.goal[ka]].id
                route_ids, route_xy = _area_route(plant, polyline, routes.times_s[ka])  # type: ignore[arg-type]
        if muster_point is not None and gate_of.get(muster_point):
            reason += f"; leave by {gate_of[muster_point]} to {muster_point}"
        exceptions = area_exceptions(action, [(pp.id, pp.action) for pp in mine])
        if exceptions:
            reason += f"; {len(exceptions)} with their own instruction"
        instructions.append(AreaInstruction(a.id, action, route_ids, route_xy, muster_point, reason, len(mine),
                                            exceptions))
    return instructions


def muster_status(musters: Sequence, safety: MusterSafety, people: Sequence[PersonAdvice]) -> list[MusterStatus]:
    """Per usable muster point (and off-site assembly point, with its gate): capacity, people sent
    there, exclusion, tier and peak limit ratio."""
    return [MusterStatus(m.id, m.capacity, int(sum(pp.muster_point == m.id for pp in people)),
                         bool(safety.excluded[q]), int(safety.tier[q]), round(float(safety.peak_ratio[q]), 6),
                         getattr(m, "gate_id", None))
            for q, m in enumerate(musters)]
