"""One entry point from a release at a piece of equipment to threat zones.

:func:`compute_consequence_zones` joins source term → dispersion or fire → zones:

* ``toxic_gas`` / ``flammable_gas``: discharge through the hole (gas, or liquid with flashing and
  the airborne fraction ``min(1, 2f)``; the liquid that rains out is not evaporated here — use
  :func:`.source_terms.pool_evaporation` for that), a steady Gaussian plume at the mean rate over
  the release (capped by the inventory), wind at release height from the power law, the Pasquill
  class from the weather when not given, and zones at AEGL-3/2/1 for the exposure duration
  (toxic, σy averaging-time corrected to that duration) or at 60 %/10 % LEL (flammable, 10-min
  sigmas; ALOHA's LOCs) — with the dense-gas check recorded in the result;
* ``pool_fire``: pool diameter from the bund area, or the spreading pool at minimum thickness,
  solid-flame radiation with wind tilt, zones at 10/5/2 kW/m² (ALOHA) or levels given;
* ``jet_fire``: gas discharge rate → API 521 point-source jet fire, same flux levels.

All coordinates are in the local plant frame; wind direction is the FROM direction.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np

from .dispersion import DenseGasCheck, PlumeField, dense_gas_check, plume_field
from .effects import THERMAL_LEVELS_KW_M2, ThresholdSet, flammable_thresholds, toxic_thresholds
from .fire import jet_fire, pool_fire
from .grid import GridSpec
from .sigmas import PasquillSigmas
from .source_terms import (P_ATM, flash_fraction, gas_orifice_rate_kg_s, liquid_orifice_rate_kg_s,
                           release_duration_s)
from .stability import pasquill_class_from_weather, resolve_class, wind_speed_at_height
from safetwin.substances import Substance, get_substance
from .zones import Zone, zones_from_field, zones_to_geojson

ReleaseKind = Literal["toxic_gas", "flammable_gas", "pool_fire", "jet_fire"]


@dataclass(frozen=True)
class ReleaseSpec:
    """A release at a point of the plant (plant frame, m; SI units).

    ``pressure_pa`` is absolute. ``rate_kg_s`` overrides the hole discharge. ``pool_diameter_m`` or
    ``bund_area_m2`` fix the pool of a pool fire (else the inventory spreads to ``min_pool_thickness_m``).
    """

    x_m: float
    y_m: float
    substance: str
    kind: ReleaseKind
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


@dataclass(frozen=True)
class Weather:
    """Weather at the plant. ``stability`` may be a class or key ("D", "A-B"); when ``None`` it is derived
    from wind, ``time`` (UTC-aware), position and cloud cover (Pasquill–Turner key)."""

    wind_speed_m_s: float
    wind_from_deg: float
    stability: str | None = "D"
    wind_height_m: float = 10.0
    cloud_fraction: float = 0.5
    time: datetime | None = None
    latitude_deg: float | None = None
    longitude_deg: float | None = None
    temperature_k: float = 293.15
    relative_humidity: float = 0.5
    mixing_height_m: float | None = None
    terrain: Literal["rural", "urban"] = "rural"

    def pasquill_class(self) -> str:
        if self.stability is not None:
            return resolve_class(self.stability)
        if self.time is None or self.latitude_deg is None or self.longitude_deg is None:
            raise ValueError("Weather needs a stability class, or time + latitude + longitude to derive one")
        return pasquill_class_from_weather(self.wind_speed_m_s, self.time, self.latitude_deg, self.longitude_deg,
                                           self.cloud_fraction)


@dataclass(frozen=True)
class SourceTerm:
    rate_kg_s: float
    duration_s: float
    airborne_fraction: float
    phase: str
    notes: tuple[str, ...] = ()


@dataclass
class ConsequenceResult:
    """Zones (RED → YELLOW) with the field they were drawn from and the model choices made."""

    release: ReleaseSpec
    weather: Weather
    grid: GridSpec
    kind: ReleaseKind
    zones: list[Zone]
    field: np.ndarray
    field_units: str
    thresholds: ThresholdSet
    source: SourceTerm | None
    stability: str | None
    model: str
    averaging_time_s: float | None = None
    dense_gas: DenseGasCheck | None = None
    plume: PlumeField | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not (self.dense_gas is not None and self.dense_gas.is_dense)

    def to_geojson(self) -> dict[str, Any]:
        """FeatureCollection in the plant frame; each feature carries level, threshold, units, label,
        release kind, substance, model and validity."""
        return zones_to_geojson(self.zones, kind=self.kind, substance=self.release.substance, model=self.model,
                                equipment_id=self.release.equipment_id, valid=self.valid)


def estimate_source(release: ReleaseSpec, substance: Substance, max_duration_s: float = 3600.0) -> SourceTerm:
    """Discharge rate (airborne, kg/s) and duration (s) for a gas or pressurised-liquid release."""
    notes: list[str] = []
    if release.rate_kg_s is not None:
        rate, phase, air = float(release.rate_kg_s), "given", 1.0
    else:
        t = release.temperature_k
        psat = float(substance.vapour_pressure_pa(t)) if substance.antoine_log10_pa is not None else 0.0
        liquid = substance.boiling_point_k > t or (psat > P_ATM and release.pressure_pa >= psat * 0.98)
        if liquid and substance.boiling_point_k < substance.critical_temperature_k:
            rate = liquid_orifice_rate_kg_s(max(release.pressure_pa, psat), substance.liquid_density_kg_m3,
                                            release.hole_diameter_m)
            f = flash_fraction(substance, t)
            air = min(1.0, 2 * f)
            phase = "liquid"
            notes.append(f"liquid discharge {rate:.3g} kg/s, flash fraction {f:.3f}, airborne {air:.3f} (2×flash)")
            rate *= air
        else:
            rate = float(gas_orifice_rate_kg_s(release.pressure_pa, t, substance.molar_mass_kg_mol, substance.gamma,
                                               release.hole_diameter_m))
            phase, air = "gas", 1.0
    total = release.inventory_kg * air
    dur = release_duration_s(total, rate, max_duration_s)
    if dur < max_duration_s:
        notes.append(f"inventory exhausted after {dur:.0f} s")
    return SourceTerm(rate, dur, air, phase, tuple(notes))


def compute_consequence_zones(
    release: ReleaseSpec,
    weather: Weather,
    grid: GridSpec,
    *,
    exposure_duration_s: float = 3600.0,
    toxic_basis: Literal["aegl", "erpg", "idlh"] = "aegl",
    flammable_scheme: Literal["aloha", "lfl"] = "aloha",
    flux_levels_kw_m2: dict[str, float] | None = None,
    sigma_set: Literal["briggs_rural", "isc3_rural", "briggs_urban"] | None = None,
) -> ConsequenceResult:
    """Threat zones for a release (see the module docstring).

    >>> r = compute_consequence_zones(
    ...     ReleaseSpec(x_m=0, y_m=0, substance="chlorine", kind="toxic_gas", inventory_kg=2000,
    ...                 hole_diameter_m=0.01, pressure_pa=8e5),
    ...     Weather(wind_speed_m_s=3.0, wind_from_deg=270.0, stability="D"),
    ...     GridSpec.around(0, 0, 2000, 10))
    >>> [z.level for z in r.zones], r.valid
    (['RED', 'ORANGE', 'YELLOW'], False)
    """
    sub = get_substance(release.substance)
    notes: list[str] = []
    if release.kind in ("toxic_gas", "flammable_gas"):
        src = estimate_source(release, sub, max_duration_s=max(exposure_duration_s, 600.0))
        notes += list(src.notes)
        cls = weather.pasquill_class()
        u = float(wind_speed_at_height(weather.wind_speed_m_s, max(release.release_height_m, 1.0), cls,
                                       z_ref_m=weather.wind_height_m, terrain=weather.terrain, min_speed_m_s=1.0))
        sset = sigma_set or ("briggs_urban" if weather.terrain == "urban" else "briggs_rural")
        if release.kind == "toxic_gas":
            th = toxic_thresholds(sub, exposure_duration_s, toxic_basis)
            t_avg = max(min(exposure_duration_s, src.duration_s), 600.0)
        else:
            th = flammable_thresholds(sub, flammable_scheme)
            t_avg = 600.0
        sig = PasquillSigmas(cls, sset, averaging_time_s=t_avg)
        t_rel = release.temperature_k if src.phase == "gas" else sub.boiling_point_k
        dg = dense_gas_check(molar_mass_kg_mol=sub.molar_mass_kg_mol, temperature_k=t_rel, wind_speed_m_s=u,
                             rate_kg_s=max(src.rate_kg_s, 1e-12), air_temperature_k=weather.temperature_k)
        pf = plume_field(grid, source_xy_m=(release.x_m, release.y_m), wind_from_deg=weather.wind_from_deg,
                         rate_kg_s=src.rate_kg_s, wind_speed_m_s=u, sigmas=sig,
                         release_height_m=release.release_height_m, mixing_height_m=weather.mixing_height_m,
                         dense_gas=dg)
        notes += list(pf.notes)
        zones = zones_from_field(grid, pf.concentration_mg_m3, th.levels_mg_m3, units="mg/m3", labels=th.labels)
        return ConsequenceResult(release, weather, grid, release.kind, zones, pf.concentration_mg_m3, "mg/m3", th, src,
                                 cls, f"gaussian_plume:{sig.name}", t_avg, dg, pf, notes)
    levels = flux_levels_kw_m2 or THERMAL_LEVELS_KW_M2
    th = ThresholdSet({k: v * 1e3 for k, v in levels.items()}, {k: f"{v:g} kW/m2" for k, v in levels.items()},
                      "thermal flux levels (ALOHA 10/5/2 kW/m², 60 s, unless given)")
    if release.kind == "pool_fire":
        if release.pool_diameter_m is not None:
            d = release.pool_diameter_m
        elif release.bund_area_m2 is not None:
            d = float(np.sqrt(4 * release.bund_area_m2 / np.pi))
            notes.append(f"pool fills the bund: equivalent diameter {d:.1f} m")
        else:
            vol = release.inventory_kg / sub.liquid_density_kg_m3
            d = float(np.sqrt(4 * vol / (np.pi * release.min_pool_thickness_m)))
            notes.append(f"unbunded pool spread to {release.min_pool_thickness_m * 1000:.0f} mm: diameter {d:.1f} m")
        u = float(wind_speed_at_height(weather.wind_speed_m_s, 10.0, weather.pasquill_class(), z_ref_m=weather.wind_height_m))
        fire = pool_fire(sub, d, centre_xy_m=(release.x_m, release.y_m), wind_speed_m_s=u,
                         wind_from_deg=weather.wind_from_deg, relative_humidity=weather.relative_humidity,
                         ambient_k=weather.temperature_k)
        fld = fire.field_w_m2(grid)
        model = f"pool_fire:solid_flame(sep={fire.sep_method}, L={fire.flame_length_m:.1f} m, tilt={fire.tilt_deg:.0f} deg)"
        src = None
    elif release.kind == "jet_fire":
        src = estimate_source(release, sub)
        jf = jet_fire(sub, src.rate_kg_s, release_xyz_m=(release.x_m, release.y_m, release.release_height_m),
                      direction_deg=release.jet_direction_deg)
        fld = jf.field_w_m2(grid)
        model = f"jet_fire:api521_point_source(L={jf.flame_length_m:.1f} m, F={jf.radiant_fraction})"
        notes += list(jf.notes)
    else:
        raise ValueError(f"unknown release kind {release.kind!r}")
    zones = zones_from_field(grid, fld, th.levels_mg_m3, units="W/m2", labels=th.labels)
    return ConsequenceResult(release, weather, grid, release.kind, zones, fld, "W/m2", th, src, None, model, None, None,
                             None, notes)
