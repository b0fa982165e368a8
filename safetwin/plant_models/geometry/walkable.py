"""Walkable space of a plant: the vector area people can walk and its raster at a given cell size.

**Walkable area** (:func:`walkable_area`): the site inside its boundary, minus

* building footprints and the footprints of solid equipment (tanks, spheres, vessels, columns,
  drum stores, refrigeration skids — every kind not in :data:`WALKABLE_KINDS`; bunds,
  process-unit plots, loading bays, pipe racks (elevated) and pumps stay walkable);
* fences inside the site (:func:`interior_fences`: a fence is a wall of
  ``2 · FENCE_HALF_THICKNESS_M``, with an opening of the gate's width at every gate on it; fence
  lines along the site boundary are the boundary itself);
* any ``blocked`` polygons (closed roads, fire zones).

**Off-site approaches** (:func:`assembly_approaches`, for the recommendations only): each off-site
assembly point's straight approach corridor from its gate (the gate's width) and its disc, outside
the site. :func:`walkable_area_with_approaches` joins them to the walkable area and
``plant_walkable_raster(..., approaches=True)`` rasterises that, keeping every cell on a
corridor's centre line open (a corridor narrower than ~1.5 cells would otherwise break into
pieces). The evacuation simulator and the drills keep :func:`walkable_area` (the site only).

**Raster** (:func:`rasterise_walkable`, :func:`plant_walkable_raster`): square cells of side
``h`` over the bounds of the walkable area; a cell is walkable when its centre lies inside the
area and no wall line (interior fences) crosses it — a fence thinner than a cell would otherwise
fall between cell centres. Cell (j, i) has its centre at ``(x0 + (i + ½)h, y0 + (j + ½)h)``;
the flat index is ``j · nx + i``. Rasters are cached (by the geometry and the cell size) and
shared, so their ``walkable`` array is read-only: users that change walkability (blocked
areas, goals) work on a copy.

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> plant = load_plant(bundled_plant_path("small_plant"))
    >>> walk = walkable_area(plant)
    >>> round(plant.boundary.area - walk.area)   # office, drum store and tank footprints
    1676
    >>> r = plant_walkable_raster(plant, 4.0)
    >>> r.nx, r.ny, int(r.walkable.sum())
    (50, 38, 1730)
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import shapely
from scipy import ndimage
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from ._cache import LRU, geometry_key, per_plant

__all__ = [
    "FENCE_HALF_THICKNESS_M",
    "WALKABLE_KINDS",
    "WalkableRaster",
    "assembly_approaches",
    "interior_fences",
    "muster_goals",
    "obstacles",
    "plant_walkable_raster",
    "rasterise_walkable",
    "walkable_area",
    "walkable_area_with_approaches",
]

#: Equipment kinds people walk on or under.
WALKABLE_KINDS = frozenset({"bund", "process_unit", "loading_bay", "pipe_rack", "pump"})
#: Half the thickness of a fence as a wall of the walkable area, m.
FENCE_HALF_THICKNESS_M = 0.15
#: Fence lines closer than this to the site boundary are the boundary itself, m.
_BOUNDARY_FENCE_M = 1.0

_RASTERS = LRU(maxsize=32)


def obstacles(plant: Any) -> BaseGeometry:
    """Union of the footprints people cannot walk through (m, local frame): buildings and solid equipment."""
    parts = [b.geometry for b in plant.buildings.values()]
    parts += [e.footprint for e in plant.equipment.values() if e.kind.value not in WALKABLE_KINDS]
    return shapely.union_all(parts) if parts else Polygon()


def interior_fences(plant: Any) -> BaseGeometry:
    """Fence lines inside the site (farther than 1 m from its boundary), with an opening of the
    gate's width at every gate (m, local frame); an empty geometry when there are none."""
    lines = [f.geometry for f in plant.fences.values() if f.geometry is not None]
    if not lines:
        return LineString()
    def build() -> BaseGeometry:
        fences = shapely.union_all(lines).intersection(plant.boundary)
        fences = fences.difference(plant.boundary.exterior.buffer(_BOUNDARY_FENCE_M))
        openings = [Point(g.geometry.coords[0]).buffer(g.width_m / 2) for g in plant.gates.values()
                    if g.geometry is not None]
        if openings and not fences.is_empty:
            fences = fences.difference(shapely.union_all(openings))
        return fences
    return per_plant(plant, "interior_fences", build)


def walkable_area(plant: Any, blocked: Sequence[BaseGeometry] | None = None) -> BaseGeometry:
    """The site minus obstacles, interior fences and any ``blocked`` polygons (m, local frame);
    cached per plant and set of blocked polygons."""
    blocked = list(blocked or [])

    def build() -> BaseGeometry:
        area = plant.boundary.difference(obstacles(plant))
        fences = interior_fences(plant)
        if not fences.is_empty:
            area = area.difference(fences.buffer(FENCE_HALF_THICKNESS_M, cap_style="flat"))
        if blocked:
            area = area.difference(shapely.union_all(blocked))
        return area
    return per_plant(plant, ("walkable_area", geometry_key(blocked)), build)


def _approach_lines(plant: Any) -> list[tuple[LineString, float]]:
    """Centre line (gate → assembly point, m) and width (m, the gate's) of each off-site approach."""
    out = []
    for a in plant.meta.assembly_points:
        gate = plant.gates[a.gate_id]
        out.append((LineString([gate.geometry.coords[0], a.position]), float(gate.width_m)))
    return out


def assembly_approaches(plant: Any) -> BaseGeometry:
    """Outside the site (m, local frame): each off-site assembly point's approach corridor from its
    gate (the gate's width) and its disc (``radius_m``); an empty geometry when there are none."""
    parts = []
    for (line, width), a in zip(_approach_lines(plant), plant.meta.assembly_points):
        parts.append(line.buffer(width / 2.0, cap_style="flat"))
        parts.append(Point(a.position).buffer(a.radius_m, quad_segs=8))
    if not parts:
        return Polygon()
    return per_plant(plant, "assembly_approaches", lambda: shapely.union_all(parts).difference(plant.boundary))


def walkable_area_with_approaches(plant: Any, blocked: Sequence[BaseGeometry] | None = None) -> BaseGeometry:
    """:func:`walkable_area` joined with the off-site :func:`assembly_approaches` (``blocked``
    removed from both), m, local frame; cached per plant and set of blocked polygons."""
    blocked = list(blocked or [])

    def build() -> BaseGeometry:
        outside = assembly_approaches(plant)
        if blocked and not outside.is_empty:
            outside = outside.difference(shapely.union_all(blocked))
        return walkable_area(plant, blocked).union(outside)
    return per_plant(plant, ("walkable_area_with_approaches", geometry_key(blocked)), build)


def muster_goals(plant: Any) -> dict[str, Polygon]:
    """Goal polygon of each muster point (a disc of its ``radius_m``), clipped to the site."""
    return {m.id: Point(m.position).buffer(m.radius_m, quad_segs=8).intersection(plant.boundary)
            for m in plant.meta.muster_points}


@dataclass(eq=False)
class WalkableRaster:
    """Walkable cells: origin ``x0``, ``y0`` (m), cell side ``h`` (m), ``nx`` × ``ny`` cells,
    ``walkable`` (ny, nx) bool (see the module docstring for the cell convention)."""

    x0: float
    y0: float
    h: float
    nx: int
    ny: int
    walkable: np.ndarray

    @cached_property
    def xc(self) -> np.ndarray:
        """Cell-centre x (m), shape (nx,)."""
        return self.x0 + (np.arange(self.nx) + 0.5) * self.h

    @cached_property
    def yc(self) -> np.ndarray:
        """Cell-centre y (m), shape (ny,)."""
        return self.y0 + (np.arange(self.ny) + 0.5) * self.h

    def index(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Column ``i`` and row ``j`` of the cell holding each point (clipped to the raster)."""
        i = np.clip(np.floor((np.asarray(x, float) - self.x0) / self.h).astype(np.int64), 0, self.nx - 1)
        j = np.clip(np.floor((np.asarray(y, float) - self.y0) / self.h).astype(np.int64), 0, self.ny - 1)
        return i, j

    def cell_of(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Flat index of the cell holding each point (clipped to the raster)."""
        i, j = self.index(x, y)
        return j * self.nx + i

    def centre(self, flat: np.ndarray) -> np.ndarray:
        """Centres (m) of flat cell indices, shape (n, 2)."""
        flat = np.asarray(flat, np.int64)
        return np.stack([self.x0 + (flat % self.nx + 0.5) * self.h, self.y0 + (flat // self.nx + 0.5) * self.h], -1)

    def nearest_walkable(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Flat index of the walkable cell nearest to the cell of each point."""
        return self._nearest_walkable_cell[self.cell_of(x, y)]

    @cached_property
    def _nearest_walkable_cell(self) -> np.ndarray:
        jj, ii = ndimage.distance_transform_edt(~self.walkable, return_distances=False, return_indices=True)
        return (jj * self.nx + ii).ravel()

    def mask_of(self, geom: BaseGeometry) -> np.ndarray:
        """Cells (flat bool) whose centre lies inside ``geom``."""
        X, Y = np.meshgrid(self.xc, self.yc)
        return shapely.contains_xy(geom, X, Y).ravel()


def rasterise_walkable(walkable: BaseGeometry, cell_m: float, *, walls: BaseGeometry | None = None,
                       align_to: tuple[float, float] | None = None) -> WalkableRaster:
    """The :class:`WalkableRaster` of a walkable area (m) at cell side ``cell_m`` (m), cells crossed
    by ``walls`` (lines) closed; with ``align_to`` (m), the cell corners lie on that point's grid
    (the same cells as another raster there); cached and shared (``walkable`` is read-only)."""
    h = float(cell_m)
    if not (math.isfinite(h) and h > 0):
        raise ValueError(f"cell_m: must be a positive number, got {cell_m!r}")
    if walls is not None and walls.is_empty:
        walls = None
    key = (geometry_key(walkable), h, geometry_key(walls), align_to)
    return _RASTERS.get_or_build(key, lambda: _rasterise(walkable, h, walls, align_to))


def _rasterise(walkable: BaseGeometry, h: float, walls: BaseGeometry | None,
               align_to: tuple[float, float] | None = None) -> WalkableRaster:
    x0, y0, x1, y1 = walkable.bounds
    if align_to is not None:
        x0 = align_to[0] + math.floor((x0 - align_to[0]) / h + 1e-9) * h
        y0 = align_to[1] + math.floor((y0 - align_to[1]) / h + 1e-9) * h
    nx, ny = math.ceil((x1 - x0) / h), math.ceil((y1 - y0) / h)
    raster = WalkableRaster(float(x0), float(y0), h, nx, ny, np.zeros((ny, nx), bool))
    X, Y = np.meshgrid(raster.xc, raster.yc)
    walk = shapely.contains_xy(walkable, X, Y)
    if walls is not None:
        # points every eighth of a cell along the walls close the cells they fall in
        pts = shapely.get_coordinates(shapely.segmentize(walls, h / 8.0))
        inside = (pts[:, 0] >= x0) & (pts[:, 0] < x0 + nx * h) & (pts[:, 1] >= y0) & (pts[:, 1] < y0 + ny * h)
        i, j = raster.index(pts[inside, 0], pts[inside, 1])
        walk[j, i] = False
    walk.setflags(write=False)
    raster.walkable = walk
    return raster


def plant_walkable_raster(plant: Any, cell_m: float, *, blocked: Sequence[BaseGeometry] = (),
                          approaches: bool = False) -> WalkableRaster:
    """The raster of :func:`walkable_area` (``blocked`` removed) with the interior fences as walls;
    with ``approaches``, of :func:`walkable_area_with_approaches`, the cells on each approach's
    centre line (outside the site, not blocked) kept open."""
    walls = interior_fences(plant)
    if not approaches or not plant.meta.assembly_points:
        return rasterise_walkable(walkable_area(plant, blocked), cell_m, walls=walls)
    area = walkable_area_with_approaches(plant, blocked)
    site = rasterise_walkable(walkable_area(plant, blocked), cell_m, walls=walls)
    base = rasterise_walkable(area, cell_m, walls=walls, align_to=(site.x0, site.y0))   # the site's cells
    key = ("approaches", geometry_key(area), base.h, geometry_key(walls))

    def build() -> WalkableRaster:
        outside = assembly_approaches(plant)
        if blocked:
            outside = outside.difference(shapely.union_all(list(blocked)))
        lines = shapely.union_all([line for line, _ in _approach_lines(plant)]).intersection(outside)
        pts = shapely.get_coordinates(shapely.segmentize(lines, base.h / 8.0))
        walk = base.walkable.copy()
        if len(pts):
            i, j = base.index(pts[:, 0], pts[:, 1])
            walk[j, i] = True
        walk.setflags(write=False)
        return WalkableRaster(base.x0, base.y0, base.h, base.nx, base.ny, walk)
    return _RASTERS.get_or_build(key, build)
