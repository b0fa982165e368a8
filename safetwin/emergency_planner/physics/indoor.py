"""Single-zone indoor air model: a well-mixed building exchanging air with the outside.

``dCi/dt = λ (Co − Ci)`` with ``λ = ACH / 3600`` (1/s, ACH = air changes per hour). With the
outdoor concentration ``Co`` linear between two samples, one step is integrated exactly
(exponential integrator), so a constant ``Co`` from a clean start gives ``Ci(t) = Co (1 − e^{−λt})``
to rounding. The classic shelter-in-place model (Wilson 1987, "Stay indoors or evacuate to avoid
exposure to toxic gas?", Emergency Preparedness Digest 14(1); the indoor infiltration model of
ALOHA, NOAA/EPA, in its single-zone form) — used by the recommendations' building advice
(:mod:`safetwin.emergency_planner.recommend.shelter`) and by the evacuation model for people in a
shelter (:class:`safetwin.emergency_planner.evacuation.Goal` with ``shelter=True``).

Example (a step of 10 mg/m³, 1 air change per hour, one hour in one step)::

    >>> import numpy as np
    >>> round(float(indoor_step(0.0, 10.0, 10.0, 1.0, 3600.0)), 4), round(float(10 * (1 - np.exp(-1))), 4)
    (6.3212, 6.3212)
"""
from __future__ import annotations

import numpy as np

__all__ = ["indoor_step"]


def indoor_step(c_indoor: np.ndarray | float, c_out_start: np.ndarray | float, c_out_end: np.ndarray | float,
                air_changes_per_h: np.ndarray | float, dt_s: float) -> np.ndarray:
    """Indoor concentration after ``dt_s`` seconds (same unit as the outdoor one), starting at
    ``c_indoor`` with the outdoor concentration going linearly from ``c_out_start`` to ``c_out_end``;
    exact for that outdoor history. ``air_changes_per_h`` 0 is a sealed building (no exchange)."""
    ci = np.asarray(c_indoor, float)
    c0 = np.asarray(c_out_start, float)
    c1 = np.asarray(c_out_end, float)
    lam = np.asarray(air_changes_per_h, float) / 3600.0
    if dt_s <= 0:
        return np.broadcast_to(ci, np.broadcast(ci, c0, c1, lam).shape).astype(float)
    one_minus_e = -np.expm1(-lam * dt_s)            # 1 - e^{-λ dt}, accurate for small λ dt
    slope = (c1 - c0) / dt_s
    safe = np.where(lam > 0, lam, 1.0)
    # d/dt Ci = λ (c0 + s τ − Ci), τ ∈ [0, dt]: Ci(dt) = Ci e + c0 (1 − e) + s (dt − (1 − e)/λ)
    ramp = np.where(lam > 0, dt_s - one_minus_e / safe, 0.0)
    return ci * (1.0 - one_minus_e) + c0 * one_minus_e + slope * ramp
