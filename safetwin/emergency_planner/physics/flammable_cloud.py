"""A flammable cloud as the explosion and flash-fire models see it: a concentration function of
position at one instant, the flammable mass between LFL and UFL, and the LFL envelope.

Input type: :data:`CloudConcentration`, ``f(x_m, y_m, z_m) -> mg/m³`` over broadcast arrays in
the plant frame, at the instant of ignition. Any dispersion model provides it: the Gaussian
plume (:func:`plume_cloud`) and puff (:func:`puff_cloud`) of :mod:`.dispersion` here, a dense-gas
cloud through the same signature.

Flammable mass (CCPS 2010 ch. 3; Yellow Book CPR 14E ch. 5): ``M = ∫ C·1[LFL ≤ C ≤ UFL] dV``,
integrated on a regular 3-D lattice of sample points (midpoint rule) — the fuel that can take part
in a vapour cloud explosion.

Units: m, kg, mg/m³ (C), 25 °C and 1 atm for vol % ↔ mg/m³ (:mod:`safetwin.substances`).
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from .dispersion import KG_M3_TO_MG_M3, plume_concentration, puff_concentration
from .grid import GridSpec, to_wind_frame
from .sigmas import SigmaModel

CloudConcentration = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""``f(x_m, y_m, z_m) -> mg/m³`` over broadcast arrays (plant frame), at one instant."""


@dataclass(frozen=True)
class FlammableMass:
    """The part of a cloud between LFL and UFL: fuel mass (kg), its volume (m³) and mass centre (m)."""

    mass_kg: float
    volume_m3: float
    centre_xyz_m: tuple[float, float, float]
    total_mass_kg: float
    cell_volume_m3: float


def flammable_mass(concentration: CloudConcentration, grid: GridSpec, z_levels_m: np.ndarray, *,
                   lfl_mg_m3: float, ufl_mg_m3: float | None = None, within: BaseGeometry | None = None,
                   z_max_m: float | None = None) -> FlammableMass:
    """Fuel mass (kg) between LFL and UFL in a cloud, on the horizontal ``grid`` × ``z_levels_m`` lattice.

    The z levels are cell centres of equal spacing (e.g. ``np.arange(0.25, 20, 0.5)``); every node of the
    grid is the centre of a cell of ``dx·dy·dz``. ``ufl_mg_m3=None`` counts everything above the LFL.
    ``within`` (a polygon) and ``z_max_m`` restrict the count to a region, e.g. the congested region of a
    vapour cloud explosion. One grid plane at a time (memory ~ grid size).
    """
    z = np.asarray(z_levels_m, dtype=float)
    if z.ndim != 1 or z.size == 0:
        raise ValueError("z_levels_m must be a non-empty 1-D array")
    dz = float(z[1] - z[0]) if z.size > 1 else 1.0
    if z.size > 1 and not np.allclose(np.diff(z), dz):
        raise ValueError("z_levels_m must be equally spaced")
    cell = grid.dx_m * grid.dy_m * dz
    x, y = grid.mesh()
    upper = np.inf if ufl_mg_m3 is None else ufl_mg_m3
    region = np.ones(x.shape, bool) if within is None else shapely.contains_xy(within, x, y)
    if z_max_m is not None:
        z = z[z <= z_max_m]
    mass = vol = total = 0.0
    moment = np.zeros(3)
    for zk in z:
        c = np.asarray(concentration(x, y, np.full_like(x, zk)), dtype=float)
        inside = (c >= lfl_mg_m3) & (c <= upper) & region
        m_cells = np.where(inside, c, 0.0) * cell / KG_M3_TO_MG_M3
        mk = float(m_cells.sum())
        mass += mk
        vol += float(inside.sum()) * cell
        total += float(c.sum()) * cell / KG_M3_TO_MG_M3
        moment += (float((m_cells * x).sum()), float((m_cells * y).sum()), mk * zk)
    centre = tuple(float(v) for v in (moment / mass if mass > 0 else np.full(3, np.nan)))
    return FlammableMass(mass_kg=mass, volume_m3=vol, centre_xyz_m=centre, total_mass_kg=total,  # type: ignore[arg-type]
                         cell_volume_m3=cell)


def plume_cloud(*, source_xy_m: tuple[float, float], wind_from_deg: float, rate_kg_s: float, wind_speed_m_s: float,
                sigmas: SigmaModel, release_height_m: float = 0.0,
                mixing_height_m: float | None = None) -> CloudConcentration:
    """A steady Gaussian plume (:func:`~.dispersion.plume_concentration`) as a cloud in the plant frame (mg/m³)."""
    x0, y0 = source_xy_m

    def f(x_m: np.ndarray, y_m: np.ndarray, z_m: np.ndarray) -> np.ndarray:
        xd, yc = to_wind_frame(np.asarray(x_m, float), np.asarray(y_m, float), x0, y0, wind_from_deg)
        return plume_concentration(xd, yc, z_m, rate_kg_s=rate_kg_s, wind_speed_m_s=wind_speed_m_s, sigmas=sigmas,
                                   release_height_m=release_height_m, mixing_height_m=mixing_height_m) * KG_M3_TO_MG_M3

    return f


def puff_cloud(*, source_xy_m: tuple[float, float], wind_from_deg: float, mass_kg: float, wind_speed_m_s: float,
               sigmas: SigmaModel, time_s: float, release_height_m: float = 0.0) -> CloudConcentration:
    """An instantaneous Gaussian puff (:func:`~.dispersion.puff_concentration`) ``time_s`` after release,
    as a cloud in the plant frame (mg/m³)."""
    x0, y0 = source_xy_m

    def f(x_m: np.ndarray, y_m: np.ndarray, z_m: np.ndarray) -> np.ndarray:
        xd, yc = to_wind_frame(np.asarray(x_m, float), np.asarray(y_m, float), x0, y0, wind_from_deg)
        return puff_concentration(xd, yc, z_m, time_s, mass_kg=mass_kg, wind_speed_m_s=wind_speed_m_s, sigmas=sigmas,
                                  release_height_m=release_height_m) * KG_M3_TO_MG_M3

    return f


__all__ = ["CloudConcentration", "FlammableMass", "flammable_mass", "plume_cloud", "puff_cloud"]
