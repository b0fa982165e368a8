"""Incremental re-planning: fields re-marched only beyond the changed cells agree with full solves."""
from __future__ import annotations

import numpy as np
import pytest
from shapely import box

from safetwin.emergency_planner.evacuation import (EvacuationGeometry, EvacuationParams, Exposure, Goal,
                                                   NavigationParams, Population, simulate_evacuation)
from safetwin.emergency_planner.evacuation.navigation import NavigationFields, build_raster, concentration_hazard

# a 60 x 40 m yard with a wall (a gap at each end) and two muster points on the east side
YARD = box(0, 0, 60, 40).difference(box(29, 4, 31, 36))
GOALS = [Goal("north-east", box(56, 34, 60, 40)), Goal("south-east", box(56, 0, 60, 6))]


def _setup(rtol: float = 0.0):
    params = NavigationParams(cell_m=0.5)
    raster = build_raster(EvacuationGeometry(YARD, GOALS), params)
    X, Y = np.meshgrid(raster.xc, raster.yc)
    return params, raster, X, Y


def _cloud(X, Y, t_s: float) -> np.ndarray:
    """A cloud drifting east-north-east across the west half: cost 1 + 10 C/C_ref, impassable core."""
    cx, cy = 5.0 + 1.0 * t_s, 12.0 + 0.3 * t_s
    c = np.exp(-((X - cx) ** 2 + (Y - cy) ** 2) / (2 * 4.0 ** 2))
    c[c < 1e-3] = 0.0  # a cloud with an edge (a concentration hazard is 1 outside it)
    return np.where(c > 0.6, np.inf, 1.0 + 10.0 * c)


def _full(params, raster, cost, key):
    fresh = NavigationFields(raster, params)
    fresh.set_hazard_cost(cost)
    return fresh.field(key), fresh


def test_incremental_fields_equal_full_solves_with_the_same_cost():
    """Re-marched from the frozen part of the last field, every cell gets the value of a full
    scikit-fmm solve with the same cost (exact up to rounding), while fewer cells are marched."""
    params, raster, X, Y = _setup()
    nav = NavigationFields(raster, params)
    key = (0, 1)
    nav.field(key)
    worst = 0.0
    for t in np.arange(2.0, 26.0, 2.0):
        cost = _cloud(X, Y, t)
        nav.set_hazard_cost(cost)
        inc = nav.field(key)
        ref, _ = _full(params, raster, cost, key)
        assert np.array_equal(np.isfinite(inc.T), np.isfinite(ref.T))
        fin = np.isfinite(ref.T)
        worst = max(worst, float(np.max(np.abs(inc.T[fin] - ref.T[fin]))))
        np.testing.assert_allclose(inc.direction, ref.direction, atol=1e-5)
    assert worst < 1e-9 * float(np.max(ref.T[fin]))
    walk = int(np.count_nonzero(raster.walkable))
    assert nav.solves["full"] == 1 and nav.solves["incremental"] == 12
    # the cloud is far from the goals: a re-plan marches well under the whole raster on average
    assert nav.solves["cells_marched"] - walk < 0.7 * 12 * walk, nav.solves


def test_fields_within_rtol_of_full_solves_with_the_latest_cost():
    """With ``rtol`` the cells whose cost moved by less keep the installed cost: every travel time
    stays within ``rtol`` (relative) of a full solve with the latest cost, which the re-plan
    skipped or re-marched only in part."""
    params, raster, X, Y = _setup()
    rtol = 0.05
    nav = NavigationFields(raster, params)
    key = (0,)
    nav.set_hazard_cost(_cloud(X, Y, 0.0))
    nav.field(key)
    worst = 0.0
    skipped = 0
    for t in np.arange(0.25, 12.0, 0.25):
        cost = _cloud(X, Y, t)
        skipped += not nav.set_hazard_cost(cost, rtol=rtol)
        got = nav.field(key)
        ref, _ = _full(params, raster, cost, key)
        fin = np.isfinite(ref.T) & (ref.T > 0)
        assert np.array_equal(np.isfinite(got.T), np.isfinite(ref.T))
        worst = max(worst, float(np.max(np.abs(got.T[fin] / ref.T[fin] - 1.0))))
    assert worst <= rtol / (1 - rtol) + 1e-9, worst
    assert worst > 0.1 * rtol  # the installed cost did lag the latest one
    assert nav.solves["incremental"] > 10


def test_goal_that_closes_and_a_blocked_passage_restart_correctly():
    """Changes next to the goals (a muster point turning impassable) or on the only short route
    (the north gap blocked) re-march what they affect: still equal to full solves."""
    params, raster, X, Y = _setup()
    nav = NavigationFields(raster, params)
    key = (0, 1)
    nav.field(key)
    for cost in (np.where((X > 55) & (Y > 33), np.inf, 1.0),        # north-east muster point impassable
                 np.where((X > 28) & (X < 32) & (Y > 36), np.inf, 1.0),  # and then the north gap instead
                 np.ones_like(X)):                                     # everything open again
        nav.set_hazard_cost(cost)
        inc = nav.field(key)
        ref, _ = _full(params, raster, cost, key)
        fin = np.isfinite(ref.T)
        assert np.array_equal(np.isfinite(inc.T), fin)
        np.testing.assert_allclose(inc.T[fin], ref.T[fin], rtol=1e-12, atol=1e-9)
    assert nav.solves["incremental"] + nav.solves["full"] == 4


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_crowd_outcome_with_incremental_replanning_matches_full_resolves():
    """A crowd leaving the yard while a cloud drifts over the west half (re-planned every 2 s): with
    incremental re-planning the arrivals, the evacuation time and the doses agree with the run that
    re-solves every field in full, within a few per cent; no RuntimeWarning on the way."""
    geo = EvacuationGeometry(YARD, GOALS)
    rng = np.random.default_rng(2)
    pos = np.column_stack([rng.uniform(10.0, 26.0, 20), rng.uniform(3.0, 37.0, 20)])

    def conc(x, y, t):
        cx, cy = 8.0 + 0.8 * t, 14.0 + 0.3 * t
        c = 20.0 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 5.0 ** 2))
        return np.where(c < 0.02, 0.0, c)

    out = {}
    for incremental in (True, False):
        nav = NavigationParams(cell_m=0.5, replan_interval_s=2.0, tau_refresh_s=2.0, incremental_replan=incremental)
        res = simulate_evacuation(geo, Population(pos, premovement_s=np.full(20, 2.0)),
                                  params=EvacuationParams(dt_s=0.1, t_max_s=300.0, navigation=nav, seed=1),
                                  hazard=concentration_hazard(conc, reference_mg_m3=10.0),
                                  exposures=[Exposure(conc, name="gas", incapacitating=False)])
        out[incremental] = res
    inc, full = out[True], out[False]
    assert inc.complete and full.complete
    assert inc.rset_s == pytest.approx(full.rset_s, rel=0.05)
    assert np.sum(inc.dose["gas"]) == pytest.approx(np.sum(full.dose["gas"]), rel=0.05)
    assert np.sum(full.dose["gas"]) > 10.0  # the cloud did reach people
    assert np.mean(inc.arrival_goal == full.arrival_goal) >= 0.9


def test_gridded_hazard_reads_each_point_at_its_own_time_bucket():
    """The incident's gridded hazard (what a re-plan evaluates on the whole raster, each cell at its
    own crossing time) gives every point the nearest cell of the grid at its nearest time bucket."""
    from safetwin.emergency_planner.incident import _GriddedField
    from safetwin.emergency_planner.physics.grid import GridSpec

    grid = GridSpec(0.0, 0.0, 4.0, 4.0, 50, 30)
    field = _GriddedField(grid, lambda t: t + np.arange(grid.nx)[None, :] * 1e-3 + np.zeros(grid.shape), 10.0)
    rng = np.random.default_rng(0)
    x, y, t = rng.uniform(0, 196, (40, 25)), rng.uniform(0, 116, (40, 25)), rng.uniform(-5, 400, (40, 25))
    got = field(x, y, t)
    expected = 10.0 * np.rint(np.maximum(t, 0) / 10.0) + np.clip(np.rint(x / 4.0), 0, 49) * 1e-3
    assert got.shape == (40, 25)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert len(field.cache) > 30  # the points spanned many buckets
