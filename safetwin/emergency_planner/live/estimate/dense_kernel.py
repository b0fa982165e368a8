"""The estimator's forward model where the release would be a dense gas: a ladder of hole sizes.

A dense cloud is not linear in the release rate (a larger release spreads wider and lower near
the source), so the steady Gaussian kernel of :mod:`..kernel` cannot stand for it. For each
candidate equipment item the estimator asks the consequence entry point what a leak there would
be — the same path as the drill timeline and the zones: :func:`~..plant_consequence.release_at_equipment`
at hole ``d``, then :func:`~...physics.consequence.cloud_setup` (source term with its flashing,
droplets and rain-out; regime by the Richardson number with aerosol; SLAB through the one
dense-gas interface, handed over to the passive Gaussian where diluted) — for a ladder of hole
diameters (:data:`HOLE_LADDER_M`). Rung ``l`` gives a rate ``Q_l`` and, where the regime is dense,
the cloud as :class:`~...physics.dense_gas.ProfileSigmas` at ``Q_l`` (the sigmas the drill's puff
train carries), so the kernel of :mod:`..kernel` with those sigmas is the dense cloud per kg/s at
``Q_l``; a rung whose regime is passive keeps the estimator's Gaussian sigmas.

The fit (:func:`.group_fit.fit_group`) then fits the rate of an equipment hypothesis rung by rung,
each within its band of rates (the geometric midpoints between neighbouring rungs; the first and
last band open to the rate bounds), and keeps the rung whose fit is best: a piecewise-linear model
in Q. Rungs are built once per (equipment, wind speed class, stability, averaging time) and cached
(:func:`equipment_ladder`); a ladder costs ~0.05 s of CPU per rung.

Units: m, s, kg/s.
"""
from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from safetwin.emergency_planner.physics.consequence import ConsequenceOptions, cloud_setup
from safetwin.emergency_planner.physics.dense_gas import ProfileSigmas
from safetwin.emergency_planner.physics.sigmas import SigmaModel
from safetwin.emergency_planner.physics.weather import Weather
from safetwin.plant_models.loader import Plant

HOLE_LADDER_M: tuple[float, ...] = (0.001, 0.0016, 0.0025, 0.004, 0.0063, 0.01, 0.016, 0.025, 0.04, 0.063, 0.1)
"""Hole diameters (m) of the ladder: ratio ~1.6 (rate ~2.5× per rung), 1 mm … 100 mm."""
SPEED_CLASS_RATIO = 1.25
"""Wind speeds within a 25 % class share a ladder (profiles at the class's speed; the kernel keeps
the actual speed, :func:`with_speed`)."""
RELEASE_HEIGHT_M = 1.0
"""Height of the hole the ladder assumes (the drills' and the zones' default)."""


@dataclass(frozen=True)
class Rung:
    """One hole of the ladder: its rate (kg/s), the rates it answers for, and its sigmas (None: the
    regime is passive there and the estimator's Gaussian sigmas apply)."""

    hole_m: float
    rate_kg_s: float
    band_kg_s: tuple[float, float]
    sigmas: SigmaModel | None
    model: str

    @property
    def dense(self) -> bool:
        return self.sigmas is not None


@dataclass(frozen=True)
class DenseLadder:
    """The rungs of one equipment item under one wind (increasing rate); ``wind_speed_m_s`` is the
    speed the profiles were computed at."""

    equipment_id: str
    rungs: tuple[Rung, ...]
    wind_speed_m_s: float

    @property
    def any_dense(self) -> bool:
        return any(r.dense for r in self.rungs)


def speed_class_m_s(speed_m_s: float) -> float:
    """The representative speed (m/s) of ``speed_m_s``'s class (log-spaced, :data:`SPEED_CLASS_RATIO`)."""
    k = round(math.log(max(speed_m_s, 0.1)) / math.log(SPEED_CLASS_RATIO))
    return float(SPEED_CLASS_RATIO ** k)


def build_ladder(plant: Plant, equipment_id: str, *, wind_speed_m_s: float, stability: str,
                 averaging_time_s: float, rate_bounds_kg_s: tuple[float, float]) -> DenseLadder:
    """The ladder of ``equipment_id`` (module docstring) for a wind of ``wind_speed_m_s`` (10 m) and
    Pasquill class ``stability``; the cloud averaged over ``averaging_time_s`` like the drill's."""
    from safetwin.emergency_planner.plant_consequence import is_toxic, release_at_equipment

    from safetwin.substances import get_substance

    inventory = plant.inventories[equipment_id]
    kind = "toxic_gas" if is_toxic(inventory.substance) else "flammable_gas"
    substance = get_substance(inventory.substance).name
    weather = Weather(wind_speed_m_s, 270.0, stability)
    opts = ConsequenceOptions(exposure_duration_s=averaging_time_s, averaging_time_s=averaging_time_s)
    x0, y0, x1, y1 = plant.boundary.bounds
    reach = math.hypot(x1 - x0, y1 - y0) + 500.0
    found: list[tuple[float, float, SigmaModel | None, str]] = []
    for hole in HOLE_LADDER_M:
        release = release_at_equipment(plant, equipment_id, kind, hole_diameter_m=hole, release_height_m=RELEASE_HEIGHT_M)
        release = dataclasses.replace(release, substance=substance)
        cs = cloud_setup(release, weather, opts, x_max_m=reach)
        if cs.rate_kg_s <= 0 or (found and cs.rate_kg_s <= found[-1][1] * 1.01):
            continue    # the inventory limits the rate: a larger hole adds nothing
        sigmas = (ProfileSigmas(cs.profile, rate_kg_s=cs.rate_kg_s, wind_speed_m_s=wind_speed_m_s)
                  if cs.profile is not None else None)
        found.append((hole, cs.rate_kg_s, sigmas, cs.model))
    rates = np.array([f[1] for f in found])
    edges = np.sqrt(rates[1:] * rates[:-1]) if rates.size > 1 else np.array([])
    lo = np.r_[rate_bounds_kg_s[0], edges]
    hi = np.r_[edges, rate_bounds_kg_s[1]]
    rungs = tuple(Rung(h, q, (float(a), float(b)), s, m) for (h, q, s, m), a, b in zip(found, lo, hi))
    return DenseLadder(equipment_id, rungs, wind_speed_m_s)


_CACHE: dict[tuple, DenseLadder] = {}
_BUILDING: dict[tuple, threading.Event] = {}
_LOCK = threading.Lock()


def _source_key(plant: Plant, equipment_id: str) -> tuple:
    """What a ladder depends on besides the weather: the release at the item less its place (items
    holding the same inventory under the same conditions share one ladder)."""
    from safetwin.emergency_planner.plant_consequence import release_at_equipment

    spec = release_at_equipment(plant, equipment_id, hole_diameter_m=HOLE_LADDER_M[0])
    return (plant.id, spec.substance, spec.inventory_kg, spec.pressure_pa, spec.temperature_k,
            round(spec.liquid_head_m or 0.0, 3), spec.bund_area_m2)


def equipment_ladder(plant: Plant, equipment_id: str, *, wind_speed_m_s: float, stability: str,
                     averaging_time_s: float, rate_bounds_kg_s: tuple[float, float]) -> DenseLadder:
    """:func:`build_ladder`, cached per (release conditions, speed class, stability, averaging time,
    bounds); a ladder another thread is building is waited for, not built twice."""
    speed = speed_class_m_s(wind_speed_m_s)
    letter = str(stability).upper()[:1]
    key = (_source_key(plant, equipment_id), speed, letter, float(averaging_time_s), tuple(rate_bounds_kg_s))
    while True:
        with _LOCK:
            hit = _CACHE.get(key)
            if hit is not None:
                return hit if hit.equipment_id == equipment_id else dataclasses.replace(hit, equipment_id=equipment_id)
            building = _BUILDING.get(key)
            if building is None:
                building = _BUILDING[key] = threading.Event()
                break
        building.wait(60.0)
    try:
        ladder = build_ladder(plant, equipment_id, wind_speed_m_s=speed, stability=letter,
                              averaging_time_s=averaging_time_s, rate_bounds_kg_s=rate_bounds_kg_s)
        with _LOCK:
            if len(_CACHE) > 512:
                _CACHE.clear()
            _CACHE[key] = ladder
    finally:
        with _LOCK:
            _BUILDING.pop(key, None)
        building.set()
    return ladder


def dense_ladders(plant: Plant, equipment_ids: list[str], *, wind_speed_m_s: float, stability: str,
                  averaging_time_s: float, rate_bounds_kg_s: tuple[float, float]) -> dict[str, DenseLadder]:
    """The ladders of the items among ``equipment_ids`` with at least one dense rung."""
    out = {}
    for e in equipment_ids:
        try:
            ladder = equipment_ladder(plant, e, wind_speed_m_s=wind_speed_m_s, stability=stability,
                                      averaging_time_s=averaging_time_s, rate_bounds_kg_s=rate_bounds_kg_s)
        except (KeyError, ValueError):
            continue      # an inventory the consequence models cannot take: the Gaussian model stays
        if ladder.any_dense:
            out[e] = ladder
    return out


def warm_ladders(plant: Plant, wind_speed_m_s: float, stability: str, *, averaging_time_s: float,
                 rate_bounds_kg_s: tuple[float, float], stop: Callable[[], bool] | None = None) -> int:
    """Build (cache) the ladder of every inventory of ``plant`` for this wind, so that the first
    estimate after an alarm finds them ready; stops early when ``stop()`` is true. Returns the
    number of items with a dense rung."""
    dense = 0
    for equipment_id in plant.inventories:
        if stop is not None and stop():
            break
        if equipment_id not in plant.equipment:
            continue
        try:
            ladder = equipment_ladder(plant, equipment_id, wind_speed_m_s=wind_speed_m_s, stability=stability,
                                      averaging_time_s=averaging_time_s, rate_bounds_kg_s=rate_bounds_kg_s)
        except (KeyError, ValueError):
            continue      # an inventory the consequence models cannot take: the estimate falls back on the Gaussian
        dense += ladder.any_dense
    return dense


def with_speed(ladder: DenseLadder, wind_speed_m_s: float) -> DenseLadder:
    """The ladder with its profiles' sigmas rescaled to ``wind_speed_m_s`` (the centreline per kg/s
    of a :class:`ProfileSigmas` plume is the profile's at the speed it was built for)."""
    rungs = tuple(dataclasses.replace(r, sigmas=dataclasses.replace(r.sigmas, wind_speed_m_s=wind_speed_m_s))
                  if isinstance(r.sigmas, ProfileSigmas) else r for r in ladder.rungs)
    return DenseLadder(ladder.equipment_id, rungs, wind_speed_m_s)


__all__ = ["HOLE_LADDER_M", "Rung", "DenseLadder", "build_ladder", "equipment_ladder", "dense_ladders",
           "speed_class_m_s", "with_speed", "warm_ladders"]
