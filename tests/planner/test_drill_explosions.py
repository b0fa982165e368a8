"""The demo drills use the consequence entry point's clouds, the BLEVE fireball and the delayed-ignition
outcomes (docs/consequence.md, "Drills and the QRA use the entry point"). Timelines without the agents."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from safetwin.emergency_planner.incident import run_incident
from safetwin.emergency_planner.physics.dense_gas import ProfileSigmas
from safetwin.emergency_planner.physics.dispersion import WindHistory, puff_train
from safetwin.emergency_planner.physics.fireball import bleve_fireball
from safetwin.emergency_planner.physics.sigmas import PasquillSigmas
from safetwin.emergency_planner.recommend.hazard import PuffField
from safetwin.scenarios.loader import load_scenario
from safetwin.substances import get_substance


def test_a_burnt_cloud_is_gone_for_every_reader():
    """Source: definition — after ``consumed_at_s`` the train and its fast evaluator give 0."""
    tr = puff_train(source_xy_m=(0.0, 0.0), rate_times_s=np.array([0.0]), rate_kg_s=np.array([1.0]),
                    wind=WindHistory.steady(3.0, 270.0), sigmas=PasquillSigmas("D"), end_time_s=600.0)
    burnt = dataclasses.replace(tr, consumed_at_s=200.0)
    x, y, t = np.array([100.0, 100.0]), np.zeros(2), np.array([150.0, 250.0])
    before = tr.concentration_at(x, y, t)
    assert before.min() > 0
    assert burnt.concentration_at(x, y, t).tolist() == [pytest.approx(before[0]), 0.0]
    assert PuffField(burnt)(x, y, t)[1] == 0.0 and PuffField(burnt)(x, y, t)[0] == pytest.approx(before[0], rel=1e-4)


def test_lpg_domino_is_a_bleve_fireball():
    """Source: CCPS fireball correlations for SP-402's inventory (physics.fireball), the failure time from
    the domino model; the fireball burns for its duration only and its blast is logged."""
    res = run_incident(load_scenario("lpg_sphere_jet_fire_domino"), evacuate=False)
    esc = res.events_of("escalation")
    assert esc and esc[0].source == "SP-402" and esc[0].detail["fire"] == "fireball"
    inv = load_scenario("lpg_sphere_jet_fire_domino").plant.inventories["SP-402"]
    fb = bleve_fireball(get_substance("propane"), inv.mass_kg, temperature_k=inv.temperature_k)
    assert esc[0].detail["diameter_m"] == pytest.approx(fb.diameter_m)
    assert esc[0].detail["duration_s"] == pytest.approx(fb.duration_s)
    blast = [e for e in res.events_of("explosion") if e.source == "SP-402"]
    assert blast and blast[0].detail["blast"] == "bleve" and blast[0].time_s == esc[0].time_s
    assert blast[0].detail["reach_m"]["YELLOW"] > blast[0].detail["reach_m"]["RED"] > 0
    fire = next(f for f in res.fires if f.equipment_id == "SP-402")
    far = np.array([fire.fire.centre_xy_m[0] + 600.0]), np.array([fire.fire.centre_xy_m[1]])
    assert fire.flux_w_m2(*far, fire.start_s + 1.0)[0] > 1e4          # 600 m away: > 10 kW/m² while it burns
    assert fire.flux_w_m2(*far, fire.start_s + fb.duration_s + 1.0)[0] == 0.0


def test_propane_release_ignites_late():
    """Source: the entry point's regime for V-3102 (dense, docs/consequence.md demo table; the scenario
    forces the Gaussian, which the record says); at the ignition time the flash fire, the VCE in unit
    U-3 (the only congested unit the cloud fills) and the jet fire follow, and the cloud is gone."""
    loaded = load_scenario("release_main_gate_blocked")
    res = run_incident(loaded, evacuate=False)
    (gas,) = res.gas_sources
    start = res.events_of("release_start")[0]
    assert gas.model.startswith("gaussian_plume") and "dense: Ri" in start.detail["regime"] \
        and "forced" in start.detail["regime"]
    dense = run_incident(load_scenario("ammonia_refrigeration_night"), evacuate=False).gas_sources[0]
    assert dense.model.startswith("dense_gas:slab") and isinstance(dense.train.sigmas, ProfileSigmas)
    t_ign = loaded.scenario.events[0].time_s + loaded.scenario.events[0].ignition_s
    flash = [e for e in res.events_of("ignition") if e.detail.get("fire") == "flash_fire"]
    assert flash and flash[0].time_s == t_ign and flash[0].detail["lfl_area_m2"] > 0
    vce = res.events_of("explosion")
    assert [e.source for e in vce] == ["U-3"] and vce[0].detail["flammable_mass_kg"] > 0
    assert any(f.kind == "jet_fire" and f.cause == "delayed_ignition" and f.start_s == t_ign for f in res.fires)
    x, y = np.array(gas.train.source_xy_m[:1]) - 30.0, np.array(gas.train.source_xy_m[1:])   # 30 m downwind
    assert gas.train.concentration_at(x, y, np.array([t_ign - 10.0]))[0] > 0
    assert gas.train.concentration_at(x, y, np.array([t_ign + 10.0]))[0] == 0.0
