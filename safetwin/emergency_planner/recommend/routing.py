"""Time-dependent safe routing on the walkable raster.

The site's walkable raster (:func:`safetwin.plant_models.geometry.plant_walkable_raster`: square
cells of ``cell_m``, 4 m by default) is searched with 8-neighbour moves, no corner cutting past
an obstacle. The hazard is sampled into an *envelope*: snapshots every
``snapshot_dt_s`` on a grid of spacing ``2·cell_m``; for the interval between two snapshots a
cell carries the maximum of both snapshots over the four nearest grid nodes and its 8
neighbours. In each interval a cell is **closed** when its envelope ratio ``max(c / AEGL-2(30 min),
q / 5 kW/m²)`` reaches ``grid_margin`` (0.7), and otherwise costs ``1 + hazard_weight · ratio``
per metre (clean air is preferred).

:func:`td_dijkstra` is a label-setting search (numba) from one person's cell at their departure
time, walking at ``speed``: the time at a cell is the departure time plus the route length
over the speed, an edge is usable only when neither end is closed in any interval the walk
across it touches, and labels are ordered by the hazard-weighted cost. One search per usable
muster point, an A* guided by the hazard-free walk length to that point's goal cells (a lower
bound of the cost: every metre costs at least 1; :func:`walk_distance_to`, computed once per
raster and point), stops when the point is reached. Waiting in place is not modelled (people keep
walking).

Cells of a stand-off disc around an active source (``HazardEnvelope.standoff``: their distance to
the source) are entered only moving away from it: nobody walks into the disc, somebody inside
walks out and never back.

A person the margins box in is searched again *relaxed* (``td_dijkstra(..., relaxed=True)``): only
cells whose undilated envelope ratio reaches 1 and cells closed by exact-check violations are closed.

The envelope is a heuristic; the guarantee comes from the exact check of
:meth:`.route_planner.RoutePlanner.plan`, which evaluates the *continuous* hazard functions along
the output route (:func:`sample_route`, every ``sample_m``, with the person's time at each sample;
the ratio of :func:`.limits.limit_ratio`). A violation closes the cells around it for that
interval and the person is routed again, so every route that is output has been checked.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numba
import numpy as np
from scipy import ndimage

from safetwin.emergency_planner.physics.grid import GridSpec
from safetwin.plant_models.geometry import WalkableRaster

from .hazard import HazardSpec, grid_values

__all__ = ["HazardEnvelope", "build_envelope", "td_dijkstra", "route_polyline", "sample_route", "FLUX_LIMIT_W_M2"]

#: Heat flux that closes a cell (W/m²), as for the evacuation agents.
FLUX_LIMIT_W_M2 = 5000.0
_SQ2 = math.sqrt(2.0)


@dataclass
class HazardEnvelope:
    """Per-interval closed cells and cost factors: interval k covers [t_origin + k·dt, t_origin + (k+1)·dt]."""

    t_origin: float
    dt: float
    closed: np.ndarray  # (nk, N) bool
    cost: np.ndarray  # (nk, N) float32
    ratio: np.ndarray  # (nk, N) float32, envelope hazard ratio (1 = at the limit)
    repaired: np.ndarray | None = None  # (nk, N) bool: undilated ratio >= 1, or closed by exact-check violations
    standoff: np.ndarray | None = None  # (N,) m from a cell in a stand-off disc to its source (inf outside)

    def __post_init__(self) -> None:
        if self.repaired is None:
            self.repaired = np.zeros_like(self.closed)
        if self.standoff is None:
            self.standoff = np.full(self.closed.shape[1], np.inf)

    @property
    def nk(self) -> int:
        return self.closed.shape[0]

    def interval(self, t: np.ndarray) -> np.ndarray:
        return np.clip(np.floor((np.asarray(t, float) - self.t_origin) / self.dt).astype(np.int64), 0, self.nk - 1)


def hazard_ratio_grid(hazard: HazardSpec, grid: GridSpec, t_s: float, limits_mg_m3: list[float]) -> np.ndarray:
    """``max(c_s / limit_s, q / 5 kW/m²)`` on the nodes of ``grid`` at ``t_s``."""
    r = np.zeros(grid.shape)
    for (fn, _), lim in zip(hazard.toxic, limits_mg_m3):
        r = np.maximum(r, grid_values(fn, grid, t_s) / lim)
    if hazard.flux is not None:
        r = np.maximum(r, grid_values(hazard.flux, grid, t_s) / FLUX_LIMIT_W_M2)
    return r


def build_envelope(raster: WalkableRaster, hazard: HazardSpec, limits_mg_m3: list[float], t_from: float, t_to: float,
                   dt: float, *, grid_margin: float = 0.7, hazard_weight: float = 10.0) -> HazardEnvelope:
    """The hazard envelope over [t_from, t_to] (see the module docstring)."""
    N = raster.nx * raster.ny
    nk = max(1, int(math.ceil((t_to - t_from) / dt)))
    if hazard.empty:
        z = np.zeros((1, N), np.float32)
        return HazardEnvelope(t_from, max(t_to - t_from, dt), np.zeros((1, N), bool), z + 1.0, z, np.zeros((1, N), bool))
    h2 = 2.0 * raster.h
    gnx, gny = raster.nx // 2 + 2, raster.ny // 2 + 2
    grid = GridSpec(raster.x0, raster.y0, h2, h2, gnx, gny)
    snaps = [hazard_ratio_grid(hazard, grid, t_from + k * dt, limits_mg_m3) for k in range(nk + 1)]
    # cell (j, i) lies between grid nodes j//2 .. j//2+1 and i//2 .. i//2+1
    jj = np.arange(raster.ny) // 2
    ii = np.arange(raster.nx) // 2
    ratio = np.empty((nk, N), np.float32)
    hard = np.empty((nk, N), bool)
    for k in range(nk):
        g = np.maximum(snaps[k], snaps[k + 1])
        g = np.maximum(np.maximum(g[:-1, :-1], g[1:, :-1]), np.maximum(g[:-1, 1:], g[1:, 1:]))  # 4 nodes
        cell = g[np.minimum(jj, g.shape[0] - 1)][:, np.minimum(ii, g.shape[1] - 1)]
        hard[k] = (cell >= 1.0).ravel()
        cell = ndimage.maximum_filter(cell, size=3, mode="nearest")
        ratio[k] = cell.ravel()
    closed = ratio >= grid_margin
    cost = (1.0 + hazard_weight * ratio).astype(np.float32)
    return HazardEnvelope(t_from, dt, closed, cost, ratio, hard)


# ------------------------------------------------------------------------------------------- search
_DI = np.array([1, -1, 0, 0, 1, 1, -1, -1], np.int64)
_DJ = np.array([0, 0, 1, -1, 1, -1, 1, -1], np.int64)


@numba.njit(cache=True)
def _heap_push(hk, hv, n, key, val):
    """Push (key, val) on the binary min-heap held in ``hk``/``hv`` [0, n); returns the new size.
    Ties are broken by the smaller value, as ``heapq`` does with (key, val) tuples."""
    i = n
    hk[i] = key
    hv[i] = val
    while i > 0:
        parent = (i - 1) >> 1
        if hk[i] < hk[parent] or (hk[i] == hk[parent] and hv[i] < hv[parent]):
            hk[i], hk[parent] = hk[parent], hk[i]
            hv[i], hv[parent] = hv[parent], hv[i]
            i = parent
        else:
            break
    return n + 1


@numba.njit(cache=True)
def _heap_pop(hk, hv, n):
    """Remove the smallest entry of the heap of size ``n``; returns its value (the size is n - 1)."""
    top = hv[0]
    n -= 1
    hk[0] = hk[n]
    hv[0] = hv[n]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= n:
            break
        c = left
        right = left + 1
        if right < n and (hk[right] < hk[left] or (hk[right] == hk[left] and hv[right] < hv[left])):
            c = right
        if hk[c] < hk[i] or (hk[c] == hk[i] and hv[c] < hv[i]):
            hk[i], hk[c] = hk[c], hk[i]
            hv[i], hv[c] = hv[c], hv[i]
            i = c
        else:
            break
    return top


@numba.njit(cache=True)
def _walk_distance(walk, goal_id, target, nx, ny, h, di, dj):
    """Length (m) of the shortest 8-neighbour walk (no corner cutting) from every cell to the goal
    cells of ``target`` on the walkable raster, hazards and stand-off ignored (inf where none)."""
    N = nx * ny
    dist = np.full(N, np.inf)
    hk = np.empty(8 * N + 1)
    hv = np.empty(8 * N + 1, np.int64)
    n_heap = 0
    for c in range(N):
        if goal_id[c] == target and walk[c]:
            dist[c] = 0.0
            n_heap = _heap_push(hk, hv, n_heap, 0.0, c)
    done = np.zeros(N, np.bool_)
    while n_heap > 0:
        u = _heap_pop(hk, hv, n_heap)
        n_heap -= 1
        if done[u]:
            continue
        done[u] = True
        iu = u % nx
        ju = u // nx
        for d in range(8):
            iv = iu + di[d]
            jv = ju + dj[d]
            if iv < 0 or iv >= nx or jv < 0 or jv >= ny:
                continue
            v = jv * nx + iv
            if done[v] or not walk[v]:
                continue
            L = h
            if d >= 4:
                if not walk[ju * nx + iv] or not walk[jv * nx + iu]:
                    continue
                L = h * 1.4142135623730951
            if dist[u] + L < dist[v]:
                dist[v] = dist[u] + L
                n_heap = _heap_push(hk, hv, n_heap, dist[v], v)
    return dist


@numba.njit(cache=True)
def _search(walk, closed, cost, goal_id, target, to_goal, start, t_start, t_origin, dt, nx, ny, h, speed, use_closed,
            di, dj, standoff):
    """A* from ``start`` to the first goal cell of muster point ``target``; ``to_goal`` (the walk
    length to it, :func:`_walk_distance`) is the heuristic: admissible and consistent, as every
    edge costs at least its length. Returns the cost, time and predecessor per cell and the goal
    cell reached (-1 none)."""
    N = nx * ny
    nk = closed.shape[0]
    g = np.full(N, np.inf)
    tarr = np.full(N, np.inf)
    parent = np.full(N, -1, np.int64)
    done = np.zeros(N, np.bool_)
    if not to_goal[start] < np.inf:
        return g, tarr, parent, -1
    g[start] = 0.0
    tarr[start] = t_start
    # lazy-deletion binary heap of (cost + heuristic, cell): one entry per improving relaxation at most
    hk = np.empty(8 * N + 1)
    hv = np.empty(8 * N + 1, np.int64)
    n_heap = _heap_push(hk, hv, 0, to_goal[start], start)
    while n_heap > 0:
        u = _heap_pop(hk, hv, n_heap)
        n_heap -= 1
        if done[u]:
            continue
        done[u] = True
        if goal_id[u] == target:
            return g, tarr, parent, u
        gu = g[u]
        iu = u % nx
        ju = u // nx
        tu = tarr[u]
        ku = min(max(int(math.floor((tu - t_origin) / dt)), 0), nk - 1)
        for d in range(8):
            iv = iu + di[d]
            jv = ju + dj[d]
            if iv < 0 or iv >= nx or jv < 0 or jv >= ny:
                continue
            v = jv * nx + iv
            if done[v] or not walk[v] or not to_goal[v] < np.inf:
                continue
            if standoff[v] < np.inf and not standoff[v] > standoff[u]:  # stand-off: only ever outward
                continue
            L = h
            if d >= 4:
                if not walk[ju * nx + iv] or not walk[jv * nx + iu]:
                    continue
                L = h * 1.4142135623730951
            tv = tu + L / speed
            kv = min(max(int(math.floor((tv - t_origin) / dt)), 0), nk - 1)
            ok = True
            if use_closed:
                for k in range(ku, kv + 1):
                    if closed[k, v] or (closed[k, u] and u != start):
                        ok = False
                        break
            if not ok:
                continue
            gv = gu + L * 0.5 * (cost[kv, u] + cost[kv, v])
            if gv < g[v]:
                g[v] = gv
                tarr[v] = tv
                parent[v] = u
                n_heap = _heap_push(hk, hv, n_heap, gv + to_goal[v], v)
    return g, tarr, parent, -1


@numba.njit(cache=True)
def _path(parent, end):
    n = 0
    c = end
    while c >= 0:
        n += 1
        c = parent[c]
    out = np.empty(n, np.int64)
    c = end
    for k in range(n - 1, -1, -1):
        out[k] = c
        c = parent[c]
    return out


@dataclass
class SearchResult:
    """Routes of one person to every muster point: cost, arrival time (s) and cell path per goal
    (cost inf / path None when the goal is unreachable)."""

    cost: np.ndarray  # (n_goals,)
    arrival_s: np.ndarray  # (n_goals,)
    paths: list[np.ndarray | None]


def td_dijkstra(raster: WalkableRaster, env: HazardEnvelope, goal_id: np.ndarray, active: np.ndarray, start_cell: int,
                t_start: float, speed_m_s: float, *, use_closed: bool = True, relaxed: bool = False) -> SearchResult:
    """Time-dependent label-setting (A*) search from ``start_cell`` leaving at ``t_start`` (see the
    module docstring) to every ``active`` muster point, one search per point guided by the walk
    length to it (:func:`walk_distance_to`); ``goal_id`` (flat int16) names the muster point of each
    goal cell (-1 none). Inactive goals get no route.
    ``relaxed``: only cells whose undilated envelope ratio reaches 1 and cells closed by exact-check
    violations are closed (costs kept) — the escape search for people the margins box in."""
    n_goals = len(active)
    closed = env.repaired if relaxed else env.closed
    walk = raster.walkable.ravel()
    cost = np.full(n_goals, np.inf)
    arr = np.full(n_goals, np.inf)
    paths: list[np.ndarray | None] = [None] * n_goals
    for q in np.flatnonzero(np.asarray(active, np.bool_)):
        g, tarr, parent, c = _search(walk, closed, env.cost, goal_id, int(q), walk_distance_to(raster, goal_id, int(q)),
                                     int(start_cell), float(t_start), env.t_origin, env.dt, raster.nx, raster.ny,
                                     raster.h, float(speed_m_s), use_closed, _DI, _DJ, env.standoff)
        if c >= 0:
            cost[q], arr[q] = g[c], tarr[c]
            paths[q] = _path(parent, c)
    return SearchResult(cost, arr, paths)


_WALK_CACHE: dict[tuple[int, int], tuple] = {}
_WALK_LOCK = threading.Lock()


def walk_distance_to(raster: WalkableRaster, goal_id: np.ndarray, target: int) -> np.ndarray:
    """Per raster cell (flat): the length (m) of the shortest walk to a goal cell of muster point
    ``target`` with hazards ignored (inf where none); the lower bound that guides the search. Kept
    for the last raster and goal cells used (the searches of one recommendation share them)."""
    walk = raster.walkable
    key = (id(goal_id), int(target))
    with _WALK_LOCK:
        hit = _WALK_CACHE.get(key)
        if hit is not None and hit[0] is goal_id and hit[1] is walk:
            return hit[2]
    d = _walk_distance(walk.ravel(), goal_id, int(target), raster.nx, raster.ny, raster.h, _DI, _DJ)
    with _WALK_LOCK:
        if any(k[0] != key[0] or v[0] is not goal_id or v[1] is not walk for k, v in _WALK_CACHE.items()):
            _WALK_CACHE.clear()
        _WALK_CACHE[key] = (goal_id, walk, d)
    return d


def route_polyline(raster: WalkableRaster, start_xy: np.ndarray, path: np.ndarray) -> np.ndarray:
    """Route vertices (m): the person's position, then the centres of the path cells (collinear
    runs merged)."""
    pts = np.vstack([np.asarray(start_xy, float)[None, :], raster.centre(path)])
    if len(pts) > 2:
        d = np.diff(pts, axis=0)
        cross = d[:-1, 0] * d[1:, 1] - d[:-1, 1] * d[1:, 0]
        dot = (d[:-1] * d[1:]).sum(1)
        keep = np.concatenate([[True], ~((np.abs(cross) < 1e-9) & (dot > 0)), [True]])
        pts = pts[keep]
    return pts


def vertex_times(poly: np.ndarray, t_start: float, speed_m_s: float) -> np.ndarray:
    """Time (s) at each vertex when walking the polyline at constant speed from ``t_start``."""
    seg = np.hypot(*np.diff(poly, axis=0).T) if len(poly) > 1 else np.zeros(0)
    return t_start + np.concatenate([[0.0], np.cumsum(seg)]) / speed_m_s


def sample_route(poly: np.ndarray, times: np.ndarray, spacing_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ≤ ``spacing_m`` along the polyline (vertices included) and the time at each."""
    if len(poly) == 1:
        return poly.copy(), np.asarray(times, float).copy()
    seg = np.hypot(*np.diff(poly, axis=0).T)
    n = np.maximum(np.ceil(seg / spacing_m).astype(np.int64), 1)
    rep = np.repeat(np.arange(len(seg)), n)
    frac = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(n, n)
    pts = poly[rep] + (poly[rep + 1] - poly[rep]) * frac[:, None]
    ts = times[rep] + (times[rep + 1] - times[rep]) * frac
    return np.vstack([pts, poly[-1:]]), np.concatenate([ts, times[-1:]])
