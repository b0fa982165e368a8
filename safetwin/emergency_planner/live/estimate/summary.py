"""What the posterior says: the source, its rate with a 5–95 % interval, and how sure we are.

* **Source**: the location of highest posterior and its most probable release height. An
  equipment location names the item and its substance; a free point names the gas of the
  first alarming detector if that gas is in the group, else the group's first substance.
* **Rate**: the fit is in units of the group's representative substance; the rate of the named
  substance is scaled by the ratio of the detectors' responses to the two.
* **Rate interval**: the 5 and 95 % points of the posterior mixture of log-normals in ``ln Q``
  over the (up to 1000) most probable hypotheses.
* **Credible radius**: the distance from the best location within which ``credible_mass`` of
  the posterior lies.

Example::

    >>> import numpy as np
    >>> credible_radius_m(np.array([0.0, 3.0, 40.0]), np.array([0.0, 4.0, 0.0]), np.array([0.6, 0.35, 0.05]),
    ...                   best_xy_m=(0.0, 0.0), credible_mass=0.9)
    5.0
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from safetwin.substances import Substance, get_substance

from .detectors import DetectorActivity, DetectorArrays
from .evidence import Posterior
from .hypotheses import CandidateSources, SubstanceGroup


def named_source(post: Posterior, groups: list[SubstanceGroup], sources: CandidateSources,
                 detectors: DetectorArrays, activity: DetectorActivity) -> tuple[str, str | None, Substance]:
    """``(kind, equipment_id, substance)`` of the best location: ``equipment`` or ``point``."""
    group = groups[int(post.hypotheses.group_index[post.best])]
    equipment_ids = sources.equipment_ids
    if post.best_location < len(equipment_ids):
        equipment_id = equipment_ids[post.best_location]
        return "equipment", equipment_id, sources.equipment[equipment_id][2]
    substance = sources.substances[group.representative]
    member_names = [sources.substances[j].name for j in group.members]
    for k in activity.alarming_index:
        sensor = detectors.sensors[k]
        try:
            detector_gas = get_substance(sensor.gas) if sensor.gas else None
        except KeyError:
            detector_gas = None
        if detector_gas is not None and detector_gas.name in member_names:
            substance = detector_gas
            break
    return "point", None, substance


def rate_interval_kg_s(post: Posterior, *, scale: float, rate_bounds_kg_s: tuple[float, float]) -> tuple[float, float]:
    """5 and 95 % points (kg/s) of the posterior rate (the mixture of log-normals in ln Q)."""
    log_rate_grid = np.linspace(math.log(rate_bounds_kg_s[0]), math.log(rate_bounds_kg_s[1]), 800)
    probability = post.probability
    top = np.flatnonzero(probability > 1e-7)
    top = top[np.argsort(probability[top])[::-1][:1000]]
    log_rate, log_rate_sigma = post.hypotheses.log_rate, post.hypotheses.log_rate_sigma
    cdf = (probability[top, None] * ndtr((log_rate_grid[None, :] - log_rate[top, None])
                                         / log_rate_sigma[top, None])).sum(axis=0)
    cdf /= max(cdf[-1], 1e-300)
    q05 = math.exp(float(np.interp(0.05, cdf, log_rate_grid))) * scale
    q95 = math.exp(float(np.interp(0.95, cdf, log_rate_grid))) * scale
    return q05, q95


def credible_radius_m(x_m: np.ndarray, y_m: np.ndarray, probability: np.ndarray, *, best_xy_m: tuple[float, float],
                      credible_mass: float) -> float:
    """Distance (m) from ``best_xy_m`` within which ``credible_mass`` of the posterior lies."""
    distance = np.hypot(x_m - best_xy_m[0], y_m - best_xy_m[1])
    order = np.argsort(distance)
    cumulative = np.cumsum(probability[order])
    return float(distance[order][min(int(np.searchsorted(cumulative, credible_mass)), distance.size - 1)])


def uncertainty_notes(radius_m: float, rate_interval: tuple[float, float]) -> list[str]:
    """Warnings for a location spread over more than 50 m or a rate interval wider than 16×."""
    q05, q95 = rate_interval
    notes = []
    if radius_m > 50.0:
        notes.append(f"location uncertain: 90 % of the posterior within {radius_m:.0f} m")
    if q95 / q05 > 16.0:
        notes.append(f"rate uncertain: 5-95 % interval spans a factor {q95 / q05:.0f}")
    return notes
