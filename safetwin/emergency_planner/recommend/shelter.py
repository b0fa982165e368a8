"""Shelter-in-place: indoor concentration of a single-zone building and the toxic load indoors.

A building is one well-mixed zone exchanging air with the outside at ``λ = ACH / 3600`` (1/s):
``dCi/dt = λ (Co − Ci)``. With the outdoor concentration piecewise linear between samples the
step is integrated exactly (exponential integrator), so a step ``Co`` gives
``Ci(t) = Co (1 − e^{−λt})`` to rounding. This is the classic sheltering model (Wilson 1987,
"Stay indoors or evacuate to avoid exposure to toxic gas?", Emergency Preparedness Digest;
CCPS *Guidelines for Chemical Process Quantitative Risk Analysis*, 2nd ed. 2000, indoor
concentration with air changes; Mannan & Kilpatrick 2000, "The value of shelter-in-place as a
method of protection in a toxic release", Process Safety Progress 19(4) — references from
memory, check before quoting). The step is :func:`..physics.indoor.indoor_step`, shared with the
evacuation model's shelters. Occupants are assumed to ventilate or leave once the cloud has
passed, i.e. when the outdoor concentration has fallen below the indoor one after its peak; the
indoor toxic load is counted until then (or the end of the window).

Example (a step of 10 mg/m³ into a building with 1 air change per hour)::

    >>> import numpy as np
    >>> t = np.linspace(0.0, 3600.0, 361)
    >>> ci = indoor_concentration(t, np.full_like(t, 10.0), 1.0)
    >>> round(float(ci[-1]), 4), round(float(10.0 * (1 - np.exp(-1.0))), 4)
    (6.3212, 6.3212)
"""
from __future__ import annotations

import numpy as np

from ..physics.indoor import indoor_step

__all__ = ["indoor_concentration", "exposure_end_index", "toxic_load_s"]


def indoor_concentration(times_s: np.ndarray, outdoor: np.ndarray, air_changes_per_h: float | np.ndarray,
                         c_indoor_0: float | np.ndarray = 0.0) -> np.ndarray:
    """Indoor concentration (same unit as ``outdoor``) at ``times_s`` for a single-zone building.

    ``outdoor`` has shape (..., nt) (a batch of buildings on the leading axes), ``air_changes_per_h``
    broadcasts against the leading shape. Exact for ``Co`` linear between samples.
    """
    t = np.asarray(times_s, float)
    co = np.asarray(outdoor, float)
    ci = np.empty(co.shape)
    ci[..., 0] = c_indoor_0
    for k in range(1, t.size):
        ci[..., k] = indoor_step(ci[..., k - 1], co[..., k - 1], co[..., k], air_changes_per_h, float(t[k] - t[k - 1]))
    return ci


def exposure_end_index(outdoor: np.ndarray, indoor: np.ndarray) -> np.ndarray:
    """Index (per building, last axis) from which sheltering ends: the first sample after the
    outdoor peak where the outdoor concentration is below the indoor one (nt when it never is)."""
    co, ci = np.asarray(outdoor, float), np.asarray(indoor, float)
    nt = co.shape[-1]
    peak = np.argmax(co, axis=-1)
    after = np.arange(nt) > peak[..., None]
    below = after & (co < ci) & (ci > 0)
    return np.where(below.any(-1), np.argmax(below, axis=-1), nt)


def toxic_load_s(times_s: np.ndarray, conc: np.ndarray, exponent: float, end_index: np.ndarray | None = None) -> np.ndarray:
    """Toxic load ``∫ Cⁿ dt`` ((unit)ⁿ·s, trapezoidal) along the last axis, up to ``end_index``."""
    t = np.asarray(times_s, float)
    c = np.maximum(np.asarray(conc, float), 0.0) ** exponent
    if end_index is not None:
        mask = np.arange(t.size) < np.asarray(end_index)[..., None]
        c = np.where(mask, c, 0.0)
    return np.trapezoid(c, t, axis=-1)
