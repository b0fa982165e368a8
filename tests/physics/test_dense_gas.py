"""Dense gas, source terms and the one weather path (docs/consequence.md)."""
from __future__ import annotations

import numpy as np
import pytest

from safetwin.emergency_planner.physics.consequence import ReleaseSpec, Weather, compute_consequence_zones
from safetwin.emergency_planner.physics.dense_gas import DenseRelease, crosswind_shape, get_engine
from safetwin.emergency_planner.physics.discharge import (critical_pressure_ratio, flashing_liquid_discharge,
                                                          gas_pipeline_rupture)
from safetwin.emergency_planner.physics.dispersion import dense_gas_check
from safetwin.emergency_planner.physics.grid import GridSpec
from safetwin.emergency_planner.physics.release import estimate_source
from safetwin.emergency_planner.physics.sigmas import TurbulenceSigmas
from safetwin.substances import get_substance


def test_droplet_laden_ammonia_is_dense() -> None:
    """Source: Britter & McQuaid (1988) continuous criterion with the cloud's real density (SLAB EQ 10):
    the demo ammonia release (flash fraction ≈ 0.2, as much again as droplets) is 1.73 kg/m³ at 239.8 K
    against 1.24 kg/m³ air at 285 K: dense, while the pure vapour (0.87 kg/m³) is buoyant."""
    nh3 = get_substance("ammonia")
    common = dict(molar_mass_kg_mol=nh3.molar_mass_kg_mol, temperature_k=239.8, wind_speed_m_s=1.0, rate_kg_s=4.4,
                  air_temperature_k=285.0, liquid_density_kg_m3=682.0)
    laden = dense_gas_check(liquid_fraction=0.5, **common)
    vapour = dense_gas_check(**common)
    assert laden.is_dense and laden.gas_density_kg_m3 == pytest.approx(1.73, abs=0.01)
    assert laden.richardson_number == pytest.approx(6.2, abs=0.3)
    assert not vapour.is_dense and vapour.richardson_number < 0


def test_weather_one_path() -> None:
    """Source: power law with ISC3 exponents (EPA-454/B-95-003b); transport wind floored at 2 m and 1 m/s;
    σθ measured → σy = σθ·x·f_y (Draxler 1976); urban from roughness ≥ 0.5 m."""
    w = Weather(3.0, 270.0, "D")
    assert w.transport_speed_m_s(release_height_m=0.0) == pytest.approx(3.0 * 0.2**0.15)
    assert w.transport_speed_m_s(release_height_m=10.0) == pytest.approx(3.0)
    assert Weather(0.3, 0.0, "F").transport_speed_m_s(release_height_m=1.0) == 1.0
    theta = Weather(3.0, 270.0, "D", sigma_theta_deg=10.0).sigmas(averaging_time_s=600.0)
    assert isinstance(theta, TurbulenceSigmas)
    assert Weather(3.0, 0.0, "D", roughness_m=1.0).sigma_set() == "briggs_urban"
    with pytest.raises(ValueError):
        Weather(3.0, 0.0, "D", relative_humidity=50.0)


def test_flashing_discharge_limits() -> None:
    """Source: Fauske (1985) non-equilibrium interpolation — L → 0 gives Bernoulli on the full pressure
    difference (metastable liquid), L ≥ 0.1 m the equilibrium flux; Leung (1986) η_c against his explicit
    fit 0.55 + 0.217 ln ω − 0.046 ln²ω + 0.004 ln³ω (ω ≥ 4), within 1 %."""
    cl2 = get_substance("chlorine")
    hole = flashing_liquid_discharge(cl2, pressure_pa=float(cl2.vapour_pressure_pa(293.15)), temperature_k=293.15,
                                     hole_diameter_m=0.01)
    rho = cl2.liquid_density_at(293.15)
    bernoulli = 0.61 * np.sqrt(2 * rho * (float(cl2.vapour_pressure_pa(293.15)) - 101325.0))
    assert hole.mass_flux_kg_m2_s == pytest.approx(bernoulli, rel=1e-6)
    pipe = flashing_liquid_discharge(cl2, pressure_pa=float(cl2.vapour_pressure_pa(293.15)), temperature_k=293.15,
                                     hole_diameter_m=0.01, flow_path_m=2.0)
    assert pipe.mass_flux_kg_m2_s < hole.mass_flux_kg_m2_s
    assert pipe.mass_flux_kg_m2_s == pytest.approx(pipe.equilibrium_flux_kg_m2_s, rel=0.1)
    for omega in (4.0, 10.0, 50.0):
        ln = np.log(omega)
        assert critical_pressure_ratio(omega) == pytest.approx(0.55 + 0.217 * ln - 0.046 * ln**2 + 0.004 * ln**3,
                                                               rel=0.01)


def test_pipeline_rupture_releases_the_inventory() -> None:
    """Source: Wilson (1981) double exponential conserves the pipeline inventory, ∫m(t)dt = M0."""
    t = np.arange(0.0, 20000.0, 0.5)
    r = gas_pipeline_rupture(get_substance("methane"), pressure_pa=70e5, temperature_k=288.15, diameter_m=0.3,
                             length_m=20_000.0, times_s=t)
    assert np.trapezoid(r.rate_kg_s, t) == pytest.approx(r.inventory_kg, rel=0.01)
    assert np.all(np.diff(r.rate_kg_s) <= 0)


def test_flashing_jet_keeps_its_aerosol_airborne() -> None:
    """Source: the flashing-jet trials are modelled with the whole discharge airborne, the liquid as aerosol
    (SLAB manual Desert Tortoise 4 deck, Ermak 1990; HSE equivalent sources for Desert Tortoise, Gant et al.
    2022): by default nothing rains out and the jet carries 1 − f of its mass as droplets, f = cp·ΔT/ΔHv."""
    from safetwin.emergency_planner.physics.source_terms import flash_fraction

    cl2 = get_substance("chlorine")
    st = estimate_source(ReleaseSpec(0, 0, "chlorine", "toxic_gas", 20_000.0, hole_diameter_m=0.01, pressure_pa=6.8e5,
                                     temperature_k=293.15, duration_s=600.0), cl2)
    assert st.airborne_fraction == 1.0 and st.pool_kg_s.sum() == 0.0
    assert st.jet_liquid_fraction == pytest.approx(1.0 - flash_fraction(cl2, 293.15))
    assert st.jet_kg_s.sum() == pytest.approx(st.discharge_kg_s.sum())
    with pytest.raises(ValueError, match="rain-out model"):
        estimate_source(ReleaseSpec(0, 0, "chlorine", "toxic_gas", 100.0), cl2, rainout="none")


def test_rained_out_liquid_evaporates() -> None:
    """Source: CCPS airborne fraction min(1, 2f) (the rule of thumb, on request); the rest feeds a pool that
    evaporates by ground conduction (chlorine boils at 239 K): airborne mass exceeds the jet's alone, and
    never the discharged mass."""
    cl2 = get_substance("chlorine")
    st = estimate_source(ReleaseSpec(0, 0, "chlorine", "toxic_gas", 20_000.0, hole_diameter_m=0.01, pressure_pa=6.8e5,
                                     temperature_k=293.15, duration_s=600.0), cl2, rainout="ccps_double_flash")
    jet = st.jet_kg_s.sum()
    assert st.pool_kg_s.sum() > 0.3 * jet
    assert st.total_airborne_kg <= st.discharge_kg_s.sum() + 1e-6
    assert st.discharge_duration_s == 600.0 and st.airborne_duration_s > 600.0


def test_short_release_is_not_a_steady_plume() -> None:
    """Source: Palazzi et al. (1982) finite-duration factor: a 20 s release is far below the steady plume
    far out (along-wind spread), equal near the source."""
    rel = ReleaseSpec(0, 0, "hydrogen sulfide", "toxic_gas", 1e9, rate_kg_s=0.05, duration_s=20.0)
    w = Weather(3.0, 270.0, "D")
    g = GridSpec.around(0, 0, 3000, 50)
    short = compute_consequence_zones(rel, w, g, averaging_time_s=20.0, dispersion_model="gaussian").cloud
    steady = compute_consequence_zones(ReleaseSpec(0, 0, "hydrogen sulfide", "toxic_gas", 1e9, rate_kg_s=0.05), w, g,
                                       averaging_time_s=20.0, dispersion_model="gaussian").cloud
    x = np.array([20.0, 2000.0])
    ratio = short.concentration_at(x, np.zeros(2)) / steady.concentration_at(x, np.zeros(2))
    assert ratio[0] == pytest.approx(1.0, abs=0.02) and ratio[1] < 0.5


def test_slab_engine_and_handover() -> None:
    """Source: SLAB (Ermak 1990) via slabx; hand-over where Ri* < 1 (Britter & McQuaid 1988) keeps the
    centreline continuous; crosswind shape is 1 on the axis and Gaussian for b → 0."""
    from safetwin.emergency_planner.physics.dense_gas import dense_cloud
    from safetwin.emergency_planner.physics.sigmas import PasquillSigmas

    cl2 = get_substance("chlorine")
    w = Weather(3.0, 270.0, "D")
    rel = DenseRelease(cl2, "horizontal_jet", 0.67, 600.0, 0.67 / (4.6 * 18.0), 0.5, None, 1.0)
    raw = get_engine().run(rel, w, averaging_time_s=600.0, receptor_height_m=0.0, x_max_m=5000.0)
    assert np.nanmax(raw.local_richardson) > 1.0 and raw.centreline_mg_m3.max() > 1e4
    prof = dense_cloud(rel, w, averaging_time_s=600.0, passive_sigmas=w.sigmas(averaging_time_s=600.0),
                       along_wind_sigmas=PasquillSigmas("D", "ccps_puff"), x_max_m=5000.0)
    assert prof.handover_x_m is not None and 10.0 < prof.handover_x_m < 1000.0
    k = int(np.searchsorted(prof.x_m, prof.handover_x_m))
    assert prof.centreline_mg_m3[k + 1] == pytest.approx(prof.centreline_mg_m3[k], rel=0.05)
    assert crosswind_shape(np.array([0.0]), np.array([3.0]), np.array([1.0]))[0] == pytest.approx(1.0)
    assert crosswind_shape(np.array([2.0]), np.array([0.0]), np.array([2.0]))[0] == pytest.approx(np.exp(-0.5))


def test_prairie_grass_through_the_entry_point() -> None:
    """Source: Prairie Grass arc maxima (Barad 1958; benchmarks/data/prairie_grass), 53 runs × 5 arcs, each run
    through compute_consequence_zones with its measured weather (U at 2 m, class from L via Golder, σθ,
    z0 = 0.006 m); targets FAC2 ≥ 0.80 and 0.8 ≤ MG ≤ 1.25."""
    import importlib.util
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_prairie_grass.py"
    spec = importlib.util.spec_from_file_location("bench_prairie_grass", bench)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_prairie_grass"] = mod
    spec.loader.exec_module(mod)
    s = mod.score_entry_point(mod.load_arcs(mod.DEFAULT_DATA))
    assert s.n == 265 and s.fac2 >= 0.80 and 0.8 <= s.mg <= 1.25


def test_handover_is_continuous_where_stable_sigma_z_levels_off() -> None:
    """Source: Briggs rural class F σz tends to 0.016/0.0003 = 53 m, shallower than a 9 t chlorine cloud after
    10 km (SLAB: ~200 m): no virtual source exists, and the passive decay must start from the cloud's own
    concentration instead of jumping (it jumped ninefold at the hand-over before)."""
    from safetwin.emergency_planner.physics.dense_gas import dense_cloud
    from safetwin.emergency_planner.physics.sigmas import PasquillSigmas

    cl2 = get_substance("chlorine")
    w = Weather(2.0, 270.0, "F", wind_height_m=2.0, temperature_k=305.0, roughness_m=0.005)
    rel = DenseRelease(cl2, "horizontal_jet", 173.0, 53.0, 1.4, 0.43, None, 1.0)
    prof = dense_cloud(rel, w, averaging_time_s=2.0, passive_sigmas=w.sigmas(averaging_time_s=2.0),
                       along_wind_sigmas=PasquillSigmas("F", "ccps_puff"), x_max_m=20_000.0)
    assert prof.handover_x_m is not None and prof.handover_x_m > 2000.0
    k = int(np.searchsorted(prof.x_m, prof.handover_x_m))
    assert prof.centreline_mg_m3[k + 1] == pytest.approx(prof.centreline_mg_m3[k], rel=0.02)
    assert np.all(np.diff(prof.centreline_mg_m3[k:]) <= 0)
    assert any("cannot reach" in n for n in prof.notes)


def test_measured_obukhov_length_reaches_slab() -> None:
    """Source: Golder (1972) class from L at the site roughness; SLAB takes 1/L directly (Ermak 1990)."""
    from safetwin.emergency_planner.physics.slab_engine import slab_atmosphere

    w = Weather(4.5, 270.0, None, wind_height_m=2.0, roughness_m=0.003, obukhov_length_m=45.25)
    assert w.pasquill_class() == "D"  # 1/L = 0.022 is below Golder's D/E boundary at z0 = 3 mm
    assert slab_atmosphere(w).inv_L == pytest.approx(1 / 45.25)
    assert slab_atmosphere(Weather(4.5, 270.0, "F")).inv_L is None
    with pytest.raises(ValueError):
        Weather(3.0, 0.0, None, obukhov_length_m=0.0)


def test_given_discharge_rate_keeps_the_stored_phase() -> None:
    """Source: a metered discharge of a liquefied gas still flashes (f = cp·ΔT/ΔHv) and, with the CCPS rule,
    rains out; a gas spilling at ambient pressure has no jet (isentropic exit velocity 0) and becomes an area
    source."""
    from safetwin.emergency_planner.physics.source_terms import gas_exit_velocity_m_s

    cl2 = get_substance("chlorine")
    st = estimate_source(ReleaseSpec(0, 0, "chlorine", "toxic_gas", 9100.0, discharge_rate_kg_s=455.0, duration_s=20.0,
                                     temperature_k=290.0, pressure_pa=float(cl2.vapour_pressure_pa(290.0)),
                                     hole_diameter_m=0.152), cl2, rainout="ccps_double_flash")
    assert st.phase == "two-phase" and st.discharge_kg_s[0] == pytest.approx(455.0)
    assert st.pool_kg_s.sum() > 0 and st.discharge_duration_s == 20.0
    assert gas_exit_velocity_m_s(101325.0, 239.0, 0.0709, 1.33) == 0.0
    sonic = gas_exit_velocity_m_s(10e5, 293.15, 0.0709, 1.33)
    assert sonic == pytest.approx(np.sqrt(1.33 * 8.314462618 * 2 * 293.15 / 2.33 / 0.0709))
    spill = compute_consequence_zones(ReleaseSpec(0, 0, "chlorine", "toxic_gas", 2000.0, rate_kg_s=3.0, duration_s=600.0,
                                                  temperature_k=239.1, pressure_pa=101325.0, release_height_m=0.0,
                                                  pool_diameter_m=11.3),
                                      Weather(1.4, 270.0, "F", wind_height_m=2.0), GridSpec.around(0, 0, 500, 25))
    assert spill.model.startswith("dense_gas:slab:pool")
