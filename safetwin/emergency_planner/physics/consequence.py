"""One entry point from a release at a piece of equipment to threat zones.

:func:`compute_consequence_zones` looks the release's ``kind`` up in :data:`OUTCOMES` (an outcome
registry: ``kind → model``) and returns a :class:`ConsequenceResult`. New outcomes (fireballs,
explosions, flash fires) are added with :func:`register_outcome`; their options that the
registry does not know arrive in :attr:`ConsequenceOptions.extra`. Thresholds carry their units
(:class:`~.effects.ThresholdSet`): mg/m³ for clouds, W/m² for thermal flux, Pa for overpressure.

Outcomes registered here:

* ``toxic_gas`` / ``flammable_gas`` / ``gas_cloud`` (levels given as ``levels_mg_m3``) —
  :func:`.release.estimate_source` (jet with droplets,
  rain-out pool if asked for, blowdown, pipeline rupture, isolation time); the highest mean airborne rate
  over the averaging time; **model selection** by the Britter–McQuaid Richardson number of the
  source cloud at its real density (cold, droplet-laden: :func:`.dispersion.dense_gas_check`) —
  a dense cloud goes to the dense-gas engine (SLAB by default, :mod:`.dense_gas`) and is handed
  over to the passive Gaussian where it is diluted; a passive cloud is a Gaussian plume with the
  along-wind factor of a finite release (:func:`.dispersion.finite_release_factor`). Wind, sigmas
  and ambient state come from the one :class:`~.weather.Weather`. Zones at AEGL-3/2/1 for the
  exposure duration (toxic; averaging time ``max(min(exposure, release), 600 s)`` unless given)
  or at 60 %/10 % LEL (flammable, 10-min averages; ALOHA's LOCs);
* ``pool_fire`` — pool diameter from the bund area, or the spreading pool at minimum thickness,
  solid-flame radiation with wind tilt, zones at 10/5/2 kW/m² (ALOHA) or levels given;
* ``jet_fire`` — the release's initial rate → API 521 point-source jet fire, same flux levels;
* ``fireball`` — BLEVE fireball of the inventory (CCPS or Yellow Book correlations), flux levels;
* ``flash_fire`` — the unignited cloud's LFL (lethal) and ½ LFL envelopes, dense or passive;
* ``vce`` — vapour cloud explosion of the cloud's flammable mass in the congested regions given
  (``congestion=``), TNO multi-energy or Baker–Strehlow–Tang (``explosion_model=``); zones at
  8 / 3.5 / 1 psi (Pa).

All coordinates are in the local plant frame; wind direction is the FROM direction. The model
selection is written out in docs/consequence.md.
"""
from __future__ import annotations

import math
import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Protocol
from collections.abc import Callable

import numpy as np
from scipy.optimize import brentq

from safetwin.substances import Substance, get_substance

from .dense_gas import DEFAULT_ENGINE, CloudProfile, DenseRelease, ProfileSigmas, SourceKind, dense_cloud
from .dispersion import (KG_M3_TO_MG_M3, DenseGasCheck, PlumeField, cloud_density_kg_m3, dense_gas_check,
                         finite_release_factor, plume_concentration, plume_field)
from .effects import THERMAL_LEVELS_KW_M2, ThresholdSet, flammable_thresholds, toxic_thresholds
from .fire import jet_fire, pool_fire
from .fireball import bleve_fireball
from .flammable_cloud import flammable_mass
from .flash_fire import flash_fire
from .grid import GridSpec, to_wind_frame
from .release import DEFAULT_RAINOUT, RainoutModel, ReleaseSpec, SourceTerm, estimate_source
from .source_terms import gas_exit_velocity_m_s
from .sigmas import PasquillSigmas, SigmaModel, SigmaSet
from .overpressure import OVERPRESSURE_LABELS, OVERPRESSURE_LEVELS_PA
from .vce import vapour_cloud_explosion
from .weather import Weather
from .zones import Zone, zones_from_field, zones_to_geojson

ReleaseKind = str
"""Name of an outcome registered in :data:`OUTCOMES` (``toxic_gas``, ``flammable_gas``, ``pool_fire``, ``jet_fire``, …)."""
DispersionChoice = Literal["auto", "gaussian", "dense"]
DENSE_NEAR_FIELD_M = 25.0
"""A cloud whose dense phase ends (hand-over) within this distance (m) of the source — below the
resolution of a plant's zones — is modelled as passive from the source (docs/consequence.md)."""


@dataclass(frozen=True)
class ConsequenceOptions:
    """Options of :func:`compute_consequence_zones` (keyword arguments). Unknown keywords are kept
    in ``extra`` for outcomes registered elsewhere.

    ``averaging_time_s`` overrides the averaging-time rule of the cloud outcomes;
    ``dispersion_model`` forces the Gaussian or the dense-gas model (``"auto"`` chooses);
    ``dense_engine`` names the dense-gas engine; ``receptor_height_m`` is the height of the zones;
    ``rainout_model`` says how much of a flashing jet's liquid stays airborne
    (:func:`.release.flashing_airborne_fraction`).
    """

    exposure_duration_s: float = 3600.0
    toxic_basis: Literal["aegl", "erpg", "idlh"] = "aegl"
    flammable_scheme: Literal["aloha", "lfl"] = "aloha"
    flux_levels_kw_m2: dict[str, float] | None = None
    sigma_set: SigmaSet | None = None
    averaging_time_s: float | None = None
    dispersion_model: DispersionChoice = "auto"
    dense_engine: str = DEFAULT_ENGINE
    receptor_height_m: float = 0.0
    rainout_model: RainoutModel = DEFAULT_RAINOUT
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_keywords(cls, **options: Any) -> ConsequenceOptions:
        known = {f.name for f in fields(cls)} - {"extra"}
        return cls(**{k: v for k, v in options.items() if k in known},
                   extra={k: v for k, v in options.items() if k not in known})


class CloudModel(Protocol):
    """A cloud that can be evaluated anywhere: ``concentration_at(x_m, y_m)`` in the plant frame
    (mg/m³, at the receptor height of the result) and ``reach_m(level)``, the furthest downwind
    distance of the centreline at or above a level."""

    def concentration_at(self, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray: ...

    def reach_m(self, level_mg_m3: float) -> float: ...


@dataclass(frozen=True)
class GaussianCloud:
    """The passive plume of a result as a point function (same formula as its gridded field)."""

    source_xy_m: tuple[float, float]
    wind_from_deg: float
    rate_kg_s: float
    wind_speed_m_s: float
    sigmas: SigmaModel
    release_height_m: float
    receptor_height_m: float
    mixing_height_m: float | None
    downwind_factor: Callable[[np.ndarray], np.ndarray] | None

    def _centreline_and_plume(self, down: np.ndarray, cross: np.ndarray) -> np.ndarray:
        return plume_concentration(down, cross, self.receptor_height_m, rate_kg_s=self.rate_kg_s,
                                   wind_speed_m_s=self.wind_speed_m_s, sigmas=self.sigmas,
                                   release_height_m=self.release_height_m, mixing_height_m=self.mixing_height_m,
                                   downwind_factor=self.downwind_factor) * KG_M3_TO_MG_M3

    def concentration_at(self, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
        down, cross = to_wind_frame(np.asarray(x_m, float), np.asarray(y_m, float), *self.source_xy_m,
                                    self.wind_from_deg)
        return self._centreline_and_plume(down, cross)

    def reach_m(self, level_mg_m3: float, x_max_m: float = 1e5) -> float:
        return _reach(lambda x: self._centreline_and_plume(x, np.zeros_like(x)), level_mg_m3, x_max_m)


@dataclass(frozen=True)
class DenseCloud:
    """A dense-gas cloud profile placed in the plant frame."""

    profile: CloudProfile
    source_xy_m: tuple[float, float]
    wind_from_deg: float

    def concentration_at(self, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
        down, cross = to_wind_frame(np.asarray(x_m, float), np.asarray(y_m, float), *self.source_xy_m,
                                    self.wind_from_deg)
        return self.profile.concentration_at(down, cross) * (down >= self.profile.x_m[0]) * (down <= self.profile.x_m[-1])

    def reach_m(self, level_mg_m3: float) -> float:
        return _reach(self.profile.centreline_at, level_mg_m3, float(self.profile.x_m[-1]))


def _centreline_zones(zones: list[Zone], cloud: CloudModel, grid: GridSpec, source_xy_m: tuple[float, float],
                      wind_from_deg: float) -> list[Zone]:
    """Zones that contain the centreline wherever the model is at or above their level: a plume
    narrower than a grid cell falls between the nodes, so the stretch of the axis above the level
    (a strip a quarter of a cell wide) is joined to the contour (zones as connected as the physics)."""
    from shapely.geometry import LineString

    from .grid import downwind_unit

    ex, ey = downwind_unit(wind_from_deg)
    x = np.geomspace(0.1, max(_grid_reach_m(grid, *source_xy_m), 1.0), 4000)
    xs, ys = source_xy_m[0] + x * ex, source_xy_m[1] + x * ey
    c = cloud.concentration_at(xs, ys)
    inside = (xs >= grid.x_min_m) & (xs <= grid.x_max_m) & (ys >= grid.y_min_m) & (ys <= grid.y_max_m)
    out = []
    for z in zones:
        above = np.flatnonzero((c >= z.threshold) & inside)
        if above.size == 0:
            out.append(z)
            continue
        x_end = cloud.reach_m(z.threshold)
        x_start = float(x[above[0]])
        x_end = min(max(x_end, x_start), float(x[above[-1]]) if not np.isfinite(x_end) else x_end)
        axis = LineString([(source_xy_m[0] + x_start * ex, source_xy_m[1] + x_start * ey),
                           (source_xy_m[0] + x_end * ex, source_xy_m[1] + x_end * ey)])
        strip = axis.buffer(0.125 * min(grid.dx_m, grid.dy_m), cap_style="flat") if axis.length > 0 else axis.buffer(0.1)
        out.append(Zone(z.level, z.threshold, z.units, z.label, z.geometry.union(strip)))
    return out


def _reach(centreline: Callable[[np.ndarray], np.ndarray], level: float, x_max_m: float) -> float:
    """Furthest x (m) with ``centreline(x) ≥ level``: a fine log-spaced scan, refined by bisection."""
    x = np.geomspace(0.1, x_max_m, 20_000)
    c = centreline(x)
    above = np.flatnonzero(c >= level)
    if above.size == 0:
        return 0.0
    i = int(above[-1])
    if i == x.size - 1:
        return float(x[i])
    return float(brentq(lambda xx: float(centreline(np.array([xx]))[0]) - level, x[i], x[i + 1], xtol=1e-6))


@dataclass(frozen=True)
class RegimeChoice:
    """The dispersion model chosen for a cloud and why."""

    model: Literal["gaussian", "dense"]
    check: DenseGasCheck
    reason: str
    forced: bool = False


@dataclass
class ConsequenceResult:
    """Zones (RED → YELLOW) with the field they were drawn from and the model choices made.

    ``cloud`` evaluates the same model at any point (clouds only); ``regime`` says which
    dispersion model was chosen and why; ``dense_release`` is the source the dense-gas engine
    was given (None when it was not run)."""

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
    notes: list[str] = dataclasses.field(default_factory=list)   # (the attribute "field" above shadows the name)
    cloud: CloudModel | None = None
    regime: RegimeChoice | None = None
    dense_release: DenseRelease | None = None

    @property
    def valid(self) -> bool:
        """False when a dense cloud was forced through the passive Gaussian model by the caller."""
        return not (self.dense_gas is not None and self.dense_gas.is_dense and self.regime is not None
                    and self.regime.model != "dense" and self.regime.forced)

    def to_geojson(self) -> dict[str, Any]:
        """FeatureCollection in the plant frame; each feature carries level, threshold, units, label,
        release kind, substance, model and validity."""
        return zones_to_geojson(self.zones, kind=self.kind, substance=self.release.substance, model=self.model,
                                equipment_id=self.release.equipment_id, valid=self.valid)


OutcomeModel = Callable[[ReleaseSpec, Weather, GridSpec, ConsequenceOptions], ConsequenceResult]
OUTCOMES: dict[str, OutcomeModel] = {}
"""Outcome registry: release kind → model."""


def register_outcome(kind: str, model: OutcomeModel) -> None:
    """Register (or replace) the model computing zones for releases of ``kind``."""
    OUTCOMES[kind] = model


def compute_consequence_zones(release: ReleaseSpec, weather: Weather, grid: GridSpec, **options: Any) -> ConsequenceResult:
    """Threat zones for a release (see the module docstring); ``options`` are the fields of
    :class:`ConsequenceOptions`.

    >>> r = compute_consequence_zones(
    ...     ReleaseSpec(x_m=0, y_m=0, substance="chlorine", kind="toxic_gas", inventory_kg=2000,
    ...                 hole_diameter_m=0.01, pressure_pa=8e5),
    ...     Weather(wind_speed_m_s=3.0, wind_from_deg=270.0, stability="D"),
    ...     GridSpec.around(0, 0, 2000, 10))
    >>> [z.level for z in r.zones], r.regime.model, r.valid
    (['RED', 'ORANGE', 'YELLOW'], 'dense', True)
    """
    model = OUTCOMES.get(release.kind)
    if model is None:
        raise ValueError(f"unknown release kind {release.kind!r}; known: {', '.join(sorted(OUTCOMES))}")
    return model(release, weather, grid, ConsequenceOptions.from_keywords(**options))


# ----------------------------------------------------------------------------------------------
# clouds: toxic and flammable
# ----------------------------------------------------------------------------------------------
def choose_regime(source: SourceTerm, substance: Substance, weather: Weather, *, rate_kg_s: float,
                  jet_share: float, release_temperature_k: float, release_height_m: float) -> RegimeChoice:
    """Dense or passive: Britter–McQuaid on the source cloud at its real density — the boiling point
    and the droplets it carries for a flashing or evaporating liquid, the release temperature for
    a gas; continuous form with the peak rate, and the instantaneous form as well for a release
    shorter than a minute."""
    cold = source.phase in ("two-phase", "liquid")
    temperature = substance.boiling_point_k if cold else release_temperature_k
    droplets = jet_share * source.jet_liquid_fraction if cold else 0.0
    u = weather.transport_speed_m_s(release_height_m=release_height_m)
    common = dict(molar_mass_kg_mol=substance.molar_mass_kg_mol, temperature_k=temperature, wind_speed_m_s=u,
                  air_temperature_k=weather.temperature_k, liquid_fraction=droplets,
                  liquid_density_kg_m3=substance.liquid_density_kg_m3, pressure_pa=weather.pressure_pa)
    check = dense_gas_check(rate_kg_s=max(rate_kg_s, 1e-12), **common)
    if source.airborne_duration_s < 60.0 and not check.is_dense:
        check = dense_gas_check(mass_kg=max(source.total_airborne_kg, 1e-12), **common)
    what = (f"Ri = {check.richardson_number:.3g} (threshold {check.threshold:.3g}), cloud "
            f"{check.gas_density_kg_m3:.3g} kg/m³ ({droplets:.0%} droplets) vs air {check.air_density_kg_m3:.3g}")
    return RegimeChoice("dense" if check.is_dense else "gaussian", check,
                        ("dense: " if check.is_dense else "passive: ") + what)


def _grid_reach_m(grid: GridSpec, x0: float, y0: float) -> float:
    dx = max(abs(grid.x_min_m - x0), abs(grid.x_max_m - x0))
    dy = max(abs(grid.y_min_m - y0), abs(grid.y_max_m - y0))
    return float(np.hypot(dx, dy))


def _dense_release(release: ReleaseSpec, substance: Substance, source: SourceTerm, *, rate_kg_s: float,
                   duration_s: float, jet_share: float, pool_area_m2: float, wind_speed_m_s: float) -> DenseRelease:
    """The engine-neutral source: a jet when the jet carries most of the window's mass, else the pool.

    A gas leaves as a jet at its isentropic exit velocity (:func:`.source_terms.gas_exit_velocity_m_s`);
    one slower than the wind — a vent, or gas spilling at ambient pressure — carries no momentum of
    its own and is an area source at ground level: the given pool or bund area, else the area through
    which the wind carries its volume flux away (``rate/(ρ·u)``)."""
    cold = source.phase in ("two-phase", "liquid")
    given_area = (math.pi * release.pool_diameter_m**2 / 4 if release.pool_diameter_m is not None
                  else release.bund_area_m2)
    if jet_share < 0.5:
        area = max(pool_area_m2, rate_kg_s / 0.05)
        return DenseRelease(substance, "pool", rate_kg_s, duration_s, area)
    droplets = jet_share * source.jet_liquid_fraction if cold else 0.0
    if cold:
        rho = cloud_density_kg_m3(molar_mass_kg_mol=substance.molar_mass_kg_mol, temperature_k=substance.boiling_point_k,
                                  liquid_fraction=droplets, liquid_density_kg_m3=substance.liquid_density_kg_m3)
        velocity = max(source.jet_velocity_m_s, 1.0)
        temperature = None
    else:
        rho = substance.gas_density_kg_m3(release.temperature_k)
        velocity = gas_exit_velocity_m_s(release.pressure_pa, release.temperature_k, substance.molar_mass_kg_mol,
                                         substance.gamma)
        temperature = release.temperature_k
        if velocity < wind_speed_m_s:
            area = given_area or rate_kg_s / (rho * wind_speed_m_s)
            return DenseRelease(substance, "pool", rate_kg_s, duration_s, area)
    kind: SourceKind = "vertical_jet" if release.jet_orientation == "vertical" else "horizontal_jet"
    return DenseRelease(substance, kind, rate_kg_s, duration_s, rate_kg_s / (rho * velocity), droplets, temperature,
                        release.release_height_m)


@dataclass(frozen=True)
class CloudSetup:
    """A release's cloud before it is drawn: the source term, the thresholds, the averaging time,
    the rate and (equivalent) duration the model was given, the regime chosen and the model as a
    point function (:attr:`cloud`; :attr:`profile` is the dense-gas profile when the dense model is
    used). What :func:`compute_consequence_zones` draws, and what the drill timeline and the QRA
    carry (wind, sigmas: :attr:`wind_speed_m_s`, :attr:`sigmas`)."""

    substance: Substance
    source: SourceTerm
    thresholds: ThresholdSet
    averaging_time_s: float
    rate_kg_s: float
    duration_s: float
    regime: RegimeChoice
    wind_speed_m_s: float
    sigmas: SigmaModel
    finite: Callable[[np.ndarray], np.ndarray]
    cloud: CloudModel
    model: str
    profile: CloudProfile | None = None
    dense_release: DenseRelease | None = None
    notes: tuple[str, ...] = ()
    source_xy_m: tuple[float, float] = (0.0, 0.0)
    wind_from_deg: float = 0.0
    release_height_m: float = 0.0
    mixing_height_m: float | None = None

    def concentration_3d(self, x_m: np.ndarray, y_m: np.ndarray, z_m: np.ndarray) -> np.ndarray:
        """The cloud in three dimensions (mg/m³; a :data:`.flammable_cloud.CloudConcentration`): the
        Gaussian plume at height z, or the dense-gas profile's ground concentration with the vertical
        Gaussian of the same ground concentration (σz of :class:`.dense_gas.ProfileSigmas`)."""
        down, cross = to_wind_frame(np.asarray(x_m, float), np.asarray(y_m, float), *self.source_xy_m,
                                    self.wind_from_deg)
        z = np.asarray(z_m, float)
        if self.profile is None:
            return plume_concentration(down, cross, z, rate_kg_s=self.rate_kg_s, wind_speed_m_s=self.wind_speed_m_s,
                                       sigmas=self.sigmas, release_height_m=self.release_height_m,
                                       mixing_height_m=self.mixing_height_m,
                                       downwind_factor=self.finite) * KG_M3_TO_MG_M3
        ground = self.profile.concentration_at(down, cross) * (down >= self.profile.x_m[0]) * (
            down <= self.profile.x_m[-1])
        _, sz = ProfileSigmas(self.profile, self.rate_kg_s, self.wind_speed_m_s)(down)
        return ground * np.exp(-0.5 * (z / sz) ** 2)


def cloud_setup(release: ReleaseSpec, weather: Weather, opts: ConsequenceOptions, *, x_max_m: float) -> CloudSetup:
    """The cloud of a ``toxic_gas`` / ``flammable_gas`` / ``gas_cloud`` release (module docstring;
    the selection rules are written out in docs/consequence.md); ``x_max_m`` is how far (m) the
    dense-gas profile is followed."""
    sub = get_substance(release.substance)
    notes: list[str] = []
    cls = weather.pasquill_class()
    horizon = max(opts.exposure_duration_s, 600.0)
    src = estimate_source(release, sub, max_duration_s=horizon, wind_speed_m_s=weather.wind_speed_at(2.0),
                          ground_temperature_k=weather.temperature_k, rainout=opts.rainout_model)
    notes += list(src.notes)
    release_time = src.airborne_duration_s
    user_levels = opts.extra.get("levels_mg_m3")
    if release.kind == "gas_cloud":
        levels = dict(user_levels or {})
        th = ThresholdSet(levels, {k: f"{v:g} mg/m3" for k, v in levels.items()}, "levels given by the user")
        t_avg = opts.averaging_time_s or 600.0
    elif release.kind == "toxic_gas":
        th = toxic_thresholds(sub, opts.exposure_duration_s, opts.toxic_basis)
        t_avg = opts.averaging_time_s or max(min(opts.exposure_duration_s, release_time), 600.0)
    else:
        th = flammable_thresholds(sub, opts.flammable_scheme)
        t_avg = opts.averaging_time_s or 600.0
    window = src.peak_window(min(t_avg, max(release_time, 1.0)))
    rate = window.rate_kg_s
    duration = src.total_airborne_kg / rate if rate > 0 else 0.0
    if duration >= horizon - 1.0:
        duration = math.inf  # still releasing at the end of the history: a continuous release
    regime = choose_regime(src, sub, weather, rate_kg_s=rate, jet_share=window.jet_share,
                           release_temperature_k=release.temperature_k, release_height_m=release.release_height_m)
    if opts.dispersion_model not in ("auto", "gaussian", "dense"):
        raise ValueError(f"unknown dispersion model {opts.dispersion_model!r}; choose auto, gaussian or dense")
    chosen = regime.model if opts.dispersion_model == "auto" else opts.dispersion_model
    if chosen != regime.model:
        regime = RegimeChoice(chosen, regime.check, f"{regime.reason}; {chosen} model forced by the caller", True)
    notes.append(f"model: {chosen} ({regime.reason})")
    u = weather.transport_speed_m_s(release_height_m=release.release_height_m)
    sigmas = weather.sigmas(averaging_time_s=t_avg, release_height_m=release.release_height_m, sigma_set=opts.sigma_set)
    puff_sigmas = PasquillSigmas(cls, "ccps_puff")
    finite = finite_release_factor(duration_s=duration, wind_speed_m_s=u, averaging_time_s=t_avg,
                                   along_wind_sigma=lambda x: puff_sigmas(x)[0])
    xy = (release.x_m, release.y_m)
    profile: CloudProfile | None = None
    dense_rel: DenseRelease | None = None
    if chosen == "dense" and rate > 0:
        dense_rel = _dense_release(release, sub, src, rate_kg_s=rate, duration_s=duration, jet_share=window.jet_share,
                                   pool_area_m2=window.pool_area_m2, wind_speed_m_s=u)
        profile = dense_cloud(dense_rel, weather, averaging_time_s=t_avg, passive_sigmas=sigmas,
                              along_wind_sigmas=puff_sigmas, receptor_height_m=opts.receptor_height_m,
                              x_max_m=x_max_m, engine=opts.dense_engine)
        notes += list(profile.notes)
        if (opts.dispersion_model == "auto" and profile.handover_x_m is not None
                and profile.handover_x_m < DENSE_NEAR_FIELD_M):
            notes.append(f"dense only within {profile.handover_x_m:.0f} m (< {DENSE_NEAR_FIELD_M:g} m): passive model "
                         "from the source")
            regime = RegimeChoice("gaussian", regime.check, regime.reason + f"; dense phase ends at "
                                  f"{profile.handover_x_m:.0f} m")
            profile = None
    cloud: CloudModel
    if profile is not None and dense_rel is not None:
        cloud = DenseCloud(profile, xy, weather.wind_from_deg)
        model = f"dense_gas:{profile.engine}:{dense_rel.kind}" + (
            f"+gaussian:{sigmas.name} beyond {profile.handover_x_m:.0f} m" if profile.handover_x_m else "")
    else:
        dense_rel = None
        cloud = GaussianCloud(xy, weather.wind_from_deg, rate, u, sigmas, release.release_height_m,
                              opts.receptor_height_m, weather.mixing_height_m, finite)
        model = f"gaussian_plume:{sigmas.name}"
    if math.isfinite(duration):
        notes.append(f"finite release: {rate:.3g} kg/s for {duration:.0f} s (equivalent), averaged over {t_avg:.0f} s")
    return CloudSetup(sub, src, th, t_avg, rate, duration, regime, u, sigmas, finite, cloud, model, profile, dense_rel,
                      tuple(notes), xy, weather.wind_from_deg, release.release_height_m, weather.mixing_height_m)


def _cloud_outcome(release: ReleaseSpec, weather: Weather, grid: GridSpec, opts: ConsequenceOptions) -> ConsequenceResult:
    xy = (release.x_m, release.y_m)
    cs = cloud_setup(release, weather, opts, x_max_m=1.05 * _grid_reach_m(grid, *xy))
    notes = list(cs.notes)
    plume: PlumeField | None = None
    if cs.profile is not None:
        fld = cs.profile.field(grid, source_xy_m=xy, wind_from_deg=weather.wind_from_deg)
    else:
        plume = plume_field(grid, source_xy_m=xy, wind_from_deg=weather.wind_from_deg, rate_kg_s=cs.rate_kg_s,
                            wind_speed_m_s=cs.wind_speed_m_s, sigmas=cs.sigmas, release_height_m=release.release_height_m,
                            receptor_height_m=opts.receptor_height_m, mixing_height_m=weather.mixing_height_m,
                            dense_gas=cs.regime.check, downwind_factor=cs.finite)
        notes += [n for n in plume.notes if not n.startswith("dense gas")]
        fld = plume.concentration_mg_m3
    th = cs.thresholds
    zones = zones_from_field(grid, fld, th.levels, units=th.units, labels=th.labels)
    zones = _centreline_zones(zones, cs.cloud, grid, xy, weather.wind_from_deg)
    return ConsequenceResult(release, weather, grid, release.kind, zones, fld, th.units, th, cs.source,
                             weather.pasquill_class(), cs.model, cs.averaging_time_s, cs.regime.check, plume, notes,
                             cs.cloud, cs.regime, cs.dense_release)


# ----------------------------------------------------------------------------------------------
# fires
# ----------------------------------------------------------------------------------------------
def thermal_thresholds(flux_levels_kw_m2: dict[str, float] | None = None) -> ThresholdSet:
    """Thermal-flux levels in W/m² (ALOHA 10/5/2 kW/m², 60 s, unless given in kW/m²)."""
    levels = flux_levels_kw_m2 or THERMAL_LEVELS_KW_M2
    return ThresholdSet({k: v * 1e3 for k, v in levels.items()}, {k: f"{v:g} kW/m2" for k, v in levels.items()},
                        "thermal flux levels (ALOHA 10/5/2 kW/m², 60 s, unless given)", units="W/m2")


def _pool_fire_outcome(release: ReleaseSpec, weather: Weather, grid: GridSpec, opts: ConsequenceOptions) -> ConsequenceResult:
    sub = get_substance(release.substance)
    th = thermal_thresholds(opts.flux_levels_kw_m2)
    notes: list[str] = []
    if release.pool_diameter_m is not None:
        d = release.pool_diameter_m
    elif release.bund_area_m2 is not None:
        d = float(np.sqrt(4 * release.bund_area_m2 / np.pi))
        notes.append(f"pool fills the bund: equivalent diameter {d:.1f} m")
    else:
        vol = release.inventory_kg / sub.liquid_density_kg_m3
        d = float(np.sqrt(4 * vol / (np.pi * release.min_pool_thickness_m)))
        notes.append(f"unbunded pool spread to {release.min_pool_thickness_m * 1000:.0f} mm: diameter {d:.1f} m")
    fire = pool_fire(sub, d, centre_xy_m=(release.x_m, release.y_m), wind_speed_m_s=weather.wind_speed_at(10.0),
                     wind_from_deg=weather.wind_from_deg, relative_humidity=weather.relative_humidity,
                     ambient_k=weather.temperature_k)
    fld = fire.field_w_m2(grid)
    model = f"pool_fire:solid_flame(sep={fire.sep_method}, L={fire.flame_length_m:.1f} m, tilt={fire.tilt_deg:.0f} deg)"
    zones = zones_from_field(grid, fld, th.levels, units=th.units, labels=th.labels)
    return ConsequenceResult(release, weather, grid, release.kind, zones, fld, th.units, th, None, None, model, None,
                             None, None, notes)


def _jet_fire_outcome(release: ReleaseSpec, weather: Weather, grid: GridSpec, opts: ConsequenceOptions) -> ConsequenceResult:
    sub = get_substance(release.substance)
    th = thermal_thresholds(opts.flux_levels_kw_m2)
    src = estimate_source(release, sub, max_duration_s=600.0, wind_speed_m_s=weather.wind_speed_at(2.0),
                          ground_temperature_k=weather.temperature_k, rainout=opts.rainout_model)
    jf = jet_fire(sub, src.rate_kg_s, release_xyz_m=(release.x_m, release.y_m, release.release_height_m),
                  direction_deg=release.jet_direction_deg)
    fld = jf.field_w_m2(grid)
    model = f"jet_fire:api521_point_source(L={jf.flame_length_m:.1f} m, F={jf.radiant_fraction})"
    zones = zones_from_field(grid, fld, th.levels, units=th.units, labels=th.labels)
    return ConsequenceResult(release, weather, grid, release.kind, zones, fld, th.units, th, src, None, model, None,
                             None, None, list(src.notes) + list(jf.notes))


# ----------------------------------------------------------------------------------------------
# explosions and fireballs
# ----------------------------------------------------------------------------------------------
def _fireball_outcome(release: ReleaseSpec, weather: Weather, grid: GridSpec, opts: ConsequenceOptions
                      ) -> ConsequenceResult:
    """BLEVE fireball of the whole inventory (:func:`.fireball.bleve_fireball`; ``correlation`` =
    ccps | tno and ``sep_w_m2`` in ``extra``), zones at the thermal-flux levels."""
    sub = get_substance(release.substance)
    th = thermal_thresholds(opts.flux_levels_kw_m2)
    fb = bleve_fireball(sub, release.inventory_kg, temperature_k=release.temperature_k,
                        sep_w_m2=opts.extra.get("sep_w_m2"), correlation=opts.extra.get("correlation", "ccps"),
                        centre_xy_m=(release.x_m, release.y_m), relative_humidity=weather.relative_humidity,
                        ambient_k=weather.temperature_k)
    fld = fb.field_w_m2(grid)
    model = (f"fireball:{fb.correlation}(D={fb.diameter_m:.0f} m, t={fb.duration_s:.1f} s, "
             f"SEP={fb.sep_w_m2 / 1e3:.0f} kW/m2)")
    zones = zones_from_field(grid, fld, th.levels, units=th.units, labels=th.labels)
    return ConsequenceResult(release, weather, grid, release.kind, zones, fld, th.units, th, None, None, model, None,
                             None, None, list(fb.notes))


def _flammable_cloud(release: ReleaseSpec, weather: Weather, grid: GridSpec, opts: ConsequenceOptions
                     ) -> tuple[CloudSetup, np.ndarray]:
    """The unignited flammable cloud of a release (10-min means) and its field on the grid (mg/m³)."""
    xy = (release.x_m, release.y_m)
    cs = cloud_setup(dataclasses.replace(release, kind="flammable_gas"), weather, opts,
                     x_max_m=1.05 * _grid_reach_m(grid, *xy))
    if cs.substance.lfl_mg_m3 is None:
        raise ValueError(f"{cs.substance.name} has no LFL: no flash fire or vapour cloud explosion")
    if cs.profile is not None:
        return cs, cs.profile.field(grid, source_xy_m=xy, wind_from_deg=weather.wind_from_deg)
    x, y = grid.mesh()
    return cs, np.asarray(cs.cloud.concentration_at(x, y))


def _flash_fire_outcome(release: ReleaseSpec, weather: Weather, grid: GridSpec, opts: ConsequenceOptions
                        ) -> ConsequenceResult:
    """Flash fire of the unignited cloud (dense or passive): RED = LFL (lethal outdoors), ORANGE = ½ LFL
    (:func:`.flash_fire.flash_fire`)."""
    cs, fld = _flammable_cloud(release, weather, grid, opts)
    ff = flash_fire(grid, fld, cs.substance)
    zones = _centreline_zones(ff.zones, cs.cloud, grid, (release.x_m, release.y_m), weather.wind_from_deg)
    return ConsequenceResult(release, weather, grid, release.kind, zones, fld, ff.thresholds.units, ff.thresholds,
                             cs.source, weather.pasquill_class(), f"flash_fire:{cs.model}", cs.averaging_time_s,
                             cs.regime.check, None, list(cs.notes), cs.cloud, cs.regime, cs.dense_release)


def _vce_outcome(release: ReleaseSpec, weather: Weather, grid: GridSpec, opts: ConsequenceOptions) -> ConsequenceResult:
    """Vapour cloud explosion of the unignited cloud in the congested regions given as
    ``congestion=[Congestion, …]`` (:mod:`.congestion`, from the plant geometry): the flammable mass
    between LFL and UFL inside each region (:func:`.flammable_cloud.flammable_mass`), the region with
    the most energy explodes (``explosion_model`` = multi_energy | bst, :func:`.vce.vapour_cloud_explosion`);
    zones at the overpressure levels (Pa; ALOHA 8 / 3.5 / 1 psi)."""
    regions = opts.extra.get("congestion") or []
    if not regions:
        raise ValueError("a vapour cloud explosion needs the congested regions (congestion=[Congestion, ...]); "
                         "zones_at_equipment takes them from the plant's process units and loading bays")
    method = opts.extra.get("explosion_model", "multi_energy")
    if method not in ("multi_energy", "bst"):
        raise ValueError(f"unknown explosion model {method!r}; choose multi_energy or bst")
    cs, _ = _flammable_cloud(release, weather, grid, opts)
    sub = cs.substance
    ufl = float(sub.ppm_to_mg_m3(sub.ufl_vol_frac * 1e6)) if sub.ufl_vol_frac else None
    best: tuple[float, Any] | None = None
    notes = list(cs.notes)
    for cong in regions:
        x0, y0, x1, y1 = cong.region.bounds
        step = max(min(x1 - x0, y1 - y0) / 50.0, 1.0)
        lattice = GridSpec(x0, y0, step, step, int((x1 - x0) / step) + 1, int((y1 - y0) / step) + 1)
        fm = flammable_mass(cs.concentration_3d, lattice, np.arange(0.5, max(cong.region_height_m, 1.0), 1.0),
                            lfl_mg_m3=float(sub.lfl_mg_m3), ufl_mg_m3=ufl, within=cong.region,  # type: ignore[arg-type]
                            z_max_m=cong.region_height_m)
        if fm.mass_kg > 0 and (best is None or fm.mass_kg > best[0]):
            best = (fm.mass_kg, cong)
    th = ThresholdSet(dict(OVERPRESSURE_LEVELS_PA), dict(OVERPRESSURE_LABELS), "overpressure levels (ALOHA)",
                      units="Pa")
    if best is None:
        fld = np.zeros(grid.shape)
        notes.append("the flammable cloud reaches no congested region: no vapour cloud explosion")
        model = f"vce:{method}:none"
    else:
        wave, strength = vapour_cloud_explosion(substance=sub, flammable_mass_kg=best[0], congestion=best[1],
                                                method=method)
        fld = wave.field_pa(grid)
        notes += [f"flammable mass in the congested region: {best[0]:.4g} kg", *wave.notes]
        model = f"vce:{method}({strength.basis})"
    zones = zones_from_field(grid, fld, th.levels, units=th.units, labels=th.labels)
    return ConsequenceResult(release, weather, grid, release.kind, zones, fld, th.units, th, cs.source,
                             weather.pasquill_class(), model, cs.averaging_time_s, cs.regime.check, None, notes,
                             cs.cloud, cs.regime, cs.dense_release)


register_outcome("toxic_gas", _cloud_outcome)
register_outcome("flammable_gas", _cloud_outcome)
register_outcome("gas_cloud", _cloud_outcome)
register_outcome("pool_fire", _pool_fire_outcome)
register_outcome("jet_fire", _jet_fire_outcome)
register_outcome("fireball", _fireball_outcome)
register_outcome("flash_fire", _flash_fire_outcome)
register_outcome("vce", _vce_outcome)

__all__ = ["ReleaseSpec", "Weather", "SourceTerm", "ConsequenceOptions", "ConsequenceResult", "CloudModel",
           "GaussianCloud", "DenseCloud", "RegimeChoice", "OUTCOMES", "OutcomeModel", "register_outcome",
           "compute_consequence_zones", "estimate_source", "choose_regime", "CloudSetup", "cloud_setup",
           "thermal_thresholds", "ReleaseKind"]
