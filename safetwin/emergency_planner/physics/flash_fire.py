"""Flash fire: the envelope of a flammable cloud (dense or passive) that burns on delayed ignition.

Model (TNO Purple Book CPR 18E ch. 5; CCPS 2010 ch. 8 "Flash fires"): people outdoors inside the
cloud's LFL envelope at the moment of ignition die (P = 1), people outside it are not harmed by
the flash fire's short radiation; people indoors are protected. The envelope of ½ LFL is drawn
as well: 10-min mean concentrations carry peaks about twice the mean, so the ½ LFL contour is the
usual conservative extent of the flame (CCPS 2010 ch. 8; ALOHA uses 60 % LEL for the same reason).

The cloud enters as a ground-level (or receptor-height) field on a grid — the maximum over the
cloud's life for a drifting puff — from any dispersion model. Zones: RED = LFL (lethal),
ORANGE = ½ LFL (:func:`~.effects.flammable_thresholds` with ``scheme="lfl"``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .effects import ThresholdSet, flammable_thresholds
from .grid import GridSpec
from .zones import Zone, zones_from_field
from safetwin.substances import Substance


@dataclass(frozen=True)
class FlashFire:
    """Flash-fire zones of a cloud: ``zones`` (RED = LFL, ORANGE = ½ LFL) and the lethality field."""

    zones: list[Zone]
    thresholds: ThresholdSet
    lethality: np.ndarray
    lethal_area_m2: float
    grid: GridSpec

    def lethality_at(self, concentration_mg_m3: np.ndarray) -> np.ndarray:
        """P(death) outdoors for concentrations (mg/m³) at ignition: 1 at or above the LFL, else 0."""
        return flash_fire_lethality(concentration_mg_m3, self.thresholds.levels["RED"])


def flash_fire_lethality(concentration_mg_m3: np.ndarray | float, lfl_mg_m3: float) -> np.ndarray:
    """Purple Book flash-fire lethality outdoors: 1 where the concentration reaches the LFL, else 0.

    >>> flash_fire_lethality([100.0, 40000.0], 38000.0).tolist()
    [0.0, 1.0]
    """
    return (np.asarray(concentration_mg_m3, dtype=float) >= lfl_mg_m3).astype(float)


def envelope_of_fields(fields_mg_m3: list[np.ndarray]) -> np.ndarray:
    """Cell-wise maximum of a cloud's fields at several times: the area a drifting cloud swept."""
    if not fields_mg_m3:
        raise ValueError("no fields")
    return np.maximum.reduce([np.asarray(f, dtype=float) for f in fields_mg_m3])


def flash_fire(grid: GridSpec, concentration_mg_m3: np.ndarray, substance: Substance) -> FlashFire:
    """Flash-fire zones of a cloud field (mg/m³, shape ``grid.shape``) of a flammable ``substance``.

    >>> import numpy as np
    >>> from safetwin.substances import get_substance
    >>> g = GridSpec.around(0, 0, 50, 1)
    >>> x, y = g.mesh()
    >>> c = 80_000.0 * np.exp(-(x**2 + y**2) / (2 * 20.0**2))     # propane, peak 80 g/m³
    >>> ff = flash_fire(g, c, get_substance("propane"))
    >>> [z.level for z in ff.zones], round(ff.lethal_area_m2, -2)   # exact: π·2σ²·ln(80000/LFL) = 1879 m²
    (['RED', 'ORANGE'], 1900.0)
    """
    th = flammable_thresholds(substance, "lfl")
    c = np.asarray(concentration_mg_m3, dtype=float)
    if c.shape != grid.shape:
        raise ValueError(f"field shape {c.shape} does not match grid {grid.shape}")
    leth = flash_fire_lethality(c, th.levels["RED"])
    zones = zones_from_field(grid, c, th.levels, units=th.units, labels=th.labels)
    return FlashFire(zones=zones, thresholds=th, lethality=leth, lethal_area_m2=float(leth.sum() * grid.cell_area_m2),
                     grid=grid)


__all__ = ["FlashFire", "flash_fire", "flash_fire_lethality", "envelope_of_fields"]
