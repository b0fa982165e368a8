"""Delayed ignition at the plant's ignition sources (``ignition_sources`` in plant.yaml).

A continuous propane leak (50 mm hole, 10 bar gas) in class F1.5 with the wind always from the west:
the unignited cloud reaches its LFL ~250 m east. At a receptor 100 m downwind — inside the cloud, far
beyond the jet fire's reach — the location-specific risk is the frequency of the cloud that did not
ignite at once × the probability it is ignited later × 1 (flash fire: death inside the LFL envelope):

* a heater 60 m east, in the cloud, igniting with P = 0.3: IR = f·(1 − P_immediate)·0.3;
* the same heater 60 m west (upwind, never in the cloud): IR = 0 from the flash fire;
* no declared source: the category's P_delayed (0.5), as before sources existed.

The jet fire adds the same amount in every run, so the differences between runs are compared with
the hand values. The cloud is forced through the Gaussian model (``dispersion_model: gaussian``): the
entry point's automatic choice is the dense-gas jet, whose momentum dilutes this leak below its LFL
within ~21 m (no ignition source could be reached); this test is about the ignition bookkeeping. The per-direction rule itself (extended sources count with the fraction covered)
is checked on a synthetic envelope.
"""
from __future__ import annotations

import numpy as np
import pytest

from safetwin.emergency_planner.qra import run_qra
from safetwin.emergency_planner.qra.ignition import IgnitionPoints, delayed_ignition_by_direction
from safetwin.emergency_planner.qra.polar import PolarGrid
from safetwin.plant_models.loader import load_plant

from plants import point_equipment, uniform_weather, write_plant

F_HOLE = 1.0e-5
P_IMMEDIATE = 0.2        # gas, average/high reactivity, < 10 kg/s (data/ignition.yaml)
P_DELAYED = 0.5          # the same category's delayed ignition when no source is declared
P_HEATER = 0.3


def _plant(root, name: str, sources: list[dict]):
    return write_plant(root, name, ignition_sources=sources,
                       equipment=point_equipment("V-1", "pressure_vessel", (20.0, 20.0), height_m=4.0, diameter_m=3.0),
                       inventory={"equipment_id": "V-1", "substance": "propane", "mass_kg": 50000.0, "phase": "gas",
                                  "pressure_pa": 1.0e6},
                       qra={"loc_events": {"V-1": [{"id": "H50", "type": "hole", "hole_mm": 50,
                                                    "frequency_per_year": F_HOLE, "source": "test"}]},
                            "weather": uniform_weather(1.5, stability="F", rose=[0.0] * 9 + [1.0, 0.0, 0.0],
                                                       smear=False),
                            "ignition": {"lethality": {"dispersion_model": "gaussian"}}})


def _ir_at(res, x_m: float, y_m: float) -> float:
    g = res.grid
    return float(res.ir[int(round((y_m - g.y_min_m) / g.dy_m)), int(round((x_m - g.x_min_m) / g.dx_m))])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ignition")
    plants = {"east": _plant(root, "heater_east", [{"id": "H-1", "kind": "fired_heater", "probability": P_HEATER,
                                                    "position": [80.0, 20.0]}]),
              "west": _plant(root, "heater_west", [{"id": "H-1", "kind": "fired_heater", "probability": P_HEATER,
                                                    "position": [-40.0, 20.0]}]),
              "none": _plant(root, "no_sources", [])}
    return {k: run_qra(p, grid_m=1.0, margin_m=300.0, out_dir=root / f"out_{k}", scheduler="serial", progress=False)
            for k, p in plants.items()}


def test_the_scenario_is_what_the_hand_case_assumes(runs):
    (scn,) = runs["none"].scenarios
    kinds = {o.kind: o for o in scn.outcomes}
    assert set(kinds) == {"jet_fire", "flash_plume"}
    assert kinds["jet_fire"].frequency_per_year == pytest.approx(F_HOLE * P_IMMEDIATE)
    flash = kinds["flash_plume"]
    assert flash.params["ignition"] == "delayed" and flash.params["p_delayed"] == P_DELAYED
    assert flash.frequency_per_year == pytest.approx(F_HOLE * (1 - P_IMMEDIATE))   # the unignited cloud


def test_delayed_ignition_at_the_declared_sources_by_hand(runs):
    receptor = (120.0, 20.0)                                      # 100 m downwind of the leak
    ir = {k: _ir_at(r, *receptor) for k, r in runs.items()}
    cloud = F_HOLE * (1 - P_IMMEDIATE)
    print({k: f"{v:.4e}" for k, v in ir.items()})
    assert ir["east"] - ir["west"] == pytest.approx(cloud * P_HEATER, rel=0.02)
    assert ir["none"] - ir["west"] == pytest.approx(cloud * P_DELAYED, rel=0.02)
    assert ir["west"] < 0.01 * cloud                              # the upwind heater never meets the cloud
    # upwind of the leak nothing changes with the heater
    assert _ir_at(runs["east"], -30.0, 20.0) == pytest.approx(_ir_at(runs["west"], -30.0, 20.0), abs=1e-15)


def test_extended_sources_count_with_the_fraction_covered():
    polar = PolarGrid(1.0, 101, 360)
    x, y = polar.offsets()
    band = (-y > 0) & (np.abs(x) <= 10.0)                          # a 20 m wide cloud going south (wind from north)
    # a road crossing it 50 m downwind: 101 sample points 1 m apart over 100 m, 21 of them in the band
    road = np.column_stack([np.linspace(-50.0, 50.0, 101), np.full(101, -50.0)])
    heater = np.array([[0.0, -80.0]])
    pts = IgnitionPoints(np.vstack([road, heater]), np.r_[np.zeros(101, np.int64), 1], np.array([0.4, 0.9]),
                         ("ROAD", "H-1"))
    p = delayed_ignition_by_direction(band, polar, 0.0, 0.0, pts)
    assert p[0] == pytest.approx(1 - (1 - 0.4 * 21 / 101) * (1 - 0.9))
    assert p[180] == 0.0                                           # wind from the south: the cloud goes north
    assert np.all((p >= 0) & (p <= 1))


def test_ignition_sources_are_validated_with_their_place(tmp_path):
    from safetwin.plant_models.loader import PlantValidationError

    d = _plant(tmp_path, "bad", [{"id": "R-X", "kind": "road", "probability": 0.4, "road": "NO-SUCH-ROAD"},
                                 {"id": "B-X", "kind": "building", "probability": 0.2, "position": [1, 1],
                                  "building": "B-1"}])
    with pytest.raises(PlantValidationError) as err:
        load_plant(d)
    text = str(err.value)
    assert "ignition_sources.road" in text and "NO-SUCH-ROAD" in text
    assert "exactly one of position, equipment, road, building" in text
