"""Coordinates into the plant frame (x east, y north, metres from the plant's origin).

Two ways in: a drawing (units, rotation, origin — or surveyed control points fitted by least
squares, Umeyama 1991 "Least-squares estimation of transformation parameters between two point
patterns") and a GIS CRS (reprojected with pyproj to the plant's projected CRS, then shifted by
the origin).

>>> t = SimilarityTransform(scale=0.001, rotation_deg=90.0, tx=10.0, ty=0.0)
>>> [round(float(v), 6) for v in t.apply([[1000.0, 0.0]])[0]]
[10.0, 1.0]
>>> fit = fit_control_points([[0, 0], [1000, 0]], [[10, 0], [10, 1]], scale=0.001)
>>> round(fit.rotation_deg, 6), round(fit.max_residual_m, 9)
(90.0, 0.0)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry


@dataclass(frozen=True)
class SimilarityTransform:
    """``local = scale · R(rotation_deg) · p + (tx, ty)`` — drawing → plant frame (m)."""

    scale: float
    rotation_deg: float
    tx: float
    ty: float
    max_residual_m: float = 0.0

    def apply(self, xy: np.ndarray) -> np.ndarray:
        """Transform an (n, 2) array of drawing coordinates to the plant frame (m)."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        a = np.radians(self.rotation_deg)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        return self.scale * xy @ rot.T + (self.tx, self.ty)

    def geometry(self, geom: BaseGeometry) -> BaseGeometry:
        """A shapely geometry in drawing coordinates, in the plant frame."""
        return shapely.transform(geom, self.apply)


def frame_from_origin(*, scale: float, rotation_deg: float, drawing_origin: tuple[float, float]) -> SimilarityTransform:
    """The transform with the drawing point ``drawing_origin`` at the plant frame's (0, 0)."""
    t = SimilarityTransform(scale, rotation_deg, 0.0, 0.0)
    ox, oy = t.apply([drawing_origin])[0]
    return SimilarityTransform(scale, rotation_deg, -ox, -oy)


def fit_control_points(drawing_xy, local_xy, *, scale: float | None) -> SimilarityTransform:
    """Least-squares rotation and translation (and scale when ``scale`` is None) taking the
    drawing points onto their plant-frame positions (m); ``max_residual_m`` is the worst miss."""
    src = np.asarray(drawing_xy, float).reshape(-1, 2)
    dst = np.asarray(local_xy, float).reshape(-1, 2)
    if len(src) < 2 or len(src) != len(dst):
        raise ValueError("need two or more control points, each with drawing and plant coordinates")
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s0, d0 = src - mu_s, dst - mu_d
    # rotation from the cross-covariance (2-D Umeyama: the angle of sum(conj(s) * d) in complex form)
    zs, zd = s0[:, 0] + 1j * s0[:, 1], d0[:, 0] + 1j * d0[:, 1]
    cross = np.sum(np.conj(zs) * zd)
    angle = float(np.angle(cross))
    if scale is None:
        scale = float(np.abs(cross) / np.sum(np.abs(zs) ** 2))
    t = SimilarityTransform(scale, float(np.degrees(angle)), 0.0, 0.0)
    tx, ty = mu_d - t.apply([mu_s])[0]
    t = SimilarityTransform(scale, float(np.degrees(angle)), float(tx), float(ty))
    residual = float(np.max(np.hypot(*(t.apply(src) - dst).T)))
    return SimilarityTransform(t.scale, t.rotation_deg, t.tx, t.ty, residual)


@dataclass(frozen=True)
class PlantFrame:
    """The plant's projected CRS and origin: where GIS coordinates land in the local frame."""

    crs: str
    easting: float
    northing: float

    def from_crs(self, geoms: list[BaseGeometry], source_crs: str | CRS) -> list[BaseGeometry]:
        """Geometries in ``source_crs`` reprojected to the plant CRS and shifted to the local frame (m)."""
        shift = np.array([self.easting, self.northing])
        if CRS.from_user_input(source_crs) == CRS.from_user_input(self.crs):
            return [shapely.transform(g, lambda xy: xy - shift) for g in geoms]
        tr = Transformer.from_crs(source_crs, self.crs, always_xy=True)

        def move(xy: np.ndarray) -> np.ndarray:
            x, y = tr.transform(xy[:, 0], xy[:, 1])
            return np.column_stack([x, y]) - shift

        return [shapely.transform(g, move) for g in geoms]

    def local_from_projected(self, xy) -> np.ndarray:
        """Projected (easting, northing) in the plant CRS → local (m)."""
        return np.asarray(xy, float).reshape(-1, 2) - (self.easting, self.northing)


def round_geometry(geom: BaseGeometry, decimals: int) -> BaseGeometry:
    """Coordinates rounded to ``decimals`` (m); a drawing's float noise does not show as a change."""
    return shapely.transform(geom, lambda xy: np.round(xy, decimals) + 0.0)
