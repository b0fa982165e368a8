"""Fire: reference cases F1, F2, F3, F5 ([CALC] with the published formulas; Mudan 1984, API 521, Montoir)."""
from __future__ import annotations

import numpy as np
import pytest

from safetwin.emergency_planner.physics.fire import (
    aga_tilt_deg, jet_fire, pool_fire, scaled_wind_speed, sep_energy_balance_kw_m2, thomas_flame_length,
    transmissivity_pietersen, view_factor_cylinder_numeric, view_factor_vertical_cylinder)
from safetwin.emergency_planner.physics.grid import GridSpec
from safetwin.substances import get_substance

REL = 0.02


def test_f1_gasoline_pool_fire() -> None:
    """Source: F1 [CALC] (10 m gasoline pool, no wind; Thomas 1963, Mudan 1984): L 15.79 m, SEP 56.14 kW/m², F, τ and q table,
    distances to 37.5/25/12.5/5/1.6 kW/m² = 5.06/6.84/11.35/20.39/37.27 m, point source χr = 0.35."""
    f = pool_fire(get_substance("gasoline"), 10.0)
    assert f.flame_length_m == pytest.approx(15.79, rel=1e-3)
    assert f.sep_kw_m2 == pytest.approx(56.14, rel=1e-3)
    x = np.array([10.0, 15.0, 20.0, 30.0, 50.0, 100.0])
    fv, fh, fm = view_factor_vertical_cylinder(x, 10.0, f.flame_length_m)
    np.testing.assert_allclose(fv, [0.24567, 0.15241, 0.10210, 0.05259, 0.02031, 0.005141], rtol=REL)
    np.testing.assert_allclose(fh, [0.14749, 0.07371, 0.04007, 0.01444, 0.00336, 0.000419], rtol=REL)
    np.testing.assert_allclose(transmissivity_pietersen(x - 5.0), [0.9268, 0.8708, 0.8396, 0.8019, 0.7605, 0.7111], rtol=1e-3)
    np.testing.assert_allclose(f.flux_w_m2(x, 0 * x) / 1e3, [14.91, 8.28, 5.17, 2.46, 0.879, 0.206], rtol=REL)
    np.testing.assert_allclose(f.point_source_flux_w_m2(x, 0 * x) / 1e3, [48.7, 20.3, 11.0, 4.68, 1.60, 0.374], rtol=REL)
    d = [f.distance_to_flux_m(q * 1e3) for q in (37.5, 25.0, 12.5, 5.0, 1.6)]
    np.testing.assert_allclose(d, [5.06, 6.84, 11.35, 20.39, 37.27], rtol=REL)


def test_f2_kerosene_pool_fire() -> None:
    """Source: F2 [CALC] (30 m kerosene; Mudan 1984 gives 10–25 kW/m² for 30–80 m pools): L 27.47 m,
    SEP 23.28 kW/m², q(45 m) 2.48 kW/m²,
    12.5 kW/m² at 17.36 m, 5 kW/m² at 30.45 m, 37.5 kW/m² never reached."""
    f = pool_fire(get_substance("kerosene"), 30.0)
    assert f.flame_length_m == pytest.approx(27.47, rel=1e-3)
    assert f.sep_kw_m2 == pytest.approx(23.28, rel=1e-3)
    assert float(f.flux_w_m2(45.0, 0.0)) / 1e3 == pytest.approx(2.48, rel=REL)
    assert f.distance_to_flux_m(12.5e3) == pytest.approx(17.36, rel=REL)
    assert f.distance_to_flux_m(5e3) == pytest.approx(30.45, rel=REL)
    assert f.distance_to_flux_m(37.5e3) == 0.0


def test_f5_montoir_lng() -> None:
    """Source: F5, the Montoir LNG trial [PUB] (35.7 m, m'' 0.14, ΔHc 50 MJ/kg, 9.6 m/s, ρv 1.75; ρa 1.225 reproduces
    the note's numbers): L 66.9 m (no wind) / 50.7 m (wind), AGA tilt 55.8°, energy-balance SEP (χr 0.25) 262 kW/m²."""
    l0 = thomas_flame_length(35.7, 0.14, air_density_kg_m3=1.225)
    lw = thomas_flame_length(35.7, 0.14, wind_speed_m_s=9.6, vapour_density_kg_m3=1.75, air_density_kg_m3=1.225)
    assert l0 == pytest.approx(66.9, rel=REL) and lw == pytest.approx(50.7, rel=REL)
    assert aga_tilt_deg(scaled_wind_speed(9.6, 0.14, 35.7, 1.75)) == pytest.approx(55.8, rel=REL)
    assert sep_energy_balance_kw_m2(35.7, lw, 0.14, 50e6, 0.25) == pytest.approx(262.0, rel=REL)
    # methane pools use the energy balance by default (no Mudan soot correction for clean flames)
    assert pool_fire(get_substance("methane"), 35.7).sep_method == "energy_balance"


def test_f3_api521_jet() -> None:
    """Source: F3 [CALC] (API 521 point source; propane 5 kg/s, F 0.30, τ = 1): L 32.1 m, q(50 m) 2.21 kW/m²,
    R to 4.73/6.31/9.46 kW/m² = 34.2/29.6/24.2 m."""
    j = jet_fire(get_substance("propane"), 5.0, use_transmissivity=False)
    assert j.heat_release_w == pytest.approx(231.75e6, rel=1e-3)
    assert j.flame_length_m == pytest.approx(32.1, rel=REL)
    cx, cy, cz = j.centre_xyz_m
    assert float(j.flux_w_m2(cx + 50.0, cy, cz)) == pytest.approx(2210.0, rel=REL)
    np.testing.assert_allclose([j.distance_to_flux_m(q) for q in (4730.0, 6310.0, 9460.0)], [34.2, 29.6, 24.2], rtol=REL)


def test_numeric_view_factor_matches_mudan() -> None:
    """Source: Mudan 1984 view factor in closed form, checked against a surface integration."""
    x = np.array([8.0, 12.0, 20.0, 40.0])
    ref = view_factor_vertical_cylinder(x, 10.0, 15.79)[2]
    num = view_factor_cylinder_numeric(np.stack([x, 0 * x, 0 * x], -1), (0, 0, 0), 10.0, 15.79, n_azimuth=96, n_height=48)
    np.testing.assert_allclose(num, ref, rtol=5e-3)


def test_wind_tilts_radiation_downwind() -> None:
    """Source: AGA flame tilt (Mudan 1984): with wind from the west the flux east of the pool exceeds the flux west."""
    f = pool_fire(get_substance("gasoline"), 20.0, wind_speed_m_s=5.0, wind_from_deg=270.0)
    assert f.tilt_deg > 30
    east, west = f.flux_w_m2(np.array([30.0, -30.0]), np.zeros(2))
    assert east > 1.5 * west
    g = GridSpec.around(0, 0, 60, 5)
    fld = f.field_w_m2(g)
    assert fld.shape == g.shape and fld[12, 20] > fld[12, 4]
