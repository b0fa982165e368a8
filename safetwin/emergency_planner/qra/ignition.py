"""Delayed ignition at the plant's ignition sources (TNO Purple Book CPR 18E ch. 4, [PUB-mem]).

A flammable cloud that did not ignite at once drifts downwind; each ignition source it covers
(fired heater, flare, boiler, road traffic, a building's people and equipment — ``ignition_sources``
in plant.yaml) ignites it with the source's probability × its presence fraction. An extended
source (a road, a building, an equipment footprint) counts with the fraction of it the cloud
covers, sampled on points ``spacing_m`` apart (the cloud covering half a road meets half its
traffic). For a wind from bearing φ the probability that the cloud is ignited is

    P_ign(φ) = 1 − Π_sources (1 − p_s · presence_s · covered_s(φ)),

and since the cloud's envelope E(r, β) is computed once in the canonical frame (wind from north),
``covered_s(φ_k)`` is E at each sample point's ring and bearing shifted by k, for all k at once.
The QRA multiplies the delayed branch's frequency by P_ign(φ) direction by direction (the wind-rose
weights become w_k · P_ign(φ_k)); the flash fire — and later the VCE outcomes on the same cloud —
take those weights.

Example (one point source 50 m east of the release; a cloud that reaches 60 m downwind, 10 m wide)::

    >>> import numpy as np
    >>> from .polar import PolarGrid
    >>> polar = PolarGrid(5.0, 20, 36)                      # 10° bearings
    >>> x, y = polar.offsets()
    >>> envelope = (-y > 0) & (-y < 60) & (np.abs(x) < 10)  # canonical: wind from north, cloud to the south
    >>> pts = IgnitionPoints(np.array([[50.0, 0.0]]), np.array([0]), np.array([0.8]), ("H-1",))
    >>> p = delayed_ignition_by_direction(envelope, polar, 0.0, 0.0, pts)
    >>> float(p[27]), float(p[9])                             # wind from the west reaches it; from the east not
    (0.8, 0.0)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from .polar import PolarGrid, polar_index

__all__ = ["IgnitionPoints", "ignition_points", "delayed_ignition_by_direction"]


@dataclass(frozen=True)
class IgnitionPoints:
    """Sample points of the plant's ignition sources: ``xy_m`` (k, 2), each point's ``source`` index,
    each source's ``p`` (probability × presence fraction) and ``ids``."""

    xy_m: np.ndarray
    source: np.ndarray
    p: np.ndarray
    ids: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return len(self.ids) == 0


def _samples(geom: Any, spacing_m: float) -> np.ndarray:
    """Points of a geometry: the point; along a line every ``spacing_m``; inside a polygon on a
    ``spacing_m`` lattice (at least one point each)."""
    if geom.geom_type == "Point":
        return np.array([[geom.x, geom.y]])
    if geom.geom_type in ("LineString", "MultiLineString"):
        n = max(int(np.ceil(geom.length / spacing_m)), 1)
        pts = [geom.interpolate(d) for d in np.linspace(0.0, geom.length, n + 1)]
        return np.array([[p.x, p.y] for p in pts])
    x0, y0, x1, y1 = geom.bounds
    X, Y = np.meshgrid(np.arange(x0 + spacing_m / 2, x1, spacing_m), np.arange(y0 + spacing_m / 2, y1, spacing_m))
    inside = shapely.contains_xy(geom, X, Y)
    if not inside.any():
        c = geom.representative_point()
        return np.array([[c.x, c.y]])
    return np.column_stack([X[inside], Y[inside]])


def ignition_points(plant: Any, spacing_m: float = 5.0) -> IgnitionPoints:
    """The plant's declared ignition sources as sample points (see the module docstring)."""
    xy, src, p, ids = [], [], [], []
    for k, s in enumerate(plant.meta.ignition_sources):
        pts = _samples(plant.ignition_geometry(s), spacing_m)
        xy.append(pts)
        src.append(np.full(len(pts), k, np.int64))
        p.append(s.probability * s.presence_fraction)
        ids.append(s.id)
    if not ids:
        return IgnitionPoints(np.zeros((0, 2)), np.zeros(0, np.int64), np.zeros(0), ())
    return IgnitionPoints(np.vstack(xy), np.concatenate(src), np.asarray(p, float), tuple(ids))


def delayed_ignition_by_direction(envelope: np.ndarray, polar: PolarGrid, x0_m: float, y0_m: float,
                                  points: IgnitionPoints) -> np.ndarray:
    """P that the cloud released at (x0, y0) is ignited, for a wind from each bearing bin
    (n_theta,): ``envelope`` (nr', n_theta) is the cloud's flammable envelope on the first nr' rings
    of ``polar`` in the canonical frame (see the module docstring)."""
    n = polar.n_theta
    if points.empty:
        return np.zeros(n)
    ring, bearing = polar_index(polar, x0_m, y0_m, points.xy_m)
    reach = ring < envelope.shape[0]
    covered = np.zeros((len(ring), n))
    if reach.any():
        # wind from bin k: the canonical field is turned by k, so the point at bearing j sees E[·, j − k]
        cols = (bearing[reach, None] - np.arange(n)[None, :]) % n
        covered[reach] = envelope[ring[reach, None], cols]
    n_src = len(points.ids)
    per_point = np.bincount(points.source, minlength=n_src).astype(float)
    frac = np.zeros((n_src, n))
    np.add.at(frac, points.source, covered)
    frac /= per_point[:, None]
    return 1.0 - np.prod(1.0 - points.p[:, None] * frac, axis=0)
