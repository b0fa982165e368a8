"""The hazard the recommendations avoid: toxic concentration functions and heat flux over time.

:class:`HazardSpec` carries ``c(x_m, y_m, t_s) -> mg/m³`` per toxic substance and
``q(x_m, y_m, t_s) -> W/m²`` (vectorised, paired arrays), plus where the sources are and the wind
(for the responders' upwind staging points). :meth:`HazardSpec.from_incident` builds it from a
scenario run; live mode builds it from an estimated source.

:class:`PuffField` evaluates a :class:`~safetwin.emergency_planner.physics.dispersion.PuffTrain`
like :meth:`PuffTrain.concentration_at` (the train's own sigma model, vertical term and wind
history), but only over the puffs that can contribute more than ``eps_mg_m3 / k`` at a point: for
each time bucket the path of every puff centre is bounded by a box and its spread by the sigmas at
the bucket's ends, so a puff farther than its Gaussian reach from the point is skipped with a
proven bound (the omitted sum is below ``eps_mg_m3``, default 1e-4 mg/m³). The sigmas and the
vertical term are tabulated on a 5 cm travel grid, so the result is within ``1e-5·c + eps`` of
``concentration_at`` (tested). This is what makes checking every route at 0.5 m spacing cheap:
routes keep away from the cloud, so most samples see few puffs.

Example::

    >>> import numpy as np
    >>> from safetwin.emergency_planner.physics.dispersion import WindHistory, puff_train
    >>> from safetwin.emergency_planner.physics.sigmas import PasquillSigmas
    >>> tr = puff_train(source_xy_m=(0.0, 0.0), rate_times_s=np.array([0.0]), rate_kg_s=np.array([1.0]),
    ...                 wind=WindHistory.steady(3.0, 270.0), sigmas=PasquillSigmas("D"), puff_interval_s=2.0,
    ...                 end_time_s=120.0)
    >>> x, y, t = np.array([150.0, 150.0, -50.0]), np.array([0.0, 400.0, 0.0]), np.array([100.0, 100.0, 100.0])
    >>> bool(np.allclose(PuffField(tr)(x, y, t), tr.concentration_at(x, y, t), rtol=1e-5, atol=1e-4))
    True
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from collections.abc import Callable, Sequence

import numba
import numpy as np

from safetwin.emergency_planner.physics.dispersion import PuffTrain, vertical_factor
from safetwin.emergency_planner.physics.fire import PoolFire
from safetwin.emergency_planner.physics.grid import GridSpec
from safetwin.substances import Substance

if TYPE_CHECKING:
    from safetwin.emergency_planner.incident import IncidentResult

__all__ = ["HazardSpec", "HazardSource", "PuffField", "FireFlux", "FieldFn", "EnvelopeField", "SumField",
           "toxic_releases", "merged_train"]

FieldFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class HazardSource:
    """Where a hazard comes from (for the responders' staging): id, kind (``release``,
    ``pool_fire``, ``jet_fire``), position (m) and active interval (s from t0)."""

    id: str
    kind: str
    xy_m: tuple[float, float]
    start_s: float
    end_s: float = math.inf


@dataclass
class HazardSpec:
    """Time-dependent hazard: toxic concentration functions with their substance, and heat flux."""

    toxic: list[tuple[FieldFn, Substance]]  # c(x_m, y_m, t_s) mg/m³
    flux: FieldFn | None = None  # q(x, y, t) W/m²
    sources: list[HazardSource] = field(default_factory=list)
    wind_from_deg: Callable[[float], float] | None = None  # meteorological FROM direction at time t (deg)

    @classmethod
    def from_incident(cls, result: IncidentResult) -> HazardSpec:
        """The hazard of a scenario run: one exact :class:`PuffField` per toxic substance (its
        releases summed), the summed flux of every fire, the sources and the wind history."""
        toxic: list[tuple[FieldFn, Substance]] = []
        for srcs in toxic_releases(result).values():
            fields = [PuffField(g.train) for g in srcs]
            toxic.append((fields[0] if len(fields) == 1 else SumField(fields), srcs[0].substance))
        flux = FireFlux([(f.fire, f.start_s, f.end_s) for f in result.fires]) if result.fires else None

        sources = [HazardSource(g.event_id, "release", tuple(map(float, g.train.source_xy_m)), g.start_s, g.end_s)
                   for g in result.gas_sources]
        for f in result.fires:
            fire = f.fire
            xy = tuple(getattr(fire, "centre_xy_m", None) or tuple(fire.release_xyz_m))[:2]
            sources.append(HazardSource(f.event_id, f.kind, (float(xy[0]), float(xy[1])), f.start_s))
        wind = None
        if result.gas_sources:
            w = result.gas_sources[0].train.wind
            wind = lambda t, w=w: w.at(float(t))[1]  # noqa: E731
        else:
            from safetwin.emergency_planner.incident import wind_history
            w = wind_history(result.scenario)
            wind = lambda t, w=w: w.at(float(t))[1]  # noqa: E731
        return cls(toxic, flux, sources, wind)

    @property
    def empty(self) -> bool:
        return not self.toxic and self.flux is None


def toxic_releases(result: IncidentResult) -> dict[str, list]:
    """The run's toxic releases (its ``gas_sources`` of a substance with AEGL values) by substance name."""
    by_sub: dict[str, list] = {}
    for g in result.gas_sources:
        if g.toxic and g.substance.toxic is not None:
            by_sub.setdefault(g.substance.name, []).append(g)
    return by_sub


class FireFlux:
    """Heat flux (W/m²) of steady fires, each burning from its start time: ``q(x, y, t)``.

    A solid-flame pool fire's view factor is a numerical surface integral (~0.3 ms a point), far too
    slow for route checks, so each pool fire is tabulated once on a 1 m grid (24 × 8 flame panels,
    the resolution of :meth:`PoolFire.field_w_m2`, ~1 % beyond a few metres from the flame) over the
    disc where it exceeds ``floor_w_m2`` (found along 16 bearings), with bilinear interpolation;
    outside that disc the flux is taken as ``floor · (R/d)²`` (it is below the floor there). Point-source
    fires (jet fires) are evaluated directly. Grid snapshots are cached per set of burning fires."""

    def __init__(self, fires: list[tuple[Any, float]] | list[tuple[Any, float, float]], floor_w_m2: float = 250.0,
                 cell_m: float = 1.0):
        # (fire, start_s[, end_s]): a fireball burns for its duration only
        self.fires = [(f[0], float(f[1]), float(f[2]) if len(f) > 2 else math.inf) for f in fires]
        self.floor = float(floor_w_m2)
        self.tables: list[tuple | None] = []
        for fire, _, _ in self.fires:
            if isinstance(fire, PoolFire):
                cx, cy = fire.centre_xy_m
                # farthest point where q ≥ floor along 16 bearings (radii D/2 … 3 km, 3 % steps)
                rad = fire.diameter_m / 2 * 1.03 ** np.arange(0, 400)
                rad = rad[rad < 3000.0]
                th = np.radians(np.arange(0.0, 360.0, 22.5))
                RX, TH = np.meshgrid(rad, th)
                qb = np.asarray(fire.flux_w_m2(cx + RX * np.sin(TH), cy + RX * np.cos(TH), 0.0,
                                               n_azimuth=24, n_height=8), float)
                hit = qb >= floor_w_m2
                r = float(RX[hit].max()) if hit.any() else fire.diameter_m / 2
                r = max(r, fire.diameter_m) * 1.15 + 2 * cell_m
                ax = np.arange(-r, r + cell_m, cell_m)
                X, Y = np.meshgrid(cx + ax, cy + ax)
                q = np.asarray(fire.flux_w_m2(X, Y, 0.0, n_azimuth=24, n_height=8), float)
                self.tables.append((cx - r, cy - r, cell_m, q, r))
            else:
                self.tables.append(None)
        self._grid_cache: dict[tuple, np.ndarray] = {}

    def _one(self, k: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        fire = self.fires[k][0]
        tab = self.tables[k]
        if tab is None:
            return np.asarray(fire.flux_w_m2(x, y), float)
        x0, y0, h, q, r = tab
        cx, cy = x0 + r, y0 + r
        out = np.zeros(x.shape)
        inside = (np.abs(x - cx) < r - h) & (np.abs(y - cy) < r - h)
        if inside.any():
            fx, fy = (x[inside] - x0) / h, (y[inside] - y0) / h
            i, j = fx.astype(np.int64), fy.astype(np.int64)
            u, v = fx - i, fy - j
            out[inside] = ((1 - u) * (1 - v) * q[j, i] + u * (1 - v) * q[j, i + 1]
                           + (1 - u) * v * q[j + 1, i] + u * v * q[j + 1, i + 1])
        if (~inside).any():  # beyond the disc where q ≥ floor: decay as 1/d² from the floor at its edge
            d2 = (x[~inside] - cx) ** 2 + (y[~inside] - cy) ** 2
            out[~inside] = self.floor * np.minimum((r - h) ** 2 / np.maximum(d2, 1e-9), 1.0)
        return out

    def __call__(self, x, y, t) -> np.ndarray:
        x, y, t = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float), np.asarray(t, float))
        out = np.zeros(x.shape)
        for k, (_, start, end) in enumerate(self.fires):
            on = (t >= start) & (t < end)
            if on.any():
                out[on] += self._one(k, x[on], y[on])
        return out

    def grid_values(self, grid: GridSpec, t_s: float) -> np.ndarray:
        key = (grid, tuple(k for k, (_, s, e) in enumerate(self.fires) if s <= t_s < e))
        if key not in self._grid_cache:
            X, Y = np.meshgrid(grid.x_m, grid.y_m)
            self._grid_cache[key] = self(X, Y, np.full(X.shape, float(t_s)))
        return self._grid_cache[key]


class EnvelopeField:
    """The highest of several concentration functions of one substance at each point and time
    (mg/m³): the hazard under an ensemble of winds, ``max_k c_k(x, y, t)``; ``members`` are the
    ensemble's fields.

    On a grid (the routing envelope only, a heuristic the exact checks back up) the members can be
    taken as the first member turned about ``pivot_xy_m`` (the source) by ``offsets_deg``: exact for
    the puffs released after the ensemble's t0 (each member's wind is the first's, turned), close
    for the few released before. The first member is evaluated once on the grid widened by how far
    the turn moves its corners, and read at the turned nodes (bilinear)."""

    def __init__(self, members: Sequence[FieldFn], *, pivot_xy_m: tuple[float, float] | None = None,
                 offsets_deg: Sequence[float] | None = None):
        if not members:
            raise ValueError("EnvelopeField: needs at least one member")
        if pivot_xy_m is not None and (offsets_deg is None or len(offsets_deg) != len(members)):
            raise ValueError("EnvelopeField: a pivot needs one offset per member")
        self.members = list(members)
        self.pivot = pivot_xy_m
        self.offsets = None if offsets_deg is None else np.asarray(offsets_deg, float)

    def __call__(self, x, y, t):
        out = np.asarray(self.members[0](x, y, t), float)
        for m in self.members[1:]:
            out = np.maximum(out, m(x, y, t))
        return out

    def grid_values(self, grid: GridSpec, t_s: float) -> np.ndarray:
        if self.pivot is None or self.offsets is None:
            out = grid_values(self.members[0], grid, t_s)
            for m in self.members[1:]:
                out = np.maximum(out, grid_values(m, grid, t_s))
            return out
        from scipy import ndimage

        px, py = self.pivot
        X, Y = np.meshgrid(grid.x_m, grid.y_m)
        turned = []
        for off in self.offsets - self.offsets[0]:
            a = math.radians(off)  # a member at a node = the first member at the node turned back (anticlockwise) by a
            dx, dy = X - px, Y - py
            turned.append((px + dx * math.cos(a) - dy * math.sin(a), py + dx * math.sin(a) + dy * math.cos(a)))
        lo_x = min(float(tx.min()) for tx, _ in turned)
        hi_x = max(float(tx.max()) for tx, _ in turned)
        lo_y = min(float(ty.min()) for _, ty in turned)
        hi_y = max(float(ty.max()) for _, ty in turned)
        pad_l, pad_r = max(0, math.ceil((grid.x_min_m - lo_x) / grid.dx_m)), max(0, math.ceil((hi_x - grid.x_m[-1]) / grid.dx_m))
        pad_b, pad_t = max(0, math.ceil((grid.y_min_m - lo_y) / grid.dy_m)), max(0, math.ceil((hi_y - grid.y_m[-1]) / grid.dy_m))
        wide = GridSpec(grid.x_min_m - pad_l * grid.dx_m, grid.y_min_m - pad_b * grid.dy_m, grid.dx_m, grid.dy_m,
                        grid.nx + pad_l + pad_r + 1, grid.ny + pad_b + pad_t + 1)
        base = grid_values(self.members[0], wide, t_s)
        out = np.zeros(grid.shape)
        for tx, ty in turned:
            rows, cols = (ty - wide.y_min_m) / wide.dy_m, (tx - wide.x_min_m) / wide.dx_m
            out = np.maximum(out, ndimage.map_coordinates(base, [rows, cols], order=1, mode="nearest"))
        return out


class SumField:
    """Sum of several concentration functions of the same substance."""

    def __init__(self, parts: list[FieldFn]):
        self.parts = parts

    def __call__(self, x, y, t):
        return sum(p(x, y, t) for p in self.parts)

    def grid_values(self, grid: GridSpec, t_s: float) -> np.ndarray:
        return sum(grid_values(p, grid, t_s) for p in self.parts)


def grid_values(fn: FieldFn, grid: GridSpec, t_s: float) -> np.ndarray:
    """``fn`` on the nodes of ``grid`` at time ``t_s`` (shape ``grid.shape``); uses the function's own
    fast ``grid_values`` when it has one (a :class:`PuffField`: one matrix product)."""
    own = getattr(fn, "grid_values", None)
    if own is not None:
        return np.asarray(own(grid, t_s), float)
    X, Y = np.meshgrid(grid.x_m, grid.y_m)
    return np.asarray(fn(X, Y, np.full(X.shape, float(t_s))), float).reshape(grid.shape)


def merged_train(train: PuffTrain, factor: int) -> PuffTrain:
    """``train`` with each run of ``factor`` consecutive puffs merged into one (mass summed, at the
    run's middle release time); ``train`` itself when there is nothing to merge."""
    k = len(train.release_times_s)
    if factor <= 1 or k < 2 * factor:
        return train
    starts = np.arange(0, k, factor)
    mass = np.add.reduceat(np.asarray(train.masses_kg, float), starts)
    mid = np.minimum(starts + factor // 2, k - 1)
    return dataclasses.replace(train, release_times_s=np.asarray(train.release_times_s)[mid], masses_kg=mass)


class PuffField:
    """Evaluation of a puff train at paired points and times (ground level, mg/m³), equal to
    :meth:`PuffTrain.concentration_at` up to ``eps_mg_m3`` (absolute) and a relative ~1e-5 from
    tabulating the train's sigma model and vertical term on a 5 cm travel grid; puffs that provably
    contribute less than ``eps_mg_m3 / k`` are skipped (see the module docstring). The inner loop
    is a numba kernel (one exponential per puff–point pair)."""

    def __init__(self, train: PuffTrain, eps_mg_m3: float = 1e-4, bucket_s: float = 10.0, table_dx_m: float = 0.05,
                 grid_merge: int = 4):
        self.train = train
        self.grid_merge = int(grid_merge)
        self._coarse: PuffField | None = None
        self.eps = float(eps_mg_m3)
        self.bucket_s = float(bucket_s)
        self.table_dx = float(table_dx_m)
        w = train.wind
        self.d_rel = np.ascontiguousarray(w.displacement_m(train.release_times_s), float).reshape(-1, 2)
        self.s_rel = np.asarray(w.path_length_m(train.release_times_s), float).reshape(-1)
        self.k = len(train.release_times_s)
        self.w_t = np.asarray(w.times_s, float)
        self.w_cd = np.ascontiguousarray(w.displacement_m(self.w_t), float).reshape(-1, 2)
        self.w_cs = np.asarray(w.path_length_m(self.w_t), float).reshape(-1)
        self.w_v = np.ascontiguousarray(w._velocity(), float).reshape(-1, 2)
        self.w_u = np.asarray(w.speed_m_s, float)
        self._table: tuple[float, float, np.ndarray, np.ndarray] | None = None
        order = np.argsort(train.release_times_s, kind="stable")
        self._sorted = bool(np.all(order == np.arange(self.k)))

    def grid_values(self, grid: GridSpec, t_s: float) -> np.ndarray:
        """The field on the nodes of a grid at one time, for the routing *envelope* only: groups of
        ``grid_merge`` consecutive puffs are merged into one (mass summed, at the group's middle
        release time), which changes the field by far less than the envelope's margins while
        cutting the work by that factor. Exact checks always use :meth:`__call__`."""
        if self._coarse is None:
            tr = merged_train(self.train, self.grid_merge)
            self._coarse = self if tr is self.train else PuffField(tr, eps_mg_m3=self.eps, bucket_s=self.bucket_s,
                                                                     table_dx_m=self.table_dx, grid_merge=1)
        X, Y = np.meshgrid(grid.x_m, grid.y_m)
        return self._coarse(X, Y, np.full(X.shape, float(t_s)))

    def _sigma_table(self, travel_max: float):
        """Tables on a uniform travel grid (step ``table_dx_m``) from the train's own sigma model and
        vertical term: σy, σz and ln A, B with the puff kernel ``A·exp(B·r²)`` per kg."""
        if self._table is None or self._table[1] < travel_max:
            lo = max(self.train.min_distance_m, 1e-2)
            hi = max(1.5 * travel_max, lo + 100.0)
            n = int(math.ceil((hi - lo) / self.table_dx)) + 2
            tx = lo + self.table_dx * np.arange(n)
            sy, sz = (np.asarray(v, float) for v in self.train.sigmas(tx))
            v = vertical_factor(0.0, self.train.release_height_m, sz, self.train.mixing_height_m)
            lnA = np.log(v / ((2 * np.pi) ** 1.5 * sy * sy * sz))
            self._table = (lo, float(tx[-1]), sy, sz, lnA, -0.5 / (sy * sy))
        return self._table

    def __call__(self, x_m, y_m, t_s) -> np.ndarray:
        x, y, t = np.broadcast_arrays(np.asarray(x_m, float), np.asarray(y_m, float), np.asarray(t_s, float))
        shape = x.shape
        x, y, t = np.ascontiguousarray(x.ravel()), np.ascontiguousarray(y.ravel()), np.ascontiguousarray(t.ravel())
        if x.size == 0 or self.k == 0:
            return np.zeros(shape)
        if not self._sorted:  # the kernel walks puffs in release order
            return np.asarray(self.train.concentration_at(x, y, t), float).reshape(shape)
        tr = self.train
        tmax = float(t.max())
        travel_max = float(self.train.wind.path_length_m(np.array([tmax]))[0] - self.s_rel.min()) + 1.0
        lo, _, tsy, tsz, tla, tb = self._sigma_table(travel_max)
        order = np.argsort(t, kind="stable")
        zi = tr.mixing_height_m
        out = _puff_kernel(x, y, t, order, self.bucket_s, float(tr.source_xy_m[0]), float(tr.source_xy_m[1]),
                           np.asarray(tr.release_times_s, float), np.asarray(tr.masses_kg, float), self.d_rel,
                           self.s_rel, self.w_t, self.w_cd, self.w_cs, self.w_v, self.w_u, lo, self.table_dx,
                           tsy, tsz, tla, tb, -1.0 if zi is None or not np.isfinite(zi) else float(zi),
                           float(tr.min_distance_m), self.eps)
        if np.isfinite(tr.consumed_at_s):  # the cloud burnt at a delayed ignition: nothing left after it
            out = np.where(t >= tr.consumed_at_s, 0.0, out)
        return out.reshape(shape)


@numba.njit(cache=True, inline="always")
def _seg(w_t, t):
    s = np.searchsorted(w_t, t, side="right") - 1
    return max(s, 0)


@numba.njit(cache=True, inline="always")
def _lerp(tab, lo, dx, travel):
    u = (travel - lo) / dx
    if u <= 0.0:
        return tab[0]
    i = int(u)
    if i >= tab.size - 1:
        i = tab.size - 2
    f = u - i
    return tab[i] + f * (tab[i + 1] - tab[i])


@numba.njit(cache=True)
def _puff_kernel(x, y, t, order, bucket_s, x0, y0, rel, mass, d_rel, s_rel, w_t, w_cd, w_cs, w_v, w_u,
                 lo, dx, tsy, tsz, tla, tbq, zi, min_d, eps):
    n = x.size
    k = rel.size
    out = np.zeros(n)
    norm = (2.0 * math.pi) ** 1.5
    bx0 = np.empty(k)
    bx1 = np.empty(k)
    by0 = np.empty(k)
    by1 = np.empty(k)
    reach2 = np.empty(k)
    idx = np.empty(k, np.int64)
    a = 0
    while a < n:
        ta = t[order[a]]
        bkey = math.floor(ta / bucket_s)
        b = a
        while b < n and math.floor(t[order[b]] / bucket_s) == bkey:
            b += 1
        tb = t[order[b - 1]]
        # per-puff bounds over [ta, tb]
        sa, sb = _seg(w_t, ta), _seg(w_t, tb)
        dax = w_cd[sa, 0] + w_v[sa, 0] * (ta - w_t[sa])
        day = w_cd[sa, 1] + w_v[sa, 1] * (ta - w_t[sa])
        dbx = w_cd[sb, 0] + w_v[sb, 0] * (tb - w_t[sb])
        dby = w_cd[sb, 1] + w_v[sb, 1] * (tb - w_t[sb])
        s_a = w_cs[sa] + w_u[sa] * (ta - w_t[sa])
        s_b = w_cs[sb] + w_u[sb] * (tb - w_t[sb])
        klive = 0
        for p in range(k):
            if rel[p] > tb:
                break
            klive += 1
        m = 0
        for p in range(klive):
            fresh = rel[p] > ta
            cxa, cya = x0 + dax - d_rel[p, 0], y0 + day - d_rel[p, 1]
            cxb, cyb = x0 + dbx - d_rel[p, 0], y0 + dby - d_rel[p, 1]
            lo_x, hi_x = min(cxa, cxb), max(cxa, cxb)
            lo_y, hi_y = min(cya, cyb), max(cya, cyb)
            for sgi in range(sa + 1, sb + 1):  # wind changes inside the bucket
                cx = x0 + w_cd[sgi, 0] - d_rel[p, 0]
                cy = y0 + w_cd[sgi, 1] - d_rel[p, 1]
                lo_x, hi_x = min(lo_x, cx), max(hi_x, cx)
                lo_y, hi_y = min(lo_y, cy), max(hi_y, cy)
            if fresh:
                lo_x, hi_x = min(lo_x, x0), max(hi_x, x0)
                lo_y, hi_y = min(lo_y, y0), max(hi_y, y0)
            tl = min_d if fresh else max(s_a - s_rel[p], min_d)
            th = max(s_b - s_rel[p], min_d)
            syl, szl = _lerp(tsy, lo, dx, tl), _lerp(tsz, lo, dx, tl)
            syh, szh = _lerp(tsy, lo, dx, th), _lerp(tsz, lo, dx, th)
            syl, syh = min(syl, syh), max(syl, syh)
            szl, szh = min(szl, szh), max(szl, szh)
            vmax = 2.0
            if zi > 0.0:
                vmax = max(26.0, math.sqrt(2.0 * math.pi) * szh / zi)
            amp = mass[p] * 1e6 / (norm * syl * syl * szl) * vmax * 1.001
            ratio = amp * klive / eps
            if ratio <= 1.0:
                continue
            bx0[m], bx1[m], by0[m], by1[m] = lo_x, hi_x, lo_y, hi_y
            reach2[m] = 2.0 * syh * syh * math.log(ratio)
            idx[m] = p
            m += 1
        if m == 0:
            a = b
            continue
        # bin the candidate puffs on tiles over the bucket's samples (tile side ~ 25 m, ≤ 64 × 64)
        sx0, sx1, sy0, sy1 = np.inf, -np.inf, np.inf, -np.inf
        for q in range(a, b):
            i = order[q]
            sx0, sx1 = min(sx0, x[i]), max(sx1, x[i])
            sy0, sy1 = min(sy0, y[i]), max(sy1, y[i])
        # tiles no smaller than half the mean reach, so a wide puff is not listed in hundreds of tiles
        mean_reach = 0.0
        for j in range(m):
            mean_reach += math.sqrt(reach2[j])
        side = max(25.0, (sx1 - sx0) / 64.0, (sy1 - sy0) / 64.0, 0.5 * mean_reach / m)
        ntx = int((sx1 - sx0) / side) + 1
        nty = int((sy1 - sy0) / side) + 1
        cnt = np.zeros(ntx * nty + 1, np.int64)
        lo_i = np.empty(m, np.int64)
        hi_i = np.empty(m, np.int64)
        lo_j = np.empty(m, np.int64)
        hi_j = np.empty(m, np.int64)
        for j in range(m):
            r = math.sqrt(reach2[j])
            i0 = int(math.floor((bx0[j] - r - sx0) / side))
            i1 = int(math.floor((bx1[j] + r - sx0) / side))
            j0 = int(math.floor((by0[j] - r - sy0) / side))
            j1 = int(math.floor((by1[j] + r - sy0) / side))
            lo_i[j], hi_i[j] = max(i0, 0), min(i1, ntx - 1)
            lo_j[j], hi_j[j] = max(j0, 0), min(j1, nty - 1)
            for tj in range(lo_j[j], hi_j[j] + 1):
                for ti in range(lo_i[j], hi_i[j] + 1):
                    cnt[tj * ntx + ti + 1] += 1
        for c in range(1, cnt.size):
            cnt[c] += cnt[c - 1]
        fill = cnt[:-1].copy()
        lst = np.empty(cnt[-1], np.int64)
        for j in range(m):
            for tj in range(lo_j[j], hi_j[j] + 1):
                for ti in range(lo_i[j], hi_i[j] + 1):
                    c = tj * ntx + ti
                    lst[fill[c]] = j
                    fill[c] += 1
        for q in range(a, b):
            i = order[q]
            xi, yi, ti = x[i], y[i], t[i]
            tile = int((yi - sy0) / side) * ntx + int((xi - sx0) / side)
            sg = _seg(w_t, ti)
            dnx = w_cd[sg, 0] + w_v[sg, 0] * (ti - w_t[sg])
            dny = w_cd[sg, 1] + w_v[sg, 1] * (ti - w_t[sg])
            sn = w_cs[sg] + w_u[sg] * (ti - w_t[sg])
            acc = 0.0
            for e in range(cnt[tile], cnt[tile + 1]):
                j = lst[e]
                gx = max(bx0[j] - xi, xi - bx1[j], 0.0)
                gy = max(by0[j] - yi, yi - by1[j], 0.0)
                if gx * gx + gy * gy >= reach2[j]:
                    continue
                p = idx[j]
                if rel[p] > ti:
                    continue
                travel = max(sn - s_rel[p], min_d)
                ex = x0 + dnx - d_rel[p, 0] - xi
                ey = y0 + dny - d_rel[p, 1] - yi
                acc += mass[p] * math.exp(_lerp(tla, lo, dx, travel) + _lerp(tbq, lo, dx, travel) * (ex * ex + ey * ey))
            out[i] = acc * 1e6
        a = b
    return out


def describe(h: HazardSpec) -> dict[str, Any]:
    """A JSON-able summary of the hazard (substances, fire flux present, sources)."""
    return {"toxic": [s.name for _, s in h.toxic], "flux": h.flux is not None,
            "sources": [dataclasses.asdict(s) for s in h.sources]}
