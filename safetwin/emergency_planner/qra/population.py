"""Population for societal risk and the worker groups for individual risk per annum.

On site, each shift's head-count per area is spread uniformly over the area polygon's grid nodes;
a shift starting between 06:00 and 17:59 counts as ``day``, otherwise ``night``. The indoor
fraction comes from the area kind (``population.indoor_fraction_by_area_kind``). Off site,
``population.offsite`` polygons (plant frame, m) carry day and night populations, **their own**
indoor fraction (``indoor_fraction``, or ``indoor_fraction_day``/``_night``; default
``population.offsite_indoor_fraction``: 0.93 by day, 0.99 by night, the TNO Purple Book CPR 18E
residential values [PUB-mem]) and a protection category (GB 36894-2018 / GB/T 37243 categories).

Each (shift, area) with people is a **worker group**: its people are on site during that shift, in
that area (same nodes), for ``presence_fraction`` of the year = min(worker hours per year,
shift hours × 365) / 8760 h (``population.worker_hours_per_year``, default 2000 h: 8 h a day,
40 h a week — 国务院《关于职工工作时间的规定》(1995) — over 50 weeks [ASSUMPTION, set per plant]).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon

from safetwin.emergency_planner.physics.grid import GridSpec

ROWS = ("day_out", "day_in", "night_out", "night_in")


#: hours in a year (365 days)
HOURS_PER_YEAR = 8760.0
#: off-site fraction indoors by period when a target declares none: TNO Purple Book CPR 18E [PUB-mem]
OFFSITE_INDOOR_DEFAULT = {"day": 0.93, "night": 0.99}
#: worker hours per year when the plant sets none [ASSUMPTION]: 8 h × 5 days × 50 weeks
WORKER_HOURS_DEFAULT = 2000.0


@dataclass(frozen=True)
class WorkerGroup:
    """The people of one shift in one work area: ``headcount`` persons present during the shift
    (``period`` day or night), each for ``presence_fraction`` of the year, ``indoor_fraction`` of
    that time indoors; their nodes are ``Population.worker_xy_m[start:stop]``."""

    id: str
    shift: str
    area: str
    headcount: int
    period: str
    shift_hours: float
    presence_fraction: float
    indoor_fraction: float
    start: int
    stop: int


@dataclass(frozen=True)
class Population:
    """Populated grid nodes: ``xy_m`` (n, 2) and ``counts`` (4, n) persons in the rows :data:`ROWS`;
    off-site protection ``targets``; worker groups with their nodes (``worker_xy_m`` (m, 2)) and
    each node's group index and weight (1 / the group's node count: sums over nodes are means)."""

    xy_m: np.ndarray
    counts: np.ndarray
    targets: tuple[dict[str, Any], ...]
    workers: tuple[WorkerGroup, ...] = ()
    worker_xy_m: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    worker_group: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    worker_weight: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def total_day(self) -> float:
        return float(self.counts[0].sum() + self.counts[1].sum())

    @property
    def total_night(self) -> float:
        return float(self.counts[2].sum() + self.counts[3].sum())


def _nodes_in(grid: GridSpec, geom: Any) -> np.ndarray:
    x0, y0, x1, y1 = geom.bounds
    i0 = max(int(np.floor((x0 - grid.x_min_m) / grid.dx_m)), 0)
    i1 = min(int(np.ceil((x1 - grid.x_min_m) / grid.dx_m)) + 1, grid.nx)
    j0 = max(int(np.floor((y0 - grid.y_min_m) / grid.dy_m)), 0)
    j1 = min(int(np.ceil((y1 - grid.y_min_m) / grid.dy_m)) + 1, grid.ny)
    if i1 <= i0 or j1 <= j0:
        return np.zeros((0, 2))
    X, Y = np.meshgrid(grid.x_m[i0:i1], grid.y_m[j0:j1])
    inside = shapely.contains_xy(geom, X, Y)
    pts = np.column_stack([X[inside], Y[inside]])
    if pts.size == 0:  # polygon smaller than a cell: its centroid
        c = geom.representative_point()
        pts = np.array([[c.x, c.y]])
    return pts


def _period(start: str) -> str:
    h = int(start.split(":")[0])
    return "day" if 6 <= h < 18 else "night"


def shift_hours(start: str, end: str) -> float:
    """Length (h) of a shift from ``start`` to ``end`` (HH:MM, across midnight when end ≤ start).

    >>> shift_hours("08:00", "20:00"), shift_hours("20:00", "08:00"), shift_hours("07:00", "07:00")
    (12.0, 12.0, 24.0)
    """
    def minutes(t: str) -> int:
        h, m = t.split(":")
        return int(h) * 60 + int(m)

    d = (minutes(end) - minutes(start)) % (24 * 60)
    return (d or 24 * 60) / 60.0


def _fraction(value: Any, where: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: expected a fraction in [0, 1], got {value!r}") from None
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{where}: expected a fraction in [0, 1], got {v}")
    return v


def offsite_indoor_fractions(target: dict[str, Any], defaults: dict[str, float]) -> tuple[float, float]:
    """(day, night) indoor fraction of an off-site target: ``indoor_fraction_day``/``_night``, else
    ``indoor_fraction`` for both, else the defaults (see the module docstring)."""
    where = f"population.offsite {target.get('id')!r}"
    both = target.get("indoor_fraction")
    out = []
    for per in ("day", "night"):
        v = target.get(f"indoor_fraction_{per}", both if both is not None else defaults[per])
        out.append(_fraction(v, f"{where}.indoor_fraction_{per}" if f"indoor_fraction_{per}" in target
                             else f"{where}.indoor_fraction"))
    return out[0], out[1]


def build_population(plant: Any, pop_cfg: dict[str, Any], grid: GridSpec) -> Population:
    """Populated nodes with day/night × outdoor/indoor counts (persons) and the worker groups; see
    the module docstring."""
    xy: list[np.ndarray] = []
    cnt: list[np.ndarray] = []
    fr_kind = pop_cfg.get("indoor_fraction_by_area_kind", {})
    hours = float(pop_cfg.get("worker_hours_per_year", WORKER_HOURS_DEFAULT))
    if not 0 < hours <= HOURS_PER_YEAR:
        raise ValueError(f"population.worker_hours_per_year: expected (0, 8760] h, got {hours}")
    groups: list[WorkerGroup] = []
    w_xy: list[np.ndarray] = []
    node = 0
    for shift in plant.meta.shifts:
        per = _period(shift.start)
        h_shift = shift_hours(shift.start, shift.end)
        for area_id, n in sorted(shift.headcount.items()):
            if n <= 0 or area_id not in plant.areas:
                continue
            area = plant.areas[area_id]
            pts = _nodes_in(grid, area.geometry)
            fin = _fraction(fr_kind.get(area.kind, 0.5), f"population.indoor_fraction_by_area_kind.{area.kind}")
            c = np.zeros((4, len(pts)))
            k = 0 if per == "day" else 2
            c[k] = n * (1 - fin) / len(pts)
            c[k + 1] = n * fin / len(pts)
            xy.append(pts)
            cnt.append(c)
            groups.append(WorkerGroup(f"{shift.name}:{area_id}", shift.name, area_id, int(n), per, h_shift,
                                      min(hours, h_shift * 365.0) / HOURS_PER_YEAR, fin, node, node + len(pts)))
            w_xy.append(pts)
            node += len(pts)
    defaults = {**OFFSITE_INDOOR_DEFAULT, **(pop_cfg.get("offsite_indoor_fraction") or {})}
    targets = []
    for t in pop_cfg.get("offsite", []):
        poly = Polygon(t["polygon"])
        if not poly.is_valid or poly.area <= 0:
            raise ValueError(f"population.offsite {t.get('id')!r}: polygon is not valid")
        pts = _nodes_in(grid, poly)
        if len(pts) == 0:
            raise ValueError(f"population.offsite {t.get('id')!r} lies outside the risk grid "
                             f"(x {grid.x_min_m:.0f}…{grid.x_m[-1]:.0f} m, y {grid.y_min_m:.0f}…{grid.y_m[-1]:.0f} m): "
                             "increase margin_m so its people are counted")
        fin_day, fin_night = offsite_indoor_fractions(t, defaults)
        c = np.zeros((4, len(pts)))
        nd, nn = float(t.get("population_day", 0)), float(t.get("population_night", 0))
        c[0], c[1] = nd * (1 - fin_day) / len(pts), nd * fin_day / len(pts)
        c[2], c[3] = nn * (1 - fin_night) / len(pts), nn * fin_night / len(pts)
        xy.append(pts)
        cnt.append(c)
        targets.append({**t, "geometry": poly, "indoor_fraction_day": fin_day, "indoor_fraction_night": fin_night})
    wxy = np.vstack(w_xy) if w_xy else np.zeros((0, 2))
    wgroup = np.concatenate([np.full(g.stop - g.start, k, np.int64) for k, g in enumerate(groups)]) \
        if groups else np.zeros(0, np.int64)
    wweight = np.concatenate([np.full(g.stop - g.start, 1.0 / (g.stop - g.start)) for g in groups]) \
        if groups else np.zeros(0)
    if not xy:
        return Population(np.zeros((0, 2)), np.zeros((4, 0)), tuple(targets))
    return Population(np.vstack(xy), np.hstack(cnt), tuple(targets), tuple(groups), wxy, wgroup, wweight)
