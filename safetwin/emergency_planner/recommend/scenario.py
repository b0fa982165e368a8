"""Recommendations for a scenario of the library: run its timeline (no agents), take its people
and blocked gates / roads / muster points, and call :func:`~.core.recommend`.

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


def recommend_scenario(loaded: LoadedScenario, t0_s: float | None = None, params: RecommendParams | None = None):
    """Run the scenario's timeline without agents and recommend at ``t0_s`` (default: the alarm time,
    or 0 without an alarm). Returns ``(IncidentResult, Recommendations)``."""
    from safetwin.emergency_planner.incident import run_incident

    res = run_incident(loaded, evacuate=False)
    if t0_s is None:
        alarm = res.metrics.get("alarm_s")
        t0_s = float(alarm) if alarm is not None and math.isfinite(alarm) else 0.0
    ids, xy = scenario_people(loaded)
    rec: Recommendations = recommend(loaded.plant, HazardSpec.from_incident(res), ids, xy, float(t0_s),
                                     blocked=scenario_blocked(loaded), params=params)
    return res, rec
