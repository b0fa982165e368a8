"""Plant check: planted layout problems are found (unreachable muster points, a work area with no
exit, equipment out of every detector's reach), and the detection reach is the plume's own."""
from __future__ import annotations

import numpy as np
import pytest

from planted_plant import PLANTED, write_planted_plant
from safetwin.emergency_planner.physics.dispersion import plume_concentration
from safetwin.emergency_planner.physics.sigmas import PasquillSigmas
from safetwin.emergency_planner.plant_check import check_plant, detection_reach_m
from safetwin.plant_models.loader import load_plant
from safetwin.plant_models.schema import Sensor
from safetwin.substances import get_substance


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return load_plant(write_planted_plant(tmp_path_factory.mktemp("planted") / "plant"))


def test_planted_problems_are_found(planted, demo_plant):
    check = check_plant(planted)
    for rule, items in PLANTED.items():
        assert items <= set(check.of(rule)), (rule, check.of(rule))
    # nothing the demo plant itself is free of is flagged: the planted plant adds exactly the planted items
    base = check_plant(demo_plant)
    for rule in ("unreachable_muster_point", "area_without_exit"):
        assert set(check.of(rule)) - set(base.of(rule)) == PLANTED[rule]
    assert set(check.of("uncovered_equipment")) - set(base.of("uncovered_equipment")) == {"V-PLANTED"}
    assert base.of("unreachable_muster_point") == [] and base.of("area_without_exit") == []
    caged = next(f for f in check.findings if f.item == "MP-CAGED")
    assert caged.severity == "error" and "cannot be reached" in caged.message
    assert check.cut_off.area > 40 * 40   # the cage's inside is cut-off ground


def test_opening_a_gate_in_the_cage_gives_the_area_an_exit(planted):
    import copy

    from safetwin.plant_models.schema import Gate
    from shapely.geometry import Point

    opened = copy.copy(planted)
    cage = planted.fences["F-CAGE"].geometry
    gate = Gate(id="G-CAGE", kind="emergency", width_m=3.0)
    gate.geometry = Point(cage.interpolate(0.1, normalized=True).coords[0])
    opened.gates = {**planted.gates, "G-CAGE": gate}
    assert "A-CAGE" not in check_plant(opened).of("area_without_exit")


def test_reach_is_where_the_plume_falls_to_the_first_alarm_level():
    """At the reach the plume's centreline is at the alarm level (converted ppm → mg/m³ independently)."""
    sensor = Sensor(id="GD", type="toxic_gas", gas="ammonia", unit="ppm", position=(0, 0), height_m=2.5,
                    alarm={"warning": 25, "high": 35, "high_high": 70})
    reach = detection_reach_m(sensor, "ammonia")
    nh3 = get_substance("ammonia")
    level_mg_m3 = 25 * nh3.molar_mass_kg_mol * 1e3 / 24.465   # ppm at 25 °C, 1 atm
    c = plume_concentration(np.array([reach * 0.99, reach * 1.01]), 0.0, 2.5, rate_kg_s=0.1, wind_speed_m_s=3.0,
                            sigmas=PasquillSigmas("D"), release_height_m=2.5) * 1e6
    assert c[0] >= level_mg_m3 * 0.999 and c[1] < level_mg_m3
    # a %LEL head responds to propane through its LFL; a chlorine head does not respond to propane at all
    lel = Sensor(id="GD2", type="flammable_gas", gas="propane", unit="%LEL", position=(0, 0),
                 alarm={"warning": 10, "high": 25, "high_high": 50})
    assert 5 < detection_reach_m(lel, "propane") < 60
    cl2 = Sensor(id="GD3", type="toxic_gas", gas="chlorine", unit="ppm", position=(0, 0),
                 alarm={"warning": 0.5, "high": 1, "high_high": 2})
    assert detection_reach_m(cl2, "propane") == 0.0
