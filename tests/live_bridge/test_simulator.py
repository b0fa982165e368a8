"""The simulated plant: people on the road graph, detectors reading the given plume, faults, and the whole
simulator through the real broker into a running bridge (every sensor and person seen; a plume
over a detector raises its alarm)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import shapely

from safetwin.emergency_planner.physics.dispersion import plume_as_function
from safetwin.emergency_planner.physics.sigmas import PasquillSigmas
from safetwin.live_bridge.bridge import LiveBridge
from safetwin.live_bridge.simulator import PlantSimulator, SimConfig
from safetwin.plant_models.geometry import road_graph
from safetwin.substances import get_substance
from safetwin.twin.store import Store

from .conftest import wait_for


def test_people_walk_along_the_roads(small_plant):
    sim = PlantSimulator(small_plant, "s1", SimConfig(seed=2, fault_rate_per_h=0.0), start_ts=1.75e9)
    assert sim.roads is road_graph(small_plant)        # the plant's one road graph
    roads = shapely.unary_union([r.geometry for r in small_plant.layer("roads").values()])
    a, b = (50.0, 30.0), (150.0, 120.0)
    route = sim.roads.route(a, b)
    assert route[0] == a and route[-1] == b and len(route) >= 3
    for x, y in route[1:-1]:                       # every intermediate point lies on a road
        assert roads.distance(shapely.Point(x, y)) < 1e-6
    length = sum(math.dist(p, q) for p, q in zip(route, route[1:]))
    assert length >= math.dist(a, b) - 1e-9


def test_detectors_read_the_concentration_they_are_given(small_plant):
    """A uniform 1000 mg/m³ of gasoline (no noise, no drift): every %LEL head reads 100·1000/LFL,
    every chlorine head reads nothing (hand-computed from the LFL of the substance table)."""
    quiet = SimConfig(seed=1, fault_rate_per_h=0.0, noise_frac=0.0, drift_frac=0.0, people=0)
    sim = PlantSimulator(small_plant, "s1", quiet, start_ts=1.75e9, substance="gasoline",
                         concentration=lambda x, y, t: np.full(np.shape(x), 1000.0))
    clean = PlantSimulator(small_plant, "s1", quiet, start_ts=1.75e9)
    seen, base = {}, {}
    for s, out in ((sim, seen), (clean, base)):
        for k in range(1, 31):
            for m in s.advance(float(k)):
                if m.topic.endswith("/readings"):
                    out.update({e["sid"]: e["v"] for e in json.loads(m.payload)["r"]})
    lel = 100.0 * 1000.0 / get_substance("gasoline").lfl_mg_m3
    for sid, sensor in small_plant.sensors.items():
        if sensor.unit == "%LEL":
            assert seen[sid] == pytest.approx(base[sid] + lel, abs=1e-3), sid
        elif sensor.gas == "chlorine":
            assert seen[sid] == base[sid], sid


def test_readings_have_noise_and_faults_and_people_walk(small_plant):
    sim = PlantSimulator(small_plant, "s1", SimConfig(seed=5, rate=2.0, fault_rate_per_h=40.0,
                                                      fault_duration_s=(20.0, 40.0)), start_ts=1.75e9)
    msgs = sim.start_messages()
    assert {m.topic.rsplit("/", 2)[-2] for m in msgs if m.topic.endswith("/state")} == set(small_plant.equipment)
    values: dict[str, list] = {}
    met: list[dict] = []
    first_pos: dict[str, tuple] = {}
    last_pos: dict[str, tuple] = {}
    for k in range(1, 1801):                       # 30 min of plant time
        for m in sim.advance(k * 1.0):
            d = json.loads(m.payload)
            if m.topic.endswith("/obs"):
                met.append(d)
            elif m.topic.endswith("/readings"):
                for e in d["r"]:
                    values.setdefault(e["sid"], []).append((e["v"], e.get("q", "good")))
            elif m.topic.endswith("/locations"):
                for loc in d["locations"]:
                    first_pos.setdefault(loc["trackables"][0], tuple(loc["position"]["coordinates"]))
                    last_pos[loc["trackables"][0]] = tuple(loc["position"]["coordinates"])
    stations = {sid for sid, s in small_plant.sensors.items() if s.type.value == "weather"}
    assert set(values) == set(small_plant.sensors) - stations           # the station sends records, not readings
    assert {d["sid"] for d in met} == stations
    # the station's records: wind and σθ as declared, faults like the detectors' (a gap = a dropout)
    assert all({"wind_speed_m_s", "wind_from_deg", "sigma_theta_deg"} <= set(d) for d in met)
    period = small_plant.sensors["MET-1"].period_s / 2.0
    assert len(met) < 1800 / period and any(d.get("q") == "bad" or d["wind_speed_m_s"] > 75 for d in met)
    gd = [v for v, q in values["GD-02"] if v is not None]
    assert np.std(gd) > 0                           # noise
    s = small_plant.sensors["GD-02"]
    bad = sum(1 for vs in values.values() for v, q in vs if q == "bad" and v is None)
    oor = sum(1 for sid, vs in values.items() for v, q in vs
              if v is not None and v > small_plant.sensors[sid].range_max)
    stuck = max(max(len(list(run)) for _, run in __import__("itertools").groupby(v for v, _ in vs)) for vs in values.values())
    expected = 1800 / s.period_s * 2.0              # without dropouts
    assert bad > 0 and oor > 0 and stuck >= 5
    assert min(len(vs) for vs in values.values()) < expected  # some dropouts
    moved = [p for p in first_pos if math.dist(first_pos[p], last_pos[p]) > 5.0]
    assert len(first_pos) == len(sim.walkers) and len(moved) >= len(sim.walkers) // 2


def test_simulated_plant_through_broker_into_bridge(small_plant, bridge_config, broker):
    from .conftest import clear_retained
    x, y = small_plant.sensors["GD-01"].position
    # gasoline released 10 m west of GD-01, wind from the west at 4 m/s: arrives after 2.5 s
    conc = plume_as_function(source_xy_m=(x - 10.0, y), wind_from_deg=270.0, rate_kg_s=3.0, wind_speed_m_s=4.0,
                             sigmas=PasquillSigmas("D"), release_height_m=1.0)
    sim = PlantSimulator(small_plant, bridge_config.site, SimConfig(rate=5.0, seed=11, fault_rate_per_h=0.0),
                         concentration=conc, substance="gasoline")
    try:
        with LiveBridge(small_plant, bridge_config) as b:
            counts = sim.run(*broker, seconds=5.0)
            assert wait_for(lambda: b.stats()["readings_history"] >= counts["readings"], timeout=60), b.stats()
            stations = {sid for sid, s in small_plant.sensors.items() if s.type.value == "weather"}
            assert set(b.state.readings()) == set(small_plant.sensors) - stations   # every detector
            assert wait_for(lambda: b.state.met_observation() is not None, timeout=30)  # the weather station
            assert b.state.met_observation().station_id in stations and b.state.met_observation().quality == "ok"
            assert b.state.head_count == len(sim.walkers) > 0                   # every person
            assert set(b.state.equipment_states()) == set(small_plant.equipment)
            assert wait_for(lambda: any(a.alarm_id == "GD-01_LVL" for a in b.state.active_alarms()), timeout=30)
            lvl = [a for a in b.state.active_alarms() if a.alarm_id == "GD-01_LVL"][0]
            assert lvl.level == "HH"
            # chlorine detectors do not respond to a gasoline plume
            assert not [a for a in b.state.active_alarms() if a.alarm_id.startswith("CL-") and "_LVL" in a.alarm_id]
            assert b.stats()["rejected"] == {}
        with Store.open(bridge_config.db_url) as store:
            assert store.count_readings() == counts["readings"]
            assert store.count_positions() == counts["positions"]
    finally:
        clear_retained(*broker, bridge_config.site)
