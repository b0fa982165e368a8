"""Source terms: discharge through holes, flashing, pools, release duration and blowdown.

Formulas (CCPS *Guidelines for Consequence Analysis*; Crowl & Louvar ch. 4; TNO Yellow Book):

* gas through a hole — choked when ``P0/Pa ≥ ((γ+1)/2)^{γ/(γ−1)}``:
  ``m = Cd·A·P0·√(γ·M/(R·T0)·(2/(γ+1))^{(γ+1)/(γ−1)})``; subsonic:
  ``m = Cd·A·P0·√(2M/(R T0)·γ/(γ−1)·[(Pa/P0)^{2/γ} − (Pa/P0)^{(γ+1)/γ}])``;
* liquid through a hole (Bernoulli): ``m = Cd·A·√(2ρ(P0 − Pa) + 2ρ²g·h)``, Cd = 0.61;
* flash fraction of a superheated liquid: ``f = cp·(T − Tb)/ΔHv`` (capped at 1); airborne fraction
  ``min(1, 2f)`` (aerosol carried with the flash vapour, the CCPS rule of thumb);
* gas vessel blowdown (isothermal, ideal gas): ``dm/dt = −m_dot(P)``, ``P = m·R·T/(M·V)``, solved
  in closed form for the choked phase (exponential decay) and by one vectorised quadrature of
  ``t(P)`` after;
* pool spreading on land (gravity–inertia, instantaneous spill): ``r(t) = (8gV/π)^{1/4}·√t``
  until the pool reaches the bund (area capped) or the minimum thickness (unbunded, 5 mm default);
* evaporation of a non-boiling pool (Mackay & Matsugu 1973):
  ``k = 0.0048·u^{7/9}·D^{−1/9}·Sc^{−2/3}`` (m/s), ``E = k·A·Pv·M/(R·T)``;
* boiling pool (Tb < T_ground): heat conducted from the ground,
  ``q = k_s·(T_g − Tb)/√(π·α_s·t)``, ``E = q·A/ΔHv`` (concrete: k_s 0.92 W/mK, α_s 5.7e-7 m²/s).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from safetwin.substances import Substance

R_GAS = 8.314462618
P_ATM = 101325.0
G = 9.80665


def hole_area_m2(diameter_m: float) -> float:
    return float(np.pi * diameter_m**2 / 4)


def is_choked(p0_pa: float, gamma: float, p_amb_pa: float = P_ATM) -> bool:
    """True when the flow through the hole is choked (critical)."""
    return p0_pa / p_amb_pa >= ((gamma + 1) / 2) ** (gamma / (gamma - 1))


def gas_orifice_rate_kg_s(p0_pa: np.ndarray | float, t0_k: float, molar_mass_kg_mol: float, gamma: float,
                          hole_diameter_m: float, *, cd: float = 0.85, p_amb_pa: float = P_ATM) -> np.ndarray:
    """Gas mass flow (kg/s) through a hole, choked or subsonic, for upstream pressure(s) P0 (Pa, absolute).

    >>> round(float(gas_orifice_rate_kg_s(10e5, 293.15, 0.016, 1.31, 0.01)), 4)
    0.1144
    """
    p0 = np.asarray(p0_pa, dtype=float)
    a = hole_area_m2(hole_diameter_m)
    g = gamma
    crit = ((g + 1) / 2) ** (g / (g - 1))
    choked = cd * a * p0 * np.sqrt(g * molar_mass_kg_mol / (R_GAS * t0_k) * (2 / (g + 1)) ** ((g + 1) / (g - 1)))
    r = np.clip(p_amb_pa / np.maximum(p0, 1e-9), 0.0, 1.0)
    sub = cd * a * p0 * np.sqrt(np.maximum(2 * molar_mass_kg_mol / (R_GAS * t0_k) * g / (g - 1)
                                           * (r ** (2 / g) - r ** ((g + 1) / g)), 0.0))
    return np.where(p0 / p_amb_pa >= crit, choked, np.where(p0 > p_amb_pa, sub, 0.0))


def gas_exit_velocity_m_s(p0_pa: float, t0_k: float, molar_mass_kg_mol: float, gamma: float, *,
                          p_amb_pa: float = P_ATM) -> float:
    """Velocity (m/s) of a gas leaving a hole after isentropic expansion from ``p0_pa`` (absolute) and
    ``t0_k``: sonic at the throat temperature ``2T0/(γ+1)`` when choked, otherwise
    ``√(2γ/(γ−1)·R·T0/M·(1 − (Pa/P0)^((γ−1)/γ)))``; 0 at ambient pressure (a vent or a spill has no jet).

    >>> round(gas_exit_velocity_m_s(101325.0, 293.15, 0.0709, 1.33), 3)
    0.0
    """
    g = gamma
    if p0_pa <= p_amb_pa:
        return 0.0
    if is_choked(p0_pa, g, p_amb_pa):
        return float(np.sqrt(g * R_GAS * (2.0 * t0_k / (g + 1)) / molar_mass_kg_mol))
    return float(np.sqrt(2 * g / (g - 1) * R_GAS * t0_k / molar_mass_kg_mol * (1 - (p_amb_pa / p0_pa) ** ((g - 1) / g))))


def liquid_orifice_rate_kg_s(p0_pa: float, density_kg_m3: float, hole_diameter_m: float, *, head_m: float = 0.0,
                             cd: float = 0.61, p_amb_pa: float = P_ATM) -> float:
    """Bernoulli liquid discharge (kg/s) with a liquid head above the hole (m)."""
    dp = 2 * density_kg_m3 * (p0_pa - p_amb_pa) + 2 * density_kg_m3**2 * G * head_m
    return float(cd * hole_area_m2(hole_diameter_m) * np.sqrt(max(dp, 0.0)))


def flash_fraction(substance: Substance, temperature_k: float) -> float:
    """Adiabatic flash fraction ``cp·(T − Tb)/ΔHv`` of a liquid released at T (0 if T ≤ Tb, ≤ 1)."""
    f = substance.liquid_heat_capacity_j_kg_k * (temperature_k - substance.boiling_point_k) / substance.heat_of_vaporization_j_kg
    return float(np.clip(f, 0.0, 1.0))


def release_duration_s(inventory_kg: float, rate_kg_s: float, max_duration_s: float = np.inf) -> float:
    """Time (s) to release the inventory at a constant rate (capped at ``max_duration_s``)."""
    if rate_kg_s <= 0:
        return float(max_duration_s)
    return float(min(inventory_kg / rate_kg_s, max_duration_s))


@dataclass(frozen=True)
class Blowdown:
    """Time-varying release: ``rate_kg_s[i]`` and ``pressure_pa[i]`` at ``times_s[i]``; ``released_kg`` cumulative."""

    times_s: np.ndarray
    rate_kg_s: np.ndarray
    pressure_pa: np.ndarray
    released_kg: np.ndarray


def gas_vessel_blowdown(volume_m3: float, p0_pa: float, t0_k: float, molar_mass_kg_mol: float, gamma: float,
                        hole_diameter_m: float, times_s: np.ndarray, *, cd: float = 0.85,
                        p_amb_pa: float = P_ATM, quadrature_points: int = 2001) -> Blowdown:
    """Isothermal blowdown of a gas vessel through a hole, evaluated at ``times_s``.

    Choked phase in closed form: ``P(t) = P0·exp(−t/τ)``, ``τ = V·M/(R·T·K)`` where the choked rate is
    ``K·P``. Subsonic phase from the time the pressure takes to fall, ``t(P) = t_c + c·∫_P^{P_c} dP'/ṁ(P')``
    (``c = M·V/(R·T)``, kg/Pa), evaluated as one vectorised quadrature on the substitution
    ``P = Pa + (P_c − Pa)·s²`` — the integrand stays finite as ``ṁ ∝ √(P − Pa)`` at the end, so the
    vessel reaches ambient pressure in a finite time — and inverted by interpolation.
    """
    t = np.asarray(times_s, dtype=float)
    k_choked = float(gas_orifice_rate_kg_s(1e7, t0_k, molar_mass_kg_mol, gamma, hole_diameter_m, cd=cd,
                                           p_amb_pa=1.0)) / 1e7  # choked rate per Pa
    c = molar_mass_kg_mol * volume_m3 / (R_GAS * t0_k)  # kg per Pa
    tau = c / k_choked
    p_crit = p_amb_pa * ((gamma + 1) / 2) ** (gamma / (gamma - 1))
    t_crit = tau * np.log(p0_pa / p_crit) if p0_pa > p_crit else 0.0
    p_sub0 = min(p0_pa, p_crit)
    p = p0_pa * np.exp(-t / tau)
    if p_sub0 > p_amb_pa:
        s = np.linspace(0.0, 1.0, quadrature_points)
        span = p_sub0 - p_amb_pa
        ps = p_amb_pa + span * s**2
        rate = gas_orifice_rate_kg_s(ps, t0_k, molar_mass_kg_mol, gamma, hole_diameter_m, cd=cd, p_amb_pa=p_amb_pa)
        with np.errstate(divide="ignore", invalid="ignore"):
            integrand = c * 2.0 * span * s / rate
        integrand[0] = 2.0 * integrand[1] - integrand[2]  # finite limit at P → Pa
        steps = 0.5 * (integrand[1:] + integrand[:-1]) * np.diff(s)
        t_of_s = t_crit + np.concatenate([np.cumsum(steps[::-1])[::-1], [0.0]])  # time to fall to ps
        late = t > t_crit
        p = np.where(late, np.interp(t, t_of_s[::-1], ps[::-1], right=p_amb_pa), p)
    rate = gas_orifice_rate_kg_s(p, t0_k, molar_mass_kg_mol, gamma, hole_diameter_m, cd=cd, p_amb_pa=p_amb_pa)
    released = c * (p0_pa - p)
    return Blowdown(t, rate, p, released)


# ----------------------------------------------------------------------------------------------
# pools
# ----------------------------------------------------------------------------------------------
def pool_radius_m(volume_m3: float, times_s: np.ndarray, *, bund_area_m2: float | None = None,
                  min_thickness_m: float = 0.005) -> np.ndarray:
    """Radius (m) of a spreading pool of ``volume_m3`` at ``times_s``: ``(8gV/π)^{1/4}·√t``, capped by the
    bund (equivalent radius of its area) or by the minimum thickness on unbunded ground."""
    t = np.maximum(np.asarray(times_s, dtype=float), 0.0)
    r = (8 * G * volume_m3 / np.pi) ** 0.25 * np.sqrt(t)
    r_max = np.sqrt(volume_m3 / (np.pi * min_thickness_m))
    if bund_area_m2 is not None:
        r_max = min(r_max, np.sqrt(bund_area_m2 / np.pi))
    return np.minimum(r, r_max)


def mackay_matsugu_evaporation_kg_s(substance: Substance, area_m2: np.ndarray | float, *, wind_speed_m_s: float,
                                    liquid_temperature_k: float, schmidt_number: float = 0.8) -> np.ndarray:
    """Evaporation rate (kg/s) of a non-boiling pool (Mackay & Matsugu 1973); pool diameter from its area."""
    a = np.asarray(area_m2, dtype=float)
    d = np.sqrt(4 * np.maximum(a, 1e-9) / np.pi)
    k = 0.0048 * wind_speed_m_s ** (7 / 9) * d ** (-1 / 9) * schmidt_number ** (-2 / 3)
    pv = substance.vapour_pressure_pa(liquid_temperature_k)
    return k * a * pv * substance.molar_mass_kg_mol / (R_GAS * liquid_temperature_k)


def boiling_pool_evaporation_kg_s(substance: Substance, area_m2: np.ndarray | float, times_s: np.ndarray, *,
                                  ground_temperature_k: float = 293.15, ground_conductivity_w_m_k: float = 0.92,
                                  ground_diffusivity_m2_s: float = 5.7e-7) -> np.ndarray:
    """Evaporation rate (kg/s) of a boiling (cryogenic / refrigerated) pool fed by ground conduction."""
    t = np.maximum(np.asarray(times_s, dtype=float), 1.0)
    dt = max(ground_temperature_k - substance.boiling_point_k, 0.0)
    q = ground_conductivity_w_m_k * dt / np.sqrt(np.pi * ground_diffusivity_m2_s * t)
    return q * np.asarray(area_m2, dtype=float) / substance.heat_of_vaporization_j_kg


@dataclass(frozen=True)
class PoolEvaporation:
    """Time-varying pool: radius (m), evaporation rate (kg/s) and remaining liquid (kg) at ``times_s``."""

    times_s: np.ndarray
    radius_m: np.ndarray
    rate_kg_s: np.ndarray
    remaining_kg: np.ndarray


def pool_evaporation(substance: Substance, mass_kg: float, times_s: np.ndarray, *, wind_speed_m_s: float,
                     temperature_k: float = 293.15, bund_area_m2: float | None = None,
                     min_thickness_m: float = 0.005) -> PoolEvaporation:
    """Spreading and evaporating pool (bunded: area capped by the bund; unbunded: spreading to the
    minimum thickness). Boiling liquids (Tb < T) use ground conduction, others Mackay–Matsugu at T.
    The rate is cut when the liquid is exhausted (cumulative trapezoid)."""
    t = np.asarray(times_s, dtype=float)
    vol = mass_kg / substance.liquid_density_kg_m3
    r = pool_radius_m(vol, t, bund_area_m2=bund_area_m2, min_thickness_m=min_thickness_m)
    area = np.pi * r**2
    if substance.boiling_point_k < temperature_k:
        rate = boiling_pool_evaporation_kg_s(substance, area, t, ground_temperature_k=temperature_k)
    else:
        rate = mackay_matsugu_evaporation_kg_s(substance, area, wind_speed_m_s=wind_speed_m_s,
                                               liquid_temperature_k=temperature_k)
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * np.diff(t))])
    rate = np.where(cum < mass_kg, rate, 0.0)
    return PoolEvaporation(t, r, rate, np.maximum(mass_kg - cum, 0.0))
