"""Threat zones: fields on a grid → shapely (Multi)Polygons per risk level, and GeoJSON-ready dicts.

Contours come from ``contourpy`` (filled contours, outer boundaries with their holes), in the
local plant frame (x east, y north, m) of the field's :class:`~.grid.GridSpec`. Each zone is the
region where the field is **at or above** the level's threshold; higher levels are nested inside
lower ones (RED ⊂ ORANGE ⊂ YELLOW when thresholds decrease in that order).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import contourpy
import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping

from .grid import GridSpec

LEVEL_ORDER = ("RED", "ORANGE", "YELLOW", "BLUE")


@dataclass(frozen=True)
class Zone:
    """One threat zone: level, threshold (field units), label (e.g. "AEGL-3 (60 min)") and geometry."""

    level: str
    threshold: float
    units: str
    label: str
    geometry: Polygon | MultiPolygon

    @property
    def area_m2(self) -> float:
        return float(self.geometry.area)

    def max_distance_m(self, x0_m: float, y0_m: float) -> float:
        """Largest distance (m) of the zone boundary from a point (e.g. the release point)."""
        if self.geometry.is_empty:
            return 0.0
        pts = shapely.get_coordinates(self.geometry)
        return float(np.max(np.hypot(pts[:, 0] - x0_m, pts[:, 1] - y0_m)))

    def to_feature(self, **properties: Any) -> dict[str, Any]:
        """GeoJSON Feature (plant-frame coordinates) with level, threshold, units, label, area."""
        props = {"level": self.level, "threshold": self.threshold, "units": self.units, "label": self.label,
                 "area_m2": self.area_m2}
        props.update(properties)
        return {"type": "Feature", "geometry": mapping(self.geometry), "properties": props}


def field_polygon(grid: GridSpec, field: np.ndarray, threshold: float) -> Polygon | MultiPolygon:
    """Region where ``field >= threshold`` as a valid shapely geometry (empty Polygon if none)."""
    f = np.asarray(field, dtype=float)
    if f.shape != grid.shape:
        raise ValueError(f"field shape {f.shape} does not match grid {grid.shape}")
    if not np.any(f >= threshold):
        return Polygon()
    gen = contourpy.contour_generator(grid.x_m, grid.y_m, np.where(np.isfinite(f), f, 0.0),
                                      fill_type=contourpy.FillType.OuterOffset)
    # OuterOffset: a list of point arrays and a list of offset arrays, one of each per polygon
    points, offsets = cast("tuple[list[np.ndarray], list[np.ndarray]]", gen.filled(threshold, np.inf))
    polys = []
    for pts, off in zip(points, offsets):
        rings = [pts[off[i]:off[i + 1]] for i in range(len(off) - 1)]
        if len(rings[0]) < 4:
            continue
        polys.append(Polygon(rings[0], [r for r in rings[1:] if len(r) >= 4]))
    if not polys:
        return Polygon()
    geom = shapely.make_valid(shapely.union_all(polys))
    if isinstance(geom, (Polygon, MultiPolygon)):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, (Polygon, MultiPolygon))]
    return shapely.union_all(parts) if parts else Polygon()


def zones_from_field(grid: GridSpec, field: np.ndarray, thresholds: dict[str, float], *, units: str,
                     labels: dict[str, str] | None = None) -> list[Zone]:
    """Zones for each level in ``thresholds`` (level → threshold), ordered RED → BLUE."""
    out = []
    for level in sorted(thresholds, key=lambda lv: LEVEL_ORDER.index(lv) if lv in LEVEL_ORDER else 99):
        thr = float(thresholds[level])
        out.append(Zone(level, thr, units, (labels or {}).get(level, f"{level} ≥ {thr:g} {units}"),
                        field_polygon(grid, field, thr)))
    return out


def zones_to_geojson(zones: list[Zone], **properties: Any) -> dict[str, Any]:
    """FeatureCollection (plant frame) of the zones; ``properties`` are added to every feature."""
    return {"type": "FeatureCollection", "features": [z.to_feature(**properties) for z in zones]}
