"""Congestion and confinement of a plant region, from footprints and heights — what sets the
strength of a vapour cloud explosion.

Pure functions of shapely geometries (plant frame, m); the plant loader's equipment and
buildings are turned into :class:`Obstacle` by the caller.

Quantities (the GAME correlations' parameters, Eggen 1998 / Mercx, van den Berg & van Leeuwen,
as used in the Yellow Book CPR 14E ch. 5 and CCPS 2010 ch. 5):

* ``volume_blockage_ratio`` (VBR) — obstacle volume inside the region divided by the region's
  volume (footprint area × the height of its tallest obstacle, the obstructed layer);
* ``flame_path_m`` (Lp) — the longest distance a flame travels through the region: from the
  ignition point (the region's centroid unless given) to its farthest boundary point;
* ``obstacle_diameter_m`` (D) — the volume-weighted mean obstacle diameter (cylinders: their
  diameter; racks and polygons: the width of their minimum rotated rectangle);
* ``confinement`` — "3D" (open: the flame expands in every direction), "2D" (between a floor and a
  roof: inside a building footprint), "2.5D" (partly roofed: roofed obstacles cover more than a
  quarter of the region) — the BST classes (Pierorazio et al. 2005);
* ``congestion`` — BST congestion level from the VBR: low below 10 %, medium 10–40 %, high above
  40 % (CCPS 2010 ch. 5 gives the qualitative classes with these indicative blockage ratios
  [PUB-mem]).

Obstacles are counted with a ``solid_fraction`` (1 for vessels and columns; a pipe rack is mostly
air, default 0.3 [assumption of this model, stated in each result]).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

Confinement = Literal["2D", "2.5D", "3D"]
CongestionLevel = Literal["low", "medium", "high"]

PIPE_RACK_SOLID_FRACTION = 0.3
LOW_VBR = 0.10
HIGH_VBR = 0.40


@dataclass(frozen=True)
class Obstacle:
    """An obstacle: footprint polygon (m), height (m), the share of its box that is solid, and whether it
    is a roof (a building or covered structure, which confines rather than congests)."""

    footprint: Polygon
    height_m: float
    solid_fraction: float = 1.0
    roofed: bool = False
    diameter_m: float | None = None
    id: str = ""

    @property
    def volume_m3(self) -> float:
        return float(self.footprint.area * self.height_m * self.solid_fraction)

    @property
    def characteristic_diameter_m(self) -> float:
        """Diameter of a cylinder, else the width (short side) of the minimum rotated rectangle."""
        if self.diameter_m is not None:
            return float(self.diameter_m)
        rect = shapely.minimum_rotated_rectangle(self.footprint)
        xy = np.asarray(rect.exterior.coords)[:4]
        sides = np.hypot(*np.diff(np.vstack([xy, xy[:1]]), axis=0).T)
        return float(sides.min()) if sides.size else 0.0


@dataclass(frozen=True)
class Congestion:
    """Congestion and confinement of one region (see the module docstring)."""

    region: Polygon
    region_height_m: float
    region_volume_m3: float
    obstacle_volume_m3: float
    volume_blockage_ratio: float
    flame_path_m: float
    obstacle_diameter_m: float
    confinement: Confinement
    congestion: CongestionLevel
    n_obstacles: int
    notes: tuple[str, ...] = ()

    @property
    def free_volume_m3(self) -> float:
        """Volume (m³) of the obstructed layer not taken by obstacles: what a cloud can fill."""
        return max(self.region_volume_m3 - self.obstacle_volume_m3, 0.0)


def congestion_level(volume_blockage_ratio: float) -> CongestionLevel:
    """BST congestion class from the VBR (module docstring)."""
    if volume_blockage_ratio < LOW_VBR:
        return "low"
    return "medium" if volume_blockage_ratio < HIGH_VBR else "high"


def congestion_in_region(region: BaseGeometry, obstacles: Sequence[Obstacle], *,
                         ignition_xy_m: tuple[float, float] | None = None,
                         region_height_m: float | None = None,
                         confinement: Confinement | None = None) -> Congestion:
    """Congestion of ``region`` (a polygon) from the obstacles it holds (each counted with the part of
    its footprint inside the region).

    >>> from shapely.geometry import box
    >>> obs = [Obstacle(Point(x, y).buffer(1.0, quad_segs=32), 10.0, diameter_m=2.0)
    ...        for x in range(5, 50, 10) for y in range(5, 50, 10)]
    >>> c = congestion_in_region(box(0, 0, 50, 50), obs)
    >>> round(c.volume_blockage_ratio, 4), c.obstacle_diameter_m, round(c.flame_path_m, 1), c.confinement
    (0.0314, 2.0, 35.4, '3D')
    """
    if region.is_empty or region.area <= 0:
        raise ValueError("congested region must be a polygon with an area")
    inside: list[tuple[Obstacle, float]] = []
    for ob in obstacles:
        part = ob.footprint.intersection(region).area
        if part > 0:
            inside.append((ob, part / ob.footprint.area))
    notes: list[str] = []
    solid = [(ob, share) for ob, share in inside if not ob.roofed]
    height = region_height_m if region_height_m is not None else max((ob.height_m for ob, _ in solid), default=0.0)
    if height <= 0:
        raise ValueError("region has no obstacles and no region_height_m")
    vols = np.array([ob.footprint.area * share * min(ob.height_m, height) * ob.solid_fraction for ob, share in solid])
    diam = np.array([ob.characteristic_diameter_m for ob, _ in solid])
    region_vol = float(region.area * height)
    obstacle_vol = float(vols.sum())
    vbr = obstacle_vol / region_vol
    d_mean = float((vols * diam).sum() / obstacle_vol) if obstacle_vol > 0 else 0.0
    if any(ob.solid_fraction < 1.0 for ob, _ in solid):
        notes.append("pipe racks and open structures counted with their solid fraction")
    ign = Point(ignition_xy_m) if ignition_xy_m is not None else region.centroid
    ring = np.asarray(shapely.get_coordinates(region.boundary))
    lp = float(np.max(np.hypot(ring[:, 0] - ign.x, ring[:, 1] - ign.y)))
    if confinement is None:
        roofed = shapely.union_all([ob.footprint for ob, _ in inside if ob.roofed]) if any(
            ob.roofed for ob, _ in inside) else Polygon()
        cover = float(roofed.intersection(region).area / region.area) if not roofed.is_empty else 0.0
        if roofed.contains(ign):
            confinement = "2D"
            notes.append("ignition under a roof: 2D confinement")
        elif cover > 0.25:
            confinement = "2.5D"
            notes.append(f"roofed structures cover {cover:.0%} of the region: 2.5D")
        else:
            confinement = "3D"
    return Congestion(region=region, region_height_m=float(height), region_volume_m3=region_vol,
                      obstacle_volume_m3=obstacle_vol, volume_blockage_ratio=float(vbr), flame_path_m=lp,
                      obstacle_diameter_m=d_mean, confinement=confinement, congestion=congestion_level(vbr),
                      n_obstacles=len(solid), notes=tuple(notes))


__all__ = ["Obstacle", "Congestion", "congestion_in_region", "congestion_level", "PIPE_RACK_SOLID_FRACTION"]
