"""Domino escalation (Cozzani et al. 2005; Landucci et al. 2009) and area spread."""
from __future__ import annotations

import numpy as np
import pytest

from safetwin.emergency_planner.physics.domino import (
    Equipment, InitialFire, escalation_probability, overpressure_damage_probit, simulate_area_fire_spread,
    simulate_domino, time_to_failure_s)
from safetwin.emergency_planner.physics.effects import probit_to_probability
from safetwin.emergency_planner.physics.grid import GridSpec


@pytest.mark.parametrize("kind,flux,vol,ttf,p", [
    ("atmospheric", 15.0, 1000.0, 894.0, 0.227), ("atmospheric", 25.0, 1000.0, 502.0, 0.625),
    ("atmospheric", 40.0, 5000.0, 266.0, 0.933), ("pressurised", 45.0, 100.0, 760.0, 0.328),
    ("pressurised", 80.0, 100.0, 441.0, 0.713)])
def test_ttf_and_landucci_probability(kind, flux, vol, ttf, p) -> None:
    """Source: [CALC] domino table (Landucci 2009 ttf and probit Y = 9.25 − 1.85 ln(ttf/60))."""
    t = float(time_to_failure_s(flux, vol, kind))
    assert t == pytest.approx(ttf, rel=0.02)
    assert float(escalation_probability(t)) == pytest.approx(p, rel=0.02)


def test_thresholds_and_overpressure() -> None:
    """Source: Cozzani 2005 thresholds (15/45 kW/m²) and Cozzani & Salzano 2004 probits at 30 kPa
    ([CALC] Cozzani et al. 2005 probits: atmospheric 0.884, pressurised 0.0025, elongated 0.311, auxiliary 0.376)."""
    assert np.isinf(time_to_failure_s(14.9, 1000.0, "atmospheric")) and np.isinf(time_to_failure_s(44.0, 10.0, "pressurised"))
    for kind, p in (("atmospheric", 0.884), ("pressurised", 0.0025), ("elongated", 0.311), ("auxiliary", 0.376)):
        assert float(probit_to_probability(overpressure_damage_probit(30e3, kind))) == pytest.approx(p, rel=0.03)


def _tank_farm() -> list[Equipment]:
    d, h = 20.0, 15.0
    v = np.pi * d**2 / 4 * h
    return [Equipment("T1", 0, 0, "atmospheric", d, h, v, "gasoline"),
            Equipment("T2", 1.5 * d, 0, "atmospheric", d, h, v, "gasoline"),
            Equipment("T3", 0, 1.5 * d, "atmospheric", d, h, v, "gasoline"),
            Equipment("V1", -60, -60, "pressurised", 4.0, 20.0, 200.0, "propane")]


def test_domino_tank_fire_escalates_within_the_hour() -> None:
    """Source: requirement — a pool fire in one tank ignites at least one neighbour within the simulated hour;
    pool fire of Mudan 1984, escalation of Landucci et al. 2009. A 20 m gasoline tank-top fire with 5 m/s
    wind from the west towards T2
    (1.5 D centre spacing) raises T2 above 15 kW/m²; T2 fails after its Landucci ttf; the crosswind tank T3 and the
    far pressurised vessel stay intact; without wind nothing escalates (flux below the threshold)."""
    eq = _tank_farm()
    fire = InitialFire(0.0, 0.0, 20.0, "gasoline", base_height_m=15.0, equipment_id="T1")
    grid = GridSpec.around(0, 0, 100, 5)
    r = simulate_domino(eq, [fire], wind_speed_m_s=5.0, wind_from_deg=270.0, t_end_s=3600.0, dt_s=5.0, grid=grid,
                        field_times_s=(0.0, 3000.0))
    ids = [e.equipment_id for e in r.events]
    assert ids[0] == "T1" and r.events[0].cause == "initial" and "T2" in ids
    t2 = r.ignition_time_s("T2")
    assert t2 is not None and 0 < t2 < 3600
    ev = next(e for e in r.events if e.equipment_id == "T2")
    assert ev.flux_kw_m2 >= 15.0
    assert t2 == pytest.approx(float(time_to_failure_s(ev.flux_kw_m2, eq[1].volume_m3, "atmospheric")), rel=0.02)
    assert 0 < ev.probability < 1
    assert r.ignition_time_s("V1") is None
    # flux history: T2 saw the flux from t = 0; fields recorded, larger once T2 burns
    assert r.flux_kw_m2[0, 1] >= 15.0 and r.flux_kw_m2.shape == (r.times_s.size, 4)
    assert set(r.fields_w_m2) == {0.0, 3000.0}
    assert r.fields_w_m2[3000.0].sum() > r.fields_w_m2[0.0].sum()
    calm = simulate_domino(eq, [fire], wind_speed_m_s=0.0, t_end_s=3600.0, dt_s=10.0)
    assert [e.equipment_id for e in calm.events] == ["T1"]
    assert 5.0 < calm.flux_kw_m2[0, 1] < 15.0


def test_domino_monte_carlo_can_stop_escalation() -> None:
    """Source: Landucci 2009 escalation probability used as a Monte Carlo draw (Landucci et al. 2009)."""
    eq = _tank_farm()
    fire = InitialFire(0.0, 0.0, 20.0, "gasoline", base_height_m=15.0, equipment_id="T1")
    hits = sum(simulate_domino(eq, [fire], wind_speed_m_s=5.0, wind_from_deg=270.0, mode="monte_carlo", dt_s=20.0,
                               rng=np.random.default_rng(s)).ignition_time_s("T2") is not None for s in range(30))
    assert 0 < hits < 30


def test_area_spread_cellular() -> None:
    """Source: the documented cellular model (Drysdale thermally-thick ignition, 12.5 kW/m² critical flux): fire spreads
    through a continuous fuel block, does not jump a 20 m firebreak, and cells burn out."""
    g = GridSpec(0, 0, 2, 2, 60, 20)
    fuel = np.zeros(g.shape)
    fuel[:, :20] = 20.0  # block A
    fuel[:, 30:] = 20.0  # block B beyond a 20 m gap
    ign = np.zeros(g.shape, bool)
    ign[10, 0] = True
    r = simulate_area_fire_spread(g, fuel, ign, t_end_s=1800.0, dt_s=10.0)
    assert np.all(np.isfinite(r.ignition_time_s[:, :20]))
    assert np.all(np.isinf(r.ignition_time_s[:, 30:]))
    assert r.ignition_time_s[10, 19] > r.ignition_time_s[10, 5] > 0
    assert r.burning_area_m2.max() > 0 and np.any(r.state == 2)
