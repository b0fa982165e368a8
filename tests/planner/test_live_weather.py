"""Live weather: stability from the site's met station by the EPA methods (EPA-454/R-99-005), the
wind's uncertainty, and a visible fallback when the station is stale, missing or faulty."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from safetwin.emergency_planner.live.weather import live_weather
from safetwin.emergency_planner.physics.stability import is_epa_night, sigma_a_class, srdt_class
from safetwin.emergency_planner.physics.weather import Weather
from safetwin.plant_models.export import site_latlon_deg
from safetwin.twin.weather import MetObservation, screen_observation

# 2025-06-16 at the demo plant (32.3° N, 118.8° E, UTC+8): sunrise ≈ 04:59, sunset ≈ 19:13 local
NOON = datetime(2025, 6, 16, 4, 0, tzinfo=timezone.utc).timestamp()
MIDNIGHT = datetime(2025, 6, 15, 16, 0, tzinfo=timezone.utc).timestamp()
FALLBACK = Weather(2.0, 90.0, "F")


def test_sigma_a_method_with_the_wind_speed_adjustments():
    """EPA-454/R-99-005 §6.4.4: initial class from σA (15 cm roughness), then by day A/B/C move
    towards D as the wind rises and D/E/F become D; by night A and B become F, E or D and C becomes
    E or D by the wind speed, D/E/F stay."""
    day = [sigma_a_class(s, u, is_night=False) for s, u in ((25, 2.5), (25, 3.5), (25, 5), (25, 7), (20, 4.5),
                                                              (15, 5.9), (15, 6.0), (5, 1.0), (2, 1.0))]
    assert day == ["A", "B", "C", "D", "C", "C", "D", "D", "D"]
    night = [sigma_a_class(s, u, is_night=True) for s, u in ((25, 2.8), (25, 3.0), (25, 4.0), (20, 2.0), (20, 2.7),
                                                               (15, 2.0), (15, 3.0), (10, 1.0), (5, 1.0), (2, 1.0))]
    assert night == ["F", "E", "D", "F", "E", "E", "D", "D", "E", "F"]
    # a rougher site: the σA bounds scale by (z0 / 15 cm)^0.2 — at 1 m the C bound is 12.5·1.46 = 18.2 deg,
    # so 13 deg (C at 15 cm) is D there
    assert sigma_a_class(13.0, 2.0, is_night=False) == "C"
    assert sigma_a_class(13.0, 2.0, is_night=False, roughness_m=1.0) == "D"


def test_srdt_table():
    """EPA-454/R-99-005 Table 6-7 (solar radiation by day, the sign of ΔT at night)."""
    assert [srdt_class(u, solar_radiation_w_m2=r) for u, r in ((1.5, 950), (1.5, 700), (1.5, 300), (1.5, 100),
                                                               (2.5, 700), (4, 300), (5.5, 950), (7, 800))] == \
        ["A", "A", "B", "D", "B", "C", "C", "D"]
    assert [srdt_class(u, delta_t_dz_k_m=dt, is_night=True) for u, dt in ((1.5, -0.1), (1.5, 0.2), (2.2, -0.1),
                                                                          (2.2, 0.2), (3.0, 0.2))] == \
        ["E", "F", "D", "E", "D"]


def test_night_is_from_an_hour_before_sunset_to_an_hour_after_sunrise(demo_plant):
    lat, lon = site_latlon_deg(demo_plant)
    local = lambda h, m: datetime(2025, 6, 16, h - 8 if h >= 8 else h + 16, m, tzinfo=timezone.utc)  # noqa: E731
    assert not is_epa_night(local(12, 0), lat, lon)
    assert is_epa_night(local(5, 30), lat, lon)        # 30 min after sunrise
    assert not is_epa_night(local(6, 30), lat, lon)    # 90 min after sunrise
    assert is_epa_night(local(18, 30), lat, lon)       # 45 min before sunset
    assert not is_epa_night(local(17, 30), lat, lon)


def _obs(ts: float, **kw) -> MetObservation:
    base = dict(wind_speed_m_s=3.0, wind_from_deg=270.0, sigma_theta_deg=10.0, solar_w_m2=450.0, delta_t_k=-0.3)
    base.update(kw)
    return screen_observation(MetObservation("MET-01", ts=ts, **base))


def test_live_weather_from_the_station(demo_plant):
    w = live_weather(_obs(NOON), demo_plant, now_ts=NOON + 4.0, fallback=FALLBACK)
    assert (w.source, w.status, w.stability_method, w.weather.pasquill_class()) == ("MET-01", "ok", "SRDT", "C")
    assert w.classes == {"SRDT": "C", "sigma-A": "D"} and not w.fallback
    assert w.from_sigma_deg == pytest.approx((5.0**2 + 10.0**2) ** 0.5)
    wind = w.wind_input()
    assert (wind.from_deg, wind.stability, wind.speed_m_s) == (270.0, "C", 3.0) and "MET-01" in wind.source
    # no radiation and no ΔT: the σA method; at night with ΔT ≥ 0 and 1.5 m/s: SRDT F
    w = live_weather(_obs(NOON, solar_w_m2=None, delta_t_k=None), demo_plant, now_ts=NOON, fallback=FALLBACK)
    assert (w.stability_method, w.weather.pasquill_class()) == ("sigma-A", "D")
    w = live_weather(_obs(MIDNIGHT, wind_speed_m_s=1.5, sigma_theta_deg=3.0, solar_w_m2=0.0, delta_t_k=0.4),
                     demo_plant, now_ts=MIDNIGHT, fallback=FALLBACK)
    assert (w.stability_method, w.weather.pasquill_class(), w.classes["sigma-A"]) == ("SRDT", "F", "F")
    assert "night" in w.note


def test_a_stale_missing_or_faulty_station_falls_back_visibly(demo_plant):
    held = live_weather(_obs(NOON), demo_plant, now_ts=NOON + 120.0, fallback=FALLBACK)   # 12 periods of 10 s
    assert held.status == "stale" and held.source == "MET-01" and held.fallback
    assert held.from_sigma_deg > live_weather(_obs(NOON), demo_plant, now_ts=NOON, fallback=FALLBACK).from_sigma_deg
    assert "stale" in held.note and "120 s old" in held.note
    for obs, now, status in ((_obs(NOON), NOON + 1200.0, "stale"), (None, NOON, "missing"),
                             (_obs(NOON, wind_speed_m_s=99.0), NOON + 1.0, "fault")):
        w = live_weather(obs, demo_plant, now_ts=now, fallback=FALLBACK)
        assert (w.source, w.status, w.weather.wind_from_deg, w.weather.pasquill_class()) == ("fallback", status, 90.0, "F")
        assert w.note.startswith("wind: fallback 2 m/s from 90°, class F (MET-01 " + status)
        assert w.wind_input().from_sigma_deg == 45.0 and w.wind_input().source == w.note
        assert w.summary()["fallback"] is True


def test_screening_marks_impossible_records_faulty():
    assert _obs(NOON).quality == "ok"
    assert _obs(NOON, sigma_theta_deg=120.0).reason == "sigma_theta_deg 120 outside 0..104"
    assert _obs(NOON, wind_from_deg=None).reason == "no wind in the record"
    assert screen_observation(MetObservation("MET-01", NOON, wind_speed_m_s=2.0, wind_from_deg=10.0), "uncertain").quality \
        == "suspect"
