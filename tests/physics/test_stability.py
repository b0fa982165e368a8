"""Stability: reference case D5 (the Pasquill–Turner key, Turner 1970), Golder mapping, power law (ISC3)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from safetwin.emergency_planner.physics.stability import (
    golder_class_from_L, pasquill_class_from_weather, pasquill_class_key, resolve_class, sigma_theta_class,
    solar_altitude_deg, srdt_class, turner_class, wind_speed_at_height)


def test_d5_pasquill_key() -> None:
    """Source: D5, the Pasquill–Turner key (Turner 1970): day 2.5 strong → A–B; day 4 moderate → B–C;
    night 2.5 clear → F; night 4 cloudy → D."""
    assert pasquill_class_key(2.5, is_day=True, insolation="strong") == "A-B"
    assert pasquill_class_key(4.0, is_day=True, insolation="moderate") == "B-C"
    assert pasquill_class_key(2.5, is_day=False, cloud_fraction=0.1) == "F"
    assert pasquill_class_key(4.0, is_day=False, cloud_fraction=0.8) == "D"
    assert pasquill_class_key(1.0, is_day=True, insolation="strong", heavy_overcast=True) == "D"
    assert resolve_class("A-B") == "B" and resolve_class("A-B", conservative=False) == "A"


def test_d5_turner_and_srdt() -> None:
    """Source: D5, Turner (1964) NRI and EPA SRDT: Turner summer noon clear (a=65°) 6 kt → B; night clear 3 kt → G; SRDT 800 W/m², 2.5 m/s → B."""
    assert turner_class(6 * 0.514444, 65.0, cloud_tenths=0) == "B"
    assert turner_class(3 * 0.514444, -10.0, cloud_tenths=0) == "G"
    assert srdt_class(2.5, solar_radiation_w_m2=800.0) == "B"
    assert srdt_class(1.5, delta_t_dz_k_m=0.02, is_night=True) == "F"


def test_golder_matches_reference_classification() -> None:
    """Source: Golder 1972 with the Prairie Grass z0 = 0.006 m (Barad 1958): PG run 22 (L = 204 m) is class D; strongly
    unstable L = −5 m is A; stable L = 8 m is F."""
    assert golder_class_from_L(204.0, 0.006) == "D"
    assert golder_class_from_L(-5.0, 0.006) == "A"
    assert golder_class_from_L(8.0, 0.006) == "F"
    assert golder_class_from_L(float("inf"), 0.1) == "D"


def test_power_law_and_sigma_theta() -> None:
    """Source: ISC3 rural wind-profile exponents (EPA-454/B-95-003b) and the σA method (EPA-454/R-99-005)."""
    assert float(wind_speed_at_height(2.0, 10.0, "F", z_ref_m=2.0)) == pytest.approx(2.0 * 5**0.55)
    assert float(wind_speed_at_height(5.0, 50.0, "D", terrain="urban")) == pytest.approx(5.0 * 5**0.25)
    assert sigma_theta_class(20.0) == "B" and sigma_theta_class(3.0) == "F"


def test_solar_altitude_and_weather_class() -> None:
    """Source: NOAA solar position (low-precision); Pasquill–Turner key. Summer-solstice noon at 40° N:
    altitude ≈ 73.4°; clear day 2.5 m/s → A–B → B (conservative); clear night 2.5 m/s → F."""
    noon = datetime(2024, 6, 21, 12, 2, tzinfo=timezone.utc)
    assert solar_altitude_deg(noon, 40.0, 0.0) == pytest.approx(73.4, abs=0.5)
    assert pasquill_class_from_weather(2.5, noon, 40.0, 0.0, 0.0) == "B"
    night = datetime(2024, 6, 21, 0, 0, tzinfo=timezone.utc)
    assert pasquill_class_from_weather(2.5, night, 40.0, 0.0, 0.0) == "F"
