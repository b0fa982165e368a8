"""Recommendations for a scenario of the library: run its timeline (no agents), take its people
and blocked gates / roads / muster points, and call :func:`~.core.recommend` with the hazard as it
is known at t0 (:mod:`.ensemble`).

Example::

    >>> from safetwin.scenarios.loader import load_scenario                          # doctest: +SKIP
    >>> res, rec = recommend_scenario(load_scenario("chlorine_drum_leak_wind_shift"))  # doctest: +SKIP
    >>> rec.t0_s == res.metrics["alarm_s"]                                           # doctest: +SKIP
    True
"""
from __future__ import annotations

import math

import numpy as np
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from safetwin.scenarios.loader import LoadedScenario

from .core import recommend
from .ensemble import WindEnsemble, hazard_known_at, scenario_t0_wind
from .hazard import HazardSpec
from .records import Recommendations, RecommendParams

__all__ = ["scenario_people", "scenario_blocked", "recommend_scenario"]


def scenario_people(loaded: LoadedScenario) -> tuple[list[str], np.ndarray]:
    """The scenario's people: its shift placed with its seed (and its ``population.limit``), as the
    incident's agents are."""
    from safetwin.twin.population import shift_population

    sc = loaded.scenario
    ids, xy, _ = shift_population(loaded.plant, loaded.shift, seed=sc.population.seed)
    if sc.population.limit is not None and len(ids) > sc.population.limit:
        rng = np.random.default_rng(sc.population.seed)
        keep = np.sort(rng.choice(len(ids), sc.population.limit, replace=False))
        ids, xy = [ids[k] for k in keep], xy[keep]
    return list(ids), np.asarray(xy, float)


def scenario_blocked(loaded: LoadedScenario) -> list[BaseGeometry]:
    """Blocked gates (disc of half the gate width + 3 m), roads (their width) and muster points (their disc)."""
    plant, bl = loaded.plant, loaded.scenario.blocked
    out: list[BaseGeometry] = []
    for g in bl.gates:
        gate = plant.gates[g]
        out.append(Point(gate.geometry.coords[0]).buffer(gate.width_m / 2 + 3.0))
    for r in bl.roads:
        road = plant.roads[r]
        out.append(road.geometry.buffer(road.width_m / 2))
    mps = plant.muster_points
    for m in bl.muster_points:
        out.append(Point(mps[m].position).buffer(mps[m].radius_m))
    return out


def recommend_scenario(loaded: LoadedScenario, t0_s: float | None = None, params: RecommendParams | None = None, *,
                       foresight: bool = False):
    """Run the scenario's timeline without agents and recommend at ``t0_s`` (default: the alarm time,
    or 0 without an alarm) with what is known then: the releases under the ensemble of winds around
    the t0 wind (:mod:`.ensemble`). ``foresight``: with the scenario's whole wind history instead
    (what a planner may study afterwards, never what a control room knows). Returns
    ``(IncidentResult, Recommendations)``."""
    from safetwin.emergency_planner.incident import run_incident

    res = run_incident(loaded, evacuate=False)
    if t0_s is None:
        alarm = res.metrics.get("alarm_s")
        t0_s = float(alarm) if alarm is not None and math.isfinite(alarm) else 0.0
    ids, xy = scenario_people(loaded)
    if foresight:
        hazard, note = HazardSpec.from_incident(res), "foresight: the scenario's whole wind history"
    else:
        ensemble = WindEnsemble.around(scenario_t0_wind(loaded.scenario, float(t0_s)), float(t0_s))
        hazard, note = hazard_known_at(res, ensemble), ensemble.note
    rec: Recommendations = recommend(loaded.plant, hazard, ids, xy, float(t0_s), blocked=scenario_blocked(loaded),
                                     params=params)
    rec.notes.append(note)
    return res, rec
