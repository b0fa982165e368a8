"""What a release puts into the air, and when: :class:`ReleaseSpec` → :class:`SourceTerm`.

The source term is a time history on a 1-s grid of the airborne rate, split into the jet
(flash vapour with the droplets it carries) and the vapour of the pool that the rest of the
liquid forms on the ground:

* **gas** held in a vessel blows down (isothermal, :func:`.source_terms.gas_vessel_blowdown`;
  vessel volume from the inventory at its pressure and temperature); a **gas pipeline**
  (``pipeline_length_m``) ruptures full bore (:func:`.discharge.gas_pipeline_rupture`);
* **pressurised liquid** (liquid above its boiling point) discharges as a flashing jet
  (:func:`.discharge.flashing_liquid_discharge`, hole or pipe of ``flow_path_m``); the flash
  fraction ``f = cp·(T − Tb)/ΔHv`` leaves as vapour, and the liquid is flash-atomised into an
  aerosol that the jet carries (:func:`flashing_airborne_fraction`: nothing rains out by default;
  the CCPS 1999 rule of thumb ``min(1, 2f)`` airborne, the rest raining out into a pool, on
  request);
* **non-flashing liquid** (below its boiling point) runs out by Bernoulli into a pool, driven by its
  overpressure and the liquid head above the opening (``liquid_head_m``, held at its initial
  value);
* the **pool** is fed for the duration of the discharge, spreads (gravity–inertia,
  ``r = (8gV/π)^{1/4}·√t``, up to the bund or a minimum thickness) and evaporates — boiling
  liquids by heat conducted from the ground, others by Mackay & Matsugu (1973) (the rate laws of
  :mod:`.source_terms`), until it is empty or the history ends;
* the discharge stops at the isolation time ``duration_s``, when the inventory is exhausted, or
  at ``max_duration_s``; ``rate_kg_s`` overrides the discharge (a gas at that rate);
  ``discharge_rate_kg_s`` replaces only the calculated rate through the opening (a measured or
  metered discharge): the stored material keeps its phase, so a liquefied gas still flashes and
  carries droplets.

A zone needs one rate: :meth:`SourceTerm.peak_window` is the highest mean airborne rate over a
window (the averaging time), with the part of it that came from the jet, its droplet fraction
and the pool's mean area, which is how the dispersion models see a time-varying release (ALOHA
likewise reduces a release to its highest averaged rate steps).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from safetwin.substances import Substance

from .discharge import flashing_liquid_discharge, gas_pipeline_rupture
from .source_terms import (G, P_ATM, R_GAS, flash_fraction, gas_vessel_blowdown, hole_area_m2,
                           liquid_orifice_rate_kg_s, mackay_matsugu_evaporation_kg_s)

HISTORY_STEP_S = 1.0
"""Time step (s) of source-term histories."""

RainoutModel = Literal["flash_atomisation", "ccps_double_flash"]
"""How much of a flashing jet's liquid stays airborne (:func:`flashing_airborne_fraction`)."""
DEFAULT_RAINOUT: RainoutModel = "flash_atomisation"


def flashing_airborne_fraction(flash_fraction: float, *, model: RainoutModel = DEFAULT_RAINOUT) -> float:
    """Fraction (0–1) of a flashing discharge that stays airborne as vapour and aerosol; the rest
    rains out into a pool. ``flash_fraction`` is the adiabatic flash fraction ``cp·(T − Tb)/ΔHv``.

    * ``"flash_atomisation"`` (default): 1 — a liquefied gas stored above its boiling point is
      shattered by the flash into droplets fine enough for the jet to carry until they evaporate.
      This is how the large flashing-jet trials are described by those who ran and analysed them:
      the SLAB manual's Desert Tortoise 4 deck carries the whole discharge with its 81 % liquid
      (Ermak 1990, UCRL-MA-105607, example 2), the HSE equivalent-source conditions for Desert
      Tortoise 1, 2 and 4 dilute the whole flashed jet until its last droplet evaporates (Gant,
      Tickle, Hetherington & Chang 2022, Jack Rabbit III Modelers Working Group, v1.2), and the Jack
      Rabbit II analyses scale the arc maxima with the chlorine emission rate to the atmosphere over
      the visible release (Hanna et al. 2018, AMS 98th Annual Meeting, paper 10.2). No large-scale
      data set links post-expansion conditions to significant rain-out (Witlox & Bowen 2002, HSE
      CRR 403/2002). Keeping the aerosol airborne is also the choice that does not under-state the
      cloud. It over-states it for a liquid only marginally above its boiling point, whose jet
      breaks up mechanically into coarse drops: use ``"ccps_double_flash"`` as the lower bound there.
    * ``"ccps_double_flash"``: ``min(1, 2f)`` — the flash vapour carries as much liquid again as
      droplets (CCPS 1999, *Guidelines for Consequence Analysis of Chemical Releases*, §2.2.1, a
      rule of thumb); with ``f`` ≈ 0.17 it rains two thirds of a chlorine discharge out.

    >>> flashing_airborne_fraction(0.17), flashing_airborne_fraction(0.17, model="ccps_double_flash")
    (1.0, 0.34)
    """
    f = float(np.clip(flash_fraction, 0.0, 1.0))
    if model == "flash_atomisation":
        return 1.0 if f > 0.0 else 0.0
    if model == "ccps_double_flash":
        return min(1.0, 2.0 * f)
    raise ValueError(f"unknown rain-out model {model!r}; known: flash_atomisation, ccps_double_flash")


@dataclass(frozen=True)
class ReleaseSpec:
    """A release at a point of the plant (plant frame, m; SI units).

    ``kind`` names the outcome to compute (``toxic_gas``, ``flammable_gas``, ``pool_fire``,
    ``jet_fire``, and those registered later in :mod:`.consequence`). ``pressure_pa`` is absolute.
    ``rate_kg_s`` overrides the discharge (a gas at that rate); ``discharge_rate_kg_s`` replaces the
    calculated rate through the opening but keeps the stored phase (a liquefied gas flashes at that
    rate). ``liquid_head_m`` is the height of liquid above the opening (an
    atmospheric tank leaks under it). ``duration_s`` is the isolation time (None: until the
    inventory is exhausted). ``flow_path_m`` is the length of pipe the liquid flows through
    before the opening (0 for a hole in a vessel wall). ``pipeline_length_m`` makes a gas release
    a full-bore pipeline rupture of diameter ``hole_diameter_m``. ``jet_orientation`` is the
    direction of a jet for the dense-gas model (horizontal, or vertical upwards). ``pool_diameter_m`` or
    ``bund_area_m2`` fix a pool (else it spreads to ``min_pool_thickness_m``).
    """

    x_m: float
    y_m: float
    substance: str
    kind: str
    inventory_kg: float
    hole_diameter_m: float = 0.025
    pressure_pa: float = 5e5
    temperature_k: float = 293.15
    release_height_m: float = 1.0
    rate_kg_s: float | None = None
    pool_diameter_m: float | None = None
    bund_area_m2: float | None = None
    min_pool_thickness_m: float = 0.01
    jet_direction_deg: float | None = None
    equipment_id: str | None = None
    duration_s: float | None = None
    flow_path_m: float = 0.0
    pipeline_length_m: float | None = None
    jet_orientation: Literal["horizontal", "vertical"] = "horizontal"
    discharge_rate_kg_s: float | None = None
    liquid_head_m: float = 0.0


@dataclass(frozen=True)
class PeakWindow:
    """The highest mean airborne rate over a window, and what it is made of."""

    rate_kg_s: float
    start_s: float
    window_s: float
    jet_share: float
    jet_liquid_fraction: float
    pool_area_m2: float


@dataclass(frozen=True)
class SourceTerm:
    """Airborne release history. ``jet_kg_s`` (flash vapour + droplets) and ``pool_kg_s`` (pool
    vapour) at ``times_s`` (s from the start, step :data:`HISTORY_STEP_S`); ``jet_liquid_fraction``
    is the droplet mass fraction of the jet; ``discharge_kg_s`` the rate leaving the opening."""

    times_s: np.ndarray
    jet_kg_s: np.ndarray
    pool_kg_s: np.ndarray
    pool_area_m2: np.ndarray
    discharge_kg_s: np.ndarray
    jet_liquid_fraction: float
    airborne_fraction: float
    phase: str
    jet_velocity_m_s: float
    notes: tuple[str, ...] = field(default=())

    @property
    def airborne_kg_s(self) -> np.ndarray:
        return self.jet_kg_s + self.pool_kg_s

    @property
    def total_airborne_kg(self) -> float:
        return float(np.sum(self.airborne_kg_s) * HISTORY_STEP_S)

    @property
    def discharge_duration_s(self) -> float:
        """Time (s) during which material leaves the opening."""
        on = np.flatnonzero(self.discharge_kg_s > 0)
        return float((on[-1] + 1) * HISTORY_STEP_S) if on.size else 0.0

    @property
    def airborne_duration_s(self) -> float:
        """Time (s) until the last material becomes airborne (discharge or pool evaporation)."""
        on = np.flatnonzero(self.airborne_kg_s > 0)
        return float((on[-1] + 1) * HISTORY_STEP_S) if on.size else 0.0

    @property
    def rate_kg_s(self) -> float:
        """Mean rate (kg/s) of the jet (what leaves the opening airborne) over the first minute —
        the one rate of models that take a constant release (a jet fire, a steady puff train)."""
        n = max(1, min(int(round(60.0 / HISTORY_STEP_S)), self.times_s.size))
        return float(self.jet_kg_s[:n].mean())

    @property
    def duration_s(self) -> float:
        """Duration (s) that releases the jet's whole mass at :attr:`rate_kg_s` (mass-conserving)."""
        total = float(self.jet_kg_s.sum() * HISTORY_STEP_S)
        rate = self.rate_kg_s
        return float(min(total / rate, self.times_s[-1] + HISTORY_STEP_S)) if rate > 0 else 0.0

    def peak_window(self, window_s: float) -> PeakWindow:
        """Highest mean airborne rate (kg/s) over any ``window_s`` (clipped to the history)."""
        n = max(1, min(int(round(window_s / HISTORY_STEP_S)), self.times_s.size))
        total = self.airborne_kg_s
        csum = np.concatenate([[0.0], np.cumsum(total)])
        means = (csum[n:] - csum[:-n]) / n
        i = int(np.argmax(means))
        jet = float(self.jet_kg_s[i:i + n].sum())
        both = float(total[i:i + n].sum())
        area = float(self.pool_area_m2[i:i + n].mean())
        return PeakWindow(float(means[i]), float(self.times_s[i]), n * HISTORY_STEP_S,
                          jet / both if both > 0 else 1.0, self.jet_liquid_fraction, area)


def _history_times(horizon_s: float) -> np.ndarray:
    return np.arange(0.0, max(horizon_s, 2 * HISTORY_STEP_S), HISTORY_STEP_S)


def _cut(rate: np.ndarray, inventory_kg: float, stop_s: float, times: np.ndarray) -> np.ndarray:
    """Rate history cut at ``stop_s`` and when the cumulative release reaches the inventory."""
    r = np.where(times < stop_s, rate, 0.0)
    released = np.cumsum(r) * HISTORY_STEP_S
    over = released > inventory_kg
    if np.any(over):
        k = int(np.argmax(over))
        r[k] = max(inventory_kg - (released[k - 1] if k else 0.0), 0.0) / HISTORY_STEP_S
        r[k + 1:] = 0.0
    return r


def spreading_pool(substance: Substance, feed_kg_s: np.ndarray, times_s: np.ndarray, *, wind_speed_m_s: float,
                   ground_temperature_k: float, bund_area_m2: float | None, min_thickness_m: float,
                   liquid_temperature_k: float, ground_conductivity_w_m_k: float = 0.92,
                   ground_diffusivity_m2_s: float = 5.7e-7) -> tuple[np.ndarray, np.ndarray]:
    """Evaporation rate (kg/s) and wetted area (m²) of a pool fed at ``feed_kg_s`` (module docstring).

    A boiling pool takes heat from the ground it wets: each ring of ground wetted at time τ
    conducts ``k·ΔT/√(πα(t − τ))`` (semi-infinite solid, concrete by default; CCPS 1999 §2.3.2),
    so the rate is a sum over the wetting history. Others evaporate by Mackay–Matsugu at the
    liquid temperature. A sequential mass balance in time (one step per history step), not a
    per-cell loop."""
    rho = substance.liquid_density_kg_m3
    boiling = substance.boiling_point_k < ground_temperature_k
    n = times_s.size
    evap = np.zeros(n)
    area = np.zeros(n)
    wetted_increment = np.zeros(n)
    # conduction flux (W/m²) of ground wetted j steps ago, at the middle of the step
    ages = (np.arange(n) + 0.5) * HISTORY_STEP_S
    flux_by_age = (ground_conductivity_w_m_k * max(ground_temperature_k - substance.boiling_point_k, 0.0)
                   / np.sqrt(np.pi * ground_diffusivity_m2_s * ages))
    latent = substance.heat_of_vaporization_j_kg
    r_cap = np.sqrt(bund_area_m2 / np.pi) if bund_area_m2 else np.inf
    spread = (8 * G / np.pi) ** 0.25
    mass = 0.0
    wetted = 0.0
    k_first = -1
    for k in range(n):
        mass += feed_kg_s[k] * HISTORY_STEP_S
        if mass <= 0.0:
            continue
        if k_first < 0:
            k_first = k
        age = (k - k_first + 1) * HISTORY_STEP_S
        volume = mass / rho
        radius = min(spread * volume**0.25 * age**0.5, (volume / (np.pi * min_thickness_m)) ** 0.5, r_cap)
        a = max(np.pi * radius * radius, wetted)
        wetted_increment[k] = a - wetted
        wetted = a
        if boiling:
            e = float(np.dot(wetted_increment[k_first:k + 1][::-1], flux_by_age[:k + 1 - k_first])) / latent
        else:
            e = float(mackay_matsugu_evaporation_kg_s(substance, a, wind_speed_m_s=wind_speed_m_s,
                                                      liquid_temperature_k=liquid_temperature_k))
        e = min(e, mass / HISTORY_STEP_S)
        mass -= e * HISTORY_STEP_S
        evap[k], area[k] = e, a
        if mass <= 1e-9 and feed_kg_s[k:].sum() <= 0.0:
            break
    return evap, area


def estimate_source(release: ReleaseSpec, substance: Substance, *, max_duration_s: float = 3600.0,
                    wind_speed_m_s: float = 3.0, ground_temperature_k: float = 293.15,
                    rainout: RainoutModel = DEFAULT_RAINOUT) -> SourceTerm:
    """Airborne release history of ``release`` over ``max_duration_s`` (module docstring); ``rainout``
    chooses how much of a flashing jet's liquid stays airborne (:func:`flashing_airborne_fraction`).

    >>> from safetwin.substances import get_substance
    >>> leak = ReleaseSpec(0, 0, "chlorine", "toxic_gas", 20_000.0, hole_diameter_m=0.01,
    ...                    pressure_pa=6.8e5, temperature_k=293.15, duration_s=600.0)
    >>> st = estimate_source(leak, get_substance("chlorine"))
    >>> round(st.airborne_fraction, 3), round(st.jet_liquid_fraction, 2), st.phase, float(st.pool_kg_s.max())
    (1.0, 0.83, 'two-phase', 0.0)
    >>> st = estimate_source(leak, get_substance("chlorine"), rainout="ccps_double_flash")
    >>> round(st.airborne_fraction, 3), round(st.jet_liquid_fraction, 2)
    (0.347, 0.5)
    >>> bool(st.pool_kg_s.max() > 0), round(st.total_airborne_kg / (1.9449 * 600), 2)  # the pool evaporates too
    (True, 0.84)
    """
    flashing_airborne_fraction(0.0, model=rainout)  # an unknown rain-out model is refused for every release
    notes: list[str] = []
    horizon = float(max_duration_s)
    times = _history_times(horizon)
    stop = float(release.duration_s) if release.duration_s is not None else np.inf
    t0 = release.temperature_k
    p_sat = float(substance.vapour_pressure_pa(t0)) if substance.antoine_log10_pa is not None else 0.0
    is_liquid = substance.boiling_point_k > t0 or (p_sat > P_ATM and release.pressure_pa >= 0.98 * p_sat)
    is_liquid = (is_liquid and t0 < substance.critical_temperature_k and release.rate_kg_s is None
                 and release.pipeline_length_m is None)
    zeros = np.zeros_like(times)
    if not is_liquid:
        given = release.rate_kg_s if release.rate_kg_s is not None else release.discharge_rate_kg_s
        if given is not None:
            rate = np.full_like(times, float(given))
            phase = "given"
        elif release.pipeline_length_m is not None:
            rupture = gas_pipeline_rupture(substance, pressure_pa=release.pressure_pa, temperature_k=t0,
                                           diameter_m=release.hole_diameter_m, length_m=release.pipeline_length_m,
                                           times_s=times)
            rate, phase = rupture.rate_kg_s, "gas"
            notes.append(f"pipeline rupture (Wilson): {rupture.initial_rate_kg_s:.3g} kg/s at first, "
                         f"inventory {rupture.inventory_kg:.3g} kg")
        else:
            volume = release.inventory_kg * R_GAS * t0 / (substance.molar_mass_kg_mol * max(release.pressure_pa, P_ATM))
            blow = gas_vessel_blowdown(volume, release.pressure_pa, t0, substance.molar_mass_kg_mol, substance.gamma,
                                       release.hole_diameter_m, times)
            rate, phase = np.asarray(blow.rate_kg_s, dtype=float), "gas"
            notes.append(f"gas blowdown of a {volume:.3g} m³ vessel: {rate[0]:.3g} kg/s at first")
        jet = _cut(rate, release.inventory_kg, stop, times)
        return SourceTerm(times, jet, zeros.copy(), zeros.copy(), jet.copy(), 0.0, 1.0, phase, 0.0, tuple(notes))
    flashing = p_sat > P_ATM and t0 > substance.boiling_point_k
    if flashing:
        dis = flashing_liquid_discharge(substance, pressure_pa=max(release.pressure_pa, p_sat), temperature_k=t0,
                                        hole_diameter_m=release.hole_diameter_m, flow_path_m=release.flow_path_m)
        discharge_rate, velocity = dis.rate_kg_s, dis.exit_velocity_m_s
        if release.discharge_rate_kg_s is not None:
            discharge_rate = float(release.discharge_rate_kg_s)
            velocity = discharge_rate / (substance.liquid_density_at(t0) * hole_area_m2(release.hole_diameter_m))
        f = flash_fraction(substance, t0)
        airborne = flashing_airborne_fraction(f, model=rainout)
        liquid_in_jet = (airborne - f) / airborne if airborne > 0 else 0.0
        phase = "two-phase"
        how = "given" if release.discharge_rate_kg_s is not None else f"flow path {release.flow_path_m:g} m"
        notes.append(f"flashing discharge {discharge_rate:.3g} kg/s ({how}), flash fraction {f:.3f}, airborne "
                     f"{airborne:.3f} ({liquid_in_jet:.0%} of it droplets; rain-out model {rainout}), "
                     f"{1 - airborne:.3f} rains out into a pool")
    else:
        discharge_rate = (float(release.discharge_rate_kg_s) if release.discharge_rate_kg_s is not None else
                          liquid_orifice_rate_kg_s(release.pressure_pa, substance.liquid_density_kg_m3,
                                                   release.hole_diameter_m, head_m=release.liquid_head_m))
        velocity = discharge_rate / (substance.liquid_density_kg_m3 * np.pi * release.hole_diameter_m**2 / 4)
        airborne, liquid_in_jet, phase = 0.0, 0.0, "liquid"
        notes.append(f"liquid discharge {discharge_rate:.3g} kg/s into a pool")
    discharge = _cut(np.full_like(times, discharge_rate), release.inventory_kg, stop, times)
    jet = discharge * airborne
    evap, area = spreading_pool(substance, discharge * (1.0 - airborne), times, wind_speed_m_s=wind_speed_m_s,
                                ground_temperature_k=ground_temperature_k, bund_area_m2=release.bund_area_m2,
                                min_thickness_m=release.min_pool_thickness_m,
                                liquid_temperature_k=min(t0, substance.boiling_point_k))
    end = discharge.nonzero()[0]
    if end.size:
        notes.append(f"discharge lasts {(end[-1] + 1) * HISTORY_STEP_S:.0f} s")
    if evap.any():
        notes.append(f"pool up to {area.max():.0f} m², evaporating up to {evap.max():.3g} kg/s")
    return SourceTerm(times, jet, evap, area, discharge, float(liquid_in_jet), float(airborne), phase, float(velocity),
                      tuple(notes))


__all__ = ["ReleaseSpec", "SourceTerm", "PeakWindow", "estimate_source", "spreading_pool", "HISTORY_STEP_S",
           "RainoutModel", "DEFAULT_RAINOUT", "flashing_airborne_fraction"]
