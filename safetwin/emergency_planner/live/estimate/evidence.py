"""Evidence and posterior of the hypotheses.

Each (substance group, location, release height) hypothesis is scored by a **Laplace
approximation** of its marginal likelihood, the rate integrated out under a flat prior in
``ln Q`` over the rate bounds (width ``W = ln(Q_max/Q_min)``)::

    ln p(data | hypothesis) ≈ −loss(Q̂) + ln(√(2π) σ_lnQ / W)

(``loss`` being the robust loss of :mod:`.rate_fit`, σ_lnQ from its curvature), times a prior
that puts ``prior_equipment`` of the mass on the candidate equipment (shared equally) and the
rest on the free grid (shared by substance, then by node), each location's share split equally
over the release heights. The posterior normalises the weights over every hypothesis; the
posterior of a location sums its release heights.

Example (two hypotheses, the second ten times as likely)::

    >>> import numpy as np
    >>> post = posterior(ScoredHypotheses(log_weight=np.array([0.0, np.log(10.0)]), log_rate=np.zeros(2),
    ...                                   log_rate_sigma=np.ones(2), release_height_m=np.ones(2),
    ...                                   start_s=np.zeros(2), x_m=np.zeros(2), y_m=np.zeros(2),
    ...                                   location_id=np.array([0, 1]), group_index=np.zeros(2, int)),
    ...                  location_count=2)
    >>> post.best_location, [round(float(p), 4) for p in post.location_probability]
    (1, [0.0909, 0.9091])
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .group_fit import GroupFit
from .hypotheses import GroupLocations, SubstanceGroup


def log_evidence(fit: GroupFit, *, null_loss: float, rate_bounds_kg_s: tuple[float, float]) -> np.ndarray:
    """Laplace log marginal likelihood (height_count, location_count) of a group's hypotheses."""
    log_width = math.log(rate_bounds_kg_s[1] / rate_bounds_kg_s[0])
    return -(null_loss + fit.loss_change) + np.log(np.sqrt(2 * np.pi) * fit.log_rate_sigma / log_width)


def log_prior(locations: GroupLocations, group: SubstanceGroup, *, prior_equipment: float, equipment_count: int,
              substance_count: int, grid_count: int, height_count: int) -> np.ndarray:
    """Log prior (1, location_count) of each hypothesis of a group (the same for every height)."""
    equipment_share = prior_equipment if equipment_count else 0.0
    log_grid = math.log(max(1.0 - equipment_share, 1e-12) * len(group.members) / substance_count / grid_count)
    log_equipment = math.log(equipment_share / equipment_count) if equipment_count else -np.inf
    return np.where(locations.is_equipment, log_equipment, log_grid)[None, :] - math.log(height_count)


@dataclass(frozen=True)
class ScoredHypotheses:
    """Flat arrays over hypotheses (release height major, then location)."""

    log_weight: np.ndarray         # log evidence + log prior (unnormalised)
    log_rate: np.ndarray           # ln(Q / (kg/s)), group representative's units
    log_rate_sigma: np.ndarray
    release_height_m: np.ndarray
    start_s: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    location_id: np.ndarray
    group_index: np.ndarray

    @classmethod
    def concatenate(cls, parts: list[ScoredHypotheses]) -> ScoredHypotheses:
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in dataclasses.fields(cls)})


def score_group(fit: GroupFit, locations: GroupLocations, group: SubstanceGroup, *, heights_m: np.ndarray,
                null_loss: float, rate_bounds_kg_s: tuple[float, float], prior_equipment: float,
                equipment_count: int, substance_count: int, grid_count: int) -> ScoredHypotheses:
    """The hypotheses of one group with their unnormalised log posterior weights."""
    height_count, location_count = fit.log_rate.shape
    weight = (log_evidence(fit, null_loss=null_loss, rate_bounds_kg_s=rate_bounds_kg_s)
              + log_prior(locations, group, prior_equipment=prior_equipment, equipment_count=equipment_count,
                          substance_count=substance_count, grid_count=grid_count, height_count=height_count))
    return ScoredHypotheses(
        log_weight=weight.ravel(), log_rate=fit.log_rate.ravel(), log_rate_sigma=fit.log_rate_sigma.ravel(),
        release_height_m=np.repeat(heights_m, location_count), start_s=np.tile(fit.start_s, height_count),
        x_m=np.tile(locations.xy_m[:, 0], height_count), y_m=np.tile(locations.xy_m[:, 1], height_count),
        location_id=np.tile(locations.location_id, height_count),
        group_index=np.full(height_count * location_count, group.index))


@dataclass(frozen=True)
class Posterior:
    """The normalised posterior over every hypothesis and its marginal over locations."""

    hypotheses: ScoredHypotheses
    probability: np.ndarray        # per hypothesis, sums to 1
    location_probability: np.ndarray
    best_location: int             # the location of highest posterior
    best: int                      # the most probable hypothesis (release height) at that location


def posterior(hypotheses: ScoredHypotheses, *, location_count: int) -> Posterior:
    """Normalise the weights; the best location, and its best release height."""
    weight = hypotheses.log_weight
    probability = np.exp(weight - weight.max())
    probability /= probability.sum()
    location = hypotheses.location_id
    location_probability = np.bincount(location, weights=probability, minlength=location_count)
    best_location = int(np.argmax(location_probability))
    at_best = np.flatnonzero(location == best_location)
    best = int(at_best[int(np.argmax(probability[at_best]))])
    return Posterior(hypotheses=hypotheses, probability=probability, location_probability=location_probability,
                     best_location=best_location, best=best)
