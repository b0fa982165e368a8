"""Gas tests judge a gas by what it is: every alias of a substance, every hazard it has, every detector
of the demo plant.

Limits: GB 30871-2022 5.3.2 (flammables by LEL), GBZ 2.1-2019 (toxics: NH3 PC-TWA 20 mg/m³, H2S MAC
10 mg/m³, Cl2 MAC 1 mg/m³), GB 30871-2022 6.4 b (confined space: every gas with a limit).
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from safetwin.substances import canonical_name, get_substance
from safetwin.twin.api.app import create_app
from safetwin.twin.state import TwinState
from safetwin.twin.workflows.errors import GuardFailed
from safetwin.twin.workflows.gas import judge, toxic_limit
from safetwin.twin.workflows.rulepack import load_pack
from wfhelpers import PASSWORD, T0, make_service

GB = load_pack("gb30871_2022")
GAS_TYPES = ("flammable_gas", "toxic_gas")


@pytest.mark.parametrize("alias", ["ammonia", "NH3", "nh3", "Ammonia", "液氨", "氨气"])
def test_ammonia_at_200_ppm_fails_under_every_name(alias):
    ok, why, _ = judge(GB, alias, 200.0, "ppm", "hot_work")
    assert not ok and "139 mg/m3 > 20 mg/m3" in why and "PC-TWA" in why


@pytest.mark.parametrize("gas,value,unit,ok", [
    ("H2S", 6.0, "ppm", True), ("hydrogen_sulfide", 8.0, "ppm", False),   # MAC 10 mg/m³ = 7.2 ppm
    ("chlorine", 0.3, "ppm", True), ("Cl2", 0.5, "ppm", False),           # MAC 1 mg/m³ = 0.34 ppm
    ("ammonia", 25.0, "ppm", True), ("ammonia", 30.0, "ppm", False),      # PC-TWA 20 mg/m³ = 28.7 ppm
    ("O2", 20.9, "%vol", True), ("oxygen", 19.0, "%vol", False),
])
def test_toxic_and_oxygen_limits(gas, value, unit, ok):
    assert judge(GB, gas, value, unit, "hot_work")[0] is ok


def test_chronic_limits_apply_in_confined_spaces_only():
    # 5 %LEL hexane = 0.055 %vol = 194 mg/m³: within 5.3.2 (0.2 %vol), above GBZ 2.1 PC-TWA 100 mg/m³
    assert judge(GB, "hexane", 5.0, "%LEL", "hot_work")[0]
    ok, why, _ = judge(GB, "hexane", 5.0, "%LEL", "confined_space")
    assert not ok and "> 100 mg/m3" in why


def test_unknown_gas_suggests_and_bad_units_are_refused():
    with pytest.raises(GuardFailed, match="did you mean 'ammonia'"):
        judge(GB, "amonia", 1.0, "ppm")
    with pytest.raises(GuardFailed, match="has no LEL"):
        judge(GB, "chlorine", 5.0, "%LEL")
    with pytest.raises(GuardFailed, match="not a concentration"):
        judge(GB, "methane", 5.0, "bar")


def test_every_demo_detector_gas_has_its_limit(demo_plant):
    gas_sensors = [s for s in demo_plant.sensors.values() if s.type.value in GAS_TYPES]
    assert len(gas_sensors) >= 50
    for s in gas_sensors:
        sub = get_substance(s.gas)
        name = canonical_name(s.gas)
        limit = toxic_limit(GB, name, "hot_work")
        assert sub.lfl_vol_frac is not None or limit is not None, s.id
        ok_zero, why, _ = judge(GB, s.gas, 0.0, s.unit, "hot_work")
        assert ok_zero, (s.id, why)
        # the detector's full-scale reading fails: it is above the substance's limit
        ok_full, why, _ = judge(GB, s.gas, s.range_max, s.unit, "hot_work")
        assert not ok_full, (s.id, s.gas, s.range_max, s.unit, why)


def test_every_demo_detector_serves_a_live_gas_test(store, demo_plant, clock, memory, actors):
    """Through the service with the live twin: a permit next to each detector, a clean reading passes,
    a reading at the detector's high-high alarm fails with its substance's limit named."""
    from wfhelpers import certify

    svc = make_service(store.engine, demo_plant, clock, memory)
    certify(svc, actors, "bob", "hot_work")
    certify(svc, actors, "gus", "guardian")
    state = TwinState(demo_plant)
    svc.attach(state)
    ts = clock().timestamp() - 30
    for s in (s for s in demo_plant.sensors.values() if s.type.value in GAS_TYPES):
        x, y = s.position
        p = svc.create_permit(actors["ann"], type="hot_work", level="first", title=f"work at {s.id}",
                              work_polygon=[(x + 1, y + 1), (x + 4, y + 1), (x + 4, y + 4), (x + 1, y + 4)],
                              holder="bob", guardian="gus", jha="sparks", planned_start=T0,
                              planned_end=T0 + timedelta(hours=4))
        svc.permit_action(actors["ann"], p.id, "submit")
        state.apply_reading(s.id, 0.0, ts=ts)
        t = svc.add_gas_test(actors["gus"], p.id, sensor_id=s.id).gas_tests[-1]
        assert t.passed and t.source == "sensor", (s.id, t.reason)
        state.apply_reading(s.id, s.alarm.high_high, ts=ts + 1)
        t = svc.add_gas_test(actors["gus"], p.id, sensor_id=s.id).gas_tests[-1]
        assert not t.passed and ("mg/m3 >" in t.reason or "%vol >" in t.reason), (s.id, t.reason)
        svc.permit_action(actors["ann"], p.id, "cancel", reason="test done")  # no SIMOPS with the next one
    svc.close()


def test_portable_200_ppm_ammonia_fails_through_the_api(svc, small_plant, actors):
    from wfhelpers import certify

    certify(svc, actors, "bob", "hot_work")
    certify(svc, actors, "gus", "guardian")
    client = TestClient(create_app(TwinState(small_plant), workflows=svc))

    def h(user):
        r = client.post("/auth/token", data={"username": user, "password": PASSWORD})
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    body = {"type": "hot_work", "level": "first", "title": "weld", "holder": "bob", "guardian": "gus", "jha": "sparks",
            "work_polygon": [[40, 40], [46, 40], [46, 46], [40, 46]], "planned_start": T0.isoformat(),
            "planned_end": (T0 + timedelta(hours=4)).isoformat()}
    r = client.post("/permits", json=body, headers=h("ann"))
    assert r.status_code in (200, 201), r.text
    pid = r.json()["id"]
    assert client.post(f"/permits/{pid}/submit", headers=h("ann")).status_code == 200
    sampled = (svc.clock() - timedelta(minutes=2)).isoformat()
    for gas in ("ammonia", "NH3"):
        r = client.post(f"/permits/{pid}/gas-tests", json={"gas": gas, "value": 200, "unit": "ppm", "sampled_at": sampled},
                        headers=h("gus"))
        assert r.status_code == 200, r.text
        last = r.json()["gas_tests"][-1]
        assert last["passed"] is False and "> 20 mg/m3" in last["reason"], last
