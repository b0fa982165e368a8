"""Where people are at the start: a shift's head-count per area, placed at random in each area.

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> plant = load_plant(bundled_plant_path("small_plant"))
    >>> ids, xy, areas = shift_population(plant, "day", seed=1)
    >>> len(ids), xy.shape
    (20, (20, 2))
"""
from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from safetwin.plant_models.loader import Plant


def random_points_in(polygon: BaseGeometry, n: int, rng: np.random.Generator,
                     avoid: BaseGeometry | None = None) -> np.ndarray:
    """``n`` uniform random points (m) inside ``polygon`` and outside ``avoid``; shape (n, 2)."""
    region = polygon.difference(avoid) if avoid is not None else polygon
    if region.is_empty:
        region = polygon
    shapely.prepare(region)
    minx, miny, maxx, maxy = region.bounds
    out = np.empty((0, 2))
    while len(out) < n:  # rejection sampling, a few vectorised rounds
        k = max(64, 2 * (n - len(out)))
        cand = np.column_stack([rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)])
        out = np.vstack([out, cand[shapely.contains_xy(region, cand[:, 0], cand[:, 1])]])
    return out[:n]


def shift_population(plant: Plant, shift: str, seed: int | None = None) -> tuple[list[str], np.ndarray, list[str]]:
    """People of ``shift`` placed uniformly in their work areas, outside buildings' and
    equipment's footprints where room allows. Returns (person ids, xy (n, 2) m, area ids)."""
    rng = np.random.default_rng(seed)
    if shift not in plant.shifts:
        raise KeyError(f"plant {plant.id} has no shift {shift!r}; it has {sorted(plant.shifts)}")
    obstacles = shapely.union_all([e.footprint for e in plant.equipment.values() if e.kind.value != "bund"] +
                                  [b.geometry for b in plant.buildings.values()])
    ids: list[str] = []
    blocks = []
    areas: list[str] = []
    for area_id, count in plant.shifts[shift].headcount.items():
        if count == 0:
            continue
        blocks.append(random_points_in(plant.areas[area_id].geometry, count, rng, avoid=obstacles))
        ids += [f"{shift}-{area_id}-{k:03d}" for k in range(count)]
        areas += [area_id] * count
    xy = np.vstack(blocks) if blocks else np.empty((0, 2))
    return ids, xy, areas
