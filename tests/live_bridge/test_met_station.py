"""The site's met station as live weather: the simulated MET-01 over the real broker into the bridge's
twin, ``GET /state/weather`` showing it with its stability class, and the visible fallback once it
stops; bad met records refused with a reason and counted."""
from __future__ import annotations

import json
import time

from fastapi.testclient import TestClient

from safetwin.app.api import build_api
from safetwin.app.weather_routes import set_weather_source
from safetwin.emergency_planner.live.weather import LiveWeatherSource
from safetwin.emergency_planner.physics.weather import Weather
from safetwin.live_bridge.bridge import LiveBridge
from safetwin.live_bridge.ingest import Ingestor
from safetwin.live_bridge.payloads import iso_ms
from safetwin.live_bridge.simulator import PlantSimulator, SimConfig
from safetwin.live_bridge.topics import Topics
from safetwin.twin.state import TwinState

from .conftest import clear_retained, wait_for

AUTH = {"Authorization": "Bearer t"}


def test_simulated_station_over_the_broker_is_the_live_weather_then_falls_back(demo_plant, bridge_config, broker):
    """MET-01 of the simulated plant publishes 2.5 m/s from 315°, class E, at night (ΔT > 0): the twin's
    weather is MET-01, SRDT class E; when the station goes silent, the API shows it stale, then the
    fallback wind, and says so."""
    start = time.time()
    sim = PlantSimulator(demo_plant, bridge_config.site, SimConfig(seed=2, fault_rate_per_h=0.0, people=0, rate=5.0),
                         wind=lambda t_s: (1.8, 315.0), stability="E", start_ts=start)
    clock = {"now": None}
    try:
        with LiveBridge(demo_plant, bridge_config) as bridge:
            api = build_api(bridge.state, tokens={"t": "viewer"})
            source = LiveWeatherSource(bridge.state, Weather(4.0, 90.0, "D"), clock=lambda: clock["now"] or time.time())
            set_weather_source(api, source)
            client = TestClient(api)
            sim.run(*broker, seconds=4.0)
            assert wait_for(lambda: bridge.state.met_observation() is not None, timeout=30)
            obs = bridge.state.met_observation()
            assert obs.station_id == "MET-01" and obs.quality == "ok" and abs(obs.wind_from_deg - 315.0) < 10.0
            doc = client.get("/state/weather", headers=AUTH).json()
            assert doc["source"] == "MET-01" and doc["status"] == "ok" and doc["fallback"] is False
            night = doc["classes"].get("SRDT") in ("E", "F") and doc["observation"]["solar_w_m2"] == 0.0
            assert doc["stability"] == ("E" if night else doc["classes"]["SRDT"]) and doc["stability_method"] == "SRDT"
            assert doc["note"].startswith("wind: MET-01 1.8 m/s") or doc["note"].startswith("wind: MET-01 1.7 m/s") \
                or doc["note"].startswith("wind: MET-01 1.9 m/s")
            # the station stops: 3 periods later it is stale (its last record held), 15 min later the fallback
            clock["now"] = obs.ts + 60.0
            doc = client.get("/state/weather", headers=AUTH).json()
            assert doc["status"] == "stale" and doc["fallback"] is True and "stale" in doc["note"]
            clock["now"] = obs.ts + 1000.0
            doc = client.get("/state/weather", headers=AUTH).json()
            assert (doc["source"], doc["wind_from_deg"], doc["stability"]) == ("fallback", 90.0, "D")
            assert doc["note"].startswith("wind: fallback 4 m/s from 90°, class D (MET-01 stale")
            assert bridge.stats()["rejected"] == {}
    finally:
        clear_retained(*broker, bridge_config.site)


def _met(sid="MET-01", seq=1, **kw) -> bytes:
    return json.dumps({"sid": sid, "seq": seq, "ts": iso_ms(time.time()), "wind_speed_m_s": 3.0,
                       "wind_from_deg": 270.0, **kw}).encode()


def test_bad_met_records_are_refused_or_shown_as_a_station_fault(demo_plant, small_plant):
    state = TwinState(demo_plant)
    ing = Ingestor(state, "s1")
    t = Topics("s1")
    cases = [
        (t.met("MET-01"), _met(sid="MET-02"), "topic_mismatch"),
        (t.met("MET-09"), _met(sid="MET-09"), "unknown_sensor"),
        (t.met("GD-CL-01"), _met(sid="GD-CL-01"), "not_a_met_station"),
        (t.met("MET-01"), _met(wind_speed_m_s=True), "invalid_field"),
        (t.met("MET-01"), b'{"sid":"MET-01","seq":1,"ts":"2025-06-01T12:00:00","wind_speed_m_s":1}', "invalid_field"),
        (t.met("MET-01"), _met(sigma_theta_deg=float("inf")), "malformed_json"),
    ]
    for topic, payload, why in cases:
        out = ing.handle(topic, payload)
        assert out.rejected == 1 and out.reason == why, (payload, out)
    # a station that does not list ΔT in its measures cannot send it
    out = Ingestor(TwinState(small_plant), "s1").handle(t.met("MET-1"), _met(sid="MET-1", delta_t_k=0.3))
    assert (out.rejected, out.reason) == (1, "undeclared_quantity")
    # an impossible wind speed keeps the record, as a station fault, and is counted
    assert ing.handle(t.met("MET-01"), _met(seq=2, wind_speed_m_s=99.0)).applied == 1
    assert state.met_observation().quality == "fault" and ing.rejects.snapshot()["flags"]["met_fault"] == 1
    # a good record replaces it; a replay of the same sequence number is a duplicate
    good = _met(seq=3)
    assert ing.handle(t.met("MET-01"), good).applied == 1 and state.met_observation().quality == "ok"
    assert ing.handle(t.met("MET-01"), good).reason == "duplicate"
