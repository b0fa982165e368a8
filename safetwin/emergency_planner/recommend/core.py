"""Recommendations: safe routes per person and area, muster choice, shelter-vs-evacuate per
building, responder approach routes and the people at risk.

:func:`recommend` is pure computation (no I/O), read top to bottom. Steps (and the module that
does each):

1. **Raster and envelope** — the walkable site (minus ``blocked``) as cells, with the stand-off disc
   of ``source_standoff_m`` around every source not ended by t0 entered only outward
   (:func:`.route_planner.standoff_distance_m`), the hazard sampled into closed cells / cost factors per time interval
   (:mod:`.routing`, :class:`.route_planner.RoutePlanner`). The hazard is what the caller knows at
   t0: for a live incident or a drill, the release under the ensemble of winds around the t0 wind
   (:mod:`.ensemble`), so the routes never rely on a wind that was not measured.
2. **Muster safety** — every muster point's (and off-site assembly point's) disc is evaluated on the continuous hazard from the
   departure to the end of the routing window plus ``muster_stay_s``: a point that reaches
   ``muster_exclude_ratio`` of AEGL-2 (30 min) or of 5 kW/m² is excluded; the others are ranked
   tier 0 (below AEGL-1 (60 min) and 2 kW/m² throughout) or tier 1 (:mod:`.muster`).
3. **Routes** — a time-dependent search per person (and per area and building, from a
   representative point) gives a route to every muster point.
4. **Assignment** — people go to muster points by a min-cost assignment over capacity slots:
   safety tier first, then arrival time; over-capacity slots are used only when nothing else
   is left (and are flagged). Off-site assembly points, reached through their gates, are
   candidates only for people and areas with no clean (tier 0) on-site muster point: the on-site
   muster point is preferred when it is clean; otherwise people leave the site through a gate
   (:func:`.muster.offsite_allowed`); the instruction names the gate.
5. **Exact check** — every chosen route is sampled at ``sample_m`` and the continuous hazard
   evaluated at the person's time there; violations close cells and the person is routed again.
   A route that still fails is dropped (the person gets no route and is flagged) (:mod:`.route_planner`).
6. **Doses** — toxic load ``∫cⁿdt`` and thermal dose ``∫q^{4/3}dt`` along the route (with the
   pre-movement spent at the start) and for staying put, against the AEGL-2 (30 min) equivalent
   load ``AEGL-2ⁿ·1800 s`` and the probits (TNO toxic, Eisenberg thermal) (:mod:`.doses`).
7. **Shelter** — per occupied building, the indoor load from the single-zone model
   (:mod:`.shelter`) against the load of evacuating along the building's route; per person, the
   route or a reachable shelter, whichever gives the lower load (:mod:`.decisions`).
8. **Areas** — one instruction per work area: evacuate (route as road ids and waypoints,
   muster point), shelter, or none when the area is not affected (:func:`.decisions.area_action`).
9. **Responders** — from each open vehicle gate along the roads to a staging point upwind of
   each active source, avoiding road segments the envelope closes at any time of the window
   (:mod:`.responders`).

The records of the result are in :mod:`.records`; :mod:`.advice` turns the numbers and the rules
into them.

Example::

    >>> from safetwin.scenarios.loader import load_scenario                              # doctest: +SKIP
    >>> from safetwin.emergency_planner.incident import run_incident                     # doctest: +SKIP
    >>> from safetwin.twin.population import shift_population                          # doctest: +SKIP
    >>> ld = load_scenario("chlorine_drum_leak_wind_shift")                              # doctest: +SKIP
    >>> res = run_incident(ld, evacuate=False)                                           # doctest: +SKIP
    >>> ids, xy, _ = shift_population(ld.plant, ld.shift, seed=1)                        # doctest: +SKIP
    >>> rec = recommend(ld.plant, HazardSpec.from_incident(res), ids, xy, res.metrics["alarm_s"])  # doctest: +SKIP
    >>> rec.area_instructions()[0]["action"]                                             # doctest: +SKIP
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
from shapely.geometry.base import BaseGeometry

from safetwin.plant_models.geometry import area_index
from safetwin.plant_models.loader import Plant

from .advice import advise_buildings, advise_people, instruct_areas, muster_status
from .doses import Doses, building_exposures, dose_and_harm, route_doses, stay_doses
from .hazard import HazardSpec
from .limits import toxic_channels
from .records import Recommendations, RecommendParams
from .responders import responder_routes
from .route_planner import PlannedRoutes, RoutePlanner

__all__ = ["recommend"]


class _Stopwatch:
    """Wall time of each stage (s, rounded to 0.1 ms), in the order the stages end."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = round(now - self._last, 4)
        self._last = now


def _check_people(people_ids: Sequence[str], people_xy: np.ndarray) -> np.ndarray:
    xy = np.asarray(people_xy, float)
    if xy.ndim != 2 or (xy.size and xy.shape[1] != 2):
        raise ValueError(f"people_xy: expected shape (n, 2), got {xy.shape}")
    if len(people_ids) != len(xy):
        raise ValueError(f"people_ids: {len(people_ids)} ids for {len(xy)} positions")
    bad = np.flatnonzero(~np.isfinite(xy).all(1))
    if bad.size:
        raise ValueError(f"people_xy[{int(bad[0])}] (id {people_ids[int(bad[0])]!r}): position is not finite")
    return xy.reshape(-1, 2)


def recommend(plant: Plant, hazard: HazardSpec, people_ids: Sequence[str], people_xy: np.ndarray, t0_s: float, *,
              blocked: Sequence[BaseGeometry] = (), params: RecommendParams | None = None) -> Recommendations:
    """Routes, muster points, shelter advice, responder routes and people at risk at time ``t0_s``
    (s, the hazard functions' clock) for people at ``people_xy`` (m, plant frame). See the module
    docstring for the method."""
    p = params or RecommendParams()
    if not math.isfinite(float(t0_s)):
        raise ValueError(f"t0_s: must be finite, got {t0_s!r}")
    xy = _check_people(people_ids, people_xy)
    ids = [str(i) for i in people_ids]
    stopwatch = _Stopwatch()
    t0 = float(t0_s)
    channels = toxic_channels(hazard, aegl_duration_s=p.aegl_duration_s, probit_set=p.probit_set)
    areas = list(plant.areas.values())
    occupied = [b for b in plant.buildings.values() if b.occupied]
    # representative points: per area and per building (virtual people)
    area_pts = np.array([a.geometry.representative_point().coords[0] for a in areas]).reshape(-1, 2)
    building_pts = np.array([[b.geometry.centroid.x, b.geometry.centroid.y] for b in occupied]).reshape(-1, 2)
    planner = RoutePlanner.build(plant, hazard, channels, t0_s=t0, blocked=blocked,
                                 starts_xy_m=np.vstack([xy, area_pts, building_pts]), params=p,
                                 on_stage=stopwatch.lap)
    departure, raster = planner.departure_s, planner.raster

    # routes: people (capacity-aware), then areas and buildings from their representative points
    cells = raster.nearest_walkable(xy[:, 0], xy[:, 1]) if len(xy) else np.zeros(0, np.int64)
    people_routes = planner.plan(xy, cells, assign=True)
    stopwatch.lap("people_routes")
    place_pts = np.vstack([area_pts, building_pts])
    place_cells = raster.nearest_walkable(place_pts[:, 0], place_pts[:, 1])
    place_routes = planner.plan(raster.centre(place_cells), place_cells, assign=False)
    stopwatch.lap("area_building_routes")

    # doses: along each person's route, and of staying put
    on_route = Doses.of(channels, *route_doses(hazard, channels, xy, people_routes.polylines, people_routes.times_s,
                                                t0_s=t0, departure_s=departure, params=p), len(xy))
    staying = Doses.of(channels, *stay_doses(hazard, channels, xy, t0_s=t0, params=p), len(xy))
    stopwatch.lap("doses")

    # buildings: shelter in place, or evacuate by the building's route (indoors until the departure)
    exposures = building_exposures(occupied, hazard, channels, t0_s=t0, departure_s=departure, params=p)
    n_areas = len(areas)
    building_routes = PlannedRoutes(place_routes.goal[n_areas:], place_routes.over_capacity[n_areas:],
                                    place_routes.polylines[n_areas:], place_routes.times_s[n_areas:])
    indoor_premovement = [np.array([ex.premovement_loads[k] for ex in exposures]) for k in range(len(channels.names))]
    if exposures:
        evac_loads, evac_thermal = route_doses(hazard, channels, building_pts, building_routes.polylines,
                                               building_routes.times_s, t0_s=t0, departure_s=departure, params=p,
                                               indoor_premovement_loads=indoor_premovement)
        evacuation_ratio, _ = dose_and_harm(channels, evac_loads, evac_thermal, len(exposures))
    else:
        evacuation_ratio = np.zeros(0)
    buildings = advise_buildings(exposures, building_routes, evacuation_ratio, channels, planner.musters)
    stopwatch.lap("buildings")

    # people: the route, a shelter within reach, or neither; then one instruction per area
    area_of_person = area_index(plant).area_ids(xy[:, 0], xy[:, 1]).tolist() if len(xy) else []
    area_peak = planner.area_peak_ratios(areas)
    people = advise_people(ids, xy, area_of_person, people_routes, planner.musters, on_route, staying, channels,
                           buildings, [(b.id, b.geometry) for b in occupied], area_peak, p,
                           exit_gates=planner.exit_gates)
    stopwatch.lap("people")
    instructions = instruct_areas(plant, areas, people, place_routes, planner.musters, area_peak, p,
                                  exit_gates=planner.exit_gates)
    muster = muster_status(planner.musters, planner.safety, people)
    stopwatch.lap("areas")
    responders = responder_routes(plant, hazard, channels, raster=raster, envelope=planner.envelope, t0_s=t0,
                                  blocked=blocked, params=p)
    stopwatch.lap("responders")
    timings = stopwatch.timings
    timings["total"] = round(sum(v for v in timings.values()), 4)
    return Recommendations(plant.id, t0, departure, p, people, instructions, buildings.advice, responders, muster,
                           channels.names, timings, planner.notes)
