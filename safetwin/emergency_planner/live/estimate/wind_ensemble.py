"""The wind directions an estimate marginalises over, and how much it believes each a priori.

The station measures the wind where it stands; the wind that carries the gas from the source to
the detectors may differ (the station's own error, σθ, the distance between them, a vane out of
true). The estimate therefore treats the direction as unknown: the offset ``δ`` from the
station's direction has the prior

    p(δ) = (1 − ε) · N(δ; 0, σ²) + ε · U(δ; −R, R)

with σ the station's direction uncertainty (:attr:`~..observations.WindInput.from_sigma_deg`), a
heavy tail of weight ε (``direction_tail_weight``, 0.1) over ``R = max(direction_range_min_deg,
3σ)`` so that readings that clearly disagree with the station can move the direction rather than
the source — the conflict-resolution role of a heavy-tailed prior (O'Hagan & Pericchi 2012,
*Braz. J. Probab. Stat.* 26(4):372) —, discretised on offsets ``k·Δ``, ``Δ = min(σ,
direction_step_max_deg)`` (≥ 2°). The posterior over (direction, location, height) is then the
sum over this grid (a quadrature of the marginal likelihood over the direction).

Example::

    >>> offsets = direction_offsets(11.2, step_max_deg=10.0, range_min_deg=60.0)
    >>> offsets[:5].tolist(), float(offsets.max())
    ([0.0, -10.0, 10.0, -20.0, 20.0], 60.0)
    >>> lp = log_prior(np.array([0.0, 30.0]), sigma_deg=11.2, step_deg=10.0, tail_weight=0.1, range_deg=60.0)
    >>> round(float(np.exp(lp[0] - lp[1])), 1)       # 30° off: 1/19 as likely as the station's direction
    19.1
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def direction_step_deg(sigma_deg: float, *, step_max_deg: float) -> float:
    """Spacing (deg) of the direction grid: σ, at most ``step_max_deg``, at least 2°."""
    return float(min(max(sigma_deg, 2.0), step_max_deg))


def direction_range_deg(sigma_deg: float, *, range_min_deg: float) -> float:
    """How far (deg) the offsets reach: ``max(range_min_deg, 3σ)``, at most 180°."""
    return float(min(max(range_min_deg, 3.0 * sigma_deg), 180.0))


def direction_offsets(sigma_deg: float, *, step_max_deg: float, range_min_deg: float) -> np.ndarray:
    """Every offset (deg) of the grid, nearest the station's direction first (0, −Δ, +Δ, −2Δ …);
    ``[0]`` alone for an exact wind (σ = 0)."""
    if sigma_deg <= 0:
        return np.zeros(1)
    step = direction_step_deg(sigma_deg, step_max_deg=step_max_deg)
    n = int(math.floor(direction_range_deg(sigma_deg, range_min_deg=range_min_deg) / step + 1e-9))
    out = [0.0]
    for k in range(1, n + 1):
        out += [-k * step, k * step]
    return np.array(out)


def log_prior(offsets_deg: np.ndarray, *, sigma_deg: float, step_deg: float, tail_weight: float,
              range_deg: float) -> np.ndarray:
    """Log prior mass of each offset (its density times the grid step; see the module docstring)."""
    d = np.asarray(offsets_deg, float)
    if sigma_deg <= 0:
        return np.zeros(d.shape)
    gauss = np.exp(-0.5 * (d / sigma_deg) ** 2) / (math.sqrt(2 * math.pi) * sigma_deg)
    density = (1.0 - tail_weight) * gauss + tail_weight / (2.0 * range_deg)
    return np.log(density * step_deg)


#: Bayes factor from which readings "disagree with the wind" (strong evidence, Kass & Raftery 1995)
DISAGREEMENT_BAYES_FACTOR = 10.0


@dataclass
class DirectionEnsemble:
    """The directions of one estimate: ``refine`` — (offset deg, log prior) fitted on the full grid;
    ``screened`` — offset → log evidence of the screening fit (without the direction prior);
    ``notes`` — a warning when the readings disagree with the station's direction."""

    refine: list[tuple[float, float]]
    screened: dict[float, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def coarse_grid(bounds_m: tuple[float, float, float, float], params: Any) -> np.ndarray:
    """The free grid of the screening fits: ``screen_grid_factor`` times coarser than the estimate's."""
    from .hypotheses import free_grid

    return free_grid(bounds_m, spacing_m=params.grid_spacing_m * params.screen_grid_factor,
                     margin_m=params.grid_margin_m)


def direction_ensemble(wind: Any, params: Any, screen: Callable[[float, float], list]) -> DirectionEnsemble:
    """Screen the directions around ``wind.from_deg`` and choose the ones to fit in full.

    ``screen(offset_deg, log_prior)`` fits every hypothesis under that direction on a coarse grid
    and returns its scored hypotheses (``log_weight``). Every offset of the prior's range is
    screened (the evidence over the direction is not unimodal: a free point can fit two detectors
    under a wrong wind); the directions holding ``refine_mass`` of the screened posterior (at most
    ``refine_max``) are fitted in full. The readings **disagree with the wind** when the direction
    they favour most lies beyond 2σ of the station's and beats every direction within 2σ by a
    Bayes factor above 10: the estimate then says so and is uncertain."""
    sigma = float(wind.from_sigma_deg)
    if sigma <= 0:
        return DirectionEnsemble(refine=[(0.0, 0.0)])
    p = params
    step = direction_step_deg(sigma, step_max_deg=p.direction_step_max_deg)
    reach = direction_range_deg(sigma, range_min_deg=p.direction_range_min_deg)
    offsets = direction_offsets(sigma, step_max_deg=p.direction_step_max_deg, range_min_deg=p.direction_range_min_deg)
    prior = dict(zip(offsets.tolist(), log_prior(offsets, sigma_deg=sigma, step_deg=step,
                                                  tail_weight=p.direction_tail_weight, range_deg=reach).tolist()))
    evidence: dict[float, float] = {}

    def run(offset: float) -> None:
        weights = np.concatenate([s.log_weight for s in screen(offset, 0.0)])
        top = float(weights.max())
        evidence[offset] = top + math.log(float(np.exp(weights - top).sum()))

    for offset in offsets:
        run(float(offset))
    keys = sorted(evidence)
    log_post = np.array([evidence[k] + prior[k] for k in keys])
    mass = np.exp(log_post - log_post.max())
    mass /= mass.sum()
    order = np.argsort(mass)[::-1]
    chosen = order[: max(1, int(np.searchsorted(np.cumsum(mass[order]), p.refine_mass)) + 1)][: p.refine_max]
    notes = []
    best_data = max(evidence, key=evidence.__getitem__)
    in_band = [k for k in evidence if abs(k) <= 2 * sigma]
    margin = evidence[best_data] - max(evidence[k] for k in in_band)
    if abs(best_data) > 2 * sigma and margin > math.log(DISAGREEMENT_BAYES_FACTOR):
        notes.append(f"the readings disagree with the wind: they fit a wind from "
                     f"{(wind.from_deg + best_data) % 360:.0f}° best ({best_data:+.0f}° from the station's "
                     f"{wind.from_deg:.0f}° ±{sigma:.0f}°, Bayes factor {math.exp(min(margin, 50.0)):.3g}); "
                     "the estimate is uncertain")
    held = float(mass[chosen].sum())
    if held < 0.9:
        notes.append(f"wind direction poorly determined: the directions fitted hold {held:.0%} of the posterior")
    return DirectionEnsemble(refine=[(keys[i], prior[keys[i]]) for i in chosen], screened=evidence, notes=notes)
