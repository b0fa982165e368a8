"""Evacuation geometry: a walkable shapely polygon (holes = obstacles) and named goals.

The plant loader is not used here: whoever owns the plant turns it into an
:class:`EvacuationGeometry` (walkable area in the local plant frame, x east / y north, metres).

Example
-------
>>> from shapely import box
>>> geo = EvacuationGeometry(box(0, 0, 20, 10), [Goal("muster", box(18, 4, 20, 6))])
>>> geo.goal_names
['muster']
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

__all__ = ["Goal", "SpeedZone", "EvacuationGeometry", "WallIndex", "wall_segments", "build_wall_index"]


@dataclass(frozen=True)
class Goal:
    """A target area (exit, muster point or shelter).

    ``capacity`` (persons) closes the goal for newcomers once reached (they re-choose);
    ``shelter=True`` marks people reaching it as *sheltering* instead of *arrived*;
    ``sink=False`` makes it an attractor only (people walk towards it but never arrive; used for
    the periodic fundamental-diagram corridor); ``outdoors=True`` (an outdoor muster point) keeps
    the dose of the people who arrived growing where they stand, while at any other goal it stops
    at the arrival. In a shelter the dose goes on at the shelter's indoor concentration: a single
    well-mixed zone exchanging ``air_changes_per_h`` with the outdoor air at the goal's
    representative point, clean at the start of the run (:mod:`..physics.indoor`; 0 = sealed).
    """

    name: str
    polygon: Polygon
    capacity: int | None = None
    shelter: bool = False
    sink: bool = True
    outdoors: bool = False
    air_changes_per_h: float = 1.0

    def __post_init__(self) -> None:
        if not (self.air_changes_per_h >= 0.0):
            raise ValueError(f"goal {self.name!r}: air_changes_per_h must be >= 0, got {self.air_changes_per_h!r}")


@dataclass(frozen=True)
class SpeedZone:
    """An area where the free walking speed is multiplied by ``factor`` (stairs in a 2-D plan,
    ramps, rough ground). RiMEA 4.1.1 tests 2, 3 and 13 model stairs this way where there is no
    second floor; DIN 18009-2 Tab. F.2 (after Fruin) allows half the level speed on stairs."""

    polygon: Polygon
    factor: float

    def __post_init__(self) -> None:
        if not (0.0 < self.factor <= 1.0):
            raise ValueError(f"speed zone factor must be in (0, 1], got {self.factor!r}")


@dataclass
class EvacuationGeometry:
    """Walkable area plus goals.

    ``walkable`` is a shapely Polygon or MultiPolygon; obstacles are holes. Goals must overlap the
    walkable area (only the overlap counts). ``periodic_x`` = (x0, x1) makes the domain periodic
    in x between those two lines (used for fundamental-diagram tests): boundary edges on these
    lines are not walls and agents leaving at x1 re-enter at x0. ``walls`` (lines, e.g. the plant's
    interior fences) are thin obstacles already cut out of ``walkable``; the navigation raster also
    closes every cell they cross, so a wall thinner than a cell still blocks the way.
    ``speed_zones`` slow people down where they lie (the navigation fields know it too).
    """

    walkable: Polygon | MultiPolygon
    goals: list[Goal] = field(default_factory=list)
    periodic_x: tuple[float, float] | None = None
    walls: BaseGeometry | None = None
    speed_zones: list[SpeedZone] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.walkable, (Polygon, MultiPolygon)):
            raise TypeError(f"walkable must be a shapely Polygon or MultiPolygon, got {type(self.walkable).__name__}")
        if self.walkable.is_empty or not self.walkable.is_valid:
            raise ValueError(f"walkable area is empty or invalid: {shapely.is_valid_reason(self.walkable)}")
        names = [g.name for g in self.goals]
        if len(set(names)) != len(names):
            raise ValueError(f"goal names must be unique, got {names}")
        for g in self.goals:
            if not g.polygon.intersects(self.walkable) or g.polygon.intersection(self.walkable).area <= 0:
                raise ValueError(f"goal {g.name!r} does not overlap the walkable area")

    @property
    def goal_names(self) -> list[str]:
        return [g.name for g in self.goals]

    def goal_index(self, name: str) -> int:
        try:
            return self.goal_names.index(name)
        except ValueError:
            raise KeyError(f"unknown goal {name!r}; goals are {self.goal_names}") from None

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return tuple(self.walkable.bounds)


def wall_segments(walkable: BaseGeometry, periodic_x: tuple[float, float] | None = None,
                  extra: list[BaseGeometry] | None = None) -> np.ndarray:
    """All boundary edges of ``walkable`` (and of the ``extra`` polygons, e.g. blocked gates) as an
    (S, 4) array ``x0, y0, x1, y1``. With ``periodic_x`` the edges lying on x = x0 or x = x1 are
    dropped."""
    rings = []
    geoms = [walkable] + list(extra or [])
    for g in geoms:
        for poly in getattr(g, "geoms", [g]):
            if poly.is_empty:
                continue
            rings.append(np.asarray(poly.exterior.coords))
            rings.extend(np.asarray(r.coords) for r in poly.interiors)
    segs = np.concatenate([np.hstack([r[:-1, :2], r[1:, :2]]) for r in rings]) if rings else np.zeros((0, 4))
    length = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
    segs = segs[length > 1e-9]
    if periodic_x is not None:
        on_edge = np.zeros(len(segs), bool)
        for xe in periodic_x:
            on_edge |= (np.abs(segs[:, 0] - xe) < 1e-9) & (np.abs(segs[:, 2] - xe) < 1e-9)
        segs = segs[~on_edge]
    return np.ascontiguousarray(segs, dtype=np.float64)


@dataclass
class WallIndex:
    """Wall segments bucketed on a uniform grid (CSR layout) for the locomotion kernel: cell c holds
    every segment whose distance to any point of the cell is at most ``cutoff``."""

    segments: np.ndarray  # (S, 4)
    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    start: np.ndarray  # (nx*ny + 1,) int64
    items: np.ndarray  # int64


def build_wall_index(segments: np.ndarray, bounds: tuple[float, float, float, float],
                     cutoff: float, cell: float = 1.0) -> WallIndex:
    x0, y0, x1, y1 = bounds
    x0 -= cell
    y0 -= cell
    nx = int(np.ceil((x1 + cell - x0) / cell)) + 1
    ny = int(np.ceil((y1 + cell - y0) / cell)) + 1
    half_diag = 0.5 * np.sqrt(2.0) * cell
    cells: list[np.ndarray] = []
    segids: list[np.ndarray] = []
    for k, (ax, ay, bx, by) in enumerate(segments):
        i0 = max(int((min(ax, bx) - cutoff - x0) / cell), 0)
        i1 = min(int((max(ax, bx) + cutoff - x0) / cell), nx - 1)
        j0 = max(int((min(ay, by) - cutoff - y0) / cell), 0)
        j1 = min(int((max(ay, by) + cutoff - y0) / cell), ny - 1)
        ii, jj = np.meshgrid(np.arange(i0, i1 + 1), np.arange(j0, j1 + 1))
        cx = x0 + (ii.ravel() + 0.5) * cell
        cy = y0 + (jj.ravel() + 0.5) * cell
        d = _point_segment_distance(cx, cy, ax, ay, bx, by)
        keep = d <= cutoff + half_diag
        cells.append((jj.ravel() * nx + ii.ravel())[keep])
        segids.append(np.full(int(keep.sum()), k))
    if cells:
        c = np.concatenate(cells)
        s = np.concatenate(segids)
    else:
        c = np.zeros(0, np.int64)
        s = np.zeros(0, np.int64)
    order = np.argsort(c, kind="stable")
    counts = np.bincount(c, minlength=nx * ny)
    start = np.zeros(nx * ny + 1, np.int64)
    np.cumsum(counts, out=start[1:])
    return WallIndex(segments, float(x0), float(y0), float(cell), nx, ny, start,
                     np.ascontiguousarray(s[order], dtype=np.int64))


def _point_segment_distance(px, py, ax, ay, bx, by):
    vx, vy = bx - ax, by - ay
    L2 = vx * vx + vy * vy
    t = np.clip(((px - ax) * vx + (py - ay) * vy) / L2, 0.0, 1.0) if L2 > 0 else 0.0
    return np.hypot(px - (ax + t * vx), py - (ay + t * vy))
