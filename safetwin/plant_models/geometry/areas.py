"""Which named area a point is in: the one point → area rule of SafeTwin, vectorised.

**The rule.** A point belongs to the *smallest* area whose closed polygon holds it (boundary
included). Where areas nest or overlap, the smaller one is the more specific answer (a
confined-space plot inside a process unit, a loading bay inside the logistics yard); a point on
the edge two areas share — roads often run along area borders — belongs to the smaller of the
two, and between areas of equal size to the one listed first in the plant. A point outside all
areas has none (``None``).

:class:`AreaIndex` answers the rule for millions of points per second: a raster of area numbers
(cell size ``cell_m``) answers points in cells that lie wholly inside one area, and the few
points in cells crossed by an area boundary are decided exactly with shapely on the areas. The
answer is therefore exact, not rounded to the raster. :func:`area_index` builds the index of a
plant once.

Example::

    >>> from shapely.geometry import box
    >>> idx = AreaIndex({"A": box(0, 0, 10, 10), "B": box(10, 0, 20, 10), "B1": box(12, 2, 14, 4)})
    >>> idx.area_ids(np.array([5.0, 15.0, 13.0, 10.0, 25.0]), np.array([5.0, 5.0, 3.0, 5.0, 5.0])).tolist()
    ['A', 'B', 'B1', 'A', None]
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from ._cache import per_plant

__all__ = ["NO_AREA", "AreaIndex", "area_index"]

#: Area number of a point outside every area.
NO_AREA = -1
_BOUNDARY = -2


class AreaIndex:
    """Exact, vectorised point → area look-up over named polygons (local frame, m), by the rule of
    the module docstring. :attr:`ids` lists the areas by area number."""

    def __init__(self, areas: Mapping[str, BaseGeometry], cell_m: float = 1.0):
        # painted largest first, so smaller (more specific) areas, painted last, win; between
        # equal sizes the area listed first in ``areas`` is painted last
        listed = {k: n for n, k in enumerate(areas)}
        order = sorted(listed, key=lambda k: (-areas[k].area, -listed[k]))
        self.ids: list[str] = order
        self.geoms: list[BaseGeometry] = [areas[k] for k in order]
        for g in self.geoms:
            shapely.prepare(g)
        self.cell_m = float(cell_m)
        self._id_array = np.array(order + [None], dtype=object)  # index -1 -> None
        self._build_raster()

    def _build_raster(self) -> None:
        if not self.geoms:
            self.x0 = self.y0 = 0.0
            self.raster = np.full((1, 1), NO_AREA, dtype=np.int32)
            return
        minx, miny, maxx, maxy = shapely.total_bounds(self.geoms)
        c = self.cell_m
        self.x0, self.y0 = minx - c, miny - c
        nx = int(np.ceil((maxx - self.x0) / c)) + 2
        ny = int(np.ceil((maxy - self.y0) / c)) + 2
        raster = np.full((ny, nx), NO_AREA, dtype=np.int32)
        cx = self.x0 + (np.arange(nx) + 0.5) * c
        cy = self.y0 + (np.arange(ny) + 0.5) * c
        for n, g in enumerate(self.geoms):
            gx0, gy0, gx1, gy1 = g.bounds
            i0, i1 = np.searchsorted(cy, [gy0, gy1])
            j0, j1 = np.searchsorted(cx, [gx0, gx1])
            if i1 <= i0 or j1 <= j0:
                continue
            xx, yy = np.meshgrid(cx[j0:j1], cy[i0:i1])
            inside = shapely.contains_xy(g, xx, yy)
            raster[i0:i1, j0:j1][inside] = n
        # mark every cell an area boundary passes through (and its neighbours) as undecided
        for g in self.geoms:
            pts = shapely.get_coordinates(shapely.segmentize(g.boundary, c / 2.0))
            j = ((pts[:, 0] - self.x0) / c).astype(np.int64)
            i = ((pts[:, 1] - self.y0) / c).astype(np.int64)
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    raster[np.clip(i + di, 0, ny - 1), np.clip(j + dj, 0, nx - 1)] = _BOUNDARY
        self.raster = raster

    def area_numbers(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Area number (index into :attr:`ids`) of each point, ``NO_AREA`` (−1) outside all areas."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        ny, nx = self.raster.shape
        j = np.floor((x - self.x0) / self.cell_m).astype(np.int64)
        i = np.floor((y - self.y0) / self.cell_m).astype(np.int64)
        inside = (i >= 0) & (i < ny) & (j >= 0) & (j < nx)
        out = np.full(x.shape, NO_AREA, dtype=np.int32)
        out[inside] = self.raster[i[inside], j[inside]]
        undecided = np.flatnonzero(out == _BOUNDARY)
        if undecided.size:
            out.flat[undecided] = self._exact(x.flat[undecided], y.flat[undecided])
        return out

    def area_number(self, x: float, y: float) -> int:
        """Area number of one point (scalar fast path of :meth:`area_numbers`)."""
        i = int((y - self.y0) // self.cell_m)
        j = int((x - self.x0) // self.cell_m)
        ny, nx = self.raster.shape
        if not (0 <= i < ny and 0 <= j < nx):
            return NO_AREA
        n = int(self.raster[i, j])
        if n != _BOUNDARY:
            return n
        return int(self._exact(np.array([x], float), np.array([y], float))[0])

    def _exact(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        res = np.full(x.shape, NO_AREA, dtype=np.int32)
        # in painting order: the last area holding a point (boundary included) is the rule's answer
        for n, g in enumerate(self.geoms):
            res[shapely.intersects_xy(g, x, y)] = n
        return res

    def area_ids(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Area id (str) of each point, ``None`` outside all areas."""
        return self._id_array[self.area_numbers(x, y)]

    def area_of(self, x: float, y: float) -> str | None:
        """Area id of one point, ``None`` outside all areas."""
        return self._id_array[self.area_number(x, y)]


def area_index(plant: Any) -> AreaIndex:
    """The :class:`AreaIndex` of a plant's work areas (1 m raster), built once per plant."""
    return per_plant(plant, "area_index", lambda: AreaIndex({k: a.geometry for k, a in plant.areas.items()}))
