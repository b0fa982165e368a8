"""Dispersion: reference cases D1–D4 and D6 (published examples and [CALC] values, docs/sources.md),
mass conservation, grid kernels."""
from __future__ import annotations

import numpy as np
import pytest

from safetwin.emergency_planner.physics.dispersion import (
    WindHistory, crosswind_integrated_plume, dense_gas_check, max_ground_level_concentration,
    plume_as_function, plume_concentration, plume_field, puff_concentration, puff_train)
from safetwin.emergency_planner.physics.grid import GridSpec, to_wind_frame
from safetwin.emergency_planner.physics.sigmas import PasquillSigmas, averaging_time_factor
from safetwin.emergency_planner.physics.stability import wind_speed_at_height

REL = 0.02

D6 = {  # [CALC] Briggs (1973) / ISC3 sigma values at x = 1000 m
    "briggs_rural": {"A": (209.76, 200.00), "B": (152.55, 120.00), "C": (104.88, 73.03), "D": (76.28, 37.95),
                     "E": (57.21, 23.08), "F": (38.14, 12.31)},
    "briggs_urban": {"A": (270.45, 339.41), "B": (270.45, 339.41), "C": (185.93, 200.00), "D": (135.23, 122.79),
                     "E": (92.97, 50.60), "F": (92.97, 50.60)},
    "isc3_rural": {"A": (208.71, 453.85), "B": (154.12, 109.30), "C": (103.11, 61.14), "D": (68.13, 32.09),
                   "E": (50.94, 21.63), "F": (33.88, 13.95)},
}


@pytest.mark.parametrize("sigma_set", list(D6))
@pytest.mark.parametrize("cls", list("ABCDEF"))
def test_d6_sigma_table(sigma_set: str, cls: str) -> None:
    """Source: [CALC] sigma table (D6) at x = 1000 m; Briggs (1973), EPA-454/B-95-003b."""
    sy, sz = PasquillSigmas(cls, sigma_set)(1000.0)  # type: ignore[arg-type]
    ey, ez = D6[sigma_set][cls]
    assert sy == pytest.approx(ey, rel=1e-3)
    assert sz == pytest.approx(ez, rel=1e-3)


def test_isc3_sigma_z_gasdispersion_values() -> None:
    """Source: ISC3 sigmas as in GasDispersion.jl's isc3 tests: σz(D,100 m)=4.65117, σz(F,500 m)=8.39556."""
    assert PasquillSigmas("D", "isc3_rural")(100.0)[1] == pytest.approx(4.65117, rel=1e-5)
    assert PasquillSigmas("F", "isc3_rural")(500.0)[1] == pytest.approx(8.39556, rel=1e-5)


def test_d1_ccps_plume() -> None:
    """Source: D1, the CCPS 1999 plume example [PUB-mem]: σy 19.518, σz 6.957, C 1.1722e-4 kg/m³, 95.54 ppm."""
    sig = PasquillSigmas("F", "briggs_rural")
    sy, sz = sig(500.0)
    assert sy == pytest.approx(19.518, rel=1e-4) and sz == pytest.approx(6.957, rel=1e-4)
    c = float(plume_concentration(500.0, 0.0, 0.0, rate_kg_s=0.1, wind_speed_m_s=2.0, sigmas=sig))
    assert c == pytest.approx(1.1722e-4, rel=REL)
    from safetwin.substances import mg_m3_to_ppm
    assert mg_m3_to_ppm(c * 1e6, 30.0) == pytest.approx(95.54, rel=REL)


def test_d2_turner_workbook() -> None:
    """Source: D2, the burning-dump example of Turner's Workbook (1970) [PUB-mem]: ISC3 1.135e-5 g/m³, Briggs 8.44e-6 g/m³."""
    c = plume_concentration(3000.0, 0.0, 0.0, rate_kg_s=3.0, wind_speed_m_s=7.0, sigmas=PasquillSigmas("D", "isc3_rural"))
    assert float(c) == pytest.approx(1.135e-5, rel=REL)
    sy, sz = PasquillSigmas("D", "isc3_rural")(3000.0)
    assert (sy, sz) == (pytest.approx(184.64, rel=1e-3), pytest.approx(65.12, rel=1e-3))
    cb = plume_concentration(3000.0, 0.0, 0.0, rate_kg_s=3.0, wind_speed_m_s=7.0, sigmas=PasquillSigmas("D"))
    assert float(cb) == pytest.approx(8.44e-6, rel=REL)


def test_d3_elevated_source() -> None:
    """Source: D3 [CALC]: H=50 m, C, u10=5 → u50=5.873; C(1000,0)=5.598e-7, C(1000,100)=3.553e-7,
    max GLC 1.1353e-6 kg/m³ at 459.4 m."""
    u = float(wind_speed_at_height(5.0, 50.0, "C"))
    assert u == pytest.approx(5.873, rel=1e-3)
    sig = PasquillSigmas("C")
    c = plume_concentration(np.array([1000.0, 1000.0]), np.array([0.0, 100.0]), 0.0, rate_kg_s=0.1,
                            wind_speed_m_s=u, sigmas=sig, release_height_m=50.0)
    assert c[0] == pytest.approx(5.598e-7, rel=REL) and c[1] == pytest.approx(3.553e-7, rel=REL)
    cmax, xmax = max_ground_level_concentration(rate_kg_s=0.1, wind_speed_m_s=u, sigmas=sig, release_height_m=50.0)
    assert cmax == pytest.approx(1.1353e-6, rel=REL) and xmax == pytest.approx(459.4, rel=REL)


def test_d4_puff_peak_and_dose() -> None:
    """Source: D4 [CALC]: 10 kg puff, D, 3 m/s, CCPS puff σ: peak 5.641e-5 kg/m³, dose 1.627e-3 kg·s/m³."""
    sig = PasquillSigmas("D", "ccps_puff")
    t = np.linspace(1.0, 1200.0, 200001)
    c = puff_concentration(1000.0, 0.0, 0.0, t, mass_kg=10.0, wind_speed_m_s=3.0, sigmas=sig)
    assert c.max() == pytest.approx(5.641e-5, rel=REL)
    assert t[np.argmax(c)] == pytest.approx(333.3, rel=REL)
    # dose with sigmas frozen at the arrival (closed form 2M/(2π σy σz u))
    sy, sz = sig(1000.0)
    assert 2 * 10.0 / (2 * np.pi * sy * sz * 3.0) == pytest.approx(1.627e-3, rel=REL)
    assert np.trapezoid(c, t) == pytest.approx(1.627e-3, rel=0.05)  # sigmas grow during passage


def test_plume_mass_conservation() -> None:
    """Source: self-check: ∫∫ C·u dy dz = Q (within 1 %), with and without a mixing lid."""
    for zi in (None, 150.0):
        sig = PasquillSigmas("C")
        y = np.linspace(-2500, 2500, 1001)
        z = np.linspace(0, 3000 if zi is None else zi, 1201)
        Y, Z = np.meshgrid(y, z)
        for x in (200.0, 2000.0):
            c = plume_concentration(x, Y, Z, rate_kg_s=2.0, wind_speed_m_s=4.0, sigmas=sig, release_height_m=20.0,
                                    mixing_height_m=zi)
            flux = np.trapezoid(np.trapezoid(c * 4.0, y, axis=1), z)
            assert flux == pytest.approx(2.0, rel=0.01), (zi, x)
    cy = crosswind_integrated_plume(500.0, z, rate_kg_s=2.0, wind_speed_m_s=4.0, sigmas=PasquillSigmas("D"))
    assert np.trapezoid(cy * 4.0, z) == pytest.approx(2.0, rel=0.01)


def test_puff_mass_conservation() -> None:
    """Source: self-check: the puff volume integral equals M (2e-3)."""
    sig = PasquillSigmas("D", "ccps_puff")
    t = 200.0
    sy, sz = sig(3.0 * t)
    x = np.linspace(600 - 6 * sy, 600 + 6 * sy, 241)
    y = np.linspace(-6 * sy, 6 * sy, 241)
    z = np.linspace(0, 6 * sz, 121)
    X, Y, Z = np.meshgrid(x, y, z, indexing="ij")
    c = puff_concentration(X, Y, Z, t, mass_kg=10.0, wind_speed_m_s=3.0, sigmas=sig)
    m = np.trapezoid(np.trapezoid(np.trapezoid(c, z, axis=2), y, axis=1), x)
    assert m == pytest.approx(10.0, rel=2e-3)


def test_lid_well_mixed_limit() -> None:
    """Source: Turner 1970 (mixing lid): far downwind under a lid C → Q/(√(2π) u σy z_i)."""
    sig = PasquillSigmas("B")
    x = 8000.0
    sy, _ = sig(x)
    c = plume_concentration(x, 0.0, 0.0, rate_kg_s=1.0, wind_speed_m_s=3.0, sigmas=sig, mixing_height_m=300.0)
    assert float(c) == pytest.approx(1.0 / (np.sqrt(2 * np.pi) * 3.0 * sy * 300.0), rel=1e-3)


def test_averaging_time_correction() -> None:
    """Source: averaging-time correction (CCPS 1999): σy(t) = σy(10 min)(t/10 min)^0.2, so C ∝ t^-0.2 on the centreline."""
    assert averaging_time_factor(3600.0) == pytest.approx(6.0**0.2)
    c10 = plume_concentration(500.0, 0, 0, rate_kg_s=1, wind_speed_m_s=2, sigmas=PasquillSigmas("D"))
    c60 = plume_concentration(500.0, 0, 0, rate_kg_s=1, wind_speed_m_s=2, sigmas=PasquillSigmas("D", averaging_time_s=3600))
    assert float(c10 / c60) == pytest.approx(6.0**0.2, rel=1e-9)


@pytest.mark.parametrize("wind_from", [0.0, 30.0, 90.0, 135.0, 200.0, 300.0])
def test_plume_field_matches_point_formula(wind_from: float) -> None:
    """Source: the plume formula of Turner (1970); the grid kernel equals it at every node (the random
    cases are in test_plume_field_exact.py), and the downwind direction follows DESIGN.md (wind FROM θ,
    downwind (−sin θ, −cos θ))."""
    g = GridSpec(-300.0, -200.0, 2.5, 3.0, 241, 161)
    sig = PasquillSigmas("D")
    f = plume_field(g, source_xy_m=(10.0, -5.0), wind_from_deg=wind_from, rate_kg_s=1.0, wind_speed_m_s=3.0,
                    sigmas=sig, release_height_m=5.0)
    X, Y = g.mesh()
    xd, yc = to_wind_frame(X, Y, 10.0, -5.0, wind_from)
    ref = plume_concentration(xd, yc, 0.0, rate_kg_s=1.0, wind_speed_m_s=3.0, sigmas=sig, release_height_m=5.0) * 1e6
    np.testing.assert_allclose(f.concentration_mg_m3, ref, rtol=1e-5, atol=1e-30)
    assert np.all(f.concentration_mg_m3[xd <= 0] == 0.0)
    # the maximum lies downwind: along (−sin θ, −cos θ)
    j, i = np.unravel_index(np.argmax(f.concentration_mg_m3), g.shape)
    vx, vy = g.x_m[i] - 10.0, g.y_m[j] + 5.0
    th = np.deg2rad(wind_from)
    assert vx * -np.sin(th) + vy * -np.cos(th) > 0
    assert f.near_field and f.sigma_model == "briggs_rural:D" and f.averaging_time_s == 600.0


def test_puff_train_steady_limit_equals_plume() -> None:
    """Source: a train of puffs gives the plume in the steady limit (Slade 1968; CCPS 1999)."""
    sig = PasquillSigmas("D")
    wind = WindHistory.steady(3.0, 270.0)
    train = puff_train(source_xy_m=(0.0, 0.0), rate_times_s=np.array([0.0]), rate_kg_s=np.array([1.0]), wind=wind,
                       sigmas=sig, puff_interval_s=2.0, end_time_s=1500.0)
    assert train.total_mass_kg == pytest.approx(1500.0)
    x = np.array([300.0, 600.0, 600.0])
    y = np.array([0.0, 0.0, 40.0])
    c_train = train.concentration_at(x, y, np.full(3, 1500.0))
    c_plume = plume_concentration(x, y, 0.0, rate_kg_s=1.0, wind_speed_m_s=3.0, sigmas=sig) * 1e6
    np.testing.assert_allclose(c_train, c_plume, rtol=0.03)
    g = GridSpec(-100, -300, 10, 10, 101, 61)
    fld = train.field(g, 1500.0)
    pts = train.concentration_at(*[a.ravel() for a in g.mesh()], np.full(g.nx * g.ny, 1500.0))
    np.testing.assert_allclose(fld.ravel(), pts, rtol=1e-9, atol=1e-12 * fld.max())


def test_puff_train_follows_wind_shift() -> None:
    """Source: the puff train follows the wind history: the wind blows from the west, then from the south
    after 300 s. A puff released at t_r < 300 s moves 4·(300 − t_r) m east and then 4·300 m north; later puffs move
    only north. The ground-level field of the train integrates to Σ 2M/(√(2π)σz) (ground reflection)."""
    wind = WindHistory(np.array([0.0, 300.0]), np.array([4.0, 4.0]), np.array([270.0, 180.0]))
    train = puff_train(source_xy_m=(0.0, 0.0), rate_times_s=np.array([0.0, 600.0]), rate_kg_s=np.array([2.0, 0.0]),
                       wind=wind, sigmas=PasquillSigmas("D", "ccps_puff"), puff_interval_s=5.0)
    assert train.total_mass_kg == pytest.approx(1200.0)
    st = train.state(600.0)
    old = st.centre_xy_m[train.release_times_s < 300]
    new = st.centre_xy_m[train.release_times_s > 300]
    tr_old = train.release_times_s[train.release_times_s < 300]
    np.testing.assert_allclose(old[:, 0], 4.0 * (300.0 - tr_old))
    np.testing.assert_allclose(old[:, 1], 1200.0)
    assert np.all(new[:, 1] > 0) and np.all(np.abs(new[:, 0]) < 1e-9)
    # 300 s after the release stopped every puff is wider than the grid spacing (youngest σy ≈ 40 m)
    st = train.state(900.0)
    g = GridSpec(-500, -500, 10, 10, 301, 401)
    fld = train.field(g, 900.0) * 1e-6
    expected = np.sum(2 * st.mass_kg / (np.sqrt(2 * np.pi) * st.sigma_z_m))
    assert fld.sum() * g.cell_area_m2 == pytest.approx(expected, rel=0.01)


def test_puff_train_points_at_one_time_match_the_general_path() -> None:
    """Source: the one-time path of ``concentration_at`` (a crowd sampled at one instant: puff terms
    computed once) gives the general per-point path's values, before, during and after a wind shift,
    up to the terms below 1e-100 of a puff's peak it leaves out."""
    wind = WindHistory(np.array([0.0, 300.0]), np.array([3.0, 3.0]), np.array([270.0, 225.0]))
    train = puff_train(source_xy_m=(0.0, 0.0), rate_times_s=np.array([0.0, 600.0]), rate_kg_s=np.array([2.0, 0.0]),
                       wind=wind, sigmas=PasquillSigmas("D", "ccps_puff"), puff_interval_s=1.0, release_height_m=1.0)
    rng = np.random.default_rng(4)
    x, y = rng.uniform(-200.0, 1500.0, 300), rng.uniform(-200.0, 1500.0, 300)
    for t in (0.0, 150.0, 450.0, 900.0, 3000.0):
        one_time = train.concentration_at(x, y, np.full(300, t))
        # one point at another time sends the whole call down the general path
        general = train.concentration_at(np.append(x, 0.0), np.append(y, 0.0), np.append(np.full(300, t), t + 1.0))[:300]
        np.testing.assert_allclose(one_time, general, rtol=1e-12, atol=1e-30)
    assert train.concentration_at(x, y, np.full(300, 450.0)).max() > 1.0  # the check saw the cloud


def test_plume_as_function_arrival() -> None:
    """Source: the Gaussian plume (Turner 1970), wrapped as f(x, y, t) for path doses (top-hat passage at speed u)."""
    f = plume_as_function(source_xy_m=(0, 0), wind_from_deg=0.0, rate_kg_s=1.0, wind_speed_m_s=2.0,
                          sigmas=PasquillSigmas("D"), duration_s=600.0)
    c = f(np.array([0.0, 0.0, 0.0]), np.array([-200.0, -200.0, -200.0]), np.array([50.0, 150.0, 800.0]))
    assert c[0] == 0.0 and c[1] > 0 and c[2] == 0.0


def test_dense_gas_flag() -> None:
    """Source: Britter & McQuaid (1988) criterion (Britter & McQuaid 1988; ALOHA's dense-gas check): 5 kg/s chlorine at its
    boiling point in 2 m/s wind is dense; 0.01 kg/s methane-density-neutral gas is passive."""
    cl2 = dense_gas_check(molar_mass_kg_mol=0.0709, temperature_k=239.1, wind_speed_m_s=2.0, rate_kg_s=5.0)
    assert cl2.is_dense and cl2.richardson_number > cl2.threshold
    air_like = dense_gas_check(molar_mass_kg_mol=0.030, temperature_k=293.15, wind_speed_m_s=5.0, rate_kg_s=0.01)
    assert not air_like.is_dense
    g = GridSpec.around(0, 0, 200, 5)
    f = plume_field(g, source_xy_m=(0, 0), wind_from_deg=0, rate_kg_s=5.0, wind_speed_m_s=2.0,
                    sigmas=PasquillSigmas("D"), dense_gas=cl2)
    assert not f.valid and any("dense gas" in n for n in f.notes)
