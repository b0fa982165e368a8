"""Plant geometry on the demo plant: road routes per second and walkable rasters.

* **Routes** — :meth:`RoadGraph.route` between random points of two work areas (what the
  simulated plant asks at every trip of every person), cold (a fresh graph: every start node
  searched) and warm (the shortest-path trees of the start nodes kept, as in a running
  simulator), against the floor of one ``scipy.sparse.csgraph.dijkstra`` call from a node on the
  same graph (the search alone, no joining of the points).
* **Rasters** — the rasteriser behind :func:`rasterise_walkable` (uncached, a fresh copy of the
  polygon each time) on the demo plant's walkable area at 4, 2 and 1 m, against the floor of one
  ``shapely.contains_xy`` over the same cell centres (what the rasteriser must do at least).

Run: ``python benchmarks/bench_geometry.py``; prints the figures and the ratios to the floors.
"""
from __future__ import annotations

import dataclasses
import random
import time

import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra

from safetwin.live_bridge.simulator import random_point_in
from safetwin.plant_models.geometry import road_graph, walkable_area
from safetwin.plant_models.geometry.walkable import _rasterise  # the rasteriser behind the cache
from safetwin.plant_models.loader import bundled_plant_path, load_plant


def best_of(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    demo = load_plant(bundled_plant_path("demo_plant"))
    graph = road_graph(demo)
    rng = random.Random(1)
    areas = [a.geometry for a in demo.areas.values()]
    trips = [(random_point_in(a, rng), random_point_in(b, rng)) for a, b in
             (rng.sample(areas, 2) for _ in range(500))]
    matrix = graph._matrix(None, None)
    sources = [graph.nearest_node(*a) for a, _ in trips]
    t_cold = best_of(lambda: [dataclasses.replace(graph, _trees={}).route(a, b) for a, b in trips], 3) / len(trips)
    t_route = best_of(lambda: [graph.route(a, b) for a, b in trips], 3) / len(trips)
    t_floor = best_of(lambda: [dijkstra(matrix, directed=False, indices=s, return_predecessors=True)
                               for s in sources], 3) / len(trips)
    print(f"road graph: {len(graph.nodes_xy_m)} nodes, {len(graph.edges)} edges")
    print(f"route cold: {t_cold * 1e3:.3f} ms ({t_cold / t_floor:.1f}x the floor)   warm: {t_route * 1e3:.3f} ms "
          f"({t_route / t_floor:.1f}x, {1 / t_route:,.0f} routes/s)   floor (one Dijkstra from a node): "
          f"{t_floor * 1e3:.3f} ms")
    walk = walkable_area(demo)
    wkb = shapely.to_wkb(walk)
    for cell in (4.0, 2.0, 1.0):
        x0, y0, x1, y1 = walk.bounds
        xc = x0 + (np.arange(int(np.ceil((x1 - x0) / cell))) + 0.5) * cell
        yc = y0 + (np.arange(int(np.ceil((y1 - y0) / cell))) + 0.5) * cell
        X, Y = np.meshgrid(xc, yc)
        # a fresh copy of the polygon each time: no cache hit, no prepared geometry carried over
        t_r = best_of(lambda cell=cell: _rasterise(shapely.from_wkb(wkb), cell, None))
        t_f = best_of(lambda X=X, Y=Y: shapely.contains_xy(shapely.from_wkb(wkb), X, Y))
        print(f"raster {cell:g} m ({X.size:,} cells): {t_r * 1e3:.1f} ms   floor (contains_xy): {t_f * 1e3:.1f} ms   "
              f"ratio {t_r / t_f:.2f}x")

if __name__ == "__main__":
    main()
