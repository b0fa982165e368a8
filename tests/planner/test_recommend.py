"""Recommendations: safe routes on a time-dependent hazard, muster choice by
safety and capacity, shelter-in-place, API and MQTT publishing.

Safety criterion of every route check: the US EPA / NRC Acute Exposure Guideline Level AEGL-2
(30 min) of chlorine, 2.8 ppm = 8.12 mg/m³ at 25 °C (the level above which people may suffer
irreversible or escape-impairing effects), and 5 kW/m² of heat flux (ALOHA ORANGE).
"""
from __future__ import annotations

import copy
import json
import socket
import time
import uuid
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest
import yaml
from fastapi.testclient import TestClient

from safetwin.substances import get_substance
from safetwin.emergency_planner.recommend import HazardSpec, PuffField, RecommendParams, recommend
from safetwin.emergency_planner.recommend.scenario import recommend_scenario, scenario_people
from safetwin.emergency_planner.recommend.shelter import exposure_end_index, indoor_concentration, toxic_load_s
from safetwin.plant_models.loader import bundled_plant_path, load_plant
from safetwin.scenarios.loader import LIBRARY, load_scenario

DATA = Path(__file__).parent / "data"
CL2 = get_substance("chlorine")
AEGL2_CL2 = float(CL2.ppm_to_mg_m3(CL2.toxic.aegl_at(2, 1800.0)))  # US EPA/NRC AEGL-2 (30 min), mg/m³
FLUX_LIMIT = 5000.0


def dense_samples(route_xy: np.ndarray, route_t: np.ndarray, spacing_m: float = 0.25):
    """Points every ``spacing_m`` along a route (independent of the planner's own sampling) with the
    person's time at each, interpolated on the route's per-vertex times."""
    xy = np.asarray(route_xy, float)
    t = np.asarray(route_t, float)
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
    q = np.linspace(0.0, s[-1], max(2, int(np.ceil(s[-1] / spacing_m)) + 1))
    return np.interp(q, s, xy[:, 0]), np.interp(q, s, xy[:, 1]), np.interp(q, s, t)


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def chlorine():
    """The chlorine drum leak with the W -> SW wind shift at 300 s, recommended at the alarm time
    with foresight (the scenario's whole wind history: the routing on a time-dependent hazard)."""
    loaded = load_scenario("chlorine_drum_leak_wind_shift")
    res, rec = recommend_scenario(loaded, foresight=True)
    return loaded, res, rec


@pytest.fixture(scope="module")
def chlorine_no_shift(tmp_path_factory):
    doc = yaml.safe_load((LIBRARY / "chlorine_drum_leak_wind_shift.yaml").read_text(encoding="utf-8"))
    doc["name"] = "chlorine_no_shift"
    doc["weather"]["changes"] = []
    path = tmp_path_factory.mktemp("sc") / "chlorine_no_shift.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return recommend_scenario(load_scenario(path), foresight=True)[1]


@pytest.fixture(scope="module")
def small_plant():
    return load_plant(bundled_plant_path("small_plant"))


def blob(cx: float, cy: float, sigma_m: float, peak_mg_m3: float):
    """A steady Gaussian cloud of chlorine (mg/m³) centred on (cx, cy)."""
    def c(x, y, t):
        x, y, t = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float), np.asarray(t, float))
        return peak_mg_m3 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma_m**2))
    return c


# ------------------------------------------------------------------------------------------ exact field
def test_puff_field_equals_concentration_at(chlorine):
    """The fast evaluator used for the checks equals PuffTrain.concentration_at within 1e-5·c + 1e-4 mg/m³."""
    _, res, _ = chlorine
    tr = res.gas_sources[0].train
    rng = np.random.default_rng(7)
    x, y, t = rng.uniform(0, 900, 4000), rng.uniform(150, 600, 4000), rng.uniform(0, 1300, 4000)
    ref = tr.concentration_at(x, y, t)
    got = PuffField(tr)(x, y, t)
    assert ref.max() > 100 * AEGL2_CL2  # the sample does cover the cloud
    assert np.all(np.abs(got - ref) <= 1e-5 * ref + 1e-4)


# ------------------------------------------------------------------------------------------ routes
def test_every_route_is_below_aegl2_at_the_time_walked(chlorine):
    """Every recommended route, sampled every 0.25 m with the person's time there, stays at or below
    the chlorine AEGL-2 (30 min) concentration (US EPA/NRC) on the continuous puff field."""
    loaded, res, rec = chlorine
    tr = res.gas_sources[0].train
    pf = PuffField(tr)
    routed = [p for p in rec.people if p.route_xy is not None]
    assert len(routed) >= 0.7 * len(rec.people)
    xs, ys, ts = [], [], []
    for p in routed:
        assert np.allclose(p.route_xy[0], p.xy)  # starts where the person is
        assert p.route_t_s[0] == pytest.approx(rec.departure_s)
        seg = np.hypot(*np.diff(p.route_xy, axis=0).T)
        assert np.allclose(np.diff(p.route_t_s), seg / rec.params.speed_m_s)  # walked at 1.2 m/s
        m = loaded.plant.muster_points[p.muster_point]
        assert np.hypot(*(p.route_xy[-1] - np.asarray(m.position))) <= m.radius_m + 1e-6
        x, y, t = dense_samples(p.route_xy, p.route_t_s)
        xs.append(x), ys.append(y), ts.append(t)
    x, y, t = np.concatenate(xs), np.concatenate(ys), np.concatenate(ts)
    c = pf(x, y, t)
    assert c.max() <= AEGL2_CL2, f"route sample at {c.max():.3f} mg/m3 > AEGL-2 {AEGL2_CL2:.3f}"
    # cross-check the worst samples and a random subset with PuffTrain.concentration_at itself
    pick = np.unique(np.concatenate([np.argsort(c)[-200:], np.random.default_rng(1).choice(c.size, 1500)]))
    exact = tr.concentration_at(x[pick], y[pick], t[pick])
    assert exact.max() <= AEGL2_CL2
    assert not res.fires  # (no heat flux in this scenario: the 5 kW/m² check is vacuous here)


def test_wind_shift_changes_the_routes(chlorine, chlorine_no_shift, small_plant):
    """Not vacuous: without the hazard many routes would cross AEGL-2, and the wind shift changes
    which muster points are usable and where people are sent."""
    loaded, res, rec = chlorine
    ids, xy = scenario_people(loaded)
    free = recommend(loaded.plant, HazardSpec(toxic=[]), ids, xy, rec.t0_s)
    pf = PuffField(res.gas_sources[0].train)
    crossing = 0
    for p in free.people:
        x, y, t = dense_samples(p.route_xy, p.route_t_s, 1.0)
        crossing += bool(pf(x, y, t).max() > AEGL2_CL2)
    assert crossing >= 10, "hazard-free routes would not cross the cloud: the safety check proves nothing"
    shifted = {m.id for m in rec.muster if m.excluded}
    steady = {m.id for m in chlorine_no_shift.muster if m.excluded}
    assert shifted != steady  # the SW wind after 300 s carries the cloud onto another muster point
    changed = sum(a.muster_point != b.muster_point or (a.route_xy is None) != (b.route_xy is None)
                  for a, b in zip(rec.people, chlorine_no_shift.people))
    assert changed >= 10


def test_route_goes_around_a_cloud_on_the_straight_path(small_plant):
    """Constructed case: a steady cloud (peak 100 × AEGL-2) sits on the straight line to the muster point."""
    start = np.array([[80.0, 60.0]])
    hz = HazardSpec(toxic=[(blob(100.0, 40.0, 6.0, 100 * AEGL2_CL2), CL2)])
    rec = recommend(small_plant, hz, ["p"], start, 0.0)
    free = recommend(small_plant, HazardSpec(toxic=[]), ["p"], start, 0.0)
    p, f = rec.people[0], free.people[0]
    assert p.route_xy is not None and f.route_xy is not None
    x, y, t = dense_samples(p.route_xy, p.route_t_s)
    assert hz.toxic[0][0](x, y, t).max() <= AEGL2_CL2
    fx, fy, ft = dense_samples(f.route_xy, f.route_t_s)
    assert hz.toxic[0][0](fx, fy, ft).max() > 10 * AEGL2_CL2  # the direct route crosses the cloud
    assert np.hypot(x - 100.0, y - 40.0).min() > 15.0
    assert p.arrival_s > f.arrival_s + 5.0


def test_route_keeps_below_5_kw_m2_around_a_fire(small_plant):
    """Constructed fire: 40 kW/m² at the centre of the straight path, decaying as 1/d²; ignites at
    t = 0. Every sample of the route stays at or below 5 kW/m² (ALOHA ORANGE, second-degree burns)."""
    def q(x, y, t):
        x, y, t = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float), np.asarray(t, float))
        return np.where(t >= 0.0, 40000.0 * np.minimum(1.0, 64.0 / np.maximum((x - 100) ** 2 + (y - 40) ** 2, 1e-9)),
                        0.0)
    start = np.array([[80.0, 60.0]])
    rec = recommend(small_plant, HazardSpec(toxic=[], flux=q), ["p"], start, 0.0)
    p = rec.people[0]
    assert p.route_xy is not None
    x, y, t = dense_samples(p.route_xy, p.route_t_s)
    assert q(x, y, t).max() <= FLUX_LIMIT
    assert np.hypot(x - 100.0, y - 40.0).min() >= np.sqrt(40000.0 * 64.0 / FLUX_LIMIT) - 0.5
    assert "thermal" in p.dose and p.dose["thermal"] > 0


def test_route_can_pass_once_a_cloud_has_moved_on(small_plant):
    """Time dependence: a cloud that leaves the straight path before the person gets there does not
    cause a detour, one that arrives just in time does."""
    start = np.array([[80.0, 60.0]])

    def moving(t_leave):
        def c(x, y, t):
            x, y, t = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float), np.asarray(t, float))
            return np.where(t < t_leave, 100 * AEGL2_CL2 * np.exp(-((x - 100) ** 2 + (y - 40) ** 2) / 72.0), 0.0)
        return c

    gone = recommend(small_plant, HazardSpec(toxic=[(moving(30.0), CL2)]), ["p"], start, 0.0)
    there = recommend(small_plant, HazardSpec(toxic=[(moving(1e9), CL2)]), ["p"], start, 0.0)
    free = recommend(small_plant, HazardSpec(toxic=[]), ["p"], start, 0.0)
    assert gone.people[0].arrival_s == pytest.approx(free.people[0].arrival_s, abs=1.0)
    assert there.people[0].arrival_s > free.people[0].arrival_s + 5.0


# ------------------------------------------------------------------------------------------ muster
def test_muster_point_inside_the_cloud_is_never_chosen(small_plant):
    people = np.array([[90.0, 80.0], [95.0, 75.0], [85.0, 85.0], [110.0, 70.0]])
    ids = [f"p{k}" for k in range(len(people))]
    free = recommend(small_plant, HazardSpec(toxic=[]), ids, people, 0.0)
    assert {p.muster_point for p in free.people} == {"MP-1"}  # nearest without the cloud
    hz = HazardSpec(toxic=[(blob(120.0, 20.0, 10.0, 50 * AEGL2_CL2), CL2)])
    rec = recommend(small_plant, hz, ids, people, 0.0)
    assert next(m for m in rec.muster if m.id == "MP-1").excluded
    assert all(p.muster_point == "MP-2" for p in rec.people)
    for p in rec.people:
        x, y, t = dense_samples(p.route_xy, p.route_t_s)
        assert hz.toxic[0][0](x, y, t).max() <= AEGL2_CL2


def test_muster_capacity_is_respected(small_plant, chlorine):
    plant = copy.deepcopy(small_plant)
    plant.meta.muster_points[0].capacity = 3  # MP-1
    rng = np.random.default_rng(3)
    people = np.column_stack([rng.uniform(105, 125, 8), rng.uniform(45, 60, 8)])
    rec = recommend(plant, HazardSpec(toxic=[]), [f"p{k}" for k in range(8)], people, 0.0)
    counts = {m.id: m.assigned for m in rec.muster}
    assert counts == {"MP-1": 3, "MP-2": 5}
    assert not any(p.over_capacity for p in rec.people)
    # the three taken by MP-1 are the ones that reach it first relative to their alternative
    _, _, cl = chlorine
    for m in cl.muster:
        assert m.assigned <= m.capacity


# ------------------------------------------------------------------------------------------ shelter
def test_single_zone_indoor_concentration_step_is_analytic():
    """Single-zone model dCi/dt = λ(Co − Ci) (Wilson 1987; CCPS QRA guidelines): a step Co gives
    Ci(t) = Co (1 − e^{−λt}); checked within 1 % for 0.3, 1, 4 and 12 air changes per hour."""
    t = np.linspace(0.0, 3600.0, 121)
    co = np.full_like(t, 25.0)
    for ach in (0.3, 1.0, 4.0, 12.0):
        ci = indoor_concentration(t, co, ach)
        exact = 25.0 * (1 - np.exp(-ach / 3600.0 * t))
        assert np.allclose(ci[1:], exact[1:], rtol=0.01)
    # a passing cloud: indoors peaks lower and later, and the exposure ends once outdoors < indoors
    co = np.where((t > 300) & (t < 900), 25.0, 0.0)
    ci = indoor_concentration(t, co, 1.0)
    end = int(exposure_end_index(co, ci))
    assert ci.max() < 0.2 * co.max() and t[np.argmax(ci)] >= 870
    assert co[end] < ci[end] and t[end] >= 900 and co[end - 1] >= ci[end - 1]
    assert toxic_load_s(t, ci, 2.75, end) < toxic_load_s(t, co, 2.75)


def test_building_advice_is_consistent(chlorine):
    _, _, rec = chlorine
    advice = {b.building_id: b for b in rec.buildings}
    assert advice["B-CL2"].advice == "evacuate"  # at the leak: indoors is far above AEGL-2
    for b in rec.buildings:
        if b.advice == "shelter":
            assert b.indoor_dose_ratio < 1.0
            assert b.evacuate_dose_ratio is None or b.indoor_dose_ratio <= b.evacuate_dose_ratio
    for p in rec.people:
        if p.action == "shelter":
            assert advice[p.shelter_building].advice == "shelter"


def test_people_at_risk_have_doses_and_reasons(chlorine):
    _, _, rec = chlorine
    risk = rec.at_risk
    assert risk, "a 10 mm chlorine leak next to the units must put somebody at risk"
    for p in risk:
        assert max(p.dose_ratio, p.stay_dose_ratio) >= 1.0 or p.harm_probability >= 0.01 \
            or p.stay_harm_probability >= 0.01 or (p.route_xy is None and p.action != "shelter")
    staying = [p for p in rec.people if p.stay_dose_ratio >= 1.0]
    assert staying and all(p.at_risk for p in staying)
    doc = json.loads(json.dumps(rec.to_dict()))
    assert doc["summary"]["at_risk"] == len(risk)
    assert len(rec.area_instructions()) == len(load_scenario("chlorine_drum_leak_wind_shift").plant.areas)


def test_responder_routes_stay_out_of_the_cloud(chlorine):
    loaded, _, rec = chlorine
    assert rec.responders
    gates = {r.gate_id for r in rec.responders}
    assert gates <= {g.id for g in loaded.plant.gates.values()}
    for r in rec.responders:
        assert r.safe and r.max_ratio <= rec.params.verify_ratio
        src = next(s for s in HazardSpec.from_incident(chlorine[1]).sources if s.id == r.source_id)
        assert np.hypot(r.staging_xy[0] - src.xy_m[0], r.staging_xy[1] - src.xy_m[1]) >= 30.0


def test_bad_input_is_rejected_with_a_located_message(small_plant):
    with pytest.raises(ValueError, match=r"people_xy\[1\]"):
        recommend(small_plant, HazardSpec(toxic=[]), ["a", "b"], np.array([[1.0, 2.0], [np.nan, 2.0]]), 0.0)
    with pytest.raises(ValueError, match="people_ids"):
        recommend(small_plant, HazardSpec(toxic=[]), ["a"], np.zeros((2, 2)), 0.0)
    with pytest.raises(ValueError, match="speed_m_s"):
        RecommendParams(speed_m_s=0.0)


# ------------------------------------------------------------------------------------------ API
@pytest.fixture
def api(small_plant):
    from safetwin.app.api import build_api
    from safetwin.twin.state import TwinState

    app = build_api(TwinState(small_plant), tokens={"op": "operator", "plan": "planner", "eng": "engineer",
                                                     "mgr": "manager", "view": "viewer"})
    app.state.planner_scenario_dir = str(DATA)
    return TestClient(app)


def test_api_roles_and_run(api):
    h = lambda tok: {"Authorization": f"Bearer {tok}"}  # noqa: E731
    assert api.get("/planner/recommendations").status_code == 401
    assert api.get("/planner/recommendations", headers=h("nope")).status_code == 401
    assert api.get("/planner/recommendations", headers=h("view")).status_code == 403
    assert api.get("/planner/recommendations", headers=h("op")).status_code == 404  # nothing yet
    body = {"scenario": "small_cl2_wind_shift", "t0_s": 60.0}
    assert api.post("/planner/recommendations/run", json=body).status_code == 401
    assert api.post("/planner/recommendations/run", json=body, headers=h("mgr")).status_code == 403
    assert api.post("/planner/recommendations/run", json={"scenario": "../etc/x"}, headers=h("plan")).status_code == 422
    assert api.post("/planner/recommendations/run", json={"scenario": "nope"}, headers=h("plan")).status_code == 404
    r = api.post("/planner/recommendations/run", json={"scenario": "chlorine_drum_leak_wind_shift"}, headers=h("op"))
    assert r.status_code == 422 and "plant" in r.json()["detail"]  # demo-plant scenario on the small-plant twin
    r = api.post("/planner/recommendations/run", json=body, headers=h("plan"))
    assert r.status_code == 200, r.text
    assert r.json()["t0_s"] == 60.0
    for tok in ("op", "plan", "eng", "mgr"):
        g = api.get("/planner/recommendations", headers=h(tok))
        assert g.status_code == 200
    doc = g.json()["recommendations"]
    assert doc["plant"] == "small_plant" and len(doc["people"]) == 20 and len(doc["areas"]) == 2


# ------------------------------------------------------------------------------------------ MQTT
def test_publish_one_retained_instruction_per_area(chlorine):
    """Against the real Mosquitto broker: one retained evacuation instruction per area."""
    from safetwin.live_bridge.connection import MqttConnection
    from safetwin.live_bridge.outbound import Publisher
    from safetwin.live_bridge.topics import Topics
    from safetwin.app.settings import get_settings

    s = get_settings()
    try:
        socket.create_connection((s.mqtt_host, s.mqtt_port), timeout=2).close()
    except OSError as exc:
        pytest.fail(f"MQTT broker {s.mqtt_host}:{s.mqtt_port} unreachable ({exc})")
    _, _, rec = chlorine
    site = "t" + uuid.uuid4().hex[:10]
    conn = MqttConnection("rec-" + uuid.uuid4().hex[:8], s.mqtt_host, s.mqtt_port, persistent=False).start()
    try:
        n = Publisher(conn, Topics(site)).evacuation_instructions(rec)
    finally:
        conn.stop()
    got: dict[str, dict] = {}
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sub-" + uuid.uuid4().hex[:8], protocol=mqtt.MQTTv5)
    c.on_message = lambda cl, u, m: got.__setitem__(m.topic, {"retain": m.retain, **json.loads(m.payload)}) \
        if m.payload else None
    c.connect(s.mqtt_host, s.mqtt_port)
    c.loop_start()
    try:
        c.subscribe(f"pst/v1/{site}/twin/evac/#", qos=1)
        deadline = time.monotonic() + 10
        while len(got) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        expect = {a.area_id: a for a in rec.areas}
        assert n == len(expect) and len(got) == n
        for topic, doc in got.items():
            assert doc["retain"] is True
            area = topic.rsplit("/", 1)[1]
            assert doc["area"] == area and area in expect
            assert doc["action"] == {"none": "all_clear"}.get(expect[area].action, expect[area].action)
            assert doc["route"] == expect[area].route and doc["muster_point"] == expect[area].muster_point
    finally:
        c.unsubscribe(f"pst/v1/{site}/twin/evac/#")
        for topic in list(got):
            c.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        c.disconnect()
        c.loop_stop()
