"""The route search's A* guide (the hazard-free walk length to each muster point) never changes
the route it finds: the same search with no guide (plain label-setting, every direction alike)
gives the same cost and arrival time at every muster point, on an envelope whose closed band and
costly cells change with time, with a stand-off disc and from starts all over the site."""
from __future__ import annotations

import numpy as np

from safetwin.emergency_planner.recommend import routing
from safetwin.emergency_planner.recommend.route_planner import muster_goal_cells, standoff_distance_m
from safetwin.emergency_planner.recommend.hazard import HazardSource, HazardSpec
from safetwin.plant_models.geometry import plant_walkable_raster


def test_the_guided_search_finds_what_the_unguided_search_finds(small_plant):
    raster = plant_walkable_raster(small_plant, 4.0)
    musters = list(small_plant.meta.muster_points)
    goal_id = muster_goal_cells(raster, musters)
    N, nk, dt, t0 = raster.nx * raster.ny, 12, 20.0, 100.0
    X = np.tile(raster.xc, raster.ny)
    rng = np.random.default_rng(3)
    ratio = np.zeros((nk, N), np.float32)
    for k in range(nk):        # a band sweeping across the site, and noise that makes walking costly
        band = np.abs(X - (raster.x0 + 20.0 * k)) < 12.0
        ratio[k] = np.where(band, 0.9, rng.uniform(0.0, 0.3, N))
    env = routing.HazardEnvelope(t0, dt, ratio >= 0.7, (1.0 + 10.0 * ratio).astype(np.float32), ratio)
    src = HazardSource("s", "release", tuple(raster.centre(np.array([N // 2 + raster.nx // 2]))[0]), 0.0)
    env.standoff = standoff_distance_m(raster, HazardSpec(toxic=[], flux=None, sources=[src]), t0, standoff_m=25.0)
    walk = raster.walkable.ravel()
    starts = rng.choice(np.flatnonzero(walk), 25, replace=False)
    active = np.ones(len(musters), bool)
    found = 0
    for c in starts:
        guided = routing.td_dijkstra(raster, env, goal_id, active, int(c), t0, 1.2)
        for q in range(len(musters)):
            g, tarr, _, end = routing._search(walk, env.closed, env.cost, goal_id, q, np.where(walk, 0.0, np.inf),
                                              int(c), t0, env.t_origin, env.dt, raster.nx, raster.ny, raster.h, 1.2,
                                              True, routing._DI, routing._DJ, env.standoff)
            if end < 0:
                assert not np.isfinite(guided.cost[q])
                continue
            found += 1
            assert np.isclose(guided.cost[q], g[end], rtol=1e-12), (c, q)
            assert np.isclose(guided.arrival_s[q], tarr[end], rtol=1e-12), (c, q)
            path = guided.paths[q]
            assert path[0] == c and goal_id[path[-1]] == q
    assert found >= 0.8 * len(starts) * len(musters)    # most starts reach the points: the test bites
