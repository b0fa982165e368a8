"""Fire escalation (domino effect) between equipment, and fire spread over areas on a grid.

Equipment escalation
--------------------
* Radiation each intact unit receives from every burning unit: atmospheric tanks burn as
  full-surface tank fires (pool fire of the tank diameter at roof height, solid-flame model with
  wind tilt, :mod:`.fire`); an initiating pool fire (e.g. a bund fire) can be given explicitly;
  pressurised vessels that fail are represented by a vertical API 521 jet fire emptying the
  vessel in 600 s (the Purple Book "full inventory in 10 min" release). The flux on a target is
  the largest over five points on the side facing each fire (shell at ¼, ½, ¾ and full height,
  and the roof centre), with the contributions of all burning units summed per point.
* Escalation thresholds (Cozzani et al. 2005, *J. Haz. Mat.* 127:14–30): 15 kW/m² for
  atmospheric and 45 kW/m² for pressurised equipment; below them the unit does not fail.
* Time to failure — the Landucci et al. (2009) / Cozzani et al. (2005) correlations (ttf in s,
  I in kW/m², V in m³): atmospheric ``ln ttf = −1.128·ln I − 2.667e-5·V + 9.877``; pressurised
  ``ln ttf = −0.947·ln I + 8.835·V^0.032``. This form is used because it is the one
  confirmed independently (Landucci et al. 2009; the `ramon-quiza/qra-domino-fuel-storage` code) and
  its units are explicit.
* Because the flux on a target changes when more units ignite, failure is reached when the
  accumulated damage ``∫ dt / ttf(I(t))`` (counted while I is above the threshold) reaches 1
  — a linear damage rule that reduces to ttf for constant flux.
* Escalation probability — Landucci et al. (2009) probit ``Y = 9.25 − 1.85·ln(ttf/60)`` with ttf
  in s (i.e. minutes inside the log), which weighs the chance that the emergency response
  (cooling, foam) stops the escalation in time. ``mode="deterministic"`` escalates every unit
  whose damage reaches 1 (no mitigation: worst case) and reports that probability;
  ``mode="monte_carlo"`` draws escalation once per unit with that probability.

Area spread
-----------
:func:`simulate_area_fire_spread` is a documented cellular model for buildings and areas with
no equipment model: each cell has a fuel load (kg/m²); burning cells radiate as point sources
(χr·m''·ΔHc·A_cell, summed by FFT convolution over the grid), neighbours in flame contact receive
a contact flux, and an unburnt cell ignites when its accumulated damage ``∫ dt/t_ig(q)`` reaches 1
with the thermally-thick piloted-ignition time ``t_ig = (π/4)·kρc·((T_ig − T_a)/q)²``
(Drysdale, *An Introduction to Fire Dynamics*), counted while q exceeds the critical flux
(12.5 kW/m², piloted ignition of wood). Cells burn for fuel_load/m'' seconds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.signal import fftconvolve

from .effects import probit_to_probability
from .fire import JetFire, PoolFire, jet_fire, pool_fire
from .grid import GridSpec
from .overpressure import overpressure_damage_probit  # noqa: F401  (re-exported: domino by overpressure)
from safetwin.substances import get_substance

THRESHOLD_KW_M2 = {"atmospheric": 15.0, "pressurised": 45.0}


def time_to_failure_s(flux_kw_m2: np.ndarray | float, volume_m3: np.ndarray | float,
                      kind: Literal["atmospheric", "pressurised"]) -> np.ndarray:
    """Time to failure (s) under a constant flux (kW/m²) for a vessel of volume V (m³); ``inf``
    below the escalation threshold (15 / 45 kW/m²).

    >>> round(float(time_to_failure_s(15.0, 1000.0, "atmospheric")))   # Landucci et al. 2009 [CALC]
    894
    """
    i = np.asarray(flux_kw_m2, dtype=float)
    v = np.asarray(volume_m3, dtype=float)
    with np.errstate(divide="ignore"):
        if kind == "atmospheric":
            ln_ttf = -1.128 * np.log(i) - 2.667e-5 * v + 9.877
        elif kind == "pressurised":
            ln_ttf = -0.947 * np.log(i) + 8.835 * v**0.032
        else:
            raise ValueError(f"unknown equipment kind {kind!r}")
    return np.where(i >= THRESHOLD_KW_M2[kind], np.exp(ln_ttf), np.inf)


def escalation_probability(ttf_s: np.ndarray | float) -> np.ndarray:
    """Landucci et al. (2009): ``Y = 9.25 − 1.85·ln(ttf/60)`` (ttf in s), ``P = Φ(Y − 5)``; 0 for infinite ttf."""
    t = np.asarray(ttf_s, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = 9.25 - 1.85 * np.log(t / 60.0)
    return np.where(np.isfinite(t), probit_to_probability(y), 0.0)


@dataclass(frozen=True)
class Equipment:
    """A piece of equipment as plain data (plant frame, m)."""

    id: str
    x_m: float
    y_m: float
    kind: Literal["atmospheric", "pressurised"]
    diameter_m: float
    height_m: float
    volume_m3: float
    substance: str
    fill_fraction: float = 0.8


@dataclass(frozen=True)
class InitialFire:
    """An initiating fire: a pool fire of ``diameter_m`` centred at (x, y) at ``base_height_m`` (e.g. a bund
    fire around a tank, or a tank-top fire), optionally consuming equipment ``equipment_id``."""

    x_m: float
    y_m: float
    diameter_m: float
    substance: str
    base_height_m: float = 0.0
    equipment_id: str | None = None
    duration_s: float = np.inf


@dataclass(frozen=True)
class DominoEvent:
    """One ignition on the timeline."""

    equipment_id: str
    time_s: float
    cause: Literal["initial", "escalation"]
    flux_kw_m2: float
    ttf_s: float
    probability: float


@dataclass
class DominoResult:
    """Timeline and fluxes. ``flux_kw_m2[k, i]`` is the flux on ``equipment[i]`` at ``times_s[k]``;
    ``fields_w_m2`` maps requested times (s) to radiation fields on ``grid``."""

    equipment: list[Equipment]
    events: list[DominoEvent]
    times_s: np.ndarray
    flux_kw_m2: np.ndarray
    damage: np.ndarray
    grid: GridSpec | None = None
    fields_w_m2: dict[float, np.ndarray] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def ignition_time_s(self, equipment_id: str) -> float | None:
        for e in self.events:
            if e.equipment_id == equipment_id:
                return e.time_s
        return None


Fire = PoolFire | JetFire


def _fire_for(eq: Equipment, wind_speed_m_s: float, wind_from_deg: float) -> tuple[Fire, float]:
    """The fire that a failed unit becomes, and its duration (s)."""
    sub = get_substance(eq.substance)
    mass = eq.volume_m3 * eq.fill_fraction * sub.liquid_density_kg_m3
    if eq.kind == "atmospheric":
        f = pool_fire(sub, eq.diameter_m, centre_xy_m=(eq.x_m, eq.y_m), base_height_m=eq.height_m,
                      wind_speed_m_s=wind_speed_m_s, wind_from_deg=wind_from_deg)
        rate = f.burning_rate_kg_m2_s * np.pi * eq.diameter_m**2 / 4
        return f, mass / rate
    rate = mass / 600.0
    return jet_fire(sub, rate, release_xyz_m=(eq.x_m, eq.y_m, eq.height_m)), 600.0


def _target_points(eq: Equipment, fires: list[Fire]) -> np.ndarray:
    """(n_fires·5, 3) points on the side of ``eq`` facing each fire."""
    pts = []
    for f in fires:
        if isinstance(f, PoolFire):
            fx, fy = f.centre_xy_m
        else:
            fx, fy, _ = f.centre_xyz_m
        d = np.hypot(fx - eq.x_m, fy - eq.y_m)
        ux, uy = ((fx - eq.x_m) / d, (fy - eq.y_m) / d) if d > 0 else (1.0, 0.0)
        r = eq.diameter_m / 2
        for zf in (0.25, 0.5, 0.75, 1.0):
            pts.append((eq.x_m + r * ux, eq.y_m + r * uy, zf * eq.height_m))
        pts.append((eq.x_m, eq.y_m, eq.height_m))
    return np.array(pts, dtype=float)


def _flux_on(eq: Equipment, fires: list[Fire]) -> float:
    """Largest summed flux (kW/m²) over the exposed points of ``eq``."""
    if not fires:
        return 0.0
    pts = _target_points(eq, fires)
    total = np.zeros(len(pts))
    for f in fires:
        total += f.flux_w_m2(pts[:, 0], pts[:, 1], pts[:, 2])
    return float(total.max() / 1e3)


def simulate_domino(
    equipment: list[Equipment],
    initial_fires: list[InitialFire],
    *,
    wind_speed_m_s: float = 0.0,
    wind_from_deg: float = 0.0,
    t_end_s: float = 3600.0,
    dt_s: float = 10.0,
    mode: Literal["deterministic", "monte_carlo"] = "deterministic",
    rng: np.random.Generator | None = None,
    grid: GridSpec | None = None,
    field_times_s: tuple[float, ...] = (),
) -> DominoResult:
    """Simulate escalation over time from initiating fires.

    Returns the ignition timeline (equipment id, time s, flux, ttf, Landucci probability), the flux
    history on every unit, the damage fractions, and radiation fields at ``field_times_s`` on ``grid``.
    Fires are recomputed only when the set of burning units changes.

    See the module docstring for the models and their sources.
    """
    if dt_s <= 0:
        raise ValueError("dt_s must be positive")
    rng = rng or np.random.default_rng()
    ids = [e.id for e in equipment]
    if len(set(ids)) != len(ids):
        raise ValueError("equipment ids must be unique")
    n = len(equipment)
    burning: dict[str, tuple[Fire, float, float]] = {}  # key -> (fire, start, end)
    events: list[DominoEvent] = []
    failed = np.zeros(n, dtype=bool)
    rejected = np.zeros(n, dtype=bool)  # escalation prevented (monte carlo draw)
    for k, f0 in enumerate(initial_fires):
        pf = pool_fire(get_substance(f0.substance), f0.diameter_m, centre_xy_m=(f0.x_m, f0.y_m),
                       base_height_m=f0.base_height_m, wind_speed_m_s=wind_speed_m_s, wind_from_deg=wind_from_deg)
        key = f0.equipment_id or f"initial-{k}"
        burning[key] = (pf, 0.0, f0.duration_s)
        if f0.equipment_id is not None:
            if f0.equipment_id not in ids:
                raise ValueError(f"initial fire refers to unknown equipment {f0.equipment_id!r}")
            failed[ids.index(f0.equipment_id)] = True
        events.append(DominoEvent(key, 0.0, "initial", float("nan"), 0.0, 1.0))
    times = np.arange(0.0, t_end_s + 1e-9, dt_s)
    flux_hist = np.zeros((times.size, n))
    damage = np.zeros(n)
    cache_key: tuple[str, ...] | None = None
    flux_now = np.zeros(n)
    fields: dict[float, np.ndarray] = {}
    pending_fields = sorted(float(t) for t in field_times_s)
    for k, t in enumerate(times):
        active = [key for key, (_, t0, t1) in burning.items() if t0 <= t < t1]
        if tuple(active) != cache_key:
            fires = [burning[key][0] for key in active]
            flux_now = np.array([0.0 if failed[i] else _flux_on(eq, fires) for i, eq in enumerate(equipment)])
            cache_key = tuple(active)
        flux_hist[k] = flux_now
        while grid is not None and pending_fields and pending_fields[0] <= t + 1e-9:
            tf = pending_fields.pop(0)
            fld = np.zeros(grid.shape)
            for key in active:
                fld += burning[key][0].field_w_m2(grid)
            fields[tf] = fld
        # damage accumulation over the step
        for i, eq in enumerate(equipment):
            if failed[i] or rejected[i]:
                continue
            ttf = float(time_to_failure_s(flux_now[i], eq.volume_m3, eq.kind))
            if not np.isfinite(ttf):
                continue
            damage[i] += dt_s / ttf
            if damage[i] >= 1.0:
                p = float(escalation_probability(ttf))
                t_fail = t + dt_s - (damage[i] - 1.0) * ttf  # interpolate within the step
                if mode == "monte_carlo" and rng.random() >= p:
                    rejected[i] = True
                    continue
                failed[i] = True
                fire, dur = _fire_for(eq, wind_speed_m_s, wind_from_deg)
                burning[eq.id] = (fire, t_fail, t_fail + dur)
                events.append(DominoEvent(eq.id, float(t_fail), "escalation", float(flux_now[i]), ttf, p))
    notes = (f"mode={mode}; thresholds 15/45 kW/m² (Cozzani 2005); ttf Landucci 2009; linear damage rule",)
    return DominoResult(equipment=list(equipment), events=sorted(events, key=lambda e: e.time_s), times_s=times,
                        flux_kw_m2=flux_hist, damage=damage, grid=grid, fields_w_m2=fields, notes=notes)


# ----------------------------------------------------------------------------------------------
# area spread (cellular)
# ----------------------------------------------------------------------------------------------
@dataclass
class AreaSpreadResult:
    """``ignition_time_s`` (ny, nx): time each cell ignited (inf = never); ``state`` at the end
    (0 unburnt/no fuel, 1 burning, 2 burnt out); ``burning_area_m2`` per time step."""

    grid: GridSpec
    ignition_time_s: np.ndarray
    state: np.ndarray
    times_s: np.ndarray
    burning_area_m2: np.ndarray


def simulate_area_fire_spread(
    grid: GridSpec,
    fuel_load_kg_m2: np.ndarray,
    ignited: np.ndarray,
    *,
    t_end_s: float = 3600.0,
    dt_s: float = 10.0,
    burning_rate_kg_m2_s: float = 0.015,
    heat_of_combustion_j_kg: float = 17e6,
    radiant_fraction: float = 0.3,
    critical_flux_w_m2: float = 12.5e3,
    contact_flux_w_m2: float = 30e3,
    krhoc: float = 1.75e5,
    ignition_rise_k: float = 330.0,
    external_flux_w_m2: np.ndarray | None = None,
    max_radius_m: float = 60.0,
) -> AreaSpreadResult:
    """Cellular fire spread over a grid of fuel loads (kg/m², 0 = no fuel). Defaults describe
    cellulosic building contents (m'' 0.015 kg/m²s, ΔHc 17 MJ/kg, wood kρc 1.75e5 J²/m⁴K²s,
    ignition at +330 K). ``external_flux_w_m2`` (ny, nx) adds e.g. the radiation from equipment
    fires. See the module docstring for the model.
    """
    fuel = np.asarray(fuel_load_kg_m2, dtype=float)
    if fuel.shape != grid.shape or np.asarray(ignited).shape != grid.shape:
        raise ValueError("fuel_load_kg_m2 and ignited must have the grid's shape")
    state = np.where(np.asarray(ignited, bool) & (fuel > 0), 1, 0).astype(np.int8)
    t_ign = np.where(state == 1, 0.0, np.inf)
    burn_time = np.where(fuel > 0, fuel / burning_rate_kg_m2_s, 0.0)
    damage = np.zeros(grid.shape)
    nrx = int(np.ceil(max_radius_m / grid.dx_m))
    nry = int(np.ceil(max_radius_m / grid.dy_m))
    kx = np.arange(-nrx, nrx + 1) * grid.dx_m
    ky = np.arange(-nry, nry + 1) * grid.dy_m
    KX, KY = np.meshgrid(kx, ky)
    r2 = np.maximum(KX**2 + KY**2, (0.5 * min(grid.dx_m, grid.dy_m)) ** 2)
    kernel = np.where(r2 <= max_radius_m**2, 1.0 / (4 * np.pi * r2), 0.0)
    kernel[nry, nrx] = 0.0  # a cell does not irradiate itself
    q_cell = radiant_fraction * burning_rate_kg_m2_s * heat_of_combustion_j_kg * grid.cell_area_m2
    ext = 0.0 if external_flux_w_m2 is None else np.asarray(external_flux_w_m2, dtype=float)
    times = np.arange(0.0, t_end_s + 1e-9, dt_s)
    area = np.zeros(times.size)
    for k, t in enumerate(times):
        burning = state == 1
        area[k] = burning.sum() * grid.cell_area_m2
        q = fftconvolve(burning.astype(float) * q_cell, kernel, mode="same") + ext
        contact = np.zeros(grid.shape, dtype=bool)
        contact[1:, :] |= burning[:-1, :]
        contact[:-1, :] |= burning[1:, :]
        contact[:, 1:] |= burning[:, :-1]
        contact[:, :-1] |= burning[:, 1:]
        q = np.where(contact, np.maximum(q, contact_flux_w_m2), q)
        susceptible = (state == 0) & (fuel > 0) & (q >= critical_flux_w_m2)
        t_ig = (np.pi / 4) * krhoc * (ignition_rise_k / np.maximum(q, 1.0)) ** 2
        damage = np.where(susceptible, damage + dt_s / t_ig, damage)
        new = susceptible & (damage >= 1.0)
        t_ign = np.where(new, t + dt_s, t_ign)
        state = np.where(new, 1, state).astype(np.int8)
        out = (state == 1) & (t + dt_s >= t_ign + burn_time)
        state = np.where(out, 2, state).astype(np.int8)
    return AreaSpreadResult(grid=grid, ignition_time_s=t_ign, state=state, times_s=times, burning_area_m2=area)
