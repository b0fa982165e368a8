"""The limits every recommendation is checked against, and the continuous hazard at points.

Per toxic substance of the hazard (a *channel*): its AEGL-2 at ``aegl_duration_s`` (30 min by
default; the "impassable" level) and AEGL-1 (60 min; muster ranking) in mg/m³, the toxic-load
exponent ``n`` and the probit of ``probit_set`` (TNO by default), and the AEGL-2 equivalent load
``AEGL-2ⁿ · duration`` that dose ratios are taken against. Heat flux is checked against
5 kW/m² (:data:`.routing.FLUX_LIMIT_W_M2`). :func:`limit_ratio` is the ratio that decides
"unsafe": ``max(c_s / AEGL-2_s, q / 5 kW/m²)``.

Example (chlorine: AEGL-2 (30 min) 2.8 ppm)::

    >>> from safetwin.substances import get_substance
    >>> from .hazard import HazardSpec
    >>> cl2 = get_substance("chlorine")
    >>> channels = toxic_channels(HazardSpec(toxic=[(lambda x, y, t: 0 * x, cl2)]), aegl_duration_s=1800.0)
    >>> round(channels.aegl2_mg[0], 2), channels.names
    (8.12, ['chlorine'])
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from safetwin.emergency_planner.evacuation.exposure import Exposure, aegl_equivalent_dose

from .hazard import HazardSpec
from .routing import FLUX_LIMIT_W_M2


@dataclass
class ToxicChannels:
    """Per-substance limits and dose references, in the order of ``hazard.toxic``."""

    names: list[str]
    aegl2_mg: list[float]          # AEGL-2 at the duration (mg/m³)
    aegl1_mg: list[float]          # AEGL-1 (60 min) (mg/m³)
    exponent: list[float]          # toxic-load exponent n
    dose_ref: list[float]          # AEGL-2 equivalent load ((mg/m³)ⁿ·s)
    exposures: list[Exposure]      # probit harm per load


def toxic_channels(hazard: HazardSpec, *, aegl_duration_s: float, probit_set: str = "tno") -> ToxicChannels:
    """The channels of ``hazard``'s toxic substances; ``ValueError`` for one without AEGL values."""
    names, a2, a1, n, ref, ex = [], [], [], [], [], []
    for fn, sub in hazard.toxic:
        if sub.toxic is None:
            raise ValueError(f"hazard.toxic: substance {sub.name!r} has no AEGL values")
        aegl2 = float(sub.ppm_to_mg_m3(sub.toxic.aegl_at(2, aegl_duration_s)))
        pr = sub.probits.get(probit_set) or next(iter(sub.probits.values()), None)
        expo = pr.n if pr is not None else 1.0
        uf = 1.0 if pr is None or pr.concentration_unit == "mg/m3" else float(sub.mg_m3_to_ppm(1.0))
        names.append(sub.name)
        a2.append(aegl2)
        a1.append(float(sub.ppm_to_mg_m3(sub.toxic.aegl_at(1, 3600.0))))
        n.append(expo)
        ref.append(aegl_equivalent_dose(aegl2, aegl_duration_s, expo))
        ex.append(Exposure(fn, exponent=expo, name=sub.name, probit_a=None if pr is None else pr.a,
                           probit_b=None if pr is None else pr.b, unit_factor=uf, time_unit_s=60.0))
    return ToxicChannels(names, a2, a1, n, ref, ex)


def evaluate_hazard(hazard: HazardSpec, x_m: np.ndarray, y_m: np.ndarray,
                    t_s: np.ndarray) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Continuous hazard at paired points: concentration (mg/m³) per substance, flux (W/m²) or None."""
    concentrations = [np.asarray(fn(x_m, y_m, t_s), float) for fn, _ in hazard.toxic]
    flux = None if hazard.flux is None else np.asarray(hazard.flux(x_m, y_m, t_s), float)
    return concentrations, flux


def limit_ratio(channels: ToxicChannels, concentrations: Sequence[np.ndarray], flux: np.ndarray | None,
                shape: tuple[int, ...]) -> np.ndarray:
    """``max(c_s / AEGL-2_s, q / 5 kW/m²)`` of evaluated points (array of ``shape``)."""
    ratio = np.zeros(shape)
    for c, limit in zip(concentrations, channels.aegl2_mg):
        ratio = np.maximum(ratio, c / limit)
    if flux is not None:
        ratio = np.maximum(ratio, flux / FLUX_LIMIT_W_M2)
    return ratio
