"""Discharge rates of pressurised releases: flashing two-phase liquid and gas-pipeline ruptures.

* **Flashing liquid** through a hole or a pipe — the omega method (Leung 1986) gives the
  equilibrium (homogeneous, HEM-like) critical mass flux of a saturated liquid,
  ``ω = cp_l·T0·P0·ρ_l·(v_fg/h_fg)²``, critical pressure ratio η_c from
  ``η_c² + (ω² − 2ω)(1 − η_c)² + 2ω² ln η_c + 2ω²(1 − η_c) = 0`` and ``G_eq = η_c·√(P0·ρ_l/ω)``.
  Short paths do not reach equilibrium: Fauske's (1985) non-equilibrium interpolation
  ``G² = 2ρ_l(P0 − P_sat) + G_eq²/N``, ``N = G_eq²/(2·ΔP·ρ_l·Cd²) + L/L_e`` (L_e = 0.1 m,
  ΔP = P0 − P_a) joins the metastable-liquid limit of a hole in a vessel wall (L → 0:
  Bernoulli with the full pressure difference) to equilibrium flashing flow in pipes of
  L ≥ 0.1 m. Both as given in CCPS *Guidelines for Consequence Analysis of Chemical Releases*
  (1999) §2.1.
* **Gas pipeline full-bore rupture** — Wilson's (1981) double-exponential blowdown of a long
  pipeline, ``m(t) = m0/(1+α)·[exp(−t/(α²β)) + α·exp(−t/β)]``, ``β = (2/3)(L/c0)·√(γ f L/D)``,
  ``α = M0/(m0·β)``, with m0 the choked flow through the full bore and M0 the pipeline inventory
  (as given in CCPS 1999 §2.1.2 and the TNO Yellow Book ch. 2).

Properties come from the substance table (:mod:`safetwin.substances`): saturation pressure
(Antoine), latent heat (Watson), liquid density (Rackett), liquid heat capacity.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from safetwin.substances import Substance

from .source_terms import P_ATM, R_GAS, gas_orifice_rate_kg_s, hole_area_m2

EQUILIBRIUM_LENGTH_M = 0.1
"""Flow path (m) beyond which a flashing liquid reaches equilibrium (Fauske 1985)."""


def omega_parameter(substance: Substance, temperature_k: float) -> float:
    """Leung's ω (dimensionless) of the saturated liquid at T (a measure of its compressibility on flashing)."""
    p_sat = float(substance.vapour_pressure_pa(temperature_k))
    rho_l = substance.liquid_density_at(temperature_k)
    rho_v = p_sat * substance.molar_mass_kg_mol / (R_GAS * temperature_k)
    v_fg = 1.0 / rho_v - 1.0 / rho_l
    h_fg = substance.heat_of_vaporization_at(temperature_k)
    return float(substance.liquid_heat_capacity_j_kg_k * temperature_k * p_sat * rho_l * (v_fg / h_fg) ** 2)


def critical_pressure_ratio(omega: float) -> float:
    """Root η_c in (0, 1) of Leung's critical-flow equation for a saturated liquid inlet."""
    def residual(eta: float) -> float:
        return eta**2 + (omega**2 - 2 * omega) * (1 - eta) ** 2 + 2 * omega**2 * np.log(eta) + 2 * omega**2 * (1 - eta)

    return float(brentq(residual, 1e-6, 1.0 - 1e-9))


def equilibrium_mass_flux_kg_m2_s(substance: Substance, temperature_k: float, *, p_amb_pa: float = P_ATM) -> float:
    """Equilibrium flashing mass flux (kg/m²/s) of the saturated liquid at T (omega method; choked or not).

    >>> from safetwin.substances import get_substance
    >>> round(equilibrium_mass_flux_kg_m2_s(get_substance("chlorine"), 293.15), -2)
    8100.0
    """
    p0 = float(substance.vapour_pressure_pa(temperature_k))
    if p0 <= p_amb_pa:
        return 0.0
    omega = omega_parameter(substance, temperature_k)
    rho_l = substance.liquid_density_at(temperature_k)
    eta_c = critical_pressure_ratio(omega)
    eta_a = p_amb_pa / p0
    if eta_a <= eta_c:
        return float(eta_c * np.sqrt(p0 * rho_l / omega))
    num = np.sqrt(max(-2.0 * (omega * np.log(eta_a) + (omega - 1.0) * (1.0 - eta_a)), 0.0))
    return float(np.sqrt(p0 * rho_l) * num / (omega * (1.0 / eta_a - 1.0) + 1.0))


@dataclass(frozen=True)
class FlashingDischarge:
    """Discharge of a pressurised liquid: rate (kg/s), mass flux (kg/m²/s), exit velocity (m/s) and
    the equilibrium and non-equilibrium parts of the calculation."""

    rate_kg_s: float
    mass_flux_kg_m2_s: float
    equilibrium_flux_kg_m2_s: float
    subcooling_pa: float
    exit_velocity_m_s: float
    flow_path_m: float


def flashing_liquid_discharge(substance: Substance, *, pressure_pa: float, temperature_k: float,
                              hole_diameter_m: float, flow_path_m: float = 0.0, cd: float = 0.61,
                              p_amb_pa: float = P_ATM) -> FlashingDischarge:
    """Discharge (kg/s) of a liquid stored at ``pressure_pa`` (absolute, ≥ its saturation pressure)
    and ``temperature_k`` through a hole (``flow_path_m`` ≈ 0) or a pipe of that length (Fauske 1985
    non-equilibrium interpolation to the omega-method equilibrium flux; module docstring).

    A liquid below its normal boiling point (no flashing) gives plain Bernoulli flow.

    >>> from safetwin.substances import get_substance
    >>> cl2 = get_substance("chlorine")
    >>> hole = flashing_liquid_discharge(cl2, pressure_pa=6.8e5, temperature_k=293.15, hole_diameter_m=0.01)
    >>> pipe = flashing_liquid_discharge(cl2, pressure_pa=6.8e5, temperature_k=293.15, hole_diameter_m=0.01,
    ...                                  flow_path_m=1.0)
    >>> round(hole.rate_kg_s, 2), round(pipe.rate_kg_s, 2)   # metastable jet vs equilibrium flashing flow
    (1.94, 0.69)
    """
    rho_l = substance.liquid_density_at(temperature_k)
    area = hole_area_m2(hole_diameter_m)
    p_sat = float(substance.vapour_pressure_pa(temperature_k)) if substance.antoine_log10_pa is not None else 0.0
    dp = max(pressure_pa - p_amb_pa, 0.0)
    if p_sat <= p_amb_pa or dp <= 0.0:
        g = cd * np.sqrt(2.0 * rho_l * dp)
        return FlashingDischarge(float(g * area), float(g), 0.0, float(max(pressure_pa - p_sat, 0.0)),
                                 float(g / rho_l), float(flow_path_m))
    subcooling = max(pressure_pa - p_sat, 0.0)
    g_eq = equilibrium_mass_flux_kg_m2_s(substance, temperature_k, p_amb_pa=p_amb_pa)
    n = g_eq**2 / (2.0 * dp * rho_l * cd**2) + min(max(flow_path_m, 0.0), EQUILIBRIUM_LENGTH_M) / EQUILIBRIUM_LENGTH_M
    g = float(np.sqrt(2.0 * rho_l * subcooling + g_eq**2 / n))
    return FlashingDischarge(g * area, g, g_eq, subcooling, g / rho_l, float(flow_path_m))


@dataclass(frozen=True)
class PipelineRupture:
    """Time-varying release rate (kg/s) of a ruptured gas pipeline at ``times_s``, with Wilson's parameters."""

    times_s: np.ndarray
    rate_kg_s: np.ndarray
    initial_rate_kg_s: float
    inventory_kg: float
    alpha: float
    beta_s: float


def gas_pipeline_rupture(substance: Substance, *, pressure_pa: float, temperature_k: float, diameter_m: float,
                         length_m: float, times_s: np.ndarray, fanning_friction: float = 0.0025,
                         cd: float = 1.0) -> PipelineRupture:
    """Full-bore rupture of a gas pipeline (Wilson 1981; module docstring), rate at ``times_s``.

    >>> from safetwin.substances import get_substance
    >>> r = gas_pipeline_rupture(get_substance("methane"), pressure_pa=70e5, temperature_k=288.15,
    ...                          diameter_m=0.3, length_m=20_000.0, times_s=np.array([0.0, 60.0, 600.0]))
    >>> round(r.initial_rate_kg_s), [round(float(v)) for v in r.rate_kg_s], round(r.inventory_kg, -3)
    (857, [857, 119, 33], 66000.0)
    """
    t = np.asarray(times_s, dtype=float)
    m0 = float(gas_orifice_rate_kg_s(pressure_pa, temperature_k, substance.molar_mass_kg_mol, substance.gamma,
                                      diameter_m, cd=cd))
    inventory = pressure_pa * substance.molar_mass_kg_mol / (R_GAS * temperature_k) * np.pi * diameter_m**2 / 4 * length_m
    c0 = np.sqrt(substance.gamma * R_GAS * temperature_k / substance.molar_mass_kg_mol)
    beta = 2.0 / 3.0 * length_m / c0 * np.sqrt(substance.gamma * fanning_friction * length_m / diameter_m)
    alpha = inventory / (m0 * beta)
    rate = m0 / (1.0 + alpha) * (np.exp(-t / (alpha**2 * beta)) + alpha * np.exp(-t / beta))
    return PipelineRupture(t, rate, m0, float(inventory), float(alpha), float(beta))


__all__ = ["omega_parameter", "critical_pressure_ratio", "equilibrium_mass_flux_kg_m2_s", "FlashingDischarge",
           "flashing_liquid_discharge", "PipelineRupture", "gas_pipeline_rupture", "EQUILIBRIUM_LENGTH_M"]
