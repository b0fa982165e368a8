"""Off-site assembly points: the plant format, the rule that chooses them and the routes to them.

Rule under test (:mod:`safetwin.emergency_planner.recommend.muster`): the on-site muster point is
preferred when it is clean (tier 0); otherwise people leave the site through a gate to an off-site
assembly point. Route criterion as in ``test_recommend.py``: chlorine AEGL-2 (30 min), US EPA/NRC.
The chlorine drill (every on-site point downwind) is in ``test_recommend_t0.py``.
"""
from __future__ import annotations

import copy
import shutil

import numpy as np
import pytest
import yaml

from safetwin.emergency_planner.recommend import HazardSpec, RecommendParams, recommend
from safetwin.emergency_planner.recommend.muster import MusterSafety, assign_musters, best_muster
from safetwin.plant_models.geometry import plant_walkable_raster, walkable_area
from safetwin.plant_models.loader import PlantValidationError, bundled_plant_path, load_plant
from safetwin.plant_models.schema import AssemblyPoint
from safetwin.substances import get_substance

CL2 = get_substance("chlorine")
AEGL2_CL2 = float(CL2.ppm_to_mg_m3(CL2.toxic.aegl_at(2, 1800.0)))  # mg/m³
#: small_plant's main gate is at (100, 0.5), 8 m wide; the assembly point's disc 6 m south of it
OA = {"id": "OA-1", "name": "Off-site assembly point", "position": [100.0, -14.0], "capacity": 50,
      "radius_m": 8.0, "gate_id": "G-MAIN"}


def plant_with(tmp_path, *points: dict):
    """A copy of small_plant with ``points`` as its assembly points."""
    folder = tmp_path / "plant"
    shutil.copytree(bundled_plant_path("small_plant"), folder)
    meta = yaml.safe_load((folder / "plant.yaml").read_text(encoding="utf-8"))
    meta["assembly_points"] = list(points)
    (folder / "plant.yaml").write_text(yaml.safe_dump(meta), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def offsite_plant(tmp_path_factory):
    return load_plant(plant_with(tmp_path_factory.mktemp("oa"), OA))


def blob(cx: float, cy: float, sigma_m: float, peak_mg_m3: float):
    """A steady Gaussian cloud of chlorine (mg/m³) centred on (cx, cy)."""
    def c(x, y, t):
        x, y, t = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float), np.asarray(t, float))
        return peak_mg_m3 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma_m**2))
    return c


# ------------------------------------------------------------------------------------------ plant format
def test_assembly_points_load_and_are_validated(tmp_path, offsite_plant):
    assert isinstance(offsite_plant.assembly_points["OA-1"], AssemblyPoint)
    assert [m.id for m in offsite_plant.mustering_points] == ["MP-1", "MP-2", "OA-1"]
    assert list(offsite_plant.muster_points) == ["MP-1", "MP-2"]       # the simulator's list is unchanged
    bad_gate = dict(OA, gate_id="G-NOPE")
    inside = dict(OA, id="OA-2", position=[100.0, 20.0])
    twin = dict(OA, id="MP-1")
    with pytest.raises(PlantValidationError) as err:
        load_plant(plant_with(tmp_path, bad_gate, inside, twin))
    found = {(i.feature, i.field) for i in err.value.issues}
    assert ("OA-1", "assembly_points.gate_id") in found
    assert ("OA-2", "assembly_points.position") in found
    assert ("MP-1", "assembly_points.id") in found
    assert any("G-NOPE" in i.message and "G-MAIN" in i.message for i in err.value.issues)


def test_walkable_space_of_the_recommendations_joins_the_approach(offsite_plant, small_plant):
    """The evacuation simulator's walkable area is unchanged; the recommendations' raster holds the
    approach and the disc outside the site, connected to the site through the gate."""
    from scipy import ndimage

    assert walkable_area(offsite_plant).area == pytest.approx(walkable_area(small_plant).area)
    base = plant_walkable_raster(offsite_plant, 2.0)
    joined = plant_walkable_raster(offsite_plant, 2.0, approaches=True)
    assert base.y0 >= 0.0 and joined.y0 <= -20.0
    labels, _ = ndimage.label(joined.walkable, structure=np.ones((3, 3)))
    at_oa = labels.ravel()[joined.cell_of(np.array([100.0]), np.array([-14.0]))[0]]
    in_site = labels.ravel()[joined.cell_of(np.array([120.0]), np.array([20.0]))[0]]
    assert at_oa > 0 and at_oa == in_site


# ------------------------------------------------------------------------------------------ the rule
def _safety(tier, excluded, offsite):
    return MusterSafety(peak_ratio=np.zeros(len(tier)), tier=np.array(tier), excluded=np.array(excluded),
                        notes=[], offsite=np.array(offsite))


def test_on_site_first_when_clean_else_through_a_gate():
    arrival = np.array([300.0, 60.0])                  # on-site point far, off-site point near
    assert best_muster(arrival, _safety([0, 0], [False, False], [False, True])) == 0   # clean on-site wins
    assert best_muster(arrival, _safety([1, 0], [False, False], [False, True])) == 1   # on-site not clean
    assert best_muster(arrival, _safety([0, 0], [True, False], [False, True])) == 1    # on-site excluded
    assert best_muster(np.array([np.inf, 60.0]), _safety([0, 0], [False, False], [False, True])) == 1  # unreachable
    assert best_muster(arrival, _safety([0, 0], [False, False], [False, True]), banned={0}) == 1
    # capacity: two people, a clean on-site point for one: the second goes off site, not over capacity
    goal, over = assign_musters([arrival, arrival], [1, 10], _safety([0, 0], [False, False], [False, True]),
                                [set(), set()])
    assert sorted(goal.tolist()) == [0, 1] and not over.any()


def test_clean_on_site_point_is_preferred_even_when_the_gate_is_nearer(offsite_plant):
    """Nobody at risk, a person by the main gate: the off-site point is nearer, the on-site MP-1 is
    clean, so MP-1."""
    start = np.array([[95.0, 2.0]])
    rec = recommend(offsite_plant, HazardSpec(toxic=[]), ["p"], start, 0.0)
    assert rec.people[0].muster_point == "MP-1"
    assert {m.id: m.gate_id for m in rec.muster}["OA-1"] == "G-MAIN"
    # the free walk to OA-1 is the shorter one (what the rule overrides)
    alone = copy.deepcopy(offsite_plant)
    alone.meta.muster_points = []
    only_oa = recommend(alone, HazardSpec(toxic=[]), ["p"], start, 0.0)
    assert only_oa.people[0].muster_point == "OA-1"
    assert only_oa.people[0].arrival_s < rec.people[0].arrival_s


def test_people_leave_by_the_gate_when_every_muster_point_is_in_the_cloud(offsite_plant):
    """A cloud of 50 × AEGL-2 over both on-site muster points (the site told to act): people are
    sent off site through the main gate, told the gate, every route sample below AEGL-2."""
    people = np.array([[90.0, 40.0], [110.0, 45.0], [80.0, 30.0]])
    ids = ["a", "b", "c"]
    cloud = [(blob(160.0, 30.0, 15.0, 50 * AEGL2_CL2), CL2)]
    hz = HazardSpec(toxic=cloud)
    rec = recommend(offsite_plant, hz, ids, people, 0.0, params=RecommendParams(scope="site"))  # all act
    status = {m.id: m for m in rec.muster}
    assert status["MP-1"].excluded and status["MP-2"].excluded and not status["OA-1"].excluded
    assert status["OA-1"].assigned == 3
    gate = offsite_plant.gates["G-MAIN"].geometry.coords[0]
    for p in rec.people:
        assert p.action == "evacuate" and p.muster_point == "OA-1", (p.id, p.action, p.reason)
        assert "leave by Main gate (G-MAIN) to OA-1" in p.reason
        xy, t = np.asarray(p.route_xy), np.asarray(p.route_t_s)
        s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
        q = np.linspace(0.0, s[-1], int(np.ceil(s[-1] / 0.25)) + 1)
        x, y, tt = np.interp(q, s, xy[:, 0]), np.interp(q, s, xy[:, 1]), np.interp(q, s, t)
        assert cloud[0][0](x, y, tt).max() <= AEGL2_CL2
        assert np.hypot(x - gate[0], y - gate[1]).min() <= 4.0 + 2.0   # through the gate (8 m wide, 2 m cells)
        assert np.hypot(x[-1] - 100.0, y[-1] + 14.0) <= 8.0 + 2.0        # ends in OA-1's disc
    acting = [a for a in rec.areas if a.action == "evacuate"]
    assert acting and all(a.muster_point == "OA-1" and "G-MAIN" in a.reason for a in acting)
