"""TwinState and spatial queries, checked against hand-computed answers."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from shapely.geometry import Polygon, box

from safetwin.twin.events import PersonEnteredArea, PersonLeftArea, ReadingApplied
from safetwin.twin.spatial import AreaIndex
from safetwin.twin.state import TwinState, UnknownSensorError


def test_area_index_is_exact_at_boundaries():
    # a triangle and a square sharing an edge; points chosen by hand, some 1 cm from edges
    tri = Polygon([(0, 0), (10, 0), (0, 10)])
    sq = box(10, 0, 20, 10)
    idx = AreaIndex({"T": tri, "S": sq}, cell_m=1.0)
    x = np.array([1.0, 4.99, 5.01, 9.99, 10.01, 25.0, 15.0])
    y = np.array([1.0, 5.0, 5.0, 0.005, 5.0, 5.0, 9.995])
    # (4.99, 5) is inside x+y<10; (5.01, 5) is outside the triangle and not in the square
    assert idx.area_ids(x, y).tolist() == ["T", "T", None, "T", "S", None, "S"]
    assert idx.area_of(0.5, 0.5) == "T"


def test_area_index_matches_shapely_on_random_points():
    rng = np.random.default_rng(3)
    star = Polygon([(50 + 40 * np.cos(a) * (1 if k % 2 else 0.4), 50 + 40 * np.sin(a) * (1 if k % 2 else 0.4))
                    for k, a in enumerate(np.linspace(0, 2 * np.pi, 14, endpoint=False))])
    inner = box(45, 45, 55, 55)  # overlaps the star: the smaller area wins
    idx = AreaIndex({"star": star, "inner": inner}, cell_m=2.0)
    x, y = rng.uniform(0, 100, 50_000), rng.uniform(0, 100, 50_000)
    got = idx.area_ids(x, y)
    import shapely
    expect = np.where(shapely.contains_xy(inner, x, y), "inner",
                      np.where(shapely.contains_xy(star, x, y), "star", None))
    assert (got == expect).all()


def test_readings_quality_order_and_unknown(small_plant):
    state = TwinState(small_plant)
    seen = []
    state.bus.subscribe(ReadingApplied, seen.append)
    assert state.apply_reading("GD-01", 12.0, ts=100.0)
    assert state.reading("GD-01").quality == "ok"
    assert not state.apply_reading("GD-01", 30.0, ts=90.0)  # late: history only
    assert state.reading("GD-01").value == 12.0
    assert state.apply_reading("CL-01", 25.0, ts=101.0)  # range 0..20 ppm
    assert state.reading("CL-01").quality == "out_of_range"
    with pytest.raises(UnknownSensorError):
        state.apply_reading("NOPE", 1.0, ts=1.0)
    assert [e.sensor_id for e in seen] == ["GD-01", "CL-01"]
    # GD-01 reports every 5 s: 3 periods later it is stale
    assert state.mark_stale(now=116.0) == ["GD-01"]
    assert state.reading("GD-01").quality == "stale"


def test_positions_areas_and_events(small_plant):
    state = TwinState(small_plant)
    events = []
    state.bus.subscribe(PersonEnteredArea, events.append)
    state.bus.subscribe(PersonLeftArea, events.append)
    state.update_positions(["a", "b", "a"], [50.0, 150.0, 120.0], [30.0, 30.0, 30.0], ts=[1.0, 1.0, 2.0])
    assert state.person("a").area_id == "A-OFFICE"  # the later fix of "a" wins within the batch
    assert state.person("b").area_id == "A-OFFICE"
    assert state.update_positions(["a"], [50.0], [30.0], ts=[1.5]) == 0  # older than held: ignored
    state.update_position("a", 50.0, 30.0, ts=3.0)
    assert state.person("a").area_id == "A-STORE"
    assert [(type(e).__name__, e.person_id, e.area_id) for e in events] == [
        ("PersonEnteredArea", "a", "A-OFFICE"), ("PersonEnteredArea", "b", "A-OFFICE"),
        ("PersonLeftArea", "a", "A-OFFICE"), ("PersonEnteredArea", "a", "A-STORE")]
    state.update_position("c", 500.0, 500.0, ts=3.0)
    assert state.person("c").area_id is None
    assert state.occupancy() == {"A-STORE": 1, "A-OFFICE": 1, None: 1}


def test_spatial_queries_hand_computed(small_plant):
    state = TwinState(small_plant)
    pts = {"p1": (10, 10), "p2": (13, 14), "p3": (60, 60), "p4": (150, 100), "p5": (199, 149)}
    state.update_positions(list(pts), [p[0] for p in pts.values()], [p[1] for p in pts.values()], ts=0.0)
    # within 5 m of (10, 10): p1 (0 m) and p2 (exactly 5 m: 3-4-5 triangle, boundary included)
    assert sorted(state.people_within(10, 10, 5.0)) == ["p1", "p2"]
    assert sorted(state.people_within(10, 10, 4.99)) == ["p1"]
    assert sorted(state.people_in_polygon(box(100, 50, 200, 150))) == ["p4", "p5"]
    assert sorted(state.people_in_area("A-STORE")) == ["p1", "p2", "p3"]
    # sensors: GD-01..03 and CL-01, CL-02 sit in x < 100 (storage); CL-03 and MET-1 in the office area
    assert sorted(state.sensors_in_area("A-OFFICE")) == ["CL-03", "MET-1"]
    assert sorted(state.sensors_in_area(box(0, 30, 50, 70))) == ["GD-01", "GD-03"]
    # nearest muster point: MP-1 at (120, 20), MP-2 at (185, 30); from (150, 25): 30.41 m vs 35.36 m
    mp, d = state.nearest_muster_point(150, 25)
    assert mp == "MP-1" and d == pytest.approx(np.hypot(30, 5), rel=1e-9)
    assert state.area_of(150, 100) == "A-OFFICE"


def test_concurrent_writers_and_readers(small_plant):
    state = TwinState(small_plant)
    n_threads, per = 4, 2000
    errors = []

    def writer(k):
        try:
            rng = np.random.default_rng(k)
            for i in range(per // 100):
                ids = [f"w{k}-{j}" for j in range(100)]
                state.update_positions(ids, rng.uniform(0, 200, 100), rng.uniform(0, 150, 100), ts=float(i))
                state.apply_reading("GD-02", float(i), ts=float(i))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader():
        for _ in range(200):
            cols = state.people()  # a consistent snapshot: every column has the same length
            assert len({len(v) for v in cols.values()}) == 1

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(n_threads)] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert state.head_count == n_threads * 100
    assert sum(state.occupancy().values()) == n_threads * 100


def test_equipment_and_alarms(small_plant):
    state = TwinState(small_plant)
    assert state.set_equipment_state("TK-1", "filling", ts=10.0, level_pct=55)
    assert not state.set_equipment_state("TK-1", "idle", ts=5.0)
    assert state.equipment_states()["TK-1"].attributes == {"level_pct": 55}
    with pytest.raises(KeyError):
        state.set_equipment_state("NOPE", "x", ts=1.0)
    state.raise_alarm("GD-01:high", "GD-01", "high", ts=11.0)
    assert [a.alarm_id for a in state.active_alarms()] == ["GD-01:high"]
    assert state.clear_alarm("GD-01:high", ts=12.0) and not state.clear_alarm("GD-01:high", ts=13.0)
