"""Plant geometry, each idea once: the road graph, the walkable raster and the point → area rule,
checked against hand-computed answers and against every user (drills, recommendations,
evacuation, the twin)."""
from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
from scipy import ndimage
from shapely.geometry import LineString, Point, box

from safetwin.emergency_planner.evacuation.navigation import build_raster
from safetwin.emergency_planner.evacuation.params import NavigationParams
from safetwin.emergency_planner.plant_evacuation import plant_geometry
from safetwin.plant_models.geometry import (
    AreaIndex,
    RoadGraph,
    area_index,
    interior_fences,
    plant_walkable_raster,
    rasterise_walkable,
    road_graph,
    roads_followed,
    walkable_area,
)
from safetwin.plant_models.loader import bundled_plant_path, load_plant
from safetwin.twin.state import TwinState


# ------------------------------------------------------------------------------------------ roads
def square_with_walkway() -> RoadGraph:
    """A 100 m square of roads with a walkway along its diagonal (0, 0)–(100, 100)."""
    ring = LineString([(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)])
    return RoadGraph.from_lines([ring, LineString([(0, 0), (100, 100)])], vehicles=[True, False])


def test_walkers_take_the_walkway_and_vehicles_the_roads():
    g = square_with_walkway()
    assert g.distance_m((0, 0), (100, 100)) == (pytest.approx(100 * math.sqrt(2)), True)
    drive = g.usable_edges(vehicles_only=True)
    assert drive.sum() == 4 and not drive[np.argmax(g.edge_length_m)]   # the diagonal is not a road
    assert g.distance_m((0, 0), (100, 100), edges=drive) == (pytest.approx(200.0), True)


def test_points_join_the_graph_at_the_nearest_point_of_a_usable_edge():
    g = square_with_walkway()
    drive = g.usable_edges(vehicles_only=True)
    # (50, -10) joins the south road at (50, 0); (100, 60) lies on the east road: 10 + 50 + 60
    route = g.route((50, -10), (100, 60), edges=drive)
    assert route == [(50, -10), (50.0, 0.0), (100.0, 0.0), (100, 60)]
    assert g.distance_m((50, -10), (100, 60), edges=drive) == (pytest.approx(120.0), True)
    # two points beside the same edge: along that edge only (5 + 40 + 5)
    assert g.distance_m((30, -5), (70, -5), edges=drive) == (pytest.approx(50.0), True)


def test_blocked_roads_cut_the_graph():
    g = RoadGraph.from_lines([LineString([(0, 0), (200, 0)]), LineString([(100, -100), (100, 100)])],
                             vehicles=[True, True])
    open_ = g.usable_edges(blocked=[box(140, -5, 160, 5)])           # the east arm is closed
    assert open_.sum() == 3
    # (200, 0) now joins the graph at the crossing, the nearest point of an open edge
    assert g.route((0, 0), (200, 0), edges=open_) == [(0, 0), (100.0, 0.0), (200, 0)]
    assert g.distance_m((0, 0), (100, 100), edges=open_) == (pytest.approx(200.0), True)
    # two roads that do not meet: no path, 1.4 × the straight distance
    apart = RoadGraph.from_lines([LineString([(0, 0), (100, 0)]), LineString([(0, 50), (100, 50)])],
                                 vehicles=[True, True])
    assert apart.route((0, 0), (100, 50)) is None
    assert apart.distance_m((0, 0), (100, 50)) == (pytest.approx(1.4 * math.hypot(100, 50)), False)


def test_gates_become_nodes_and_edges_are_sampled():
    g = RoadGraph.from_lines([LineString([(0, 0), (10, 0)])], vehicles=[True], gates={"G": (4.0, 0.3)})
    assert g.nodes_xy_m[g.gate_nodes["G"]].tolist() == [4.0, 0.0]
    assert sorted(g.edge_length_m.tolist()) == [4.0, 6.0]
    pts, owner = g.sample_edges(2.0)        # 4 m → 3 points, 6 m → 4 points, ends included
    assert sorted(np.bincount(owner).tolist()) == [3, 4]
    assert {tuple(p) for p in pts} == {(0.0, 0.0), (2.0, 0.0), (4.0, 0.0), (6.0, 0.0), (8.0, 0.0), (10.0, 0.0)}


def test_demo_plant_road_graph(demo_plant):
    g = road_graph(demo_plant)
    assert road_graph(demo_plant) is g                                 # built once per plant
    assert set(g.gate_nodes) == set(demo_plant.gates)
    drive = g.usable_edges(vehicles_only=True)
    main, north = (demo_plant.gates[k].geometry.coords[0] for k in ("G-MAIN", "G-NORTH"))
    # main gate (745, 0) to north gate (610, 600): up the main avenue to the central avenue (250 m),
    # west to the unit 2/3 road (135 m), north to the gate (350 m) — or an equal 735 m by the ring
    dist, on_roads = g.distance_m(tuple(main), tuple(north), edges=drive)
    assert on_roads and dist == pytest.approx(735.0)
    # the main gate avenue, walked from the gate to the central avenue, follows R-MAIN
    assert roads_followed(demo_plant, np.column_stack([np.full(120, 745.0), np.linspace(0, 240, 120)]),
                          kinds=("road",)) == ["R-MAIN"]


# ------------------------------------------------------------------------------------------ walkable raster
def test_rasterise_counts_cells_and_closes_wall_cells():
    area = box(0, 0, 10, 6).difference(box(2, 2, 4, 4))                 # 60 cells minus a 2 × 2 hole
    r = rasterise_walkable(area, 1.0)
    assert (r.nx, r.ny, int(r.walkable.sum())) == (10, 6, 56)
    assert rasterise_walkable(area, 1.0) is r                           # cached and shared ...
    with pytest.raises(ValueError):
        r.walkable[0, 0] = False                                        # ... so read-only
    wall = LineString([(6.05, 0.0), (6.05, 3.5)])                        # thinner than a cell: rows 0..3 of column 6
    walled = rasterise_walkable(area, 1.0, walls=wall)
    assert int(walled.walkable.sum()) == 52
    assert not walled.walkable[:4, 6].any() and walled.walkable[4:, 6].all()
    assert r.cell_of(np.array([6.5]), np.array([2.5]))[0] == 2 * 10 + 6
    assert r.centre(np.array([26]))[0].tolist() == [6.5, 2.5]


def test_evacuation_and_recommendation_share_the_walkable_raster(demo_plant):
    shared = plant_walkable_raster(demo_plant, 4.0)
    nav = build_raster(plant_geometry(demo_plant), NavigationParams(cell_m=4.0))
    assert (nav.x0, nav.y0, nav.h, nav.nx, nav.ny) == (shared.x0, shared.y0, shared.h, shared.nx, shared.ny)
    assert np.array_equal(nav.walkable, shared.walkable)


@pytest.fixture()
def fenced_plant(tmp_path):
    """The small plant with a fence across the site at x = 120 m and, optionally, a gate in it
    where the main road crosses (120, 75)."""
    def make(with_gate: bool):
        folder = tmp_path / f"fenced_{with_gate}"
        shutil.copytree(bundled_plant_path("small_plant"), folder)
        fences = json.loads((folder / "fences.geojson").read_text())
        fences["features"].append({"type": "Feature", "properties": {"id": "F-IN"},
                                   "geometry": {"type": "LineString", "coordinates": [[120, 0], [120, 150]]}})
        (folder / "fences.geojson").write_text(json.dumps(fences))
        if with_gate:
            gates = json.loads((folder / "gates.geojson").read_text())
            gates["features"].append({"type": "Feature", "properties": {"id": "G-IN", "kind": "service", "width_m": 8.0},
                                      "geometry": {"type": "Point", "coordinates": [120, 75]}})
            (folder / "gates.geojson").write_text(json.dumps(gates))
        return load_plant(folder)
    return make


def test_interior_fences_are_walls_with_openings_at_gates(fenced_plant, small_plant):
    assert interior_fences(small_plant).is_empty                        # its fences are the site boundary
    for with_gate, parts in ((True, 1), (False, 2)):
        plant = fenced_plant(with_gate)
        fence = interior_fences(plant)
        assert fence.length == pytest.approx(148.0 - (8.0 if with_gate else 0.0))
        assert not walkable_area(plant).contains(Point(120, 40))         # the fence is cut out
        r = plant_walkable_raster(plant, 2.0)
        _, n_parts = ndimage.label(r.walkable)
        assert n_parts == parts                                         # only the gate joins the two sides
        assert not r.walkable[5:30, 60].any()                           # cells 120-122 m crossed by the fence
        nav = build_raster(plant_geometry(plant), NavigationParams(cell_m=2.0))
        assert np.array_equal(nav.walkable, r.walkable)                 # the agents see the same fence


# ------------------------------------------------------------------------------------------ point → area
def test_smallest_area_wins_boundary_included():
    areas = {"big": box(0, 0, 100, 100), "plot": box(10, 10, 20, 20), "east": box(100, 0, 150, 100),
             "twin": box(150, 0, 200, 100)}
    idx = AreaIndex(areas)
    x = np.array([50.0, 15.0, 10.0, 100.0, 150.0, 250.0, 100.0])
    y = np.array([50.0, 15.0, 15.0, 50.0, 50.0, 50.0, 100.0])
    # (10, 15) on the plot's edge: the plot; (100, 50) on big|east: east (5000 < 10000 m²);
    # (150, 50) on east|twin (equal areas): the one listed first; the corner (100, 100): east
    assert idx.area_ids(x, y).tolist() == ["big", "plot", "plot", "east", "east", None, "east"]
    assert [idx.area_of(a, b) for a, b in zip(x, y)] == idx.area_ids(x, y).tolist()
    assert idx.area_ids(x.reshape(1, -1), y.reshape(1, -1)).shape == (1, 7)


def test_one_rule_for_every_user(demo_plant):
    """The twin, the recommendations and the workflows all answer with the plant's area index: on the
    demo plant a person on the west avenue (x = 340 m, the A-LOADING | A-WORKSHOP border) is in
    A-LOADING (47 500 m², smaller than A-WORKSHOP's 75 450 m²)."""
    idx = area_index(demo_plant)
    assert area_index(demo_plant) is idx
    assert idx.area_of(340.0, 100.0) == "A-LOADING"
    assert TwinState(demo_plant).area_of(340.0, 100.0) == "A-LOADING"
    rng = np.random.default_rng(4)
    x, y = rng.uniform(0, 900, 5000), rng.uniform(0, 600, 5000)
    x[:500] = 340.0                                                     # on a border
    state = TwinState(demo_plant)
    assert (state.areas.area_ids(x, y) == idx.area_ids(x, y)).all()
    assert (idx.area_ids(x, y) != None).all()
