"""Safe routes from start points to the usable muster points, on a time-dependent hazard.

:meth:`RoutePlanner.build` makes a planner complete, in one call: the plant's walkable raster
minus ``blocked`` (:func:`safetwin.plant_models.geometry.plant_walkable_raster`), the usable
muster points (not inside a blocked area nor reaching into a source's stand-off) and their goal
cells, their safety (:mod:`.muster`),
the routing window and the hazard envelope (:mod:`.routing`). :meth:`RoutePlanner.plan` then routes a set of start points:

1. a time-dependent search per start (:func:`.routing.td_dijkstra`); a start the envelope boxes
   in is searched again *relaxed*; a start already above ``verify_ratio`` of the limit at the
   departure gets no route;
2. a muster point per route: the capacity-aware assignment for people, the best point for
   areas and buildings (:mod:`.muster`);
3. the **exact check**: every chosen route is sampled at ``sample_m`` and the continuous
   hazard evaluated at the walker's time there; violations close the 3 × 3 cells around them
   for the intervals around their times and the start is routed again. A (start, muster point)
   pair failing ``max_repairs`` times (half as many when relaxed) is banned. A route that is not
   verified in the end is dropped.

Off-site assembly points (``plant.meta.assembly_points``) join the muster points as candidates
(after them, marked ``offsite`` in the safety), with their approach corridors from the gates in
the raster (``plant_walkable_raster(..., approaches=True)``); :mod:`.muster` decides when they may
be chosen.

The routing window is 1.5 × the longest hazard-free walk from a start to its nearest usable
muster point, + 120 s (beyond it the last interval of the envelope holds; routes are checked
exactly anyway), at most 1 h, unless ``params.horizon_s`` sets it.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
import skfmm
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from safetwin.plant_models.geometry import WalkableRaster, plant_walkable_raster
from safetwin.plant_models.loader import Plant

from .hazard import HazardSpec
from .limits import ToxicChannels, evaluate_hazard, limit_ratio
from .muster import MusterSafety, assign_musters, best_muster, muster_safety
from .records import RecommendParams
from .routing import (HazardEnvelope, SearchResult, build_envelope, route_polyline, sample_route, td_dijkstra,
                      vertex_times)


def sample_routes(polylines: Sequence[np.ndarray | None], times_s: Sequence[np.ndarray | None],
                  spacing_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every route sampled at ≤ ``spacing_m``: points (m), times (s) and the index of the route
    of each sample (routes that are None have none)."""
    pts, ts, own = [], [], []
    for k, (pl, tm) in enumerate(zip(polylines, times_s)):
        if pl is None or tm is None:
            continue
        a, b = sample_route(pl, tm, spacing_m)
        pts.append(a)
        ts.append(b)
        own.append(np.full(len(b), k))
    if not pts:
        return np.zeros((0, 2)), np.zeros(0), np.zeros(0, int)
    return np.vstack(pts), np.concatenate(ts), np.concatenate(own)


def standoff_distance_m(raster: WalkableRaster, hazard: HazardSpec, t0_s: float, *, standoff_m: float) -> np.ndarray:
    """Per raster cell (flat): its centre's distance (m) to the nearest source of ``hazard`` not
    ended by ``t0_s`` when within ``standoff_m`` + one cell of it (a step between two centres
    outside then stays ``standoff_m`` away), inf elsewhere (:attr:`.routing.HazardEnvelope.standoff`)."""
    out = np.full(raster.nx * raster.ny, np.inf)
    sources = [s for s in hazard.sources if s.end_s >= t0_s]
    if standoff_m <= 0 or not sources:
        return out
    X, Y = np.meshgrid(raster.xc, raster.yc)
    d = np.min([np.hypot(X - s.xy_m[0], Y - s.xy_m[1]) for s in sources], axis=0).ravel()
    inside = d < standoff_m + raster.h
    out[inside] = d[inside]
    return out


def muster_goal_cells(raster: WalkableRaster, musters: Sequence) -> np.ndarray:
    """Flat goal id per raster cell: the muster point whose disc holds the walkable cell (the first
    one for overlaps; the nearest walkable cell when the disc holds none), -1 elsewhere."""
    gid = np.full(raster.nx * raster.ny, -1, np.int16)
    walk_flat = raster.walkable.ravel()
    for q, m in enumerate(musters):
        mask = raster.mask_of(Point(m.position).buffer(m.radius_m)) & walk_flat & (gid < 0)
        if not mask.any():
            mask = np.zeros_like(mask)
            mask[raster.nearest_walkable(np.array([m.position[0]]), np.array([m.position[1]]))[0]] = True
        gid[mask] = q
    return gid


def geodesic_horizon_s(raster: WalkableRaster, goal_id: np.ndarray, usable: np.ndarray, start_cells: np.ndarray, *,
                       speed_m_s: float) -> float:
    """Routing window (s): 1.5 × the longest hazard-free walk from a start to its nearest usable
    muster point, + 120 s (fast marching on the walkable raster)."""
    walk = raster.walkable
    best = np.full(len(start_cells), np.inf)
    for q in np.flatnonzero(usable):
        tgt = (goal_id == q).reshape(walk.shape)
        if not tgt.any():
            continue
        phi = np.ma.MaskedArray(np.where(tgt, -1.0, 1.0), mask=~walk)
        try:
            d = np.ma.filled(skfmm.distance(phi, dx=raster.h), np.inf).ravel()
        except ValueError:
            continue
        best = np.minimum(best, d[start_cells])
    fin = best[np.isfinite(best)]
    worst = float(fin.max()) if fin.size else float(np.hypot(raster.nx, raster.ny) * raster.h)
    return 1.5 * worst / speed_m_s + 120.0


@dataclass
class PlannedRoutes:
    """Checked routes of a set of start points (per start: None / -1 when it has none)."""

    goal: np.ndarray                          # muster point index
    over_capacity: np.ndarray                 # bool: assigned to an over-capacity slot
    polylines: list[np.ndarray | None]        # route vertices (m)
    times_s: list[np.ndarray | None]          # walker's time at each vertex


@dataclass
class RoutePlanner:
    """Everything the route search needs, complete (see the module docstring); build it with :meth:`build`."""

    hazard: HazardSpec
    channels: ToxicChannels
    params: RecommendParams
    departure_s: float
    raster: WalkableRaster
    musters: list                             # usable muster points (plant order)
    goal_id: np.ndarray                       # per raster cell, see :func:`muster_goal_cells`
    safety: MusterSafety
    horizon_s: float
    envelope: HazardEnvelope
    notes: list[str] = field(default_factory=list)
    exit_gates: list[str | None] = field(default_factory=list)  # per muster point: "name (id)" of its gate, None on-site

    @classmethod
    def build(cls, plant: Plant, hazard: HazardSpec, channels: ToxicChannels, *, t0_s: float,
              blocked: Sequence[BaseGeometry], starts_xy_m: np.ndarray, params: RecommendParams,
              on_stage: Callable[[str], None] = lambda stage: None) -> RoutePlanner:
        """The planner for people leaving at ``t0_s + premovement_s``; ``starts_xy_m`` (every start
        point that will be routed) sets the routing window. ``on_stage`` is called after the stages
        ``setup``, ``muster_safety`` and ``envelope`` (timings)."""
        p = params
        departure = float(t0_s) + p.premovement_s
        blocked = list(blocked)
        raster = plant_walkable_raster(plant, p.cell_m, blocked=blocked, approaches=True)
        block = shapely.union_all(blocked) if blocked else None
        active = [s for s in hazard.sources if s.end_s >= float(t0_s)]
        candidates = plant.mustering_points
        musters = [m for m in candidates if (block is None or not shapely.contains_xy(block, *m.position))
                   and all(math.dist(m.position[:2], s.xy_m) >= p.source_standoff_m + m.radius_m for s in active)]
        notes = []
        if len(musters) < len(candidates):
            notes.append("muster points inside blocked areas or a source's stand-off are not used: "
                         + ", ".join(sorted({m.id for m in candidates} - {m.id for m in musters})))
        exit_gates = [None if getattr(m, "gate_id", None) is None else
                      f"{plant.gates[m.gate_id].name or m.gate_id} ({m.gate_id})" for m in musters]
        goal_id = muster_goal_cells(raster, musters)
        start_cells = raster.nearest_walkable(starts_xy_m[:, 0], starts_xy_m[:, 1])
        on_stage("setup")
        safety = muster_safety(musters, hazard, channels, departure_s=departure,
                               site_diagonal_m=math.hypot(raster.nx, raster.ny) * raster.h, params=p)
        notes += safety.notes
        on_stage("muster_safety")
        horizon = p.horizon_s if p.horizon_s is not None else min(
            geodesic_horizon_s(raster, goal_id, ~safety.excluded, start_cells, speed_m_s=p.speed_m_s), 3600.0)
        envelope = build_envelope(raster, hazard, channels.aegl2_mg + [], departure, departure + horizon,
                                  p.snapshot_dt_s, grid_margin=p.grid_margin, hazard_weight=p.hazard_weight)
        envelope.standoff = standoff_distance_m(raster, hazard, float(t0_s), standoff_m=p.source_standoff_m)
        on_stage("envelope")
        return cls(hazard=hazard, channels=channels, params=p, departure_s=departure, raster=raster,
                   musters=musters, goal_id=goal_id, safety=safety, horizon_s=horizon, envelope=envelope,
                   notes=notes, exit_gates=exit_gates)

    @property
    def muster_count(self) -> int:
        return len(self.musters)

    # -------------------------------------------------------------- searches
    def search(self, cells: np.ndarray, relaxed: np.ndarray | None = None,
               skip: np.ndarray | None = None) -> list[SearchResult]:
        """Searches from ``cells``; a start the envelope boxes in (no usable muster point reached) is
        searched again ``relaxed`` (only exact-check closures), and stays relaxed afterwards. ``skip``:
        starts with no possible safe route (empty result)."""
        usable = ~self.safety.excluded
        relaxed = np.zeros(len(cells), bool) if relaxed is None else relaxed
        out = []
        for k, c in enumerate(cells):
            if skip is not None and skip[k]:
                out.append(SearchResult(np.full(self.muster_count, np.inf), np.full(self.muster_count, np.inf),
                                        [None] * self.muster_count))
                continue
            r = td_dijkstra(self.raster, self.envelope, self.goal_id, usable, int(c), self.departure_s,
                            self.params.speed_m_s, relaxed=bool(relaxed[k]))
            if not relaxed[k] and usable.any() and not np.isfinite(r.arrival_s[usable]).any():
                relaxed[k] = True
                r = td_dijkstra(self.raster, self.envelope, self.goal_id, usable, int(c), self.departure_s,
                                self.params.speed_m_s, relaxed=True)
            out.append(r)
        return out

    def choose_musters(self, assign: bool, results: list[SearchResult],
                       banned: list[set[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Muster point per route (-1 none) and over-capacity flags: the capacity-aware assignment for
        people, each route's best point for areas and buildings (no capacity)."""
        if assign:
            return assign_musters([r.arrival_s for r in results], [m.capacity for m in self.musters], self.safety,
                                  banned)
        return (np.array([best_muster(r.arrival_s, self.safety, banned[k]) for k, r in enumerate(results)], int),
                np.zeros(len(results), bool))

    def routes_for(self, xy: np.ndarray, results: list[SearchResult],
                   goals: np.ndarray) -> tuple[list[np.ndarray | None], list[np.ndarray | None]]:
        """Polylines (from each start point) and vertex times of the chosen routes."""
        polys: list[np.ndarray | None] = []
        times: list[np.ndarray | None] = []
        for k, (r, q) in enumerate(zip(results, goals)):
            if q < 0 or r.paths[q] is None:
                polys.append(None)
                times.append(None)
                continue
            poly = route_polyline(self.raster, xy[k], r.paths[q])
            polys.append(poly)
            times.append(vertex_times(poly, self.departure_s, self.params.speed_m_s))
        return polys, times

    def close_cells(self, bad_xy: np.ndarray, bad_t: np.ndarray) -> None:
        """Close the 3 × 3 cells around violating samples for the intervals around their times."""
        r, env = self.raster, self.envelope
        c = r.cell_of(bad_xy[:, 0], bad_xy[:, 1])
        ci, cj = c % r.nx, c // r.nx
        for dk in (-1, 0, 1):
            k = np.clip(env.interval(bad_t) + dk, 0, env.nk - 1)
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    ii, jj = np.clip(ci + di, 0, r.nx - 1), np.clip(cj + dj, 0, r.ny - 1)
                    env.closed[k, jj * r.nx + ii] = True
                    env.repaired[k, jj * r.nx + ii] = True

    def plan(self, xy: np.ndarray, cells: np.ndarray, assign: bool) -> PlannedRoutes:
        """Search, choose muster points (assignment or best point), check exactly and repair (see
        the module docstring). ``xy`` start points (m), ``cells`` their raster cells."""
        p = self.params
        n = len(cells)
        relaxed = np.zeros(n, bool)
        # nobody can leave safely from a start already above the limit at the departure time
        if n:
            cs, q = evaluate_hazard(self.hazard, xy[:, 0], xy[:, 1], np.full(n, self.departure_s))
            trapped = limit_ratio(self.channels, cs, q, (n,)) > p.verify_ratio
        else:
            trapped = np.zeros(0, bool)
        results = self.search(cells, relaxed, skip=trapped)
        banned: list[set[int]] = [set() for _ in range(n)]
        fails: dict[tuple[int, int], int] = {}
        verified: dict[tuple[int, int], bool] = {}
        n_search = [n]
        for _round in range(2 * p.max_repairs + 2):
            goals, over = self.choose_musters(assign, results, banned)
            polys, times = self.routes_for(xy, results, goals)
            todo = [k for k in range(n) if polys[k] is not None and (k, goals[k]) not in verified]
            if not todo:
                break
            todo_set = set(todo)
            sub_p = [polys[k] if k in todo_set else None for k in range(n)]
            pts, ts, own = sample_routes(sub_p, times, p.sample_m)
            cs, q = evaluate_hazard(self.hazard, pts[:, 0], pts[:, 1], ts)
            rat = limit_ratio(self.channels, cs, q, ts.shape)
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
        goals, over = self.choose_musters(assign, results, banned)
        polys, times = self.routes_for(xy, results, goals)
        for k in range(n):
            if polys[k] is not None and not verified.get((k, int(goals[k])), False):
                polys[k] = None
                times[k] = None
                goals[k] = -1
        return PlannedRoutes(goal=goals, over_capacity=over, polylines=polys, times_s=times)

    def area_peak_ratios(self, areas: Sequence) -> dict[str, float]:
        """Per area (``id``, ``geometry``): the highest envelope ratio over the window in its raster
        cells (0 if it has none)."""
        envelope_max = self.envelope.ratio.max(axis=0)
        out = {}
        for a in areas:
            mask = self.raster.mask_of(a.geometry)
            out[a.id] = float(envelope_max[mask].max()) if mask.any() else 0.0
        return out
