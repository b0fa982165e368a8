"""Lethality fields of QRA outcomes in the canonical frame (wind FROM north, source at the origin).

Points are given in the plant orientation relative to the source: ``x`` east, ``y`` north (m);
with the wind from 0° the cloud travels south, so the downwind distance is ``−y`` and the crosswind
offset ``x``. Each function returns three probability-of-death arrays (same shape as the points):

* ``ir``  — location-specific individual risk: an unprotected person outdoors (Purple Book CPR 18E);
* ``out`` — societal risk, people outdoors (clothing factor 0.14 on thermal radiation below 35 kW/m²);
* ``ind`` — societal risk, people indoors (toxic × 0.1; thermal 1 above 35 kW/m², else 0; flash fire 0).

Models (TNO Purple Book CPR 18E ch. 5; all [PUB-mem] constants live in ``data/ignition.yaml``,
marks explained in docs/sources.md):
toxic — TNO probit on the steady Gaussian plume concentration for min(release, 30 min), or on the
passing puff (∫Cⁿdt = C_maxⁿ·σx·√(2π/n)/u, Slade/CCPS puff sigmas); flash fire — P = 1 inside the
cloud's flammable envelope (:func:`flammable_envelope`, the outcome's ``params["cloud"]``: plume with
10-min sigmas or puff peak at the LFL); pool fire — solid flame (physics ``pool_fire``),
Purple Book thermal probit with 20 s exposure, P = 1 above 35 kW/m² and inside the pool; jet fire —
API 521 point source directed downwind; fireball — CCPS (1994) D = 5.8 M^{1/3} m, duration
0.45 M^{1/3} s (M < 30 t) or 2.6 M^{1/6} s, centre at 0.75 D, SEP 350 kW/m², sphere view factor
(D/2)²/L² [PUB-mem].
"""
from __future__ import annotations

from typing import Any

import numpy as np

from shapely.geometry import Point

from safetwin.emergency_planner.physics.blast import BlastWave
from safetwin.emergency_planner.physics.consequence import (CloudSetup, ConsequenceOptions, ReleaseSpec, Weather,
                                                            cloud_setup)
from safetwin.emergency_planner.physics.effects import (probit_to_probability, thermal_probit_purple_book_w_m2_s,
                                                        toxic_probit_constant_exposure)
from safetwin.emergency_planner.physics.fire import jet_fire, pool_fire
from safetwin.emergency_planner.physics.fireball import bleve_fireball
from safetwin.emergency_planner.physics.flammable_cloud import flammable_mass
from safetwin.emergency_planner.physics.grid import GridSpec
from safetwin.emergency_planner.physics.overpressure import building_damage_probit, people_lethality_outdoors
from safetwin.emergency_planner.physics.sigmas import PasquillSigmas
from safetwin.emergency_planner.physics.stability import wind_speed_at_height
from safetwin.emergency_planner.physics.flame_blast import ENERGY_DENSITY_J_M3
from safetwin.emergency_planner.physics.vce import GroundCloudCurve, curve_family
from safetwin.substances import get_substance

from .config import WeatherClass

Fields = tuple[np.ndarray, np.ndarray, np.ndarray]


def _thermal(q_w_m2: np.ndarray, lc: dict[str, Any], duration_s: float | None = None) -> Fields:
    t = float(lc["thermal_exposure_s"]) if duration_s is None else min(duration_s, float(lc["thermal_exposure_s"]))
    with np.errstate(divide="ignore"):
        p = probit_to_probability(thermal_probit_purple_book_w_m2_s(np.maximum(q_w_m2, 0.0), t))
    certain = q_w_m2 >= float(lc["thermal_certain_death_w_m2"])
    ir = np.where(certain, 1.0, p)
    out = np.where(certain, 1.0, float(lc["thermal_outdoor_clothing_factor"]) * p)
    ind = certain.astype(float)
    return ir, out, ind


def _toxic_p(c_mg_m3: np.ndarray, duration_s: float | np.ndarray, sub: Any, lc: dict[str, Any]) -> Fields:
    probit = sub.probits[lc["toxic_probit_set"]]
    with np.errstate(divide="ignore", invalid="ignore"):
        pr = toxic_probit_constant_exposure(np.maximum(c_mg_m3, 0.0), duration_s, probit, sub.molar_mass_g_mol)
    p = np.nan_to_num(probit_to_probability(pr), nan=0.0)
    return p, p, float(lc["toxic_indoor_factor"]) * p


def _wind(wc: WeatherClass, height_m: float) -> float:
    return float(wind_speed_at_height(wc.wind_speed_m_s, max(height_m, 1.0), wc.stability, min_speed_m_s=1.0))


def _puff_peak_mg_m3(xi: np.ndarray, eta: np.ndarray, mass_kg: float, wc: WeatherClass) -> tuple[np.ndarray, np.ndarray]:
    sig = PasquillSigmas(wc.stability, "ccps_puff")
    sy, sz = sig(np.maximum(xi, 1.0))
    c = 2.0 * mass_kg / ((2 * np.pi) ** 1.5 * sy * sy * sz) * np.exp(-0.5 * (eta / sy) ** 2) * 1e6
    return np.where(xi > 0, c, 0.0), sy


def lethality(kind: str, params: dict[str, Any], wc: WeatherClass, x_m: np.ndarray, y_m: np.ndarray,
              lc: dict[str, Any]) -> Fields:
    """(ir, out, ind) probability of death at points (x_m, y_m) relative to the source (m), wind from
    north with the class's stability and 10-m speed; see the module docstring for each ``kind``."""
    x = np.asarray(x_m, float)
    y = np.asarray(y_m, float)
    xi, eta = -y, x
    sub = get_substance(params["substance"])
    if kind == "toxic_plume":
        t_exp = min(float(params["duration_s"]), float(lc["toxic_max_exposure_s"]))
        c = entry_point_cloud(params["cloud"], wc, lc).cloud.concentration_at(x, y)
        return _toxic_p(c, t_exp, sub, lc)
    if kind == "toxic_puff":
        u = _wind(wc, 1.0)
        c, sy = _puff_peak_mg_m3(xi, eta, float(params["mass_kg"]), wc)
        n = sub.probits[lc["toxic_probit_set"]].n
        t_eff = sy * np.sqrt(2 * np.pi / n) / u  # ∫Cⁿdt = C_maxⁿ·t_eff, σx = σy
        return _toxic_p(c, np.minimum(t_eff, float(lc["toxic_max_exposure_s"])), sub, lc)
    if kind in ("flash_plume", "flash_puff"):
        inside = flammable_envelope(params["cloud"], wc, x, y, lc).astype(float) \
            * float(lc["flash_fire_lethality_inside_lfl"])
        return inside, inside, np.zeros_like(inside)
    if kind == "pool_fire":
        d = float(params["diameter_m"])
        fire = pool_fire(sub, d, wind_speed_m_s=wc.wind_speed_m_s, wind_from_deg=0.0)
        q = fire.flux_w_m2(x, y, 0.0, n_azimuth=24, n_height=8)
        ir, out, ind = _thermal(q, lc)
        engulfed = np.hypot(x, y) <= d / 2
        return np.where(engulfed, 1.0, ir), np.where(engulfed, 1.0, out), np.where(engulfed, 1.0, ind)
    if kind == "jet_fire":
        jf = jet_fire(sub, float(params["rate_kg_s"]), release_xyz_m=(0.0, 0.0, float(params.get("height_m", 1.0))),
                      direction_deg=180.0)
        return _thermal(jf.flux_w_m2(x, y, 0.0), lc)
    if kind == "fireball":
        fb = bleve_fireball(sub, float(params["mass_kg"]), sep_w_m2=float(lc["fireball"]["sep_kw_m2"]) * 1e3,
                            correlation="ccps", temperature_k=float(params.get("temperature_k", 293.15)))
        ir, out, ind = _thermal(fb.flux_w_m2(x, y, 0.0), lc, duration_s=fb.duration_s)
        under = np.hypot(x, y) <= fb.radius_m
        return np.where(under, 1.0, ir), np.where(under, 1.0, out), ind
    if kind == "vce":
        wave = vce_blast(params["cloud"], params["vce"], wc, lc)
        if wave is None:
            z = np.zeros_like(x)
            return z, z, z
        p_s, imp = wave.overpressure_pa(x, y, 1.0), wave.impulse_pa_s(x, y, 1.0)
        out = np.asarray(people_lethality_outdoors(p_s, imp))
        ind = np.asarray(probit_to_probability(building_damage_probit(p_s, imp, "collapse")))
        return out, out, ind
    raise ValueError(f"unknown outcome kind {kind!r}")


def flammable_envelope(cloud: dict[str, Any], wc: WeatherClass, x_m: np.ndarray, y_m: np.ndarray,
                       lc: dict[str, Any]) -> np.ndarray:
    """Where an unignited flammable cloud reaches its lower flammability limit (bool, same frame as
    :func:`lethality`): ``cloud`` = {``model``: ``plume`` (``rate_kg_s``, ``height_m``; 10-min
    sigmas) or ``puff`` (``mass_kg``; peak of the passing puff), ``substance``}. The flash fire's
    lethal zone, and where a delayed-ignition source in the cloud ignites it (:mod:`.ignition`)."""
    sub = get_substance(cloud["substance"])
    xi, eta = -np.asarray(y_m, float), np.asarray(x_m, float)
    if cloud["model"] == "plume":
        c = entry_point_cloud(cloud, wc, lc).cloud.concentration_at(np.asarray(x_m, float), np.asarray(y_m, float))
    else:
        c, _ = _puff_peak_mg_m3(xi, eta, float(cloud["mass_kg"]), wc)
    return np.asarray(c >= sub.lfl_mg_m3)


_CLOUDS: dict[tuple[Any, ...], CloudSetup] = {}
_BLASTS: dict[tuple[Any, ...], BlastWave | None] = {}
CLOUD_REACH_M = 10_000.0
"""How far (m) the QRA follows a dense-gas cloud (ALOHA's limit); the Gaussian beyond needs no limit."""


def _cloud_key(cloud: dict[str, Any], wc: WeatherClass, lc: dict[str, Any]) -> tuple[Any, ...]:
    return (tuple(sorted((k, repr(v)) for k, v in cloud.items())), wc.stability, float(wc.wind_speed_m_s),
            str(lc.get("dispersion_model", "auto")), float(lc["toxic_max_exposure_s"]), str(lc["sigma_set"]))


def entry_point_cloud(cloud: dict[str, Any], wc: WeatherClass, lc: dict[str, Any]) -> CloudSetup:
    """The continuous cloud of a QRA outcome as the consequence entry point models it
    (:func:`~safetwin.emergency_planner.physics.consequence.cloud_setup`: source term with its
    rain-out, dense gas or Gaussian by the source Richardson number, the one weather path) in the
    canonical frame (source at the origin, wind from north); cached per cloud and weather class in
    the process. ``lc["dispersion_model"]`` (auto | gaussian | dense) forces a model."""
    model = str(lc.get("dispersion_model", "auto"))
    key = _cloud_key(cloud, wc, lc)
    if key not in _CLOUDS:
        sub = get_substance(cloud["substance"])
        kind = "toxic_gas" if sub.probits else "flammable_gas"
        rate = float(cloud["rate_kg_s"])
        gas = bool(cloud.get("gas", True))
        rel = ReleaseSpec(x_m=0.0, y_m=0.0, substance=sub.name, kind=kind,
                          inventory_kg=float(cloud.get("inventory_kg", rate * float(cloud.get("duration_s", 1800.0)))),
                          hole_diameter_m=float(cloud.get("hole_m") or 0.025),
                          pressure_pa=float(cloud.get("pressure_pa", 5e5)),
                          temperature_k=float(cloud.get("temperature_k", 293.15)),
                          release_height_m=float(cloud.get("height_m", 1.0)),
                          rate_kg_s=rate if gas else None, discharge_rate_kg_s=None if gas else rate,
                          duration_s=float(cloud["duration_s"]) if cloud.get("duration_s") else None)
        opts = ConsequenceOptions(exposure_duration_s=float(lc["toxic_max_exposure_s"]), sigma_set=lc["sigma_set"],
                                  dispersion_model=model)  # type: ignore[arg-type]
        if len(_CLOUDS) > 4096:
            _CLOUDS.clear()
        _CLOUDS[key] = cloud_setup(rel, Weather(wc.wind_speed_m_s, 0.0, wc.stability), opts, x_max_m=CLOUD_REACH_M)
    return _CLOUDS[key]


def vce_blast(cloud: dict[str, Any], vce: dict[str, Any], wc: WeatherClass, lc: dict[str, Any]) -> BlastWave | None:
    """The blast of a delayed ignition of ``cloud`` in the congested unit around the source (canonical
    frame): the flammable mass (between LFL and UFL) inside a disc of the unit's area around the
    source up to the unit's height — the same whatever the wind direction — burnt with the unit's
    strength (``vce``: multi-energy curve or BST flame Mach number from its congestion); None when
    no fuel is flammable there. Cached per cloud, unit and weather class in the process."""
    key = (_cloud_key(cloud, wc, lc), tuple(sorted((k, repr(v)) for k, v in vce.items())))
    if key not in _BLASTS:
        if len(_BLASTS) > 4096:
            _BLASTS.clear()
        _BLASTS[key] = _vce_blast(cloud, vce, wc, lc)
    return _BLASTS[key]


def _vce_blast(cloud: dict[str, Any], vce: dict[str, Any], wc: WeatherClass, lc: dict[str, Any]) -> BlastWave | None:
    cs = entry_point_cloud(cloud, wc, lc)
    sub = cs.substance
    r = float(vce["radius_m"])
    step = max(r / 40.0, 1.0)
    n = int(np.ceil(2 * r / step)) + 1
    lattice = GridSpec(-r, -r, step, step, n, n)
    z = np.arange(0.5, max(float(vce["height_m"]), 1.0), 1.0)
    ufl = float(sub.ppm_to_mg_m3(sub.ufl_vol_frac * 1e6)) if sub.ufl_vol_frac else None
    fm = flammable_mass(cs.concentration_3d, lattice, z, lfl_mg_m3=float(sub.lfl_mg_m3), ufl_mg_m3=ufl,
                        within=Point(0.0, 0.0).buffer(r), z_max_m=float(vce["height_m"]))
    if fm.mass_kg <= 0 or sub.heat_of_combustion_j_kg is None:
        return None
    # E = min(M·ΔHc, E_v·V_free), physics.vce.explosion_energy_j with the unit's free volume
    energy = float(min(fm.mass_kg * sub.heat_of_combustion_j_kg, ENERGY_DENSITY_J_M3 * float(vce["free_volume_m3"])))
    fam = curve_family()
    curve = (fam.multi_energy_curve(max(float(vce["curve_number"]), 1.0)) if vce["method"] == "multi_energy"
             else fam.by_flame_mach(float(vce["flame_mach"])))
    return BlastWave((0.0, 0.0, 0.0), energy, GroundCloudCurve(curve, curve.name), kind=f"vce:{vce['method']}")


def weather_key(kind: str, wc: WeatherClass) -> tuple[Any, ...]:
    """The part of a weather class that :func:`lethality` (and :func:`reach_m`) of ``kind`` reads:
    fires and fireballs ignore stability (the pool fire's tilt and drag use only the wind speed; the
    jet fire and the fireball use no weather at all), so classes with the same key give the same
    field and a task computes it once. Clouds depend on the whole class."""
    if kind in ("jet_fire", "fireball"):
        return ()
    if kind == "pool_fire":
        return (float(wc.wind_speed_m_s),)
    return (wc.name, wc.stability, float(wc.wind_speed_m_s))


def reach_m(kind: str, params: dict[str, Any], wc: WeatherClass, lc: dict[str, Any], r_max_m: float,
            dr_m: float) -> float:
    """Largest distance (m, ≤ ``r_max_m``) from the source at which the IR lethality along the downwind
    ray or the crosswind ray exceeds ``lc["cutoff_probability"]`` (0 if nowhere), plus two steps."""
    r = np.arange(0.0, r_max_m + dr_m, dr_m)
    cut = float(lc["cutoff_probability"])
    hit = np.zeros(r.size, bool)
    for x, y in ((np.zeros_like(r), -r), (r, np.zeros_like(r))):  # downwind ray, crosswind ray
        hit |= lethality(kind, params, wc, x, y, lc)[0] > cut
    if not hit.any():
        return 0.0
    return float(min(r[np.nonzero(hit)[0][-1]] + 2 * dr_m, r_max_m))
