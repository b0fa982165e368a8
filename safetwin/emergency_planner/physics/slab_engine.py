"""SLAB (Ermak 1990, UCRL-MA-105607) as a dense-gas engine, through ``slabx`` (MIT; a Python
reimplementation verified against the original Fortran, see its VALIDATION.md).

Mapping of SafeTwin's inputs to SLAB's:

* substance — SLAB's nine properties from the substance table: molar mass, vapour cp (from γ),
  liquid cp, latent heat and boiling point, liquid density; the saturation curve from the
  Antoine constants (``ln p/p_a`` form: B = ln 10·B₁₀, C = C₁₀);
* weather — wind at its measurement height, the measured Monin–Obukhov length when the weather
  has one (SLAB's ``1/L``) or else the Pasquill class, roughness, temperature, humidity (%),
  pressure; SLAB builds its own similarity profile from them;
* sources — ``pool`` → ``EvaporatingPool``, ``horizontal_jet`` → ``HorizontalJet``,
  ``vertical_jet`` → ``VerticalJet``, ``instantaneous`` → ``InstantaneousRelease``; droplets as
  ``liquid_fraction`` at the boiling point (SLAB's two-phase source);
* output — ``concentration_field`` (time-averaged centreline volume fraction at the receptor
  height, crosswind half-width b and β including meander for the averaging time) converted to
  mg/m³ at 25 °C, 1 atm (the convention of the threshold tables), and the local Richardson number
  ``g·(ρ − ρ_a)/ρ_a·h/u*²`` along the trajectory for the hand-over.

Defaults of slabx are kept (SLAB's own grid and coefficients); its LIMITATIONS.md lists a
stability response that is too strong (stable, low-wind cases are the least reliable) and a
~1.6× over-prediction of shallow-layer models on Burro at standard roughness.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from safetwin.substances import MOLAR_VOLUME_L_25C, Substance

from .dense_gas import DenseRelease, EngineCloud
from .weather import Weather

G = 9.80665


def slab_substance(substance: Substance):
    """SLAB's description of a substance from the substance table."""
    from slabx.thermo.base import Substance as SlabSubstance

    sat_b, sat_c = -1.0, 0.0
    if substance.antoine_log10_pa is not None:
        _, b10, c10 = substance.antoine_log10_pa
        sat_b, sat_c = b10 * math.log(10.0), c10
    return SlabSubstance(name=substance.name, mw=substance.molar_mass_kg_mol,
                         cp_vapour=substance.vapour_heat_capacity_j_kg_k,
                         cp_liquid=substance.liquid_heat_capacity_j_kg_k,
                         dh_vap=substance.heat_of_vaporization_j_kg, T_boil=substance.boiling_point_k,
                         rho_liquid=substance.liquid_density_kg_m3, sat_B=sat_b, sat_C=sat_c)


def slab_atmosphere(weather: Weather):
    """SLAB's atmosphere from the one :class:`Weather`."""
    from slabx.submodels.atmosphere import Atmosphere

    stability = ({"inv_L": 1.0 / weather.obukhov_length_m} if weather.obukhov_length_m is not None
                 else {"stability": _slab_class(weather.pasquill_class())})
    return Atmosphere(u_ref=max(weather.wind_speed_m_s, 0.5), z_ref=weather.wind_height_m, T=weather.temperature_k,
                      rh=100.0 * weather.relative_humidity, z0=weather.roughness_m, p=weather.pressure_pa, **stability)


def _slab_class(letter: str) -> str:
    return "F" if letter == "G" else letter


@dataclass(frozen=True)
class SlabEngine:
    """The SLAB engine (registered as ``"slab"`` in :data:`.dense_gas.ENGINES`)."""

    name: str = "slab"

    def run(self, release: DenseRelease, weather: Weather, *, averaging_time_s: float, receptor_height_m: float,
            x_max_m: float) -> EngineCloud:
        import warnings

        from slabx.core.plume import run_dispersion
        from slabx.post.concentration import concentration_field
        from slabx.thermo.base import LegacyThermo, water_backend

        sub = slab_substance(release.substance)
        atm = slab_atmosphere(weather)
        src = slab_source(release, sub)
        notes: list[str] = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            traj, _ = run_dispersion(src, atm, LegacyThermo(sub), water_backend(), x_max=x_max_m)
            duration = release.duration_s if math.isfinite(release.duration_s) else None
            conc = concentration_field(traj, atm, z=receptor_height_m, t_avg=averaging_time_s, t_release=duration)
        notes += sorted({f"slabx: {w.message}" for w in caught})
        order = np.argsort(conc.x, kind="stable")
        x = np.asarray(conc.x, dtype=float)[order]
        keep = np.concatenate([[True], np.diff(x) > 0])
        mg_per_vol_frac = 1e6 * release.substance.molar_mass_g_mol / MOLAR_VOLUME_L_25C
        peak = np.asarray(conc.peak, dtype=float)[order][keep] * mg_per_vol_frac
        b = np.asarray(conc.b_shape, dtype=float)[order][keep]
        beta = np.asarray(conc.beta_c, dtype=float)[order][keep]
        rho = np.asarray(traj.rho, dtype=float)[order][keep]
        h = np.asarray(traj.h, dtype=float)[order][keep]
        excess = (rho - atm.rho) / atm.rho
        ri = G * excess * h / atm.u_star**2
        return EngineCloud(x[keep], peak, b, beta, ri, tuple(notes))


def slab_source(release: DenseRelease, sub):
    """SLAB's source (slabx object) for an engine-neutral :class:`DenseRelease` and SLAB substance ``sub``."""
    from slabx.core.source import EvaporatingPool, HorizontalJet, InstantaneousRelease
    from slabx.core.vertical_jet import VerticalJet

    duration = release.duration_s if math.isfinite(release.duration_s) else math.inf
    if release.kind == "pool":
        return EvaporatingPool(substance=sub, rate=release.rate_kg_s, area=release.area_m2, duration=duration)
    common = dict(substance=sub, rate=release.rate_kg_s, area=release.area_m2,
                  duration=duration if math.isfinite(duration) else math.inf,
                  liquid_fraction=min(release.liquid_fraction, 0.99), T_source=release.temperature_k,
                  height=release.height_m)
    if release.kind == "horizontal_jet":
        return HorizontalJet(**common)
    if release.kind == "vertical_jet":
        return VerticalJet(**common)
    if release.kind == "instantaneous":
        return InstantaneousRelease(**{**common, "duration": max(duration if math.isfinite(duration) else 1.0, 1e-3)},
                                    mass=release.mass_kg)
    raise ValueError(f"unknown dense-gas source kind {release.kind!r}")


__all__ = ["SlabEngine", "slab_substance", "slab_atmosphere", "slab_source"]
