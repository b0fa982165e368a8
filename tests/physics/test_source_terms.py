"""Source terms (CCPS / Crowl & Louvar formulas)."""
from __future__ import annotations

import numpy as np
import pytest

from safetwin.emergency_planner.physics.source_terms import (
    gas_orifice_rate_kg_s, gas_vessel_blowdown, is_choked, liquid_orifice_rate_kg_s, pool_evaporation, pool_radius_m,
    release_duration_s)
from safetwin.substances import get_substance


def test_choked_and_subsonic_gas() -> None:
    """Source: Crowl & Louvar eq. 4-50/4-48: choked above P0/Pa = ((γ+1)/2)^{γ/(γ−1)}; subsonic form continuous at it."""
    g = 1.31
    pc = 101325.0 * ((g + 1) / 2) ** (g / (g - 1))
    assert is_choked(pc * 1.001, g) and not is_choked(pc * 0.999, g)
    a = gas_orifice_rate_kg_s(pc * (1 + 1e-9), 293.15, 0.016, g, 0.01)
    b = gas_orifice_rate_kg_s(pc * (1 - 1e-9), 293.15, 0.016, g, 0.01)
    assert float(a) == pytest.approx(float(b), rel=1e-4)
    assert float(gas_orifice_rate_kg_s(101325.0, 293.15, 0.016, g, 0.01)) == 0.0
    # choked rate proportional to P0
    assert float(gas_orifice_rate_kg_s(20e5, 293.15, 0.016, g, 0.01) / gas_orifice_rate_kg_s(10e5, 293.15, 0.016, g, 0.01)) == pytest.approx(2.0)


def test_liquid_bernoulli_and_duration() -> None:
    """Source: Crowl & Louvar eq. 4-6 (Cd 0.61): water, 1 bar overpressure, 1 cm hole → 0.61·A·√(2ρΔP)."""
    m = liquid_orifice_rate_kg_s(201325.0, 1000.0, 0.01)
    assert m == pytest.approx(0.61 * np.pi * 0.0001 / 4 * np.sqrt(2 * 1000 * 1e5), rel=1e-9)
    assert release_duration_s(1000.0, m) == pytest.approx(1000.0 / m)


def test_blowdown_conserves_mass() -> None:
    """Source: isothermal ideal-gas blowdown; the integral of the rate equals the mass lost (vessel inventory change)."""
    t = np.linspace(0, 4000, 4001)
    b = gas_vessel_blowdown(10.0, 10e5, 293.15, 0.016, 1.31, 0.01, t)
    assert np.all(np.diff(b.pressure_pa) <= 1e-6) and b.pressure_pa[-1] == pytest.approx(101325.0, rel=1e-3)
    assert np.trapezoid(b.rate_kg_s, t) == pytest.approx(b.released_kg[-1], rel=0.01)
    m0 = 10e5 * 0.016 * 10 / (8.314462618 * 293.15)
    assert b.released_kg[-1] == pytest.approx(m0 * (1 - 101325 / 10e5), rel=1e-3)


def test_blowdown_matches_an_ode_solver() -> None:
    """Source: the isothermal blowdown ODE dP/dt = −ṁ(P)·R·T/(M·V) integrated independently by scipy's
    adaptive RK45 (tolerance 1e-10): the quadrature of t(P) agrees to 1e-5 at every time, choked and subsonic."""
    from scipy.integrate import solve_ivp

    t = np.linspace(0, 3000, 301)
    b = gas_vessel_blowdown(10.0, 10e5, 293.15, 0.016, 1.31, 0.01, t)
    c = 0.016 * 10.0 / (8.314462618 * 293.15)
    ref = solve_ivp(lambda _t, y: [-float(gas_orifice_rate_kg_s(y[0], 293.15, 0.016, 1.31, 0.01)) / c], (0.0, 3000.0),
                    [10e5], t_eval=t, rtol=1e-10, atol=1e-3, max_step=1.0)
    assert np.max(np.abs(ref.y[0] - b.pressure_pa) / ref.y[0]) < 1e-5


def test_pool_bunded_and_unbunded() -> None:
    """Source: gravity spreading r = (8gV/π)^{1/4}√t capped by the bund or minimum thickness; evaporation stops when empty."""
    r = pool_radius_m(10.0, np.array([1.0, 1e4]), bund_area_m2=100.0)
    assert r[1] == pytest.approx(np.sqrt(100 / np.pi))
    r2 = pool_radius_m(10.0, np.array([1e6]), min_thickness_m=0.005)
    assert r2[0] == pytest.approx(np.sqrt(10 / (np.pi * 0.005)))
    p = pool_evaporation(get_substance("ammonia"), 500.0, np.linspace(0, 7200, 721), wind_speed_m_s=3.0)
    assert p.remaining_kg[-1] == 0.0 and p.rate_kg_s[-1] == 0.0
    h = pool_evaporation(get_substance("n-hexane"), 5000.0, np.linspace(0, 600, 61), wind_speed_m_s=3.0, bund_area_m2=200.0)
    assert np.all(h.rate_kg_s[1:] > 0) and h.radius_m.max() <= np.sqrt(200 / np.pi) + 1e-9
