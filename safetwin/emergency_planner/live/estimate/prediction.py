""":func:`predict_plume`: an estimate as a concentration function ``c(x, y, t)`` (mg/m³) for the
hazard-aware routing — a puff train from the estimated source under the current wind."""
from __future__ import annotations

import dataclasses

import numpy as np

from safetwin.emergency_planner.physics.dispersion import WindHistory, puff_train
from safetwin.emergency_planner.physics.sigmas import PasquillSigmas

from ..observations import WindInput
from .records import EstimationError, EstimationParams, SourceEstimate


def predict_plume(estimate: SourceEstimate, wind: WindInput | WindHistory, t_from: float, horizon_s: float, *,
                  params: EstimationParams | None = None, conservative: bool = False, puff_interval_s: float = 5.0):
    """Concentration function ``c(x_m, y_m, t_s) -> mg/m³`` of the estimated release, usable as a
    toxic/flammable hazard: a puff train from the estimated location at the estimated rate (the
    95 % rate when ``conservative``), released from the estimated start (or ``t_from`` if later
    unknown) until ``t_from + horizon_s``, under ``wind`` (a steady :class:`WindInput` or a
    :class:`WindHistory` with a ``stability`` taken from the estimate's wind)."""
    if estimate.kind == "none" or not np.isfinite(estimate.rate_kg_s):
        raise EstimationError("predict_plume: the estimate has no source")
    p = params or EstimationParams()
    if isinstance(wind, WindInput):
        hist = WindHistory.steady(wind.speed_m_s, wind.from_deg)
        stab = wind.stability
    else:
        hist = wind
        stab = estimate.wind.stability if estimate.wind is not None else "D"
    sig = PasquillSigmas(stab, p.sigma_set, averaging_time_s=p.averaging_time_s)
    t_start = estimate.start_s if np.isfinite(estimate.start_s) else t_from - p.window_s
    t_start = min(t_start, t_from)
    t_end = t_from + horizon_s
    rate = estimate.rate_interval_kg_s[1] if conservative else estimate.rate_kg_s
    # wind history starts with the release (WindHistory holds its first value before times_s[0])
    train = puff_train(source_xy_m=(estimate.x_m, estimate.y_m), rate_times_s=np.array([t_start]),
                       rate_kg_s=np.array([rate]), wind=_shift(hist, t_start), sigmas=sig,
                       puff_interval_s=puff_interval_s, release_height_m=estimate.release_height_m,
                       end_time_s=t_end)
    train = dataclasses.replace(train, min_distance_m=p.near_field_m)

    def c(x_m, y_m, t_s):
        return train.concentration_at(np.asarray(x_m, float), np.asarray(y_m, float), np.asarray(t_s, float))

    c.train = train  # type: ignore[attr-defined]
    return c


def _shift(h: WindHistory, t0: float) -> WindHistory:
    """``h`` with its first interval starting no later than ``t0`` (a release before the history's
    first time sees the first wind)."""
    if h.times_s[0] <= t0:
        return h
    t = h.times_s.copy()
    t[0] = t0
    return WindHistory(t, h.speed_m_s, h.from_deg)
