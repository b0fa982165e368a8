"""Who evacuates: start positions, free walking speeds, pre-movement times, targets, radii.

Speed distributions
-------------------
* :func:`weidmann_speeds` — normal N(1.34, 0.26) m/s (Weidmann 1993), clipped to [0.5, 2.2] m/s
  (the clip used by Vadere's RiMEA scenarios).
* :func:`rimea_age_speeds` — RiMEA 4.1.1 Abb. 3 / RiMEA 3.0 Fig. 5 age curve after Weidmann
  (mean speed by age, linearly interpolated between 3 and 80 years), standard deviation a fixed
  fraction (0.193, DIN 18009-2 F.2 note 1) of the mean, optional sex factor (men 10.9 % faster
  than women, RiMEA 3.2.2.2), clipped to [0.3, 2.2] m/s.

Pre-movement (alarm heard -> starts moving): :class:`PreMovement` with the NIST TN 1822
verification 1.1 families (uniform, gamma, lognormal, Weibull) and a constant.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["PreMovement", "Population", "weidmann_speeds", "rimea_age_speeds", "RIMEA_AGE_CURVE",
           "random_positions"]

RIMEA_AGE_CURVE = np.array([
    # age [y], mean free walking speed [m/s] (RiMEA Abb. 3 after Weidmann, read off the figure)
    (3, 0.58), (10, 1.18), (20, 1.61), (30, 1.54), (40, 1.48), (50, 1.41), (60, 1.26), (70, 1.07), (80, 0.68),
])


def weidmann_speeds(n: int, rng: np.random.Generator, mean: float = 1.34, sd: float = 0.26,
                    lo: float = 0.5, hi: float = 2.2) -> np.ndarray:
    """Free walking speeds (m/s) ~ N(mean, sd) clipped to [lo, hi]."""
    return np.clip(rng.normal(mean, sd, n), lo, hi)


def rimea_age_speeds(ages, rng: np.random.Generator | None = None, sd_fraction: float = 0.193,
                     male=None, lo: float = 0.3, hi: float = 2.2) -> np.ndarray:
    """Free walking speeds (m/s) from the RiMEA age curve. ``rng=None`` returns the curve means."""
    ages = np.asarray(ages, float)
    mean = np.interp(ages, RIMEA_AGE_CURVE[:, 0], RIMEA_AGE_CURVE[:, 1])
    if male is not None:
        male = np.asarray(male, bool)
        # keep the population mean: women m / 1.0545, men 1.109 m / 1.0545
        mean = np.where(male, mean * 1.109, mean) / 1.0545
    if rng is None:
        return mean
    return np.clip(rng.normal(mean, sd_fraction * mean), lo, hi)


@dataclass(frozen=True)
class PreMovement:
    """Pre-movement time distribution (s).

    kind: ``constant`` (value), ``uniform`` (low, high), ``gamma`` (shape a, scale b),
    ``lognormal`` (mu, sigma of the underlying normal), ``weibull`` (scale, shape).
    NIST TN 1822 verification 1.1 uses U(10, 100), gamma(1.291, 103.901), lognormal(4.586, 0.967)
    and Weibull(139.285, 1.195).
    """

    kind: str = "constant"
    a: float = 0.0
    b: float = 0.0

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        k = self.kind
        if k == "constant":
            return np.full(n, float(self.a))
        if k == "uniform":
            return rng.uniform(self.a, self.b, n)
        if k == "gamma":
            return rng.gamma(self.a, self.b, n)
        if k == "lognormal":
            return rng.lognormal(self.a, self.b, n)
        if k == "weibull":
            return self.a * rng.weibull(self.b, n)
        raise ValueError(f"unknown pre-movement distribution {k!r}")


@dataclass
class Population:
    """Arrays describing N people (row k = person k).

    ``targets``: goal name per person, or None / "nearest" = the nearest open goal (by travel time).
    ``premovement_s``: explicit times, or drawn from ``premovement`` if None.
    ``free_speed_m_s``: explicit, or drawn from :func:`weidmann_speeds` if None.
    ``radius_m``: per person (a person with a movement disability takes more room, NIST TN 1822
    verification 2.10), default ``LocomotionParams.radius_m``.
    ``groups``: group number per person (-1 = alone); members walk together
    (:class:`~.params.BehaviourParams`). ``familiar_goals``: the goal each person knows (None =
    none), preferred in the exit choice.
    """

    positions: np.ndarray
    free_speed_m_s: np.ndarray | None = None
    premovement_s: np.ndarray | None = None
    premovement: PreMovement = field(default_factory=PreMovement)
    targets: Sequence[str | None] | None = None
    radius_m: np.ndarray | None = None
    ids: list[str] | None = None
    groups: np.ndarray | None = None
    familiar_goals: Sequence[str | None] | None = None

    def __post_init__(self) -> None:
        self.positions = np.asarray(self.positions, float).reshape(-1, 2)

    def __len__(self) -> int:
        return len(self.positions)


def random_positions(polygon, n: int, rng: np.random.Generator, min_distance: float = 0.4,
                     wall_distance: float = 0.3, max_tries: int = 60) -> np.ndarray:
    """``n`` points inside ``polygon`` at least ``min_distance`` apart and ``wall_distance`` from its
    boundary (dart throwing with a KD-tree; raises if the area cannot hold them)."""
    import shapely
    from scipy.spatial import cKDTree

    inner = polygon.buffer(-wall_distance)
    x0, y0, x1, y1 = inner.bounds
    pts = np.zeros((0, 2))
    for _ in range(max_tries):
        need = n - len(pts)
        if need <= 0:
            break
        cand = rng.uniform((x0, y0), (x1, y1), (max(4 * need, 64), 2))
        cand = cand[shapely.contains_xy(inner, cand[:, 0], cand[:, 1])]
        if len(pts):
            d, _ = cKDTree(pts).query(cand, k=1)
            cand = cand[d >= min_distance]
        pairs = cKDTree(cand).query_pairs(min_distance, output_type="ndarray") if len(cand) > 1 else np.zeros((0, 2), int)
        drop = np.zeros(len(cand), bool)
        drop[pairs.max(axis=1)] = True if len(pairs) else False
        pts = np.vstack([pts, cand[~drop][:need]])
    if len(pts) < n:
        raise ValueError(f"could only place {len(pts)} of {n} people {min_distance} m apart in the area")
    return pts
