"""Recommendations: safe routes per person and area, muster choice, shelter-vs-evacuate per
building, responder approach routes and the people at risk.

:func:`recommend` is pure computation (no I/O). Steps:

1. **Raster and envelope** — the walkable site (minus ``blocked``) as cells, the hazard sampled
   into closed cells / cost factors per time interval (:mod:`.routing`).
2. **Muster safety** — every muster point's disc is evaluated on the continuous hazard from the
   departure to the end of the routing window plus ``muster_stay_s``: a point that reaches
   ``muster_exclude_ratio`` of AEGL-2 (30 min) or of 5 kW/m² is excluded; the others are ranked
   tier 0 (below AEGL-1 (60 min) and 2 kW/m² throughout) or tier 1.
3. **Routes** — a time-dependent search per person (and per area and building, from a
   representative point) gives a route to every muster point.
4. **Assignment** — people go to muster points by a min-cost assignment over capacity slots:
   safety tier first, then arrival time; over-capacity slots are used only when nothing else
   is left (and are flagged).
5. **Exact check** — every chosen route is sampled at ``sample_m`` and the continuous hazard
   evaluated at the person's time there; violations close cells and the person is routed again.
   A route that still fails is dropped (the person gets no route and is flagged).
6. **Doses** — toxic load ``∫cⁿdt`` and thermal dose ``∫q^{4/3}dt`` along the route (with the
   pre-movement spent at the start) and for staying put, against the AEGL-2 (30 min) equivalent
   load ``AEGL-2ⁿ·1800 s`` and the probits (TNO toxic, Eisenberg thermal).
7. **Shelter** — per occupied building, the indoor load from the single-zone model
   (:mod:`.shelter`) against the load of evacuating along the building's route.
8. **Areas** — one instruction per work area: evacuate (route as road ids and waypoints,
   muster point), shelter, or none when the area is not affected.
9. **Responders** — from each open vehicle gate along the roads to a staging point upwind of
   each active source, avoiding road segments the envelope closes at any time of the window.

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
import time as _time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from collections.abc import Sequence

import numpy as np
import shapely
import skfmm
from scipy.optimize import linear_sum_assignment
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from safetwin.emergency_planner.evacuation.exposure import Exposure, aegl_equivalent_dose
from safetwin.emergency_planner.physics.effects import thermal_lethality_from_dose
from safetwin.plant_models.geometry import WalkableRaster, area_index, plant_walkable_raster, road_graph, roads_followed
from safetwin.plant_models.loader import Plant

from .hazard import HazardSpec
from .routing import (FLUX_LIMIT_W_M2, HazardEnvelope, SearchResult, build_envelope,
                      route_polyline, sample_route, td_dijkstra, vertex_times)
from .shelter import exposure_end_index, indoor_concentration, toxic_load_s

__all__ = ["RecommendParams", "PersonAdvice", "AreaInstruction", "BuildingAdvice", "ResponderRoute",
           "MusterStatus", "Recommendations", "recommend"]

#: Heat flux (W/m²) below which a muster point is tier 0 (ALOHA YELLOW, pain).
FLUX_YELLOW_W_M2 = 2000.0


@dataclass(frozen=True)
class RecommendParams:
    """Parameters of :func:`recommend` (SI units)."""

    speed_m_s: float = 1.2  #: walking speed
    premovement_s: float = 60.0  #: time from t0 to leaving
    cell_m: float = 4.0  #: routing raster cell
    snapshot_dt_s: float = 20.0  #: hazard envelope time step
    horizon_s: float | None = None  #: routing window after departure (None: from the hazard-free travel times)
    grid_margin: float = 0.7  #: envelope ratio (of AEGL-2 / 5 kW/m²) that closes a cell
    hazard_weight: float = 10.0  #: cost per metre = 1 + weight · ratio
    sample_m: float = 0.5  #: spacing of the exact route check
    dose_sample_m: float = 2.0  #: spacing of the dose integration along routes
    verify_ratio: float = 0.9  #: a route sample must stay below this ratio of the limit
    max_repairs: int = 6  #: re-routing rounds after violations
    aegl_duration_s: float = 1800.0  #: AEGL-2 duration that defines "impassable" (30 min)
    muster_exclude_ratio: float = 0.5  #: muster point excluded at this ratio of AEGL-2 / 5 kW/m²
    muster_stay_s: float = 1800.0  #: time people stay at the muster point
    shelter_window_s: float = 3600.0  #: exposure window for staying put / sheltering
    shelter_reach_m: float = 60.0  #: a person may shelter in a building this close
    thermal_stay_s: float = 60.0  #: exposure to heat flux when staying put (the worst minute)
    exposure_dt_s: float = 10.0  #: time step of the stay / indoor / muster evaluations
    harm_threshold: float = 0.01  #: probit probability that counts as harm
    affected_ratio: float = 0.1  #: an area is affected when its envelope ratio reaches this
    scope: Literal["affected", "site"] = "affected"  #: which areas are told to act
    probit_set: str = "tno"
    responder_speed_m_s: float = 8.0
    responder_turnout_s: float = 60.0
    responder_standoff_m: float = 60.0

    def __post_init__(self) -> None:
        for name in ("speed_m_s", "cell_m", "snapshot_dt_s", "sample_m", "exposure_dt_s", "responder_speed_m_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"RecommendParams.{name}: must be a positive number, got {v!r}")
        if self.premovement_s < 0:
            raise ValueError(f"RecommendParams.premovement_s: must be >= 0, got {self.premovement_s!r}")


# ============================================================================ records
def _xy_list(a: np.ndarray | None, nd: int = 2) -> list | None:
    return None if a is None else np.round(np.asarray(a, float), nd).tolist()


@dataclass
class PersonAdvice:
    """One person's recommendation. ``route_xy`` (m) / ``route_t_s`` (s from the scenario t0) is
    the checked safe route (None when there is none); doses are toxic loads ((mg/m³)ⁿ·s) per
    substance and the thermal dose ((W/m²)^{4/3}·s); ratios are load / AEGL-2 (30 min) load."""

    id: str
    xy: tuple[float, float]
    area: str | None
    action: str  # evacuate | shelter | none
    route_xy: np.ndarray | None
    route_t_s: np.ndarray | None
    muster_point: str | None
    arrival_s: float | None
    shelter_building: str | None
    dose: dict[str, float]
    dose_ratio: float
    harm_probability: float
    stay_dose_ratio: float
    stay_harm_probability: float
    at_risk: bool
    over_capacity: bool = False
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k not in ("route_xy", "route_t_s")}
        d["xy"] = [round(self.xy[0], 2), round(self.xy[1], 2)]
        d["route_xy"] = _xy_list(self.route_xy)
        d["route_t_s"] = _xy_list(self.route_t_s, 1)
        return d


@dataclass
class AreaInstruction:
    """Instruction for everyone in a work area (what :meth:`Publisher.evacuation` publishes)."""

    area_id: str
    action: str  # evacuate | shelter | none
    route: list[str]  # road / walkway ids in walking order
    route_xy: list[list[float]]  # simplified waypoints (m)
    muster_point: str | None
    reason: str
    people: int


@dataclass
class BuildingAdvice:
    """Shelter-in-place vs evacuate for one building (load ratios vs the AEGL-2 (30 min) load)."""

    building_id: str
    advice: str  # shelter | evacuate | none
    indoor_dose_ratio: float
    evacuate_dose_ratio: float
    air_changes_per_h: float
    muster_point: str | None
    reason: str


@dataclass
class ResponderRoute:
    """Approach of a fire team from an open gate along the roads to a staging point upwind of a source."""

    gate_id: str
    source_id: str
    staging_xy: tuple[float, float]
    route_xy: list[list[float]]
    road_ids: list[str]
    length_m: float
    eta_s: float
    safe: bool
    max_ratio: float


@dataclass
class MusterStatus:
    id: str
    capacity: int
    assigned: int
    excluded: bool
    tier: int
    max_ratio: float


@dataclass
class Recommendations:
    """Everything :func:`recommend` decided, with :meth:`to_dict` (JSON-able) and :meth:`area_instructions`."""

    plant_id: str
    t0_s: float
    departure_s: float
    params: RecommendParams
    people: list[PersonAdvice]
    areas: list[AreaInstruction]
    buildings: list[BuildingAdvice]
    responders: list[ResponderRoute]
    muster: list[MusterStatus]
    substances: list[str]
    timings_s: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def at_risk(self) -> list[PersonAdvice]:
        """People whose predicted load (staying or under the advice) exceeds the AEGL-2 load, or whose
        harm probability reaches the threshold, or who have no safe option — worst first."""
        return sorted((p for p in self.people if p.at_risk),
                      key=lambda p: -max(p.dose_ratio, p.stay_dose_ratio, p.harm_probability))

    def person(self, pid: str) -> PersonAdvice:
        return next(p for p in self.people if p.id == pid)

    def area_instructions(self) -> list[dict[str, Any]]:
        """Per-area dicts with the arguments of :meth:`Publisher.evacuation` (``area_id``, ``action``
        (evacuate | shelter | all_clear — "none" is published as all_clear), ``route``, ``muster_point``,
        ``reason``)."""
        return [{"area_id": a.area_id, "action": "all_clear" if a.action == "none" else a.action,
                 "route": list(a.route), "muster_point": a.muster_point, "reason": a.reason} for a in self.areas]

    def to_dict(self) -> dict[str, Any]:
        return {
            "plant": self.plant_id, "t0_s": self.t0_s, "departure_s": self.departure_s,
            "params": asdict(self.params), "substances": self.substances,
            "summary": {"people": len(self.people), "with_route": sum(p.route_xy is not None for p in self.people),
                        "evacuate": sum(p.action == "evacuate" for p in self.people),
                        "shelter": sum(p.action == "shelter" for p in self.people),
                        "at_risk": sum(p.at_risk for p in self.people)},
            "people": [p.to_dict() for p in self.people],
            "at_risk": [{"id": p.id, "dose_ratio": p.dose_ratio, "stay_dose_ratio": p.stay_dose_ratio,
                         "harm_probability": p.harm_probability, "stay_harm_probability": p.stay_harm_probability,
                         "action": p.action, "reason": p.reason} for p in self.at_risk],
            "areas": [asdict(a) for a in self.areas],
            "buildings": [asdict(b) for b in self.buildings],
            "responders": [asdict(r) for r in self.responders],
            "muster": [asdict(m) for m in self.muster],
            "timings_s": self.timings_s, "notes": self.notes,
        }


# ============================================================================ helpers
@dataclass
class _Channels:
    """Per-substance limits and dose references."""

    names: list[str]
    aegl2_mg: list[float]
    aegl1_mg: list[float]
    exponent: list[float]
    dose_ref: list[float]
    exposures: list[Exposure]


def _channels(hazard: HazardSpec, p: RecommendParams) -> _Channels:
    names, a2, a1, n, ref, ex = [], [], [], [], [], []
    for fn, sub in hazard.toxic:
        if sub.toxic is None:
            raise ValueError(f"hazard.toxic: substance {sub.name!r} has no AEGL values")
        aegl2 = float(sub.ppm_to_mg_m3(sub.toxic.aegl_at(2, p.aegl_duration_s)))
        pr = sub.probits.get(p.probit_set) or next(iter(sub.probits.values()), None)
        expo = pr.n if pr is not None else 1.0
        uf = 1.0 if pr is None or pr.concentration_unit == "mg/m3" else float(sub.mg_m3_to_ppm(1.0))
        names.append(sub.name)
        a2.append(aegl2)
        a1.append(float(sub.ppm_to_mg_m3(sub.toxic.aegl_at(1, 3600.0))))
        n.append(expo)
        ref.append(aegl_equivalent_dose(aegl2, p.aegl_duration_s, expo))
        ex.append(Exposure(fn, exponent=expo, name=sub.name, probit_a=None if pr is None else pr.a,
                           probit_b=None if pr is None else pr.b, unit_factor=uf, time_unit_s=60.0))
    return _Channels(names, a2, a1, n, ref, ex)


def _evaluate(hazard: HazardSpec, x: np.ndarray, y: np.ndarray, t: np.ndarray) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Continuous hazard at paired points: concentration (mg/m³) per substance, flux (W/m²) or None."""
    cs = [np.asarray(fn(x, y, t), float) for fn, _ in hazard.toxic]
    q = None if hazard.flux is None else np.asarray(hazard.flux(x, y, t), float)
    return cs, q


def _ratio(ch: _Channels, cs: list[np.ndarray], q: np.ndarray | None, shape) -> np.ndarray:
    r = np.zeros(shape)
    for c, lim in zip(cs, ch.aegl2_mg):
        r = np.maximum(r, c / lim)
    if q is not None:
        r = np.maximum(r, q / FLUX_LIMIT_W_M2)
    return r


def _segment_loads(values: np.ndarray, times: np.ndarray, owner: np.ndarray, n_owner: int) -> np.ndarray:
    """Trapezoidal ∫ values dt per owner for concatenated per-owner time series."""
    if values.size < 2:
        return np.zeros(n_owner)
    same = owner[1:] == owner[:-1]
    inc = np.where(same, 0.5 * (values[1:] + values[:-1]) * (times[1:] - times[:-1]), 0.0)
    return np.bincount(owner[1:], weights=inc, minlength=n_owner)


def _dose_and_harm(ch: _Channels, loads: list[np.ndarray], thermal: np.ndarray | None,
                   n: int) -> tuple[np.ndarray, np.ndarray]:
    """(max load ratio over substances, harm probability (max over channels)) for ``n`` people."""
    ratio = np.zeros(n)
    harm = np.zeros(n)
    for k, L in enumerate(loads):
        ratio = np.maximum(ratio, L / ch.dose_ref[k])
        harm = np.maximum(harm, ch.exposures[k].harm_probability(L))
    if thermal is not None:
        harm = np.maximum(harm, np.asarray(thermal_lethality_from_dose(thermal, "eisenberg"), float))
    return ratio, harm


def _muster_samples(m, nring: int = 8) -> np.ndarray:
    th = np.linspace(0, 2 * np.pi, nring, endpoint=False)
    pts = [np.asarray(m.position, float)[None, :]]
    for f in (0.5, 1.0):
        pts.append(np.stack([m.position[0] + f * m.radius_m * np.cos(th), m.position[1] + f * m.radius_m * np.sin(th)], 1))
    return np.vstack(pts)


def _geodesic_horizon(raster: WalkableRaster, goal_id: np.ndarray, active: np.ndarray, starts: np.ndarray,
                      p: RecommendParams) -> float:
    """Routing window: 1.5 × the longest hazard-free walk from a start to its nearest usable muster
    point, + 120 s (beyond it the last interval of the envelope holds; routes are checked exactly anyway)."""
    walk = raster.walkable
    best = np.full(len(starts), np.inf)
    for q in np.flatnonzero(active):
        tgt = (goal_id == q).reshape(walk.shape)
        if not tgt.any():
            continue
        phi = np.ma.MaskedArray(np.where(tgt, -1.0, 1.0), mask=~walk)
        try:
            d = np.ma.filled(skfmm.distance(phi, dx=raster.h), np.inf).ravel()
        except ValueError:
            continue
        best = np.minimum(best, d[starts])
    fin = best[np.isfinite(best)]
    worst = float(fin.max()) if fin.size else float(np.hypot(raster.nx, raster.ny) * raster.h)
    return 1.5 * worst / p.speed_m_s + 120.0


# ============================================================================ main
class _Planner:
    def __init__(self, plant: Plant, hazard: HazardSpec, t0: float, blocked: Sequence[BaseGeometry], p: RecommendParams):
        self.plant, self.hazard, self.t0, self.p = plant, hazard, float(t0), p
        self.blocked = list(blocked)
        self.ch = _channels(hazard, p)
        self.t_dep = self.t0 + p.premovement_s
        self.timings: dict[str, float] = {}
        self.notes: list[str] = []

    def tick(self, name: str, t: float) -> float:
        now = _time.perf_counter()
        self.timings[name] = round(now - t, 4)
        return now

    # -------------------------------------------------------------- set-up
    def setup(self, starts_xy: np.ndarray) -> None:
        p = self.p
        self.raster = plant_walkable_raster(self.plant, p.cell_m, blocked=self.blocked)
        block = shapely.union_all(self.blocked) if self.blocked else None
        self.musters = [m for m in self.plant.meta.muster_points
                        if block is None or not shapely.contains_xy(block, *m.position)]
        if len(self.musters) < len(self.plant.meta.muster_points):
            self.notes.append("muster points inside blocked areas are not used: "
                              + ", ".join(sorted({m.id for m in self.plant.meta.muster_points} - {m.id for m in self.musters})))
        r = self.raster
        gid = np.full(r.nx * r.ny, -1, np.int16)
        walk_flat = r.walkable.ravel()
        for q, m in enumerate(self.musters):
            mask = r.mask_of(Point(m.position).buffer(m.radius_m)) & walk_flat & (gid < 0)
            if not mask.any():
                mask = np.zeros_like(mask)
                mask[r.nearest_walkable(np.array([m.position[0]]), np.array([m.position[1]]))[0]] = True
            gid[mask] = q
        self.goal_id = gid
        self.n_goals = len(self.musters)
        self.starts = r.nearest_walkable(starts_xy[:, 0], starts_xy[:, 1])

    def set_horizon(self) -> None:
        p = self.p
        self.horizon = p.horizon_s if p.horizon_s is not None else min(
            _geodesic_horizon(self.raster, self.goal_id, ~self.m_excluded, self.starts, p), 3600.0)

    def envelope(self) -> None:
        p = self.p
        self.env: HazardEnvelope = build_envelope(self.raster, self.hazard, self.ch.aegl2_mg + [], self.t_dep,
                                                  self.t_dep + self.horizon, p.snapshot_dt_s,
                                                  grid_margin=p.grid_margin, hazard_weight=p.hazard_weight)

    def muster_safety(self) -> None:
        """Exclude / rank the muster points from the continuous hazard over their discs (one batched call)."""
        p = self.p
        # arrival window: from the departure to the longest plausible walk (1.5 × the site diagonal) + the stay
        diag = math.hypot(self.raster.nx, self.raster.ny) * self.raster.h
        t = np.arange(self.t_dep, self.t_dep + 1.5 * diag / p.speed_m_s + p.muster_stay_s + 1e-9, p.exposure_dt_s)
        self.m_ratio = np.zeros(self.n_goals)
        self.m_tier = np.zeros(self.n_goals, int)
        if self.n_goals:
            pts = [_muster_samples(m) for m in self.musters]
            P = np.vstack(pts)
            own = np.concatenate([np.full(len(x), q) for q, x in enumerate(pts)])
            X, Y, T = np.tile(P[:, 0], t.size), np.tile(P[:, 1], t.size), np.repeat(t, len(P))
            owner = np.tile(own, t.size)
            cs, qf = _evaluate(self.hazard, X, Y, T)
            r = _ratio(self.ch, cs, qf, X.shape)
            above1 = np.zeros(X.shape, bool)
            for c, a1 in zip(cs, self.ch.aegl1_mg):
                above1 |= c >= a1
            if qf is not None:
                above1 |= qf >= FLUX_YELLOW_W_M2
            np.maximum.at(self.m_ratio, owner, r)
            self.m_tier = np.bincount(owner, weights=above1, minlength=self.n_goals).astype(bool).astype(int)
        self.m_excluded = self.m_ratio >= p.muster_exclude_ratio
        for q in np.flatnonzero(self.m_excluded):
            self.notes.append(f"muster point {self.musters[q].id} excluded: hazard reaches "
                              f"{self.m_ratio[q]:.2f} x the AEGL-2/5 kW/m2 limit there")

    # -------------------------------------------------------------- searches
    def search(self, cells: np.ndarray, relaxed: np.ndarray | None = None, skip: np.ndarray | None = None):
        """Searches from ``cells``; a person the envelope boxes in (no usable muster point reached) is
        searched again ``relaxed`` (only exact-check closures), and stays relaxed afterwards. ``skip``:
        people with no possible safe route (empty result)."""
        active = ~self.m_excluded
        relaxed = np.zeros(len(cells), bool) if relaxed is None else relaxed
        out = []
        for k, c in enumerate(cells):
            if skip is not None and skip[k]:
                out.append(SearchResult(np.full(self.n_goals, np.inf), np.full(self.n_goals, np.inf),
                                        [None] * self.n_goals))
                continue
            r = td_dijkstra(self.raster, self.env, self.goal_id, active, int(c), self.t_dep, self.p.speed_m_s,
                            relaxed=bool(relaxed[k]))
            if not relaxed[k] and active.any() and not np.isfinite(r.arrival_s[active]).any():
                relaxed[k] = True
                r = td_dijkstra(self.raster, self.env, self.goal_id, active, int(c), self.t_dep, self.p.speed_m_s,
                                relaxed=True)
            out.append(r)
        return out

    def best_goal(self, res, banned: set[int] = frozenset()) -> int:
        """Best non-excluded goal by (tier, arrival), -1 if none reachable."""
        best, key = -1, (math.inf, math.inf)
        for q in range(self.n_goals):
            if self.m_excluded[q] or q in banned or not np.isfinite(res.arrival_s[q]):
                continue
            k = (self.m_tier[q], res.arrival_s[q])
            if k < key:
                best, key = q, k
        return best

    def _choose_goals(self, assign: bool, results, banned: list[set[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Goal per route (-1 none) and over-capacity flags: the capacity-aware assignment for people,
        each route's best goal for areas and buildings (no capacity)."""
        if assign:
            return self.assign(results, banned)
        return (np.array([self.best_goal(r, banned[k]) for k, r in enumerate(results)], int),
                np.zeros(len(results), bool))

    def assign(self, results, banned: list[set[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Min-cost assignment of people to muster slots (tier · 1e6 + arrival s); returns goal per person
        (-1 none) and over-capacity flags."""
        n = len(results)
        goal = np.full(n, -1)
        over = np.zeros(n, bool)
        if n == 0 or self.n_goals == 0:
            return goal, over
        A = np.full((n, self.n_goals), np.inf)
        for k, r in enumerate(results):
            for q in range(self.n_goals):
                if not self.m_excluded[q] and q not in banned[k] and np.isfinite(r.arrival_s[q]):
                    A[k, q] = self.m_tier[q] * 1e6 + r.arrival_s[q]
        feas = np.isfinite(A).any(1)
        rows = np.flatnonzero(feas)
        if rows.size == 0:
            return goal, over
        caps = [self.musters[q].capacity for q in range(self.n_goals)]
        cols, slot_over = [], []
        for q in range(self.n_goals):
            cols += [q] * caps[q]
            slot_over += [False] * caps[q]
        for q in range(self.n_goals):  # overflow slots, used only when nothing else is left
            cols += [q] * rows.size
            slot_over += [True] * rows.size
        cols_a, over_a = np.array(cols), np.array(slot_over)
        big = 1e12
        C = A[rows][:, cols_a]
        C = np.where(np.isfinite(C), C + over_a[None, :] * 1e9, big)
        ri, ci = linear_sum_assignment(C)
        for r_, c_ in zip(ri, ci):
            if C[r_, c_] < big:
                goal[rows[r_]] = cols_a[c_]
                over[rows[r_]] = over_a[c_]
        return goal, over

    def routes_for(self, xy: np.ndarray, results, goals: np.ndarray):
        polys, times = [], []
        for k, (r, q) in enumerate(zip(results, goals)):
            if q < 0 or r.paths[q] is None:
                polys.append(None)
                times.append(None)
                continue
            poly = route_polyline(self.raster, xy[k], r.paths[q])
            polys.append(poly)
            times.append(vertex_times(poly, self.t_dep, self.p.speed_m_s))
        return polys, times

    def sample_all(self, polys, times, spacing: float):
        pts, ts, own = [], [], []
        for k, (pl, tm) in enumerate(zip(polys, times)):
            if pl is None:
                continue
            a, b = sample_route(pl, tm, spacing)
            pts.append(a)
            ts.append(b)
            own.append(np.full(len(b), k))
        if not pts:
            return np.zeros((0, 2)), np.zeros(0), np.zeros(0, int)
        return np.vstack(pts), np.concatenate(ts), np.concatenate(own)

    def close_cells(self, bad_xy: np.ndarray, bad_t: np.ndarray) -> None:
        """Close the 3 × 3 cells around violating samples for the intervals around their times."""
        r, env = self.raster, self.env
        c = r.cell_of(bad_xy[:, 0], bad_xy[:, 1])
        ci, cj = c % r.nx, c // r.nx
        for dk in (-1, 0, 1):
            k = np.clip(env.interval(bad_t) + dk, 0, env.nk - 1)
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    ii, jj = np.clip(ci + di, 0, r.nx - 1), np.clip(cj + dj, 0, r.ny - 1)
                    env.closed[k, jj * r.nx + ii] = True
                    env.repaired[k, jj * r.nx + ii] = True

    def plan(self, xy: np.ndarray, cells: np.ndarray, assign: bool):
        """Search, choose goals (assignment or best goal), check exactly and repair. Returns
        (results, goals, over, polys, times, samples (pts, ts, owner, per-substance c, q))."""
        p = self.p
        n = len(cells)
        relaxed = np.zeros(n, bool)
        # nobody can leave safely from a start already above the limit at the departure time
        if n:
            cs, q = _evaluate(self.hazard, xy[:, 0], xy[:, 1], np.full(n, self.t_dep))
            trapped = _ratio(self.ch, cs, q, (n,)) > p.verify_ratio
        else:
            trapped = np.zeros(0, bool)
        results = self.search(cells, relaxed, skip=trapped)
        banned: list[set[int]] = [set() for _ in range(n)]
        fails: dict[tuple[int, int], int] = {}
        verified: dict[tuple[int, int], bool] = {}
        n_search = [n]
        for _round in range(2 * p.max_repairs + 2):
            goals, over = self._choose_goals(assign, results, banned)
            polys, times = self.routes_for(xy, results, goals)
            todo = [k for k in range(n) if polys[k] is not None and (k, goals[k]) not in verified]
            if not todo:
                break
            todo_set = set(todo)
            sub_p = [polys[k] if k in todo_set else None for k in range(n)]
            pts, ts, own = self.sample_all(sub_p, times, p.sample_m)
            cs, q = _evaluate(self.hazard, pts[:, 0], pts[:, 1], ts)
            rat = _ratio(self.ch, cs, q, ts.shape)
            bad = rat > p.verify_ratio
            bad_owner = set(np.unique(own[bad]).tolist())
            for k in todo:
                verified[(k, goals[k])] = k not in bad_owner
            if not bad_owner:
                break
            self.close_cells(pts[bad], ts[bad])
            redo = []
            for k in sorted(bad_owner):
                key = (k, int(goals[k]))
                fails[key] = fails.get(key, 0) + 1
                if fails[key] >= (p.max_repairs if not relaxed[k] else max(1, p.max_repairs // 2)):
                    banned[k].add(int(goals[k]))
                redo.append(k)
            n_search.append(len(redo))
            sub_relaxed = relaxed[redo]
            new = self.search(cells[redo], sub_relaxed)
            relaxed[redo] = sub_relaxed
            for k, r in zip(redo, new):
                results[k] = r
                for key in [kk for kk in verified if kk[0] == k]:
                    del verified[key]
        self.notes.append(f"{'people' if assign else 'areas/buildings'}: searches per round {n_search}, "
                          f"{int(relaxed.sum())} relaxed (boxed in by the envelope), {int(trapped.sum())} above the "
                          f"limit at departure")
        # final: keep only verified routes
        goals, over = self._choose_goals(assign, results, banned)
        polys, times = self.routes_for(xy, results, goals)
        for k in range(n):
            if polys[k] is not None and not verified.get((k, int(goals[k])), False):
                polys[k] = times[k] = None
                goals[k] = -1
        return results, goals, over, polys, times

    # -------------------------------------------------------------- doses
    def route_doses(self, xy: np.ndarray, polys, times, indoor_pre: np.ndarray | None = None):
        """(load per substance (n,), thermal dose (n,)) along routes, plus the pre-movement spent at
        the start outdoors [t0, t_dep] (or ``indoor_pre`` loads per substance when given)."""
        p, n = self.p, len(polys)
        pts, ts, own = self.sample_all(polys, times, p.dose_sample_m)
        # pre-movement at the start point
        tpre = np.arange(self.t0, self.t_dep + 1e-9, p.exposure_dt_s)
        if tpre.size < 2:
            tpre = np.array([self.t0, self.t_dep])
        has = np.array([pl is not None for pl in polys])
        idx = np.flatnonzero(has)
        px = np.repeat(xy[idx, 0], tpre.size)
        py = np.repeat(xy[idx, 1], tpre.size)
        pt = np.tile(tpre, idx.size)
        pown = np.repeat(idx, tpre.size)
        allx, ally = np.concatenate([pts[:, 0], px]), np.concatenate([pts[:, 1], py])
        allt = np.concatenate([ts, pt])
        cs, q = _evaluate(self.hazard, allx, ally, allt)
        m = len(ts)
        loads = []
        for k, c in enumerate(cs):
            L = _segment_loads(np.maximum(c[:m], 0) ** self.ch.exponent[k], ts, own, n)
            if indoor_pre is None:
                L = L + _segment_loads(np.maximum(c[m:], 0) ** self.ch.exponent[k], pt, pown, n)
            else:
                L = L + np.where(has, indoor_pre[k], 0.0)
            loads.append(L)
        thermal = None
        if q is not None:
            thermal = (_segment_loads(np.maximum(q[:m], 0) ** (4 / 3), ts, own, n)
                       + _segment_loads(np.maximum(q[m:], 0) ** (4 / 3), pt, pown, n))
        return loads, thermal

    def stay_doses(self, xy: np.ndarray):
        p = self.p
        t = np.arange(self.t0, self.t0 + p.shelter_window_s + 1e-9, p.exposure_dt_s)
        n = len(xy)
        X, Y = np.repeat(xy[:, 0], t.size), np.repeat(xy[:, 1], t.size)
        T = np.tile(t, n)
        own = np.repeat(np.arange(n), t.size)
        cs, q = _evaluate(self.hazard, X, Y, T)
        loads = [_segment_loads(np.maximum(c, 0) ** e, T, own, n) for c, e in zip(cs, self.ch.exponent)]
        # heat radiation: nobody stands still in it for an hour — the worst ``thermal_stay_s`` (60 s, the
        # ALOHA thermal-LOC duration) at the person's position
        thermal = None if q is None else (np.maximum(q, 0).reshape(n, t.size).max(1) ** (4 / 3)) * p.thermal_stay_s
        return loads, thermal

    # -------------------------------------------------------------- buildings
    def buildings(self):
        """Per occupied building: indoor loads per substance over the window and over the pre-movement
        (outdoor concentration = the maximum over the footprint's corners and centroid; one batched
        evaluation for all buildings)."""
        p = self.p
        blds = [b for b in self.plant.buildings.values() if b.occupied]
        t = np.arange(self.t0, self.t0 + p.shelter_window_s + 1e-9, p.exposure_dt_s)
        pts_all, owner = [], []
        for kb, b in enumerate(blds):
            g = b.geometry
            ring = np.asarray(g.exterior.coords if g.geom_type == "Polygon" else g.convex_hull.exterior.coords)[:-1, :2]
            if len(ring) > 8:
                ring = ring[np.linspace(0, len(ring) - 1, 8).astype(int)]
            pts = np.vstack([ring, [[g.centroid.x, g.centroid.y]]])
            pts_all.append(pts)
            owner.append(np.full(len(pts), kb))
        if not blds:
            return []
        P = np.vstack(pts_all)
        own = np.concatenate(owner)
        X = np.tile(P[:, 0], t.size)
        Y = np.tile(P[:, 1], t.size)
        T = np.repeat(t, len(P))
        cs, q = _evaluate(self.hazard, X, Y, T)
        out = []
        end_pre = np.searchsorted(t, self.t_dep, "right")
        co_all = []
        for c in cs:  # (nt, npts) -> max per building -> (nb, nt)
            c2 = c.reshape(t.size, len(P))
            co = np.full((len(blds), t.size), 0.0)
            for kb in range(len(blds)):
                co[kb] = c2[:, own == kb].max(1)
            co_all.append(co)
        ach = np.array([b.air_changes_per_h for b in blds])
        win_k, pre_k = [], []
        for k, co in enumerate(co_all):
            ci = indoor_concentration(t, co, ach)
            end = exposure_end_index(co, ci)
            win_k.append(toxic_load_s(t, ci, self.ch.exponent[k], end))
            pre_k.append(toxic_load_s(t, ci, self.ch.exponent[k], np.full(len(blds), end_pre)))
        qmax = np.zeros(len(blds)) if q is None else np.array(
            [q.reshape(t.size, len(P))[:, own == kb].max() for kb in range(len(blds))])
        for kb, b in enumerate(blds):
            out.append((b, [float(w[kb]) for w in win_k], [float(pp[kb]) for pp in pre_k], float(qmax[kb])))
        return out

    # -------------------------------------------------------------- responders
    def responders(self) -> list[ResponderRoute]:
        p, plant, hz = self.p, self.plant, self.hazard
        if not hz.sources:
            return []
        graph = road_graph(plant)
        usable = graph.usable_edges(vehicles_only=True, blocked=self.blocked)
        if not usable.any():
            return []
        # an edge the envelope closes at any time of the window is dropped; the others cost
        # length · (1 + weight · worst ratio along them), sampled every 2 m
        env_max = self.env.ratio.max(axis=0)
        pts, owner = graph.sample_edges(2.0)
        edge_ratio = np.zeros(len(graph.edges))
        np.maximum.at(edge_ratio, owner, env_max[self.raster.cell_of(pts[:, 0], pts[:, 1])])
        usable &= edge_ratio < p.grid_margin
        if not usable.any():
            return []
        cost = graph.edge_length_m * (1 + p.hazard_weight * edge_ratio)
        nodes = graph.nodes_xy_m
        node_ratio = env_max[self.raster.cell_of(nodes[:, 0], nodes[:, 1])]
        block = shapely.union_all(self.blocked) if self.blocked else None
        gates = [g for g in plant.gates.values() if g.vehicles and
                 (block is None or not shapely.intersects(block, g.geometry))]
        out: list[ResponderRoute] = []
        for g in gates:
            gx, gy = g.geometry.coords[0][:2]
            gi = graph.nearest_node(gx, gy, edges=usable)
            dist, pred = graph.shortest_paths(gi, edges=usable, cost=cost)
            for src in hz.sources:
                if src.end_s < self.t0:
                    continue
                frm = hz.wind_from_deg(self.t0) if hz.wind_from_deg is not None else 0.0
                th = math.radians(frm)
                ideal = np.array([src.xy_m[0] + p.responder_standoff_m * math.sin(th),
                                  src.xy_m[1] + p.responder_standoff_m * math.cos(th)])
                dsrc = np.hypot(nodes[:, 0] - src.xy_m[0], nodes[:, 1] - src.xy_m[1])
                ok = np.isfinite(dist) & (node_ratio < p.grid_margin) & (dsrc >= 0.5 * p.responder_standoff_m)
                if not ok.any():
                    continue
                cand = np.flatnonzero(ok)
                j = int(cand[np.argmin(np.hypot(nodes[cand, 0] - ideal[0], nodes[cand, 1] - ideal[1]))])
                poly = np.vstack([[gx, gy], nodes[graph.path(pred, gi, j)]])
                seg = np.hypot(*np.diff(poly, axis=0).T)
                length = float(seg.sum())
                tms = self.t0 + p.responder_turnout_s + np.concatenate([[0.0], np.cumsum(seg)]) / p.responder_speed_m_s
                spts, sts = sample_route(poly, tms, 2.0)
                cs, q = _evaluate(hz, spts[:, 0], spts[:, 1], sts)
                rmax = float(_ratio(self.ch, cs, q, sts.shape).max())
                out.append(ResponderRoute(g.id, src.id, (round(float(nodes[j, 0]), 2), round(float(nodes[j, 1]), 2)),
                                          _xy_list(poly), roads_followed(plant, spts, min_run=3, kinds=("road",)),
                                          round(length, 1),
                                          round(p.responder_turnout_s + length / p.responder_speed_m_s, 1),
                                          rmax <= p.verify_ratio, round(rmax, 4)))
        return out


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
    T = _time.perf_counter()
    P = _Planner(plant, hazard, t0_s, blocked, p)
    areas = list(plant.areas.values())
    blds = [b for b in plant.buildings.values() if b.occupied]
    # representative points: per area and per building (virtual people)
    area_pts = np.array([a.geometry.representative_point().coords[0] for a in areas]).reshape(-1, 2)
    bld_pts = np.array([[b.geometry.centroid.x, b.geometry.centroid.y] for b in blds]).reshape(-1, 2)
    P.setup(np.vstack([xy, area_pts, bld_pts]))
    T = P.tick("setup", T)
    P.muster_safety()
    T = P.tick("muster_safety", T)
    P.set_horizon()
    P.envelope()
    T = P.tick("envelope", T)
    r = P.raster
    cells = r.nearest_walkable(xy[:, 0], xy[:, 1]) if len(xy) else np.zeros(0, np.int64)
    res, goals, over, polys, times = P.plan(xy, cells, assign=True)
    T = P.tick("people_routes", T)
    vxy = np.vstack([area_pts, bld_pts])
    vcells = r.nearest_walkable(vxy[:, 0], vxy[:, 1])
    vxy_start = r.centre(vcells)
    vres, vgoals, _, vpolys, vtimes = P.plan(vxy_start, vcells, assign=False)
    T = P.tick("area_building_routes", T)

    # doses ---------------------------------------------------------------------------------
    route_loads, route_thermal = P.route_doses(xy, polys, times)
    route_ratio, route_harm = _dose_and_harm(P.ch, route_loads, route_thermal, len(xy))
    stay_loads, stay_thermal = P.stay_doses(xy)
    stay_ratio, stay_harm = _dose_and_harm(P.ch, stay_loads, stay_thermal, len(xy))
    T = P.tick("doses", T)

    # buildings -----------------------------------------------------------------------------
    binfo = P.buildings()
    nA = len(areas)
    b_polys, b_times, b_goals = vpolys[nA:], vtimes[nA:], vgoals[nA:]
    pre = [np.array([bi[2][k] for bi in binfo]) for k in range(len(P.ch.names))]
    if binfo:
        ev_loads, ev_thermal = P.route_doses(bld_pts, b_polys, b_times, indoor_pre=pre)
        ev_ratio, _ = _dose_and_harm(P.ch, ev_loads, ev_thermal, len(binfo))
    else:
        ev_ratio = np.zeros(0)
    buildings: list[BuildingAdvice] = []
    b_in_ratio: dict[str, float] = {}
    b_harm: dict[str, float] = {}
    for k, (b, win, _pre, qmax) in enumerate(binfo):
        in_ratio = max([w / ref for w, ref in zip(win, P.ch.dose_ref)], default=0.0)
        has_route = b_polys[k] is not None
        evr = float(ev_ratio[k]) if has_route else math.inf
        mp = P.musters[b_goals[k]].id if has_route else None
        if qmax >= FLUX_LIMIT_W_M2 and has_route:
            adv, why = "evacuate", f"heat flux on the building reaches {qmax / 1e3:.1f} kW/m2"
        elif in_ratio < 1e-6 and evr < 1e-6:
            adv, why = "none", "no toxic exposure predicted indoors or on the route"
        elif in_ratio < 1.0 and in_ratio <= evr:
            adv, why = "shelter", (f"indoor load {in_ratio:.2f} x AEGL-2 load ({b.air_changes_per_h:g} ACH) "
                                   f"<= evacuation {evr:.2f} x")
        elif has_route:
            adv, why = "evacuate", f"evacuation load {evr:.2f} x AEGL-2 load < indoor {in_ratio:.2f} x"
        else:
            adv, why = "shelter", f"no safe route; indoor load {in_ratio:.2f} x AEGL-2 load (inadequate protection)"
        b_in_ratio[b.id] = in_ratio if adv == "shelter" else math.inf
        b_harm[b.id] = max([float(ex.harm_probability(np.array([w]))[0]) for ex, w in zip(P.ch.exposures, win)],
                           default=0.0)
        buildings.append(BuildingAdvice(b.id, adv, round(in_ratio, 6), round(evr, 6) if np.isfinite(evr) else None,
                                        b.air_changes_per_h, mp, why))
    T = P.tick("buildings", T)

    # people --------------------------------------------------------------------------------
    person_area = area_index(plant).area_ids(xy[:, 0], xy[:, 1]).tolist() if len(xy) else []
    bgeoms = [(b.id, b.geometry) for b in blds]
    people: list[PersonAdvice] = []
    env_area_ratio = {}
    envmax = P.env.ratio.max(axis=0)
    for a in areas:
        m = r.mask_of(a.geometry)
        env_area_ratio[a.id] = float(envmax[m].max()) if m.any() else 0.0
    for k, pid in enumerate(ids):
        has_route = polys[k] is not None
        # nearest sheltering building within reach
        shelter_b, shelter_r = None, math.inf
        for bid, g in bgeoms:
            if b_in_ratio.get(bid, math.inf) < shelter_r and g.distance(Point(xy[k])) <= p.shelter_reach_m:
                shelter_b, shelter_r = bid, b_in_ratio[bid]
        dose = {n: float(L[k]) for n, L in zip(P.ch.names, route_loads)} if has_route else \
            {n: float(L[k]) for n, L in zip(P.ch.names, stay_loads)}
        if route_thermal is not None:
            dose["thermal"] = float(route_thermal[k] if has_route else stay_thermal[k])
        if has_route and not (shelter_b is not None and shelter_r < route_ratio[k]):
            action, ratio, harm = "evacuate", float(route_ratio[k]), float(route_harm[k])
            reason = f"safe route to {P.musters[goals[k]].id}"
            if over[k]:
                reason += " (muster point over capacity)"
            shelter_b = None
        elif shelter_b is not None:
            action, ratio, harm = "shelter", float(shelter_r), b_harm[shelter_b]
            reason = f"shelter in {shelter_b}" + ("" if has_route else " (no safe route)")
        else:
            action, ratio, harm = "evacuate", float(stay_ratio[k]), float(stay_harm[k])
            reason = "no safe route and no adequate shelter within reach"
        area = person_area[k]
        affected = (p.scope == "site" or (area is not None and env_area_ratio.get(area, 0.0) >= p.affected_ratio)
                    or stay_ratio[k] >= p.affected_ratio)
        if not affected and action == "evacuate" and has_route:
            action, reason = "none", "area not affected; route prepared"
        at_risk = bool(ratio >= 1.0 or stay_ratio[k] >= 1.0 or harm >= p.harm_threshold
                       or stay_harm[k] >= p.harm_threshold or (not has_route and action != "shelter"))
        people.append(PersonAdvice(
            id=pid, xy=(float(xy[k, 0]), float(xy[k, 1])), area=area, action=action,
            route_xy=polys[k] if action != "shelter" else None, route_t_s=times[k] if action != "shelter" else None,
            muster_point=P.musters[goals[k]].id if has_route and action != "shelter" else None,
            arrival_s=float(times[k][-1]) if has_route and action != "shelter" else None,
            shelter_building=shelter_b if action == "shelter" else None,
            dose=dose, dose_ratio=round(ratio, 6), harm_probability=round(harm, 6),
            stay_dose_ratio=round(float(stay_ratio[k]), 6), stay_harm_probability=round(float(stay_harm[k]), 6),
            at_risk=at_risk, over_capacity=bool(over[k]) and action == "evacuate", reason=reason))
    T = P.tick("people", T)

    # areas ---------------------------------------------------------------------------------
    instructions: list[AreaInstruction] = []
    for ka, a in enumerate(areas):
        mine = [pp for pp in people if pp.area == a.id]
        affected = p.scope == "site" or env_area_ratio[a.id] >= p.affected_ratio or any(pp.at_risk for pp in mine)
        poly = vpolys[ka]
        acts = Counter(pp.action for pp in mine if pp.action != "none")
        if not affected:
            action, why = "none", f"hazard below {p.affected_ratio:g} x AEGL-2 / 5 kW/m2 in the area"
        elif mine and acts and acts.most_common(1)[0][0] == "shelter":
            action, why = "shelter", f"{acts['shelter']} of {len(mine)} people are safer indoors"
        elif poly is None:
            action, why = "shelter", "no safe route from the area"
        else:
            action, why = "evacuate", f"hazard reaches {env_area_ratio[a.id]:.2f} x the limit; safe route checked"
        mp = P.musters[vgoals[ka]].id if poly is not None and action == "evacuate" else None
        if poly is not None and action == "evacuate":
            spts, _ = sample_route(poly, vtimes[ka], 2.0)
            route_ids = roads_followed(plant, spts)
            wp = LineString(poly).simplify(2.0) if len(poly) > 1 else Point(poly[0])
            route_xy = np.round(np.asarray(wp.coords)[:, :2], 1).tolist()
        else:
            route_ids, route_xy = [], []
        instructions.append(AreaInstruction(a.id, action, route_ids, route_xy, mp, why, len(mine)))

    muster = [MusterStatus(m.id, m.capacity, int(sum(pp.muster_point == m.id for pp in people)),
                           bool(P.m_excluded[q]), int(P.m_tier[q]), round(float(P.m_ratio[q]), 6))
              for q, m in enumerate(P.musters)]
    T = P.tick("areas", T)
    responders = P.responders()
    T = P.tick("responders", T)
    P.timings["total"] = round(sum(v for v in P.timings.values()), 4)
    return Recommendations(plant.id, float(t0_s), P.t_dep, p, people, instructions, buildings, responders, muster,
                           P.ch.names, P.timings, P.notes)
