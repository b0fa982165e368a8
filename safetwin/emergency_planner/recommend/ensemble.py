"""What is known at t0: the hazard under every wind the t0 wind could turn into.

A recommendation made at t0 knows the wind measured then (the site's met station,
:class:`~safetwin.emergency_planner.live.weather.LiveWeather`) and how uncertain it is — not the
wind of the next minutes. Its routes must therefore hold under every wind the t0 wind may
plausibly become: an *ensemble*, the idea of ALOHA's confidence lines (which bound a footprint for
the uncertainty of the wind direction) carried over to routes.

* **Members** (:class:`WindEnsemble`): the t0 direction turned by offsets 0, ±Δ, ±2Δ, … up to
  ±``reach_sigmas``·σ (2σ: 95 % of a normal direction error), σ the live weather's direction
  uncertainty (:func:`~safetwin.emergency_planner.live.weather.wind_uncertainty`); the step Δ is at
  most ``step_max_deg`` (7.5°), the width of a neutral plume's core (σy/x ≈ 0.08, ±4.6°), so a
  direction between two members is covered by their two plumes.
* **The wind of a member** (:func:`held_after`): the wind observed up to t0 (the puffs already
  released travelled with it), then the member's direction at the t0 speed, held.
* **The hazard** (:func:`hazard_known_at`): per toxic substance, the highest concentration over
  the members (:class:`~.hazard.EnvelopeField`). A route that the recommendations check against it
  (every ``sample_m`` at the walker's time) stays below the limit under every wind of the ensemble.

A wind shift beyond the ensemble is not foreseen: the recommendations are made again from the new
wind (the live monitor re-estimates every few seconds).

Example (the demo's class-D station: σ = 11.2°, members every 7.5° up to ±22.4°)::

    >>> from safetwin.emergency_planner.live.observations import WindInput
    >>> ens = WindEnsemble.around(WindInput(3.0, 270.0, "D", from_sigma_deg=11.18), t0_s=35.0)
    >>> [round(d, 1) for d in ens.directions_deg]
    [270.0, 262.5, 277.5, 255.1, 284.9, 247.6, 292.4]
    >>> from safetwin.emergency_planner.physics.dispersion import WindHistory
    >>> shifted = WindHistory(np.array([0.0, 300.0]), np.array([3.0, 3.0]), np.array([270.0, 225.0]))
    >>> h = held_after(shifted, 35.0, 7.5)
    >>> h.at(10.0), h.at(600.0)           # the observed wind, then the member's, held (no shift)
    ((3.0, 270.0), (3.0, 277.5))
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from safetwin.emergency_planner.live.observations import WindInput
from safetwin.emergency_planner.live.weather import wind_uncertainty
from safetwin.emergency_planner.physics.dispersion import PuffTrain, WindHistory
from safetwin.substances import Substance

from .hazard import EnvelopeField, FieldFn, HazardSpec, PuffField, SumField, merged_train, toxic_releases

if TYPE_CHECKING:
    from safetwin.emergency_planner.incident import IncidentResult
    from safetwin.scenarios.schema import Scenario

__all__ = ["WindEnsemble", "ensemble_offsets_deg", "held_after", "hazard_known_at", "scenario_t0_wind"]

#: how far the members reach (in direction σ) and their largest spacing (deg)
REACH_SIGMAS = 2.0
STEP_MAX_DEG = 7.5
#: puff interval of the members (s): the scenario's puffs merged to about this (the live
#: prediction's puffs are 5 s apart)
PUFF_INTERVAL_S = 2.0


def release_interval_s(train: PuffTrain) -> float:
    """The median interval (s) between a train's puff releases (inf for a single puff)."""
    gaps = np.diff(np.asarray(train.release_times_s, float))
    return float(np.median(gaps)) if gaps.size else math.inf


def ensemble_offsets_deg(sigma_deg: float, *, reach_sigmas: float = REACH_SIGMAS,
                         step_max_deg: float = STEP_MAX_DEG) -> np.ndarray:
    """Offsets (deg) from the t0 direction: 0, −Δ, +Δ, −2Δ, … up to ±``reach_sigmas``·σ, Δ ≤
    ``step_max_deg`` (evenly spaced); ``[0]`` for an exact wind."""
    if not (math.isfinite(sigma_deg) and sigma_deg >= 0):
        raise ValueError(f"sigma_deg: must be finite and >= 0, got {sigma_deg!r}")
    reach = min(reach_sigmas * sigma_deg, 180.0)
    if reach <= 0:
        return np.zeros(1)
    n = math.ceil(reach / step_max_deg - 1e-9)
    step = reach / n
    out = [0.0]
    for k in range(1, n + 1):
        out += [-k * step, k * step]
    return np.array(out)


def held_after(history: WindHistory, t0_s: float, offset_deg: float = 0.0) -> WindHistory:
    """``history`` up to ``t0_s``, then the wind in force at ``t0_s`` turned by ``offset_deg``, held."""
    speed, frm = history.at(float(t0_s))
    keep = history.times_s < t0_s
    times = np.concatenate([history.times_s[keep], [t0_s]])
    speeds = np.concatenate([history.speed_m_s[keep], [speed]])
    dirs = np.concatenate([history.from_deg[keep], [(frm + offset_deg) % 360.0]])
    return WindHistory(times, speeds, dirs)


@dataclass(frozen=True)
class WindEnsemble:
    """The winds a recommendation at ``t0_s`` must hold under (see the module docstring): the t0
    wind (10 m speed m/s, FROM deg), its direction uncertainty ``sigma_deg`` (1 σ) and the
    ``offsets_deg`` of the members; ``note`` says it in one line."""

    t0_s: float
    speed_m_s: float
    from_deg: float
    sigma_deg: float
    offsets_deg: tuple[float, ...]
    note: str

    @classmethod
    def around(cls, wind: WindInput, t0_s: float, *, reach_sigmas: float = REACH_SIGMAS,
               step_max_deg: float = STEP_MAX_DEG) -> WindEnsemble:
        """The ensemble around the live wind ``wind`` (its ``from_sigma_deg``) at ``t0_s``."""
        offsets = ensemble_offsets_deg(wind.from_sigma_deg, reach_sigmas=reach_sigmas, step_max_deg=step_max_deg)
        reach = float(np.abs(offsets).max())
        note = (f"routes hold under {len(offsets)} winds known at t={t0_s:.0f} s: {wind.speed_m_s:.1f} m/s from "
                f"{wind.from_deg:.0f}° ±{reach:.0f}° ({reach_sigmas:g} σ, σ = {wind.from_sigma_deg:.1f}°); "
                "later shifts are not foreseen")
        return cls(float(t0_s), float(wind.speed_m_s), float(wind.from_deg), float(wind.from_sigma_deg),
                   tuple(float(o) for o in offsets), note)

    @property
    def directions_deg(self) -> list[float]:
        """The members' FROM directions (deg), in the order of ``offsets_deg``."""
        return [(self.from_deg + o) % 360.0 for o in self.offsets_deg]

    def winds(self, history: WindHistory) -> list[WindHistory]:
        """Each member's wind for a release carried by ``history``: observed up to t0, then turned
        by the member's offset from the direction in force at t0 (:func:`held_after`)."""
        return [held_after(history, self.t0_s, o) for o in self.offsets_deg]

    def inputs(self, wind: WindInput) -> list[WindInput]:
        """Each member as a steady estimator wind (the live estimate's forward prediction)."""
        return [WindInput(wind.speed_m_s, (wind.from_deg + o) % 360.0, wind.stability, source=wind.source)
                for o in self.offsets_deg]


def scenario_t0_wind(scenario: Scenario, t0_s: float) -> WindInput:
    """The wind a drill's control room knows at ``t0_s``: the scenario's wind in force then, with the
    uncertainty of a met station reporting it (the class's σθ, :func:`wind_uncertainty`)."""
    from safetwin.emergency_planner.incident import wind_history

    sc = scenario
    speed, frm = wind_history(sc).at(float(t0_s))
    cls = str(sc.weather.stability).upper()[:1]
    sigma, speed_sigma = wind_uncertainty(speed, None, cls)
    return WindInput(speed, frm, cls, from_sigma_deg=sigma, speed_sigma_m_s=speed_sigma,
                     source=f"scenario wind at t={t0_s:.0f} s, as a class-{cls} station reports it")


def hazard_known_at(result: IncidentResult, ensemble: WindEnsemble | None = None, *,
                    puff_interval_s: float = PUFF_INTERVAL_S) -> HazardSpec:
    """The scenario run's hazard as known at ``ensemble.t0_s``: its releases and fires, the
    releases carried by every wind of the ensemble (highest over the members), the responders'
    wind the t0 wind. ``ensemble``: by default the one around the scenario's wind at the alarm
    time (t = 0 without an alarm) as a station reports it (:func:`scenario_t0_wind`)."""
    if ensemble is None:
        alarm = result.metrics.get("alarm_s")
        t0 = float(alarm) if alarm is not None and math.isfinite(alarm) else 0.0
        ensemble = WindEnsemble.around(scenario_t0_wind(result.scenario, t0), t0)
    hazard = HazardSpec.from_incident(result)
    toxic: list[tuple[FieldFn, Substance]] = []
    for releases in toxic_releases(result).values():
        gap = release_interval_s(releases[0].train)
        merge_puffs = max(1, round(puff_interval_s / gap)) if 0 < gap < math.inf else 1
        winds = [ensemble.winds(g.train.wind) for g in releases]
        members: list[FieldFn] = []
        for k in range(len(ensemble.offsets_deg)):
            parts = [PuffField(merged_train(dataclasses.replace(g.train, wind=w[k]), merge_puffs))
                     for g, w in zip(releases, winds)]
            members.append(parts[0] if len(parts) == 1 else SumField(parts))
        sx, sy = releases[0].train.source_xy_m
        pivot = (float(sx), float(sy)) if len(releases) == 1 else None
        toxic.append((EnvelopeField(members, pivot_xy_m=pivot, offsets_deg=ensemble.offsets_deg),
                      releases[0].substance))
    hazard.toxic = toxic
    frm = ensemble.from_deg
    hazard.wind_from_deg = lambda t: frm
    return hazard
