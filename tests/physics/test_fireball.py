"""BLEVE fireball against a published worked example and hand calculations from the published correlations."""
from __future__ import annotations

import numpy as np
import pytest

from safetwin.emergency_planner.physics.effects import probit_to_probability
from safetwin.emergency_planner.physics.fire import transmissivity_pietersen
from safetwin.emergency_planner.physics.fireball import (
    bleve_fireball, fireball_diameter_m, fireball_duration_s, radiative_fraction_roberts, sphere_view_factor)
from safetwin.substances import get_substance

WITHIN = 0.05  # the acceptance: worked examples within 5 %


def test_ccps_tank_truck_worked_example() -> None:
    """Published worked example (CCPS fireball correlations, public spreadsheet "BLEVE Fireball Diameter &
    Duration and Radiation Estimation", A. Srivastava): a 22.7 m³ propane tank truck, 90 % full, liquid
    585.3 kg/m³, engulfed in fire; all the propane feeds the fireball. Published answers: m_f = 11 957.7 kg,
    D = 132.6 m, t = 10.3 s, view factor 0.255 at 100 m (vertical target, fireball centre at D/2),
    q = 89.1 kW/m² with SEP 350 kW/m² and no atmospheric absorption."""
    mass = 22.7 * 585.3 * 0.9
    assert mass == pytest.approx(11957.7, rel=1e-4)
    fb = bleve_fireball(get_substance("propane"), mass, sep_w_m2=350e3, correlation="ccps")
    assert fb.diameter_m == pytest.approx(132.6, rel=WITHIN)
    assert fb.duration_s == pytest.approx(10.3, rel=WITHIN)
    f = float(sphere_view_factor(100.0, fb.radius_m, fb.radius_m, "vertical"))  # the example's geometry
    assert f == pytest.approx(0.255, rel=WITHIN)
    assert 350.0 * f == pytest.approx(89.1, rel=WITHIN)


def test_ccps_100000_lb_propane_hand_calculation() -> None:
    """CCPS 2010 ch. 7 correlations for 100 000 lb (45 360 kg) of propane, by hand: D = 5.8·M^(1/3) = 206.9 m,
    M > 30 t so t = 2.6·M^(1/6) = 15.5 s, H = 0.75·D = 155.2 m (expected values derived here by hand from the
    published correlation, not a published answer)."""
    m = 45_360.0
    fb = bleve_fireball(get_substance("propane"), m, sep_w_m2=350e3)
    assert fb.diameter_m == pytest.approx(5.8 * 35.66, rel=2e-3)       # 45 360^(1/3) = 35.66
    assert fb.duration_s == pytest.approx(2.6 * 5.972, rel=2e-3)       # 45 360^(1/6) = 5.972
    assert fb.centre_height_m == pytest.approx(0.75 * 5.8 * 35.66, rel=2e-3)
    # below 30 t the short correlation applies
    assert float(fireball_duration_s(29_000.0)) == pytest.approx(0.45 * 29_000 ** (1 / 3))


def test_yellow_book_correlations_hand_calculation() -> None:
    """Yellow Book CPR 14E ch. 6 for 50 t of propane at p_sv = 7.3 bar (hand calculation from the published
    correlations, not a published answer): r = 3.24·M^0.325 = 109.1 m, t = 0.852·M^0.26 = 14.2 s,
    H = 2r, F_s = 0.00325·p^0.32 = 0.244, SEP = F_s·M·ΔHc/(4π r² t); at 500 m from the point below the
    centre a facing target sees (r/L)² and τ over L − r."""
    sub = get_substance("propane")
    m, p_sv = 50_000.0, 7.3e5
    r = 3.24 * m**0.325
    t = 0.852 * m**0.26
    fs = 0.00325 * p_sv**0.32
    sep = fs * m * sub.heat_of_combustion_j_kg / (4 * np.pi * r * r * t)
    fb = bleve_fireball(sub, m, vapour_pressure_pa=p_sv, correlation="tno", relative_humidity=0.7, ambient_k=288.15)
    assert fb.radius_m == pytest.approx(r, rel=1e-9) and r == pytest.approx(109.1, rel=2e-3)
    assert fb.duration_s == pytest.approx(t, rel=1e-9) and t == pytest.approx(14.2, rel=5e-3)
    assert fb.centre_height_m == pytest.approx(2 * r)
    assert fs == pytest.approx(0.244, rel=5e-3)
    assert fb.sep_w_m2 == pytest.approx(sep, rel=1e-9)
    ell = np.hypot(500.0, 2 * r)
    q = sep * (r / ell) ** 2 * float(transmissivity_pietersen(ell - r, 0.7, 288.15))
    assert float(fb.flux_w_m2(500.0, 0.0)) == pytest.approx(q, rel=1e-9)


def test_roberts_fraction_and_cap() -> None:
    assert radiative_fraction_roberts(1e6) == pytest.approx(0.27 * 1.0**0.32, rel=0.01)   # CCPS form, P in MPa
    assert radiative_fraction_roberts(1e9) == 0.4
    with pytest.raises(ValueError):
        radiative_fraction_roberts(0.0)


def test_flux_dose_and_lethality_consistency() -> None:
    sub = get_substance("propane")
    fb = bleve_fireball(sub, 20_000.0, temperature_k=298.15, centre_xy_m=(100.0, 50.0))
    r = np.array([0.0, 50.0, 200.0, 400.0, 800.0, 1600.0])
    q = fb.flux_w_m2(100.0 + r, 50.0 + 0 * r)
    assert np.all(np.diff(q) < 0)
    # distance to a flux inverts the flux
    d = fb.distance_to_flux_m(5e3)
    assert float(fb.flux_w_m2(100.0 + d, 50.0)) == pytest.approx(5e3, rel=1e-6)
    # dose and lethality: Eisenberg probit on q^(4/3)·t
    dose = fb.dose_w_m2_43_s(100.0 + r, 50.0 + 0 * r)
    np.testing.assert_allclose(dose, q ** (4 / 3) * fb.duration_s)
    p = fb.lethality(100.0 + r, 50.0 + 0 * r)
    expected = probit_to_probability(-38.48 + 2.56 * np.log(dose))
    inside = r <= fb.radius_m
    np.testing.assert_allclose(p[~inside], expected[~inside])
    assert np.all(p[inside] == 1.0)
    with pytest.raises(ValueError):
        fb.lethality(0.0, 0.0, probit="nonsense")


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="does not burn"):
        bleve_fireball(get_substance("chlorine"), 1000.0)
    with pytest.raises(ValueError):
        bleve_fireball(get_substance("propane"), -1.0)
    with pytest.raises(ValueError):
        fireball_diameter_m(1.0, "other")  # type: ignore[arg-type]
