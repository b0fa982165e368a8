"""Spatial look-ups on the twin's points, vectorised: points in a polygon, points within a radius.

Which named area a point is in is the plant's one point → area rule,
:class:`safetwin.plant_models.geometry.AreaIndex` (the smallest area holding the point), re-exported here.

Example::

    >>> points_within_radius(0.0, 0.0, 5.0, np.array([3.0, 4.0]), np.array([4.0, 4.0])).tolist()
    [True, False]
"""
from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from safetwin.plant_models.geometry.areas import NO_AREA, AreaIndex

__all__ = ["NO_AREA", "AreaIndex", "points_in_polygon", "points_within_radius"]


def points_in_polygon(polygon: BaseGeometry, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Boolean mask of the points (m) inside ``polygon`` (boundary excluded)."""
    shapely.prepare(polygon)
    return shapely.contains_xy(polygon, np.asarray(x, float), np.asarray(y, float))


def points_within_radius(cx: float, cy: float, radius_m: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Boolean mask of the points within ``radius_m`` of (cx, cy), boundary included."""
    return (np.asarray(x) - cx) ** 2 + (np.asarray(y) - cy) ** 2 <= radius_m**2
