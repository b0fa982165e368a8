"""Population for societal risk: on-site shifts by work area and off-site population polygons.

On site, each shift's head-count per area is spread uniformly over the area polygon's grid nodes;
a shift starting between 06:00 and 17:59 counts as ``day``, otherwise ``night``. The indoor
fraction comes from the area kind (``population.indoor_fraction_by_area_kind``). Off site,
``population.offsite`` polygons (plant frame, m) carry day and night populations, an indoor
fraction and a protection category (criteria, GB 36894 / GB/T 37243 categories).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon

from safetwin.emergency_planner.physics.grid import GridSpec

ROWS = ("day_out", "day_in", "night_out", "night_in")


@dataclass(frozen=True)
class Population:
    """Populated grid nodes: ``xy_m`` (n, 2) and ``counts`` (4, n) persons in the rows :data:`ROWS`."""

    xy_m: np.ndarray
    counts: np.ndarray
    targets: tuple[dict[str, Any], ...]

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


def build_population(plant: Any, pop_cfg: dict[str, Any], grid: GridSpec) -> Population:
    """Populated nodes with day/night × outdoor/indoor counts (persons); see the module docstring."""
    xy: list[np.ndarray] = []
    cnt: list[np.ndarray] = []
    fr_kind = pop_cfg.get("indoor_fraction_by_area_kind", {})
    for shift in plant.meta.shifts:
        per = _period(shift.start)
        for area_id, n in sorted(shift.headcount.items()):
            if n <= 0 or area_id not in plant.areas:
                continue
            area = plant.areas[area_id]
            pts = _nodes_in(grid, area.geometry)
            fin = float(fr_kind.get(area.kind, 0.5))
            c = np.zeros((4, len(pts)))
            k = 0 if per == "day" else 2
            c[k] = n * (1 - fin) / len(pts)
            c[k + 1] = n * fin / len(pts)
            xy.append(pts)
            cnt.append(c)
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
        c = np.zeros((4, len(pts)))
        nd, nn = float(t.get("population_day", 0)), float(t.get("population_night", 0))
        c[0], c[1] = nd * (1 - fin) / len(pts), nd * fin / len(pts)
        c[2], c[3] = nn * (1 - fin) / len(pts), nn * fin / len(pts)
        xy.append(pts)
        cnt.append(c)
        targets.append({**t, "geometry": poly})
    if not xy:
        return Population(np.zeros((0, 2)), np.zeros((4, 0)), tuple(targets))
    return Population(np.vstack(xy), np.hstack(cnt), tuple(targets))
