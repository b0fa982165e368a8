"""When did the release start, if it came from here? The start each location implies.

A detector the plume has reached rose when the front got there, so a source at downwind
distance ``x`` started at ``t_rise − x/u``. For each candidate location, the estimator takes the
**latest** start consistent with the risen detectors inside that location's plume (downwind,
or less than 2 σ₀ upwind, and within 3 σy of its axis; a detector elsewhere cannot time this
source), so detectors the front has not reached yet are not expected to read anything. A
faulty early riser would pull the start back: starts implied more than ``tolerance_s`` before
the median implied start are ignored (genuine risers of one plume imply the same start).
A location no risen detector can time gets ``−inf`` (released before the readings began).

Example (wind 2 m/s; detectors 100 m and 200 m downwind rose at 60 s and 110 s, a third one
off the plume axis at 5 s)::

    >>> import numpy as np
    >>> from safetwin.emergency_planner.physics.sigmas import PasquillSigmas
    >>> release_start_s(np.array([[100.0, 200.0, 50.0]]), np.array([[0.0, 0.0, 80.0]]),
    ...                 np.array([60.0, 110.0, 5.0]), sigmas=PasquillSigmas("D"), wind_speed_m_s=2.0,
    ...                 near_field_m=15.0, tolerance_s=30.0).tolist()
    [10.0]
"""
from __future__ import annotations

import numpy as np

from safetwin.emergency_planner.physics.sigmas import SigmaModel

from ..kernel import near_field_sigma_y_m


def release_start_s(downwind_m: np.ndarray, crosswind_m: np.ndarray, rise_time_s: np.ndarray, *,
                    sigmas: SigmaModel, wind_speed_m_s: float, near_field_m: float,
                    tolerance_s: float) -> np.ndarray:
    """Implied release start (s) per location: ``downwind_m``/``crosswind_m`` (locations,
    detectors) in the wind frame, ``rise_time_s`` (detectors,), ``inf`` for detectors that
    never rose. Returns (locations,)."""
    sigma_y_0 = near_field_sigma_y_m(sigmas, near_field_m)
    sigma_y = np.asarray(sigmas(np.maximum(downwind_m, near_field_m))[0], float)
    in_plume = (downwind_m > -2 * sigma_y_0) & (np.abs(crosswind_m) <= 3.0 * sigma_y)
    timed = np.isfinite(rise_time_s)[None, :] & in_plume
    implied = np.where(timed, rise_time_s[None, :] - np.maximum(downwind_m, 0.0) / wind_speed_m_s, np.nan)
    start = np.full(implied.shape[0], -np.inf)
    rows = np.flatnonzero(np.isfinite(implied).sum(axis=1) > 0)
    if rows.size:
        implied_here = implied[rows]
        median = np.nanmedian(implied_here, axis=1)
        kept = np.where(implied_here >= (median - tolerance_s)[:, None], implied_here, np.inf)
        start[rows] = kept.min(axis=1)
    return start
