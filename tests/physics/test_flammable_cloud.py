"""Flammable mass, flash fire and congestion: against closed forms and independent calculations."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import chi2
from shapely.geometry import Point, box

from safetwin.emergency_planner.physics.congestion import Obstacle, congestion_in_region
from safetwin.emergency_planner.physics.dispersion import plume_concentration, plume_field
from safetwin.emergency_planner.physics.flammable_cloud import flammable_mass, plume_cloud, puff_cloud
from safetwin.emergency_planner.physics.flash_fire import envelope_of_fields, flash_fire
from safetwin.emergency_planner.physics.grid import GridSpec
from safetwin.emergency_planner.physics.sigmas import PasquillSigmas
from safetwin.substances import get_substance


def test_flammable_mass_of_a_puff_equals_the_closed_form() -> None:
    """Independent method: a ground-level Gaussian puff (σx = σy) holds in C ≥ c* the mass fraction
    P(χ²₃ ≤ 2·ln(C_max/c*)) (the reflected half-space puff is a full trivariate Gaussian of twice the
    mass folded onto z ≥ 0), so the mass between LFL and UFL is M·[F(2 ln(Cmax/LFL)) − F(2 ln(Cmax/UFL))]."""
    sub = get_substance("propane")
    lfl, ufl = sub.lfl_mg_m3, sub.ppm_to_mg_m3(sub.ufl_vol_frac * 1e6)
    mass, u, t = 500.0, 2.0, 30.0
    sig = PasquillSigmas("F", "ccps_puff")
    sy, sz = (float(v) for v in sig(np.array(u * t)))
    c_max = 2 * mass / ((2 * np.pi) ** 1.5 * sy * sy * sz) * 1e6
    assert c_max > ufl  # the core is too rich to burn
    exact = mass * (chi2.cdf(2 * np.log(c_max / lfl), 3) - chi2.cdf(2 * np.log(c_max / ufl), 3))
    cloud = puff_cloud(source_xy_m=(0.0, 0.0), wind_from_deg=270.0, mass_kg=mass, wind_speed_m_s=u, sigmas=sig,
                       time_s=t)
    grid = GridSpec.around(u * t, 0.0, 4 * sy, sy / 25)
    fm = flammable_mass(cloud, grid, np.arange(sz / 50, 4 * sz, sz / 25), lfl_mg_m3=lfl, ufl_mg_m3=ufl)
    assert fm.mass_kg == pytest.approx(exact, rel=0.02)
    assert fm.total_mass_kg == pytest.approx(mass, rel=0.02)
    assert fm.centre_xyz_m[0] == pytest.approx(u * t, abs=0.5) and fm.centre_xyz_m[1] == pytest.approx(0.0, abs=0.5)


def test_flammable_mass_input_checks() -> None:
    f = plume_cloud(source_xy_m=(0, 0), wind_from_deg=0.0, rate_kg_s=1.0, wind_speed_m_s=2.0,
                    sigmas=PasquillSigmas("D"))
    g = GridSpec.around(0, 0, 10, 1)
    with pytest.raises(ValueError):
        flammable_mass(f, g, np.array([0.5, 1.0, 2.0]), lfl_mg_m3=1.0)
    with pytest.raises(ValueError):
        flammable_mass(f, g, np.array([]), lfl_mg_m3=1.0)


def test_flash_fire_envelope_reaches_the_exact_lfl_distance() -> None:
    """The RED (LFL) zone of a steady propane plume reaches the exact centreline LFL distance within a cell."""
    sub = get_substance("propane")
    sig = PasquillSigmas("F")
    rate, u = 5.0, 2.0
    grid = GridSpec.around(0.0, 0.0, 300.0, 1.0)
    fld = plume_field(grid, source_xy_m=(0.0, 0.0), wind_from_deg=270.0, rate_kg_s=rate, wind_speed_m_s=u,
                      sigmas=sig, release_height_m=0.0).concentration_mg_m3
    ff = flash_fire(grid, fld, sub)
    x_lfl = brentq(lambda x: float(plume_concentration(x, 0.0, 0.0, rate_kg_s=rate, wind_speed_m_s=u, sigmas=sig))
                   * 1e6 - sub.lfl_mg_m3, 1.0, 300.0)
    red = next(z for z in ff.zones if z.level == "RED")
    assert red.max_distance_m(0.0, 0.0) == pytest.approx(x_lfl, abs=grid.dx_m * 1.5)
    orange = next(z for z in ff.zones if z.level == "ORANGE")
    assert orange.geometry.contains(red.geometry.buffer(-0.01))
    assert ff.lethal_area_m2 == pytest.approx(red.area_m2, rel=0.05)
    assert ff.lethality.max() == 1.0 and ff.lethality.min() == 0.0
    # a drifting puff sweeps the union of its fields
    assert np.array_equal(envelope_of_fields([fld, 0.5 * fld]), fld)
    with pytest.raises(ValueError):
        flash_fire(grid, fld[:-1], sub)


def test_congestion_confinement_from_a_roof() -> None:
    """A region half covered by a building: 2.5D; ignition inside the building: 2D. VBR by hand."""
    region = box(0, 0, 40, 40)
    cols = [Obstacle(Point(x, 30).buffer(1.5, quad_segs=64), 20.0, diameter_m=3.0) for x in (5, 15, 25, 35)]
    rack = Obstacle(box(0, 19, 40, 21), 8.0, solid_fraction=0.3)
    roof = Obstacle(box(0, 0, 40, 18), 6.0, roofed=True)
    c = congestion_in_region(region, cols + [rack, roof])
    vol = 4 * np.pi * 1.5**2 * 20.0 + 40 * 2 * 8.0 * 0.3
    assert c.obstacle_volume_m3 == pytest.approx(vol, rel=1e-3)
    assert c.volume_blockage_ratio == pytest.approx(vol / (1600 * 20.0), rel=1e-3)
    assert c.confinement == "2.5D" and c.congestion == "low"
    assert congestion_in_region(region, cols + [rack, roof], ignition_xy_m=(20, 5)).confinement == "2D"
    assert c.flame_path_m == pytest.approx(np.hypot(20, 20))
    with pytest.raises(ValueError):
        congestion_in_region(box(0, 0, 0, 0), cols)
