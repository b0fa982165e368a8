"""Incident orchestration: one scenario, one SimPy timeline.

:func:`run_incident` takes a validated scenario (see :mod:`safetwin.scenarios`) and plays it:

1. **Sources.** Each ``release`` becomes a puff train (:func:`.physics.dispersion.puff_train`)
   that follows the scenario's wind history (wind shifts included); its rate comes from the hole
   and the inventory (:func:`.physics.consequence.estimate_source`) or is given. Pool and jet
   fires ignite at their times (:mod:`.physics.fire`).
2. **Detection (computed, not scripted).** A SimPy process samples every gas detector every
   ``detection.sample_interval_s``: the concentration of the plume at the detector's position and
   height, read in the detector's unit by :mod:`safetwin.plant_models.detectors` (ppm at 25 °C
   via the molar mass; %LEL via the LFL; %LEL detectors respond to every flammable gas, ppm
   detectors to their own gas). A detector
   alarms at the first sample at or above its alarm level. Flame detectors alarm for a burning
   fire within ``flame_detector_range_m``.
3. **Alarm.** The site alarm sounds ``alarm_delay_s`` after the first detection, or at the manual
   report time if nothing is detected earlier.
4. **Escalation.** While fires burn, a process accumulates damage ``Σ dt / ttf(q)`` on every tank,
   sphere and vessel (time to failure from :func:`.physics.domino.time_to_failure_s` at the flux
   the burning fires put on the unit's side facing them); a unit at damage ≥ 1 fails and burns
   (pool fire on the tank roof, or a jet fire emptying a pressurised unit in 600 s — the domino
   module's assumption; fireballs are not modelled in this slice).
5. **Response.** Fire engines are a SimPy ``Store`` (a fleet); every job (an initiating event at
   dispatch time, each escalation) takes the next free engine, which turns out, drives along the
   plant's road graph (:func:`safetwin.plant_models.geometry.road_graph`: roads only, blocked
   roads and gates removed) to a staging point ``standoff_m`` upwind of the
   job, and sets up. Mutual-aid units join the fleet when they reach their gate (or the first
   open alternative, after a detour).
6. **Evacuation.** The agent model (:mod:`.evacuation`) runs with the alarm time from the
   timeline, the shift's people, pre-movement, blocked gates and muster points, a navigation
   hazard that follows the plume and the fires over time (AEGL-2 (30 min) concentrations and
   5 kW/m² are impassable), and toxic / thermal dose channels. Nothing in the physics depends on
   the people in this slice, so the agents run after the SimPy timeline, with the same clock;
   their departures and arrivals are merged into the event log.

The result records every event with its time and writes ``events.json``, ``trajectories.parquet``,
``people.parquet``, ``fields.npz`` (concentration and heat-flux snapshots) and ``metrics.json``.

Example::

    >>> from safetwin.scenarios.loader import load_scenario
    >>> res = run_incident(load_scenario("chlorine_drum_leak_wind_shift"))   # doctest: +SKIP
    >>> res.metrics["alarm_s"], res.metrics["evacuation_complete_s"]          # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import json
import math
import time as _time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable

import numpy as np
import shapely
import simpy
from shapely.geometry import Point
from shapely.ops import nearest_points

from safetwin.plant_models.detectors import clean_air_reading, response_factor
from safetwin.plant_models.geometry import interior_fences, muster_goals, road_graph, walkable_area
from safetwin.plant_models.schema import Sensor
from safetwin.scenarios.loader import LoadedScenario
from safetwin.scenarios.schema import JetFireEvent, PoolFireEvent, ReleaseEvent, Scenario

from .evacuation import (EvacuationParams, Exposure, ExitClosure, Blockage, Population, PreMovement,
                         aegl_equivalent_dose, concentration_hazard, simulate_evacuation)
from .evacuation.geometry import EvacuationGeometry, Goal
from .evacuation.model import ProgressFn
from .evacuation.params import OutputParams
from .evacuation.results import EvacuationResult
from .plant_evacuation import plant_navigation
from .physics.blast import COOLPROP_NAMES, BlastWave, bleve_expansion_energy_j, vessel_burst_blast
from .physics.congestion import congestion_in_region
from .physics.consequence import ConsequenceOptions, Weather, cloud_setup, estimate_source
from .physics.dense_gas import ProfileSigmas
from .physics.dispersion import PuffTrain, WindHistory, puff_train
from .physics.domino import time_to_failure_s
from .physics.effects import thermal_lethality_from_dose
from .physics.fire import jet_fire, pool_fire
from .physics.fireball import bleve_fireball
from .physics.flammable_cloud import flammable_mass
from .physics.flash_fire import flash_fire
from .physics.grid import GridSpec
from .physics.overpressure import (OVERPRESSURE_LEVELS_PA, equipment_escalation_probability,
                                   people_lethality_outdoors)
from .physics.stability import resolve_class, wind_speed_at_height
from .physics.vce import vapour_cloud_explosion
from safetwin.substances import Substance, get_substance
from .plant_consequence import (bund_fire, congested_regions, domino_units, is_toxic, plant_obstacles,
                                release_at_equipment)

__all__ = ["IncidentEvent", "GasSource", "FireSource", "IncidentResult", "run_incident", "wind_history",
           "detector_value"]

#: Heat flux (W/m²) that closes a cell to evacuees (and is the route-cost reference).
FLUX_IMPASSABLE_W_M2 = 5000.0
#: Hazard-field cache resolution: space (m) and time (s).
HAZARD_CELL_M = 4.0
HAZARD_DT_S = 10.0
#: Averaging time (s) of the drill's clouds (sigmas and the dense-gas profile).
DRILL_AVERAGING_S = 600.0
#: A flash fire or a blast reaches the evacuees during this window after the ignition (s): their
#: probability of death is the model's lethality averaged over the positions they pass in it.
INSTANT_HARM_WINDOW_S = 10.0
#: Lattice (m) on which the flammable mass inside a congested unit is counted at ignition.
VCE_LATTICE_M = 2.0


# ============================================================================ records
@dataclass(frozen=True)
class IncidentEvent:
    """One entry of the timeline: ``time_s`` from t0, a ``kind`` (release_start, detection, alarm,
    ignition, escalation, engine_dispatched, engine_on_scene, engine_in_action, departure, arrival, …),
    the ``source`` (event, detector, engine or person id) and details."""

    time_s: float
    kind: str
    source: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class GasSource:
    event_id: str
    equipment_id: str
    substance: Substance
    toxic: bool
    rate_kg_s: float
    start_s: float
    end_s: float
    train: PuffTrain
    model: str = "gaussian"
    release_height_m: float = 1.0


@dataclass
class FireSource:
    event_id: str
    equipment_id: str
    kind: str
    start_s: float
    fire: Any  # PoolFire | JetFire | Fireball
    cause: str = "initial"
    end_s: float = math.inf

    def active(self, t_s: float) -> bool:
        return self.start_s <= t_s < self.end_s

    def flux_w_m2(self, x: np.ndarray, y: np.ndarray, t: np.ndarray | float) -> np.ndarray:
        q = np.asarray(self.fire.flux_w_m2(np.asarray(x, float), np.asarray(y, float)), float)
        tt = np.asarray(t, float)
        return np.where((tt >= self.start_s) & (tt < self.end_s), q, 0.0)


@dataclass(frozen=True)
class InstantHarm:
    """A flash fire or a blast: the probability of death outdoors on a grid, reaching the evacuees in
    the :data:`INSTANT_HARM_WINDOW_S` after ``time_s``."""

    name: str
    time_s: float
    grid: GridSpec
    lethality: np.ndarray

    def field(self, x: np.ndarray, y: np.ndarray, t: np.ndarray) -> np.ndarray:
        g = self.grid
        x, y, t = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float), np.asarray(t, float))
        i = np.clip(np.rint((x - g.x_min_m) / g.dx_m).astype(int), 0, g.nx - 1)
        j = np.clip(np.rint((y - g.y_min_m) / g.dy_m).astype(int), 0, g.ny - 1)
        on = (t >= self.time_s) & (t < self.time_s + INSTANT_HARM_WINDOW_S)
        return np.where(on, self.lethality[j, i] / INSTANT_HARM_WINDOW_S, 0.0)


# ============================================================================ helpers
def wind_history(sc: Scenario) -> WindHistory:
    """The scenario's wind as a piecewise-constant :class:`WindHistory` (10 m values)."""
    w = sc.weather
    times, speeds, dirs = [0.0], [w.wind_speed_m_s], [w.wind_from_deg]
    for c in w.changes:
        times.append(c.time_s)
        speeds.append(c.wind_speed_m_s if c.wind_speed_m_s is not None else speeds[-1])
        dirs.append(c.wind_from_deg if c.wind_from_deg is not None else dirs[-1])
    return WindHistory(np.array(times), np.array(speeds), np.array(dirs))


def detector_value(sensor: Sensor, sources: list[GasSource], t_s: float) -> float:
    """Reading of a gas detector at time ``t_s`` in its own unit: its clean-air reading plus the
    response to every source it sees (:mod:`safetwin.plant_models.detectors`)."""
    x, y = sensor.position[0], sensor.position[1]
    v = clean_air_reading(sensor)
    for s in sources:
        factor = response_factor(sensor, s.substance)
        if factor != 0.0:
            c = s.train.concentration_at(np.array([x]), np.array([y]), np.array([t_s]), z_m=sensor.height_m)
            v += factor * float(c[0])
    return v


class _GriddedField:
    """``f(x, y, t)`` from a callable grid evaluator, cached per time bucket (nearest cell, nearest
    bucket): what the navigation needs on its whole raster at every replan, cheaply."""

    def __init__(self, grid: GridSpec, evaluate: Callable[[float], np.ndarray], dt_s: float,
                 key: Callable[[float], Any] | None = None):
        self.grid, self.evaluate, self.dt = grid, evaluate, dt_s
        self.key = key or (lambda tb: tb)
        self.cache: dict[Any, np.ndarray] = {}

    def __call__(self, x, y, t):
        x, y, t = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float), np.asarray(t, float))
        g = self.grid
        i = np.clip(np.rint((x - g.x_min_m) / g.dx_m).astype(int), 0, g.nx - 1)
        j = np.clip(np.rint((y - g.y_min_m) / g.dy_m).astype(int), 0, g.ny - 1)
        tb = np.rint(np.maximum(t, 0.0) / self.dt).astype(np.int64).ravel()
        out = np.zeros(x.shape)
        flat, jf, jf_i = out.reshape(-1), j.ravel(), i.ravel()
        # group the points by time bucket once (a whole raster spans ~100 buckets)
        order = np.argsort(tb, kind="stable")
        edges = np.flatnonzero(np.diff(tb[order])) + 1
        for group in np.split(order, edges):
            if not len(group):
                continue
            b = tb[group[0]]
            k = self.key(float(b * self.dt))
            if k not in self.cache:
                self.cache[k] = self.evaluate(float(b * self.dt))
            flat[group] = self.cache[k][jf[group], jf_i[group]]
        return out


# ============================================================================ result
@dataclass
class IncidentResult:
    scenario: Scenario
    plant_id: str
    events: list[IncidentEvent]
    gas_sources: list[GasSource]
    fires: list[FireSource]
    evacuation: EvacuationResult | None
    metrics: dict[str, Any]
    detectors: dict[str, Sensor]
    sample_interval_s: float
    level: str
    bounds: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    wall_time_s: float = 0.0

    def events_of(self, kind: str) -> list[IncidentEvent]:
        return [e for e in self.events if e.kind == kind]

    def fields(self, interval_s: float = 60.0, cell_m: float = 5.0) -> dict[str, np.ndarray]:
        """Hazard snapshots on a grid over the site every ``interval_s``: ``conc_<substance>_mg_m3`` and
        ``flux_w_m2`` arrays of shape (n_times, ny, nx), with ``times_s``, ``x_m``, ``y_m``."""
        if not self.gas_sources and not self.fires:
            return {}
        x0, y0, x1, y1 = self.bounds
        grid = GridSpec(x0, y0, cell_m, cell_m, int(math.ceil((x1 - x0) / cell_m)) + 1,
                        int(math.ceil((y1 - y0) / cell_m)) + 1)
        times = np.arange(0.0, self.scenario.simulation.duration_s + 1e-9, interval_s)
        out: dict[str, np.ndarray] = {"times_s": times, "x_m": grid.x_m, "y_m": grid.y_m}
        for name in sorted({g.substance.name for g in self.gas_sources}):
            srcs = [g for g in self.gas_sources if g.substance.name == name]
            out[f"conc_{name.replace(' ', '_')}_mg_m3"] = np.stack(
                [sum(g.train.field(grid, t) for g in srcs) for t in times]).astype(np.float32)
        if self.fires:
            X, Y = grid.mesh()
            snaps, cache = [], {}
            for t in times:
                key = tuple(f.event_id for f in self.fires if f.active(t))
                if key not in cache:
                    cache[key] = sum((f.flux_w_m2(X, Y, t) for f in self.fires), np.zeros(grid.shape))
                snaps.append(cache[key])
            out["flux_w_m2"] = np.stack(snaps).astype(np.float32)
        return out

    def detector_value(self, detector_id: str, t_s: float) -> float:
        return detector_value(self.detectors[detector_id], self.gas_sources, t_s)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write events.json, metrics.json, trajectories.parquet and people.parquet to ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"events": out / "events.json", "metrics": out / "metrics.json"}
        doc = {"scenario": self.scenario.name, "plant": self.plant_id, "time_unit": "s from t0",
               "events": [asdict(e) for e in self.events]}
        paths["events"].write_text(json.dumps(doc, indent=1, default=_json_default), encoding="utf-8")
        paths["metrics"].write_text(json.dumps(self.metrics, indent=2, default=_json_default), encoding="utf-8")
        fields = self.fields()
        if fields:
            paths["fields"] = out / "fields.npz"
            np.savez_compressed(paths["fields"], **fields)
        if self.evacuation is not None:
            paths["trajectories"] = out / "trajectories.parquet"
            paths["people"] = out / "people.parquet"
            self.evacuation.write_trajectories(paths["trajectories"])
            self.evacuation.write_people(paths["people"])
        return paths


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _num(v: float) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


# ============================================================================ the run
class _Incident:
    """State of one run (kept private: the public surface is :func:`run_incident`)."""

    def __init__(self, loaded: LoadedScenario):
        self.sc = sc = loaded.scenario
        self.plant = loaded.plant
        self.shift = loaded.shift
        self.env = simpy.Environment()
        self.events: list[IncidentEvent] = []
        self.wind = wind_history(sc)
        self.cls = resolve_class(sc.weather.stability)
        self.T = sc.simulation.duration_s
        self.gas: list[GasSource] = []
        self.fires: list[FireSource] = []
        self.first_detection = self.env.event()
        self.alarm = self.env.event()
        self.dispatch = self.env.event()
        self.detected: dict[str, float] = {}
        self.fleet = simpy.Store(self.env)
        bl = sc.blocked
        self.gate_blocks = {g: Point(self.plant.gates[g].geometry.coords[0]).buffer(self.plant.gates[g].width_m / 2 + 3.0)
                            for g in bl.gates}
        road_blocks = [self.plant.roads[r].geometry.buffer(self.plant.roads[r].width_m / 2) for r in bl.roads]
        self.roads = road_graph(self.plant)
        self.drivable = self.roads.usable_edges(vehicles_only=True, blocked=list(self.gate_blocks.values()) + road_blocks)
        level = sc.detection.level
        wanted = set(sc.detection.detectors) if sc.detection.detectors is not None else None
        self.detectors = {s.id: s for s in self.plant.meta.sensors
                          if s.alarm is not None and (wanted is None or s.id in wanted)
                          and s.type.value in ("toxic_gas", "flammable_gas", "flame")}
        self.level = level
        self.regimes: dict[str, str] = {}
        self.instant_harms: list[InstantHarm] = []

    def log(self, kind: str, source: str, **detail: Any) -> None:
        self.events.append(IncidentEvent(float(self.env.now), kind, source, detail))

    # ---------------------------------------------------------------- sources
    def weather_at(self, t_s: float) -> Weather:
        """The scenario's weather at ``t_s`` as the consequence models' one :class:`Weather` (10 m wind)."""
        w = self.sc.weather
        speed, frm = self.wind.at(t_s)
        return Weather(speed, frm, w.stability, temperature_k=w.temperature_k, relative_humidity=w.relative_humidity)

    def _build_gas(self, k: int, e: ReleaseEvent) -> None:
        """The release as the consequence entry point sees it (source term with its rain-out and
        blowdown, dense or passive by the source Richardson number), carried by a puff train through
        the wind history. A dense cloud's puffs carry :class:`.physics.dense_gas.ProfileSigmas`, so
        the train's steady centreline is the dense-gas profile's."""
        plant, sc = self.plant, self.sc
        inv = plant.inventories[e.equipment]
        sub = get_substance(inv.substance)
        toxic = is_toxic(inv.substance)
        rel = release_at_equipment(plant, e.equipment, "toxic_gas" if toxic else "flammable_gas",
                                   hole_diameter_m=e.hole_diameter_m or 0.025, release_height_m=e.height_m,
                                   rate_kg_s=e.rate_kg_s)
        rel = dataclasses.replace(rel, substance=sub.name)
        weather = self.weather_at(e.time_s)
        opts = ConsequenceOptions(exposure_duration_s=DRILL_AVERAGING_S, averaging_time_s=DRILL_AVERAGING_S,
                                  dispersion_model=sc.simulation.dispersion_model)
        x0, y0, x1, y1 = plant.boundary.bounds
        reach = math.hypot(x1 - x0, y1 - y0) + 500.0
        cs = cloud_setup(rel, weather, opts, x_max_m=reach)   # the cloud's shape: the release as if it went on
        isolated = dataclasses.replace(rel, duration_s=e.duration_s)
        src = estimate_source(isolated, sub, max_duration_s=max(self.T - e.time_s, 1.0),
                              wind_speed_m_s=weather.wind_speed_at(2.0), ground_temperature_k=weather.temperature_k,
                              rainout=opts.rainout_model)
        rates = np.asarray(src.airborne_kg_s, float)
        times = e.time_s + np.asarray(src.times_s, float)
        on = np.flatnonzero(rates > 0)
        t1 = float(times[on[-1]] + (times[1] - times[0] if times.size > 1 else 1.0)) if on.size else e.time_s
        if t1 < self.T and (times[-1] < t1):
            times, rates = np.append(times, t1), np.append(rates, 0.0)
        dense = cs.profile is not None
        height = 0.0 if dense else e.height_m
        wind = self.wind   # the scenario's 10 m wind, as the live estimator reads the drill
        if dense:
            sig: Any = ProfileSigmas(cs.profile, rate_kg_s=cs.rate_kg_s,  # type: ignore[arg-type]
                                     wind_speed_m_s=float(wind.at(e.time_s)[0]))
        else:
            sig = cs.sigmas
        # Puffs overlap (spacing u·Δt below σy at the near-field distance) so that a detector between
        # two puffs is not missed by aliasing; puffs start with the spread they have at near_field_m.
        near = sc.simulation.near_field_m
        sy0 = float(np.asarray(sig(np.array([near]))[0])[0])
        dt_puff = float(np.clip(sy0 / float(np.max(wind.speed_m_s)), 0.5, sc.simulation.puff_interval_s))
        train = puff_train(source_xy_m=(rel.x_m, rel.y_m), rate_times_s=times, rate_kg_s=rates, wind=wind,
                           sigmas=sig, puff_interval_s=dt_puff, release_height_m=height, end_time_s=self.T)
        train = dataclasses.replace(train, min_distance_m=near, notes=cs.notes)
        self.gas.append(GasSource(sc.event_id(k), e.equipment, sub, toxic, src.rate_kg_s, e.time_s, min(t1, self.T),
                                  train, cs.model, e.height_m))
        self.regimes[sc.event_id(k)] = cs.regime.reason

    def _make_fire(self, k: int, e: PoolFireEvent | JetFireEvent) -> FireSource:
        plant, sc = self.plant, self.sc
        inv = plant.inventories[e.equipment]
        sub = get_substance(inv.substance)
        speed, frm = self.wind.at(e.time_s)
        if isinstance(e, PoolFireEvent):
            if e.diameter_m is not None:
                c = plant.equipment[e.equipment].geometry.centroid
                d, xy = e.diameter_m, (c.x, c.y)
            else:
                init = bund_fire(plant, e.equipment)
                d, xy = init.diameter_m, (init.x_m, init.y_m)
            u = float(wind_speed_at_height(speed, 10.0, self.cls))
            f = pool_fire(sub, d, centre_xy_m=xy, wind_speed_m_s=u, wind_from_deg=frm,
                          relative_humidity=sc.weather.relative_humidity, ambient_k=sc.weather.temperature_k)
        else:
            rel = release_at_equipment(plant, e.equipment, "jet_fire", hole_diameter_m=e.hole_diameter_m or 0.05,
                                       release_height_m=e.height_m, rate_kg_s=e.rate_kg_s)
            rel = dataclasses.replace(rel, substance=sub.name)
            src = estimate_source(rel, sub)
            f = jet_fire(sub, src.rate_kg_s, release_xyz_m=(rel.x_m, rel.y_m, e.height_m), direction_deg=e.direction_deg)
        return FireSource(sc.event_id(k), e.equipment, e.type, e.time_s, f)

    # ---------------------------------------------------------------- processes
    def p_event(self, k: int):
        e = self.sc.events[k]
        yield self.env.timeout(e.time_s)
        eid = self.sc.event_id(k)
        if isinstance(e, ReleaseEvent):
            g = next(s for s in self.gas if s.event_id == eid)
            self.log("release_start", eid, equipment=e.equipment, substance=g.substance.name,
                     rate_kg_s=g.rate_kg_s, planned_end_s=g.end_s, model=g.model, regime=self.regimes.get(eid))
            if g.end_s < self.T:
                self.env.process(self._release_end(g))
            if e.ignition_s is not None:
                self.env.process(self.p_delayed_ignition(g, e))
        else:
            fire = self._make_fire(k, e)
            self.fires.append(fire)
            self.log("ignition", eid, equipment=e.equipment, fire=e.type, cause="initial",
                     **self._fire_detail(fire))
        self.env.process(self.p_job(eid, e.equipment, trigger=self.dispatch))

    def _release_end(self, g: GasSource):
        yield self.env.timeout(g.end_s - self.env.now)
        self.log("release_end", g.event_id, equipment=g.equipment_id, released_kg=g.train.total_mass_kg)

    def p_delayed_ignition(self, g: GasSource, e: ReleaseEvent):
        """Delayed ignition: the cloud at that moment burns as a flash fire (its LFL envelope at ground
        level), explodes where it fills a congested unit (flammable mass between LFL and UFL inside the
        unit, strength from the unit's congestion: :func:`.physics.vce.vapour_cloud_explosion`), is
        consumed, and a leak still going burns on as a jet fire at the source."""
        yield self.env.timeout(float(e.ignition_s))  # type: ignore[arg-type]
        t = float(self.env.now)
        sub = g.substance
        grid = self._grid()
        cloud = g.train.field(grid, t)
        ff = flash_fire(grid, cloud, sub)
        x, y = grid.mesh()
        inside = ff.lethality > 0
        reach = float(np.max(np.hypot(x[inside] - g.train.source_xy_m[0], y[inside] - g.train.source_xy_m[1]))) \
            if inside.any() else 0.0
        self.log("ignition", g.event_id, equipment=g.equipment_id, fire="flash_fire", cause="delayed",
                 lfl_area_m2=ff.lethal_area_m2, lfl_reach_m=reach)
        if inside.any():
            self.instant_harms.append(InstantHarm("flash_fire", t, grid, ff.lethality))
        lfl = float(sub.lfl_mg_m3)  # type: ignore[arg-type]
        ufl = float(sub.ppm_to_mg_m3(sub.ufl_vol_frac * 1e6)) if sub.ufl_vol_frac else None
        obstacles = plant_obstacles(self.plant)

        def conc(xx: np.ndarray, yy: np.ndarray, zz: np.ndarray) -> np.ndarray:
            return g.train.concentration_at(xx, yy, np.full_like(xx, t), z_m=zz)

        for rid, region in sorted(congested_regions(self.plant).items()):
            x0, y0, x1, y1 = region.bounds
            if not np.any(shapely.contains_xy(region.buffer(HAZARD_CELL_M), x[inside], y[inside])):
                continue  # the LFL envelope does not reach the unit
            cong = congestion_in_region(region, obstacles)
            lattice = GridSpec(x0, y0, VCE_LATTICE_M, VCE_LATTICE_M, int((x1 - x0) / VCE_LATTICE_M) + 1,
                               int((y1 - y0) / VCE_LATTICE_M) + 1)
            fm = flammable_mass(conc, lattice, np.arange(0.5, cong.region_height_m, 1.0), lfl_mg_m3=lfl,
                                ufl_mg_m3=ufl, within=region, z_max_m=cong.region_height_m)
            if fm.mass_kg <= 0:
                continue
            wave, strength = vapour_cloud_explosion(substance=sub, flammable_mass_kg=fm.mass_kg, congestion=cong,
                                                    method=e.explosion_model)
            self._blast(wave, "vce", rid, flammable_mass_kg=fm.mass_kg, strength=strength.basis)
        g.train = dataclasses.replace(g.train, consumed_at_s=t)
        if t < g.end_s:
            jf = jet_fire(sub, g.rate_kg_s, release_xyz_m=(*g.train.source_xy_m, g.release_height_m),
                          direction_deg=None)
            fire = FireSource(f"{g.event_id}-jet", g.equipment_id, "jet_fire", t, jf, "delayed_ignition", g.end_s)
            self.fires.append(fire)
            self.log("ignition", fire.event_id, equipment=g.equipment_id, fire="jet_fire", cause="delayed",
                     **self._fire_detail(fire))

    def _blast(self, wave: BlastWave, kind: str, source: str, **detail: Any) -> None:
        """Log a blast with its ALOHA overpressure distances and the escalation probability of each
        domino unit it reaches (Cozzani), and let it reach the evacuees (Green Book probits)."""
        reach = {lvl: wave.distance_to_overpressure_m(p) for lvl, p in OVERPRESSURE_LEVELS_PA.items()}
        damage = {}
        for u in domino_units(self.plant):
            if u.id == source:
                continue
            p = float(wave.overpressure_pa(u.x_m, u.y_m, u.height_m / 2))
            prob = float(equipment_escalation_probability(p, u.kind))  # type: ignore[arg-type]
            if prob > 0:
                damage[u.id] = {"overpressure_kpa": p / 1e3, "p_escalation": prob}
        self.log("explosion", source, blast=kind, energy_mj=wave.energy_j / 1e6, reach_m=reach,
                 equipment_damage=damage, **detail)
        grid = self._grid()
        x, y = grid.mesh()
        leth = people_lethality_outdoors(wave.overpressure_pa(x, y, 1.0), wave.impulse_pa_s(x, y, 1.0))
        if np.any(leth > 0):
            self.instant_harms.append(InstantHarm(f"blast_{kind}", float(self.env.now), grid, np.asarray(leth)))

    @staticmethod
    def _fire_detail(f: FireSource) -> dict[str, Any]:
        fire = f.fire
        d = {"flame_length_m": getattr(fire, "flame_length_m", None)}
        if hasattr(fire, "diameter_m"):
            d["diameter_m"] = fire.diameter_m
        if hasattr(fire, "rate_kg_s"):
            d["rate_kg_s"] = fire.rate_kg_s
        if hasattr(fire, "duration_s"):
            d["duration_s"] = fire.duration_s
            d["sep_kw_m2"] = fire.sep_w_m2 / 1e3
        return d

    def p_detection(self):
        dt = self.sc.detection.sample_interval_s
        gas_ids = [d for d, s in self.detectors.items() if s.type.value != "flame"]
        flame_ids = [d for d, s in self.detectors.items() if s.type.value == "flame"]
        last: dict[str, float] = dict.fromkeys(gas_ids, 0.0)
        rng = self.sc.detection.flame_detector_range_m
        while self.env.now <= self.T + 1e-9:
            t = float(self.env.now)
            for d in gas_ids:
                if d in self.detected:
                    continue
                s = self.detectors[d]
                v = detector_value(s, self.gas, t)
                lvl = getattr(s.alarm, self.level)
                if v >= lvl:
                    self._detect(d, t, value=v, previous_value=last[d], level=lvl, unit=s.unit,
                                 sample_interval_s=dt)
                last[d] = v
            for d in flame_ids:
                if d in self.detected:
                    continue
                s = self.detectors[d]
                near = [f for f in self.fires if f.active(t) and
                        math.dist(s.position[:2], self._fire_xy(f)) <= rng]
                if near:
                    self._detect(d, t, value=1.0, level=1.0, unit="binary", fire=near[0].event_id)
            yield self.env.timeout(dt)

    @staticmethod
    def _fire_xy(f: FireSource) -> tuple[float, float]:
        fire = f.fire
        if hasattr(fire, "centre_xy_m"):
            return tuple(fire.centre_xy_m)[:2]  # type: ignore[return-value]
        return tuple(fire.release_xyz_m)[:2]  # type: ignore[return-value]

    def _detect(self, d: str, t: float, **detail: Any) -> None:
        self.detected[d] = t
        self.log("detection", d, alarm_level=self.level, **detail)
        if not self.first_detection.triggered:
            self.first_detection.succeed(d)

    def p_alarm(self):
        det = self.sc.detection
        t_first = min(e.time_s for e in self.sc.events)
        waits = [self.first_detection]
        if det.manual_report_s is not None:
            waits.append(self.env.timeout(t_first + det.manual_report_s))
        yield self.env.any_of(waits)
        if self.first_detection.triggered:
            cause, by = "detection", self.first_detection.value
            yield self.env.timeout(det.alarm_delay_s)
        else:
            cause, by = "manual_report", "personnel"
            self.log("manual_report", "personnel")
        self.log("alarm", "site", cause=cause, first_detector=by)
        self.alarm.succeed()
        if self.sc.response.dispatch_on == "alarm" or self.fires:
            self.dispatch.succeed()
        else:
            while not self.fires:
                yield self.env.timeout(self.sc.simulation.fire_step_s)
            self.dispatch.succeed()

    def p_external(self, u):
        yield self.alarm
        gates = [u.gate] + [g for g in u.alternatives if g != u.gate]
        delay = u.eta_s
        chosen = None
        for g in gates:
            if g not in self.gate_blocks and self.plant.gates[g].vehicles:
                chosen = g
                break
        if chosen is None:
            self.log("external_unit_no_access", u.id, gates=gates)
            return
        if chosen != u.gate:
            delay += u.detour_s
        yield self.env.timeout(delay)
        self.log("external_unit_at_gate", u.id, gate=chosen, diverted=chosen != u.gate)
        self.fleet.put({"id": u.id, "position": tuple(self.plant.gates[chosen].geometry.coords[0])})

    def staging_point(self, xy: tuple[float, float]) -> tuple[float, float]:
        """``standoff_m`` upwind of ``xy`` (the wind in force now), pulled inside the site."""
        _, frm = self.wind.at(float(self.env.now))
        th = math.radians(frm)
        p = Point(xy[0] + self.sc.response.standoff_m * math.sin(th), xy[1] + self.sc.response.standoff_m * math.cos(th))
        inner = self.plant.boundary.buffer(-5.0)
        if not inner.contains(p):
            p = nearest_points(inner, p)[0]
        return (p.x, p.y)

    def p_job(self, job: str, equipment_id: str, trigger: simpy.Event | None = None):
        if trigger is not None:
            yield trigger
        r = self.sc.response
        c = self.plant.equipment[equipment_id].geometry.centroid
        t_req = self.env.now
        engine = yield self.fleet.get()
        target = self.staging_point((c.x, c.y))
        self.log("engine_dispatched", engine["id"], job=job, waited_s=self.env.now - t_req, staging_xy_m=target)
        yield self.env.timeout(r.turnout_s)
        dist, on_roads = self.roads.distance_m(engine["position"], target, edges=self.drivable)
        self.log("engine_departed", engine["id"], job=job, route_m=dist, along_roads=on_roads)
        yield self.env.timeout(dist / r.speed_m_s)
        self.log("engine_on_scene", engine["id"], job=job)
        yield self.env.timeout(r.setup_s)
        self.log("engine_in_action", engine["id"], job=job)

    def p_escalation(self):
        dt = self.sc.simulation.fire_step_s
        units = domino_units(self.plant)
        damage = {u.id: 0.0 for u in units}
        domino_events = {self.sc.event_id(k) for k, e in enumerate(self.sc.events)
                         if isinstance(e, (PoolFireEvent, JetFireEvent)) and e.domino}
        while self.env.now <= self.T + 1e-9:
            t = float(self.env.now)
            burning = {f.equipment_id for f in self.fires}
            active = [f for f in self.fires if f.active(t) and (f.cause == "escalation" or f.event_id in domino_events)]
            if active:
                for u in units:
                    if u.id in burning:
                        continue
                    q = 0.0
                    for f in active:
                        fx, fy = self._fire_xy(f)
                        dx, dy = fx - u.x_m, fy - u.y_m
                        dd = math.hypot(dx, dy) or 1.0
                        r = u.diameter_m / 2
                        px, py = u.x_m + r * dx / dd, u.y_m + r * dy / dd
                        q += float(np.asarray(f.fire.flux_w_m2(np.array([px]), np.array([py]), u.height_m / 2))[0])
                    ttf = float(time_to_failure_s(q / 1e3, u.volume_m3, u.kind))
                    if np.isfinite(ttf):
                        damage[u.id] += dt / ttf
                    if damage[u.id] >= 1.0:
                        self._escalate(u, q)
                        burning.add(u.id)
            yield self.env.timeout(dt)

    def _escalate(self, u, q_w_m2: float) -> None:
        sub = get_substance(u.substance)
        speed, frm = self.wind.at(float(self.env.now))
        if u.kind == "atmospheric":
            fire = pool_fire(sub, u.diameter_m, centre_xy_m=(u.x_m, u.y_m), base_height_m=u.height_m,
                             wind_speed_m_s=float(wind_speed_at_height(speed, 10.0, self.cls)), wind_from_deg=frm)
            kind, end = "pool_fire", math.inf
        else:
            inv = self.plant.inventories.get(u.id)
            mass = inv.mass_kg if inv else u.volume_m3 * u.fill_fraction * sub.liquid_density_kg_m3
            t_k = inv.temperature_k if inv else self.sc.weather.temperature_k
            if sub.boiling_point_k < t_k and sub.heat_of_combustion_j_kg is not None:
                # a liquefied flammable gas heated to failure: BLEVE, fireball of the whole inventory
                fire = bleve_fireball(sub, mass, temperature_k=t_k, centre_xy_m=(u.x_m, u.y_m),
                                      relative_humidity=self.sc.weather.relative_humidity,
                                      ambient_k=self.sc.weather.temperature_k)
                kind, end = "fireball", float(self.env.now) + fire.duration_s
                if sub.name in COOLPROP_NAMES:
                    energy = bleve_expansion_energy_j(sub.name, temperature_k=t_k, liquid_mass_kg=mass)
                    wave = vessel_burst_blast(energy_j=energy, vessel_pressure_pa=float(sub.vapour_pressure_pa(t_k)),
                                              centre_xyz_m=(u.x_m, u.y_m, u.height_m / 2), kind="bleve")
                    self._blast(wave, "bleve", u.id)
            else:
                fire = jet_fire(sub, mass / 600.0, release_xyz_m=(u.x_m, u.y_m, u.height_m))
                kind, end = "jet_fire", math.inf
        job = f"escalation-{u.id}"
        f = FireSource(job, u.id, kind, float(self.env.now), fire, "escalation", end)
        self.fires.append(f)
        self.log("escalation", u.id, flux_kw_m2=q_w_m2 / 1e3, fire=f.kind, **self._fire_detail(f))
        self.env.process(self.p_job(job, u.id, trigger=self.dispatch))

    # ---------------------------------------------------------------- run
    def run_timeline(self) -> None:
        sc = self.sc
        for k, e in enumerate(sc.events):
            if isinstance(e, ReleaseEvent):
                self._build_gas(k, e)
        engines = sc.response.fire_engines or [r.id for r in self.plant.meta.resources if r.kind.value == "fire_engine"]
        for eid in engines:
            self.fleet.put({"id": eid, "position": tuple(self.plant.resources[eid].position[:2])})
        for k in range(len(sc.events)):
            self.env.process(self.p_event(k))
        self.env.process(self.p_detection())
        self.env.process(self.p_alarm())
        self.env.process(self.p_escalation())
        for u in sc.response.external:
            self.env.process(self.p_external(u))
        if sc.blocked.gates or sc.blocked.muster_points or sc.blocked.roads:
            def p_blocked():
                yield self.env.timeout(sc.blocked.from_s)
                self.log("blocked", "site", gates=sc.blocked.gates, roads=sc.blocked.roads,
                         muster_points=sc.blocked.muster_points)
            self.env.process(p_blocked())
        self.env.run(until=self.T + 1e-6)

    # ---------------------------------------------------------------- evacuation
    def _grid(self) -> GridSpec:
        x0, y0, x1, y1 = self.plant.boundary.bounds
        h = HAZARD_CELL_M
        return GridSpec(x0 - h, y0 - h, h, h, int(math.ceil((x1 - x0) / h)) + 3, int(math.ceil((y1 - y0) / h)) + 3)

    def hazards_and_exposures(self):
        grid = self._grid()
        hazards: list[Callable] = []
        exposures: list[Exposure] = []
        self.aegl2_dose: dict[str, float] = {}
        by_sub: dict[str, list[GasSource]] = {}
        for g in self.gas:
            by_sub.setdefault(g.substance.name, []).append(g)
        for name, srcs in by_sub.items():
            sub = srcs[0].substance

            def exact(x, y, t, srcs=srcs):
                return sum(s.train.concentration_at(x, y, t) for s in srcs)

            gridded = _GriddedField(grid, lambda t, srcs=srcs: sum(s.train.field(grid, t) for s in srcs), HAZARD_DT_S)
            if srcs[0].toxic and sub.toxic is not None:
                aegl2 = float(sub.ppm_to_mg_m3(sub.toxic.aegl_at(2, 1800.0)))
                hazards.append(concentration_hazard(gridded, aegl2))
                pr = sub.probits.get("tno") or next(iter(sub.probits.values()), None)
                if pr is not None:
                    uf = 1.0 if pr.concentration_unit == "mg/m3" else float(sub.mg_m3_to_ppm(1.0))
                    exposures.append(Exposure(exact, exponent=pr.n, name=f"toxic_{name.replace(' ', '_')}",
                                              probit_a=pr.a, probit_b=pr.b, unit_factor=uf, time_unit_s=60.0))
                    self.aegl2_dose[exposures[-1].name] = aegl_equivalent_dose(aegl2, 1800.0, pr.n)
            elif sub.lfl_mg_m3 is not None:
                # flammable cloud: keep people out of 50 % LFL (ignition would engulf them)
                hazards.append(concentration_hazard(gridded, 0.5 * sub.lfl_mg_m3))
        if self.fires:
            fires = self.fires

            def flux_exact(x, y, t):
                return sum(f.flux_w_m2(x, y, t) for f in fires)

            def flux_grid(t):
                X, Y = grid.mesh()
                return sum((f.flux_w_m2(X, Y, t) for f in fires), np.zeros(grid.shape))

            fg = _GriddedField(grid, flux_grid, HAZARD_DT_S,
                               key=lambda t: tuple(f.event_id for f in fires if f.active(t)))
            hazards.append(concentration_hazard(fg, FLUX_IMPASSABLE_W_M2))
            exposures.append(Exposure(flux_exact, exponent=4.0 / 3.0, name="thermal",
                                      harm=lambda d: thermal_lethality_from_dose(d, "eisenberg")))
        for h in self.instant_harms:
            exposures.append(Exposure(h.field, exponent=1.0, name=f"{h.name}_{h.time_s:.0f}s",
                                      harm=lambda d: np.clip(d, 0.0, 1.0)))
        if not hazards:
            return None, exposures

        def hazard(x, y, t):
            out = np.ones(np.broadcast(np.asarray(x), np.asarray(t)).shape)
            for h in hazards:
                out = np.maximum(out, h(x, y, t))
            return out

        return hazard, exposures

    def run_evacuation(self, alarm_s: float, progress: ProgressFn | None = None) -> EvacuationResult:
        from safetwin.twin.population import shift_population

        sc, plant = self.sc, self.plant
        ids, xy, _ = shift_population(plant, self.shift, seed=sc.population.seed)
        rng = np.random.default_rng(sc.population.seed)
        if sc.population.limit is not None and len(ids) > sc.population.limit:
            keep = np.sort(rng.choice(len(ids), sc.population.limit, replace=False))
            ids, xy = [ids[k] for k in keep], xy[keep]
        walk = walkable_area(plant)
        if walk.geom_type == "MultiPolygon":
            walk = max(walk.geoms, key=lambda g: g.area)
        inner = walk.buffer(-0.6)
        out = ~shapely.contains_xy(inner, xy[:, 0], xy[:, 1])
        for k in np.flatnonzero(out):  # people inside a footprint step out to the nearest walkable spot
            p = nearest_points(inner, Point(xy[k]))[0]
            xy[k] = (p.x, p.y)
        goals = {k: g.intersection(walk) for k, g in muster_goals(plant).items()}
        geometry = EvacuationGeometry(walk, [Goal(k, g, outdoors=True) for k, g in goals.items() if not g.is_empty],
                                      walls=interior_fences(plant))
        events: list[ExitClosure | Blockage] = [ExitClosure(sc.blocked.from_s, m) for m in sc.blocked.muster_points]
        events += [Blockage(sc.blocked.from_s, poly) for poly in self.gate_blocks.values()]
        hazard, exposures = self.hazards_and_exposures()
        s = sc.simulation
        pm = sc.population.premovement
        params = EvacuationParams(dt_s=s.evacuation_dt_s, t_max_s=max(self.T, s.evacuation_max_s), alarm_time_s=max(alarm_s, 0.0),
                                  exposure_interval_s=2.0, seed=s.seed,
                                  navigation=plant_navigation(cell_m=s.nav_cell_m, replan_interval_s=s.replan_interval_s),
                                  output=OutputParams(trajectory_interval_s=s.trajectory_interval_s))
        pop = Population(xy, premovement=PreMovement(pm.kind, pm.a, pm.b), ids=ids)
        self.exposures = exposures
        # people who reached an outdoor muster point (or shelter, or were left behind) go on breathing
        # where they are until the drill ends, not only until the last person arrives
        return simulate_evacuation(geometry, pop, None, params, hazard=hazard, exposures=exposures, events=events,
                                   progress=progress, exposure_until_s=self.T)


def run_incident(loaded: LoadedScenario, *, evacuate: bool = True,
                 progress: Callable[[str], None] | None = None,
                 evacuation_progress: ProgressFn | None = None) -> IncidentResult:
    """Play one scenario (see the module docstring) and return the recorded :class:`IncidentResult`.

    ``progress`` is told each stage as it starts (``timeline``, ``evacuation``, ``metrics``), so a
    caller can show where a long run is; ``evacuation_progress(time_s, arrived, n)`` is told inside
    the evacuation stage every 10 s of simulated time (s) and at its end."""
    tell = progress or (lambda _stage: None)
    tw = _time.perf_counter()
    tell("timeline")
    inc = _Incident(loaded)
    inc.run_timeline()
    alarm = next((e.time_s for e in inc.events if e.kind == "alarm"), math.inf)
    evac = None
    events = list(inc.events)
    if evacuate:
        tell("evacuation")
        evac = inc.run_evacuation(alarm if np.isfinite(alarm) else inc.T, progress=evacuation_progress)
        for k, pid in enumerate(evac.ids):
            if np.isfinite(evac.start_moving_s[k]):
                events.append(IncidentEvent(float(evac.start_moving_s[k]), "departure", pid,
                                            {"premovement_s": float(evac.premovement_s[k])}))
            if np.isfinite(evac.arrival_time_s[k]):
                g = evac.goal_names[evac.arrival_goal[k]] if evac.arrival_goal[k] >= 0 else None
                events.append(IncidentEvent(float(evac.arrival_time_s[k]), "arrival", pid, {"muster_point": g}))
            if np.isfinite(evac.incapacitated_time_s[k]):
                events.append(IncidentEvent(float(evac.incapacitated_time_s[k]), "incapacitated", pid, {}))
    events.sort(key=lambda e: e.time_s)
    tell("metrics")
    metrics = _metrics(inc, events, evac, alarm)
    res = IncidentResult(inc.sc, inc.plant.id, events, inc.gas, inc.fires, evac, metrics, inc.detectors,
                         inc.sc.detection.sample_interval_s, inc.level, tuple(inc.plant.boundary.bounds))
    res.wall_time_s = _time.perf_counter() - tw
    res.metrics["wall_time_s"] = res.wall_time_s
    return res


def _metrics(inc: _Incident, events: list[IncidentEvent], evac: EvacuationResult | None, alarm: float) -> dict:
    det = [e.time_s for e in events if e.kind == "detection"]
    in_action = [e.time_s for e in events if e.kind == "engine_in_action"]
    m: dict[str, Any] = {
        "scenario": inc.sc.name, "plant": inc.plant.id, "shift": inc.shift, "duration_s": inc.T,
        "first_detection_s": _num(min(det)) if det else None,
        "detectors_in_alarm": len(det),
        "alarm_s": _num(alarm),
        "first_engine_in_action_s": _num(min(in_action)) if in_action else None,
        "escalations": [e.source for e in events if e.kind == "escalation"],
        "releases": {g.event_id: {"substance": g.substance.name, "rate_kg_s": g.rate_kg_s,
                                  "released_kg": g.train.total_mass_kg} for g in inc.gas},
    }
    if evac is not None:
        arrived = evac.arrival_time_s[np.isfinite(evac.arrival_time_s)]
        m.update({"people": evac.n, "arrived": int(len(arrived)),
                  "people_not_accounted_for": int(evac.n - len(arrived)),
                  "evacuation_complete_s": _num(evac.rset_s) if len(arrived) == evac.n else None,
                  "last_arrival_s": _num(arrived.max()) if len(arrived) else None,
                  "per_muster_point": {g: len(v) for g, v in evac.arrivals_by_goal().items()},
                  "incapacitated": int(np.isfinite(evac.incapacitated_time_s).sum()),
                  "deadlock": bool(evac.deadlock)})
        harm = [float(np.max(v)) for v in evac.harm_probability.values() if len(v)]
        m["max_harm_probability"] = max(harm) if harm else 0.0
        # the probit's toxic load C^n·t per channel (its own units), and for the toxic channels the
        # plain dose ∫C dt in mg·min/m³ (what the people table shows)
        m["max_toxic_load"] = {k: float(np.max(v)) if len(v) else 0.0 for k, v in evac.dose.items()}
        m["max_dose_mg_min_m3"] = {k.removeprefix("toxic_"): float(np.max(v)) / 60.0 if len(v) else 0.0
                                   for k, v in evac.field_integral.items() if k.startswith("toxic_")}
        above = np.zeros(evac.n, bool)
        for k, ref in getattr(inc, "aegl2_dose", {}).items():
            above |= evac.dose[k] >= ref
        m["people_above_aegl2_dose"] = int(above.sum())
    objectives = []
    for o in inc.sc.objectives:
        v = m.get(o.metric)
        objectives.append({"id": o.id, "metric": o.metric, "max": o.max, "value": v,
                           "met": v is not None and v <= o.max, "description": o.description})
    m["objectives"] = objectives
    return m
