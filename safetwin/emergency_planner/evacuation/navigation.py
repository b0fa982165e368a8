"""Navigation: fast-marching travel-time fields to goals on a raster of the walkable area.

A field ``T_K`` is the travel time (in metres at unit free speed, i.e. route length weighted by
cost) from every walkable cell to the nearest goal of the set ``K``; it solves the eikonal
equation ``|grad T| = cost`` with scikit-fmm. Agents walk along ``-grad T`` sampled bilinearly at
their position. The cost is ``1 / (wall factor)`` times the hazard cost factor.

Hazard timing (documented approximation). A cell should be costed with the hazard at the time it
will be crossed. The crossing time depends on the route of each agent, which is what is being
solved for, so it is estimated once per re-plan for the whole crowd: ``t_cross(c) = t_start +
tau(c)`` where ``tau`` is a *forward* fast-marching arrival time from the current positions of
all agents still to evacuate, walking at ``hazard_reference_speed_m_s`` (no hazard), and
``t_start`` is the earliest time any of them starts moving (now, or the end of the shortest
remaining pre-movement). This is the earliest time any evacuee can be at ``c``; for plumes that
grow or drift it errs on the early side for the people far from ``c``. Fields are re-planned every
``replan_interval_s`` so the error is bounded by the evolution of the hazard over that interval.
To keep re-plans cheap, ``tau`` is recomputed only every ``NavigationParams.tau_refresh_s`` and
aged in between (``tau - elapsed``, floored at 0: the crowd front is assumed to keep advancing),
and the goal fields are re-solved only when some cell's cost changed by more than
``NavigationParams.replan_cost_rtol`` — and then incrementally: only the cells whose cost moved by
more than that take the new cost, and each field is re-marched only from the nearest changed cell
outwards (:class:`NavigationFields`, :mod:`._fmm`).
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

import numpy as np
import shapely
import skfmm
from scipy import ndimage

from safetwin.plant_models.geometry import WalkableRaster, rasterise_walkable

from ._fmm import march, restart, start_times
from .geometry import EvacuationGeometry
from .params import NavigationParams

__all__ = ["Raster", "build_raster", "NavigationFields", "HazardFn", "concentration_hazard"]

HazardFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""``hazard(x_m, y_m, t_s) -> cost factor`` (>= 1; 1 = harmless, inf = impassable), vectorised."""


@dataclass(eq=False)
class Raster(WalkableRaster):
    """The navigation raster: the shared walkable raster of the geometry
    (:func:`safetwin.plant_models.geometry.rasterise_walkable`, here with blocked polygons removed)
    plus the goal and wall-distance layers of the navigation."""

    goal_id: np.ndarray  # (ny, nx) int16, index of the goal covering the cell centre, -1 none
    wall_factor: np.ndarray  # (ny, nx) float, navigation speed factor near walls (speed zones included)
    zone_factor: np.ndarray  # (ny, nx) float64, free-speed factor of the speed zones (1 elsewhere)


def build_raster(geometry: EvacuationGeometry, params: NavigationParams, blocked=()) -> Raster:
    """Navigation raster of ``geometry`` at ``params.cell_m`` (None: from the walkable area, see
    :class:`NavigationParams`), cells inside ``blocked`` polygons closed."""
    area = geometry.walkable.area
    h = params.cell_m or max(0.1, min(0.25, float(np.sqrt(area / 6e5))), float(np.sqrt(area / 2e6)))
    shared = rasterise_walkable(geometry.walkable, h, walls=geometry.walls)
    x0, y0, nx, ny = shared.x0, shared.y0, shared.nx, shared.ny
    walk = shared.walkable.copy()
    for poly in blocked:
        walk &= ~shared.mask_of(poly).reshape(walk.shape)
    X, Y = np.meshgrid(shared.xc, shared.yc)
    goal_id = np.full((ny, nx), -1, np.int16)
    for k, g in enumerate(geometry.goals):
        gx0, gy0, gx1, gy1 = g.polygon.bounds  # test only the cells under the goal's bounding box
        i0, i1 = max(int((gx0 - x0) / h) - 1, 0), min(int((gx1 - x0) / h) + 2, nx)
        j0, j1 = max(int((gy0 - y0) / h) - 1, 0), min(int((gy1 - y0) / h) + 2, ny)
        sub = shapely.contains_xy(g.polygon, X[j0:j1, i0:i1], Y[j0:j1, i0:i1]) & walk[j0:j1, i0:i1]
        goal_id[j0:j1, i0:i1][sub] = k
    # distance from cell centre to the nearest non-walkable cell centre, minus half a cell
    # (periodic seams are not walls: pad by wrapping there)
    periodic = geometry.periodic_x is not None
    P = np.pad(walk, ((0, 0), (1, 1)), mode="wrap") if periodic else np.pad(walk, ((0, 0), (1, 1)))
    P = np.pad(P, ((1, 1), (0, 0)))
    if P.all():
        dist = np.full(walk.shape, np.inf)
    else:
        dist = ndimage.distance_transform_edt(P)[1:-1, 1:-1] * h - 0.5 * h
    c = params.wall_clearance_m
    f = params.wall_speed_factor
    wall_factor = np.where(dist >= c, 1.0, f + (1 - f) * np.clip(dist, 0, None) / c) if c > 0 else np.ones_like(dist)
    zone_factor = np.ones((ny, nx))
    for zone in geometry.speed_zones:
        zone_factor[shared.mask_of(zone.polygon).reshape(walk.shape)] = zone.factor
    return Raster(x0, y0, shared.h, nx, ny, walk, goal_id, wall_factor * zone_factor, zone_factor)


@dataclass
class Field:
    key: tuple[int, ...]
    T: np.ndarray  # (ny, nx) float64, inf where unreachable; invalid cells filled from nearest valid
    direction: np.ndarray  # (ny, nx, 2) float32 unit vectors (desired direction)
    marched: np.ndarray | None = None
    """The fast-marching times as solved (inf off the passable area, goal cells not yet zeroed):
    where an incremental re-plan restarts from."""
    start: np.ndarray | None = None
    """The march's start times (NaN off the start cells), see :func:`._fmm.start_times`."""


class NavigationFields:
    """Cache of travel-time fields keyed by the (sorted) tuple of goal indices they lead to.

    Incremental re-planning: when the cost changes, each cached field is kept as *stale* with the
    cells whose speed changed since it was solved; its next request re-marches only the cells at
    least as far from the goals as the nearest changed cell (:mod:`._fmm`, exact: the same values
    as a full solve with the installed cost). With ``rtol > 0`` only the cells whose cost moved by
    more than ``rtol`` (relative) take the new cost, the others keep the installed one, so the
    installed cost is within ``rtol`` of the latest everywhere and every travel time within
    ``rtol`` (relative) of a full solve with the latest cost (the eikonal solution is monotone and
    homogeneous of degree 1 in the cost)."""

    def __init__(self, raster: Raster, params: NavigationParams):
        self.raster = raster
        self.params = params
        self.speed = raster.wall_factor.copy()  # navigation speed factor (hazard included)
        self.passable = raster.walkable.copy()
        self.fields: dict[tuple[int, ...], Field] = {}
        self.version = 0
        self._cost: np.ndarray | None = None
        #: fields solved before the latest cost changes, with the cells changed since
        self._stale: dict[tuple[int, ...], tuple[Field, np.ndarray]] = {}
        self.solves = {"full": 0, "incremental": 0, "cells_marched": 0}

    def set_hazard_cost(self, cost: np.ndarray | None, rtol: float = 0.0) -> bool:
        """Install a cost-factor raster (None = no hazard); the cached fields become stale. With
        ``rtol > 0`` only the cells whose cost moved by more than ``rtol`` relative to the
        installed one (or that turn passable or impassable) take the new value, and nothing
        happens (returns False) when there are none on the walkable area."""
        old = self._cost
        if cost is not None:
            cost = np.asarray(cost, float)
        incremental = self.params.incremental_replan
        if cost is not None and rtol > 0 and old is not None:
            w = self.raster.walkable
            top = self.params.max_cost_factor
            with np.errstate(invalid="ignore"):
                same = (np.isinf(old) & np.isinf(cost)) | (np.abs(cost - old) <= rtol * np.abs(old))
            same &= (old < top) == (cost < top)  # a cell that turns (im)passable always takes the new cost
            if same[w].all():
                return False
            if incremental:
                cost = np.where(same, old, cost)
        self._cost = None if cost is None else cost.copy()
        speed, passable = self.speed, self.passable
        if cost is None:
            self.speed = self.raster.wall_factor.copy()
            self.passable = self.raster.walkable.copy()
        else:
            ok = np.isfinite(cost) & (cost < self.params.max_cost_factor)
            self.speed = self.raster.wall_factor / np.where(ok, np.maximum(cost, 1.0), 1.0)
            self.passable = self.raster.walkable & ok
        changed = (passable != self.passable) | (self.passable & (speed != self.speed))
        for _, since in self._stale.values():
            since |= changed
        for key, f in self.fields.items():
            if f.marched is not None and incremental:
                self._stale[key] = (f, changed.copy())
        self.fields.clear()
        self.version += 1
        return True

    def _nearest_passable(self):
        if getattr(self, "_nearest_version", None) != self.version:
            self._nearest = ndimage.distance_transform_edt(~self.passable, return_distances=False,
                                                           return_indices=True)
            self._nearest_version = self.version
        return self._nearest[0], self._nearest[1]

    def set_walkable(self, walkable: np.ndarray) -> None:
        self.raster.walkable = walkable
        cost = self._cost if getattr(self, "_cost", None) is not None else None
        self._cost = None
        self.set_hazard_cost(cost)

    def field(self, key: tuple[int, ...]) -> Field:
        f = self.fields.get(key)
        if f is None:
            f = self._solve(key)
            self.fields[key] = f
        return f

    def _march(self, key: tuple[int, ...], target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fast-marching times to ``target`` (inf off the passable area): re-marched from the
        stale field of ``key`` where one is kept, else solved in full (scikit-fmm); and the start
        times of the march (:func:`._fmm.start_times`)."""
        r = self.raster
        stale = self._stale.pop(key, None)
        start = start_times(target, self.passable, self.speed, float(r.h))
        if stale is not None and stale[0].marched is not None and stale[0].start is not None:
            changed = stale[1]
            frozen, T = restart(stale[0].marched, stale[0].start, start, changed)
            frozen &= self.passable
            if (frozen & np.isnan(start)).any():
                march(T, frozen, self.speed, self.passable, float(r.h))
                self.solves["incremental"] += 1
                self.solves["cells_marched"] += int(np.count_nonzero(self.passable & ~frozen))
                return T, start
        self.solves["full"] += 1
        self.solves["cells_marched"] += int(np.count_nonzero(self.passable))
        phi = np.ma.MaskedArray(np.where(target, -1.0, 1.0), mask=~self.passable)
        tt = skfmm.travel_time(phi, np.where(self.passable, self.speed, 1.0), dx=r.h, order=1)
        return np.ma.filled(tt.astype(float), np.inf), start

    def _solve(self, key: tuple[int, ...]) -> Field:
        r = self.raster
        target = np.isin(r.goal_id, np.asarray(key, np.int16)) & self.passable
        T = np.full((r.ny, r.nx), np.inf)
        marched = start = None
        if target.any():
            marched, start = self._march(key, target)
            T = marched.copy()
            T[target] = 0.0
            T[~self.passable] = np.inf
        else:
            self._stale.pop(key, None)
        from ._kernels import upwind_descent
        direction = np.empty((r.ny, r.nx, 2), np.float32)
        upwind_descent(T, float(r.h), direction)
        # cells off the passable area (walls, impassable hazard) take the direction and T of the
        # nearest passable cell, so people pushed there are led back
        if not self.passable.all():
            jj, ii = self._nearest_passable()
            fill = ~self.passable
            direction[fill] = direction[jj[fill], ii[fill]]
            Tf = np.where(fill, T[jj, ii], T)
        else:
            Tf = T
        return Field(key, Tf, direction, marched, start)

    def sample_T(self, key: tuple[int, ...], x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bilinear interpolation of T at points (inf where any corner is unreachable)."""
        r = self.raster
        T = self.field(key).T
        fx = np.clip((np.asarray(x) - r.x0) / r.h - 0.5, 0, r.nx - 1.000001)
        fy = np.clip((np.asarray(y) - r.y0) / r.h - 0.5, 0, r.ny - 1.000001)
        i = fx.astype(np.int64)
        j = fy.astype(np.int64)
        u = fx - i
        v = fy - j
        i1 = np.minimum(i + 1, r.nx - 1)
        j1 = np.minimum(j + 1, r.ny - 1)
        with np.errstate(invalid="ignore"):
            return ((1 - u) * (1 - v) * T[j, i] + u * (1 - v) * T[j, i1]
                    + (1 - u) * v * T[j1, i] + u * v * T[j1, i1])


def forward_arrival_time(raster: Raster, x: np.ndarray, y: np.ndarray, speed_m_s: float) -> np.ndarray:
    """Earliest time (s) any of the walkers at (x, y) can reach each cell (inf if unreachable)."""
    src = np.zeros((raster.ny, raster.nx), bool)
    ix, iy = raster.index(x, y)
    src[iy, ix] = True
    src &= raster.walkable
    if not src.any():
        return np.full(src.shape, np.inf)
    phi = np.ma.MaskedArray(np.where(src, -1.0, 1.0), mask=~raster.walkable)
    tt = skfmm.travel_time(phi, np.where(raster.walkable, raster.wall_factor * speed_m_s, 1.0), dx=raster.h, order=1)
    tau = np.ma.filled(tt.astype(float), np.inf)
    tau[src] = 0.0
    return tau


def hazard_cost_raster(raster: Raster, hazard: HazardFn, t_cross: np.ndarray) -> np.ndarray:
    """Evaluate the hazard cost factor at every walkable cell at its estimated crossing time."""
    cost = np.ones((raster.ny, raster.nx))
    m = raster.walkable & np.isfinite(t_cross)
    X = np.broadcast_to(raster.xc[None, :], cost.shape)[m]
    Y = np.broadcast_to(raster.yc[:, None], cost.shape)[m]
    cost[m] = np.asarray(hazard(X, Y, t_cross[m]), float)
    return cost


def concentration_hazard(concentration: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
                         reference_mg_m3: float, weight: float = 10.0,
                         impassable_ratio: float | None = 1.0) -> HazardFn:
    """Turn a concentration field into a navigation cost factor.

    ``cost = 1 + weight * C / reference`` (a cell at the reference level, e.g. AEGL-2, costs
    ``1 + weight`` times its length) and cells with ``C >= impassable_ratio * reference`` are
    impassable (None: never). Use AEGL-1 as reference to route people away from any noticeable
    exposure, AEGL-2 to forbid only disabling levels.
    """
    def hazard(x, y, t):
        c = np.asarray(concentration(x, y, t), float)
        cost = 1.0 + weight * c / reference_mg_m3
        if impassable_ratio is not None:
            cost = np.where(c >= impassable_ratio * reference_mg_m3, np.inf, cost)
        return cost

    return hazard
