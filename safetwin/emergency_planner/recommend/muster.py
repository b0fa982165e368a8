"""Muster points: which are safe enough to use, how they rank, and who goes to which.

* **Safety** (:func:`muster_safety`): every muster point's disc (centre, and rings at half and
  the full radius) is evaluated on the continuous hazard from the departure until the longest
  plausible walk (1.5 × the site diagonal at walking speed) plus ``muster_stay_s``. A point whose
  disc reaches ``muster_exclude_ratio`` of the limit (AEGL-2 (30 min) or 5 kW/m²) is excluded;
  the others are tier 0 (below AEGL-1 (60 min) and 2 kW/m² throughout, ALOHA YELLOW for heat)
  or tier 1.
* **On-site first, else through a gate** (:func:`offsite_allowed`): the plant's off-site assembly
  points (``MusterSafety.offsite``) are candidates for a person or area only when none of the
  on-site muster points it can reach is tier 0. The rule: **the on-site muster point is preferred
  when it is clean; otherwise leave the site through a gate** to an assembly point (then the
  usual (tier, arrival) order decides among every usable point, on- and off-site).
* **Choice for one route** (:func:`best_muster`): among the candidates, the usable muster point
  of lowest (tier, arrival time).
* **Assignment of people** (:func:`assign_musters`): a min-cost assignment over capacity slots,
  cost ``tier · 10⁶ + arrival s``; an off-site point for a person who has a clean on-site one
  costs ``OFFSITE_PENALTY`` more (used only once the clean on-site capacity is taken, before
  over-capacity); over-capacity slots cost 10⁹ more, so they are used only when nothing else is
  left (and are flagged).

Example (two points, the nearer one is tier 1, the other tier 0: the safer wins)::

    >>> import numpy as np
    >>> safety = MusterSafety(peak_ratio=np.array([0.2, 0.0]), tier=np.array([1, 0]),
    ...                       excluded=np.array([False, False]), notes=[])
    >>> best_muster(np.array([60.0, 200.0]), safety)
    1
"""
from __future__ import annotations

import math
from collections.abc import Sequence, Set
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from .hazard import HazardSpec
from .limits import ToxicChannels, evaluate_hazard, limit_ratio
from .records import RecommendParams

#: Heat flux (W/m²) below which a muster point is tier 0 (ALOHA YELLOW, pain).
FLUX_YELLOW_W_M2 = 2000.0
#: Extra assignment cost of an off-site point for a person with a clean (tier 0) on-site one.
OFFSITE_PENALTY = 1e8


@dataclass
class MusterSafety:
    """Safety of the muster points, in plant order (arrays of shape (muster_count,))."""

    peak_ratio: np.ndarray         # highest limit ratio over the disc and the window
    tier: np.ndarray               # 0: below AEGL-1 and 2 kW/m² throughout; 1: otherwise
    excluded: np.ndarray           # bool: reaches muster_exclude_ratio
    notes: list[str]
    offsite: np.ndarray | None = None   # bool: an off-site assembly point (None: all on-site)

    def is_offsite(self) -> np.ndarray:
        """Bool per point: an off-site assembly point."""
        return np.zeros(len(self.tier), bool) if self.offsite is None else np.asarray(self.offsite, bool)


def offsite_allowed(arrival_s: np.ndarray, safety: MusterSafety, banned: Set[int] = frozenset()) -> bool:
    """Whether off-site assembly points are candidates for a start with these arrival times (s,
    inf unreachable): no usable, reachable, not ``banned`` on-site muster point is tier 0."""
    offsite = safety.is_offsite()
    ok = ~safety.excluded & ~offsite & np.isfinite(arrival_s) & (safety.tier == 0)
    if banned:
        ok[list(banned)] = False
    return not ok.any()


def muster_disc_points(muster, ring_points: int = 8) -> np.ndarray:
    """Points (m) evaluated on a muster point's disc: the centre and rings at ½ and 1 radius."""
    th = np.linspace(0, 2 * np.pi, ring_points, endpoint=False)
    pts = [np.asarray(muster.position, float)[None, :]]
    for f in (0.5, 1.0):
        pts.append(np.stack([muster.position[0] + f * muster.radius_m * np.cos(th),
                             muster.position[1] + f * muster.radius_m * np.sin(th)], 1))
    return np.vstack(pts)


def muster_safety(musters: Sequence, hazard: HazardSpec, channels: ToxicChannels, *, departure_s: float,
                  site_diagonal_m: float, params: RecommendParams) -> MusterSafety:
    """Exclude and rank ``musters`` on the continuous hazard over their discs (one batched call);
    points with a ``gate_id`` (off-site assembly points) are marked ``offsite``."""
    p = params
    count = len(musters)
    # arrival window: from the departure to the longest plausible walk (1.5 × the site diagonal) + the stay
    t = np.arange(departure_s, departure_s + 1.5 * site_diagonal_m / p.speed_m_s + p.muster_stay_s + 1e-9,
                  p.exposure_dt_s)
    peak_ratio = np.zeros(count)
    tier = np.zeros(count, int)
    if count:
        pts = [muster_disc_points(m) for m in musters]
        points = np.vstack(pts)
        owner = np.concatenate([np.full(len(x), q) for q, x in enumerate(pts)])
        x, y, times = np.tile(points[:, 0], t.size), np.tile(points[:, 1], t.size), np.repeat(t, len(points))
        owner_t = np.tile(owner, t.size)
        concentrations, flux = evaluate_hazard(hazard, x, y, times)
        ratio = limit_ratio(channels, concentrations, flux, x.shape)
        above_tier0 = np.zeros(x.shape, bool)
        for c, aegl1 in zip(concentrations, channels.aegl1_mg):
            above_tier0 |= c >= aegl1
        if flux is not None:
            above_tier0 |= flux >= FLUX_YELLOW_W_M2
        np.maximum.at(peak_ratio, owner_t, ratio)
        tier = np.bincount(owner_t, weights=above_tier0, minlength=count).astype(bool).astype(int)
    excluded = peak_ratio >= p.muster_exclude_ratio
    notes = [f"muster point {musters[int(q)].id} excluded: hazard reaches "
             f"{peak_ratio[q]:.2f} x the AEGL-2/5 kW/m2 limit there" for q in np.flatnonzero(excluded)]
    offsite = np.array([getattr(m, "gate_id", None) is not None for m in musters], bool)
    return MusterSafety(peak_ratio=peak_ratio, tier=tier, excluded=excluded, notes=notes, offsite=offsite)


def best_muster(arrival_s: np.ndarray, safety: MusterSafety, banned: Set[int] = frozenset()) -> int:
    """The usable, reachable, not ``banned`` muster point of lowest (tier, arrival), off-site ones
    only when :func:`offsite_allowed`; -1 if none."""
    best, key = -1, (math.inf, math.inf)
    offsite, leave = safety.is_offsite(), offsite_allowed(arrival_s, safety, banned)
    for q in range(len(safety.excluded)):
        if safety.excluded[q] or q in banned or not np.isfinite(arrival_s[q]) or (offsite[q] and not leave):
            continue
        k = (safety.tier[q], arrival_s[q])
        if k < key:
            best, key = q, k
    return best


def assign_musters(arrivals_s: Sequence[np.ndarray], capacities: Sequence[int], safety: MusterSafety,
                   banned: Sequence[set[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Min-cost assignment of people (their arrival time at each muster point, s) to capacity
    slots (see the module docstring); returns the muster point per person (-1 none) and the
    over-capacity flags."""
    n = len(arrivals_s)
    muster_count = len(capacities)
    goal = np.full(n, -1)
    over = np.zeros(n, bool)
    if n == 0 or muster_count == 0:
        return goal, over
    cost = np.full((n, muster_count), np.inf)
    offsite = safety.is_offsite()
    for k, arrival in enumerate(arrivals_s):
        penalty = np.where(offsite, 0.0 if offsite_allowed(arrival, safety, banned[k]) else OFFSITE_PENALTY, 0.0)
        for q in range(muster_count):
            if not safety.excluded[q] and q not in banned[k] and np.isfinite(arrival[q]):
                cost[k, q] = safety.tier[q] * 1e6 + arrival[q] + penalty[q]
    rows = np.flatnonzero(np.isfinite(cost).any(1))
    if rows.size == 0:
        return goal, over
    cols, slot_over = [], []
    for q in range(muster_count):
        cols += [q] * capacities[q]
        slot_over += [False] * capacities[q]
    for q in range(muster_count):  # overflow slots, used only when nothing else is left
        cols += [q] * rows.size
        slot_over += [True] * rows.size
    cols_a, over_a = np.array(cols), np.array(slot_over)
    big = 1e12
    slot_cost = cost[rows][:, cols_a]
    slot_cost = np.where(np.isfinite(slot_cost), slot_cost + over_a[None, :] * 1e9, big)
    ri, ci = linear_sum_assignment(slot_cost)
    for r_, c_ in zip(ri, ci):
        if slot_cost[r_, c_] < big:
            goal[rows[r_]] = cols_a[c_]
            over[rows[r_]] = over_a[c_]
    return goal, over
