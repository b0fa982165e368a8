"""Consequence models on the bundled plants: zones at equipment, the CLI, and the demo-plant
domino scenario (a pool fire in one bund ignites a neighbour within the hour)."""
from __future__ import annotations

import json

import pytest
from shapely.geometry import Point, shape
from typer.testing import CliRunner

from safetwin.app.cli import app
from safetwin.emergency_planner.physics.consequence import Weather
from safetwin.emergency_planner.physics.domino import THRESHOLD_KW_M2, time_to_failure_s
from safetwin.emergency_planner.plant_consequence import (bund_fire, bund_fire_domino, domino_units, is_toxic,
                                                          release_at_equipment, zones_at_equipment)
from safetwin.plant_models.loader import bundled_plant_path

runner = CliRunner()


def test_release_spec_comes_from_the_inventory(demo_plant):
    r = release_at_equipment(demo_plant, "TK-101")
    inv = demo_plant.inventories["TK-101"]
    assert (r.substance, r.inventory_kg, r.kind) == (inv.substance, inv.mass_kg, "pool_fire")
    # the bund minus the four tank footprints
    bund = demo_plant.equipment["BD-100"].footprint.area
    tanks = sum(demo_plant.equipment[t].footprint.area for t in ("TK-101", "TK-102", "TK-103", "TK-104"))
    assert r.bund_area_m2 == pytest.approx(bund - tanks)
    assert release_at_equipment(demo_plant, "DS-701").kind == "toxic_gas"
    # the plant file spells H2S "hydrogen_sulfide": resolved through the substance aliases, it is toxic
    assert demo_plant.inventories["V-1102"].substance == "hydrogen_sulfide"
    assert release_at_equipment(demo_plant, "V-1102").kind == "toxic_gas"
    assert is_toxic("H2S") and is_toxic("液氯") and not is_toxic("LPG")
    with pytest.raises(KeyError, match="no hazardous inventory"):
        release_at_equipment(demo_plant, "BD-100")


def test_atmospheric_tank_leaks_under_its_liquid_head(demo_plant):
    """Source: Bernoulli with the liquid head, m = Cd·A·√(2ρ²g·h) for a tank at ambient pressure (Crowl &
    Louvar eq. 4-6); the head is the inventory's level in its vessel (volume over footprint), so an
    atmospheric gasoline tank leaks (it released nothing before)."""
    import math

    from safetwin.emergency_planner.physics.release import estimate_source
    from safetwin.substances import get_substance

    tank = demo_plant.equipment["TK-101"]
    inv = demo_plant.inventories["TK-101"]
    gasoline = get_substance("gasoline")
    r = release_at_equipment(demo_plant, "TK-101", "flammable_gas")
    level = inv.mass_kg / gasoline.liquid_density_at(inv.temperature_k) / tank.footprint.area
    assert r.liquid_head_m == pytest.approx(min(level, tank.height_m)) and 0 < r.liquid_head_m <= tank.height_m
    st = estimate_source(r, gasoline, max_duration_s=60.0)
    expected = 0.61 * math.pi * 0.025**2 / 4 * math.sqrt(2 * gasoline.liquid_density_kg_m3**2 * 9.80665 * r.liquid_head_m)
    assert st.discharge_kg_s[0] == pytest.approx(expected, rel=1e-9)
    assert release_at_equipment(demo_plant, "V-1102").liquid_head_m == 0.0  # a gas has no head


def test_toxic_zones_point_downwind_and_nest(small_plant):
    """Wind FROM the west (270°): the cloud goes east, so every zone lies east of the drums."""
    res = zones_at_equipment(small_plant, "CL2-DRUMS", Weather(3.0, 270.0, "D"), hole_diameter_m=0.01)
    src = Point(res.release.x_m, res.release.y_m)
    red, orange, yellow = (z.geometry for z in res.zones)
    assert orange.buffer(1.0).contains(red) and yellow.buffer(1.0).contains(orange)
    assert yellow.centroid.x > src.x + 100 and abs(yellow.centroid.y - src.y) < 0.1 * (yellow.centroid.x - src.x)


def test_demo_plant_bund_fire_escalates_within_the_hour(demo_plant):
    """A pool fire in bund BD-100 (leak from TK-101, calm air) ignites neighbours in the hour.

    Escalation criterion and time to failure: Cozzani et al. (2005) threshold 15 kW/m² for
    atmospheric tanks, Landucci et al. (2009) ttf correlation (see physics/domino.py)."""
    fire = bund_fire(demo_plant, "TK-101")
    bund = demo_plant.equipment["BD-100"].footprint
    assert fire.diameter_m == pytest.approx(2 * (bund.area / 4 / 3.141592653589793) ** 0.5)
    result = bund_fire_domino(demo_plant, "TK-101", wind_speed_m_s=0.0, wind_from_deg=270.0)
    events = result.events
    assert events[0].equipment_id == "TK-101" and events[0].time_s == 0.0
    escalations = [e for e in events if e.cause == "escalation"]
    assert escalations, "no neighbour ignited within the simulated hour"
    times = [e.time_s for e in events]
    assert times == sorted(times) and times[-1] <= 3600.0
    units = {u.id: u for u in domino_units(demo_plant)}
    first = escalations[0]
    # the first neighbour to fail is a tank of the same bund, under more than the threshold,
    # and no sooner than its time to failure at the flux it receives (linear damage rule)
    assert demo_plant.equipment[first.equipment_id].bund_id == "BD-100"
    assert first.flux_kw_m2 >= THRESHOLD_KW_M2["atmospheric"]
    ttf_at_flux = float(time_to_failure_s(first.flux_kw_m2, units[first.equipment_id].volume_m3, "atmospheric"))
    assert first.time_s >= 0.9 * ttf_at_flux
    # tanks of the other bund, 75+ m away, do not ignite from this fire within the hour
    assert not any(demo_plant.equipment[e.equipment_id].bund_id == "BD-200" for e in escalations)


def test_cli_writes_wgs84_zones(tmp_path):
    out = tmp_path / "zones.geojson"
    r = runner.invoke(app, ["consequence", "zones", str(bundled_plant_path("small_plant")), "-e", "CL2-DRUMS",
                            "--hole-mm", "10", "--wind-speed", "3", "--wind-from", "270", "--out", str(out)])
    assert r.exit_code == 0, r.output
    fc = json.loads(out.read_text())
    assert [f["properties"]["level"] for f in fc["features"]] == ["RED", "ORANGE", "YELLOW"]
    lon, lat = shape(fc["features"][0]["geometry"]).centroid.coords[0]
    assert 118 < lon < 120 and 31 < lat < 33
    r = runner.invoke(app, ["consequence", "zones", str(bundled_plant_path("small_plant")), "-e", "NOPE",
                            "--out", str(out)])
    assert r.exit_code == 1 and "no equipment" in r.output


def test_cli_domino_timeline(tmp_path):
    out = tmp_path / "dom.json"
    r = runner.invoke(app, ["consequence", "domino", str(bundled_plant_path("demo_plant")), "--tank", "TK-101",
                            "--out", str(out)])
    assert r.exit_code == 0, r.output
    events = json.loads(out.read_text())["events"]
    assert events[0]["cause"] == "initial" and any(e["cause"] == "escalation" for e in events)


def test_every_demo_equipment_runs_through_the_entry_point(demo_plant):
    """Every demo item with an inventory gives zones through the entry point (its default outcome), on a
    coarse grid; toxic clouds from flashing liquids go to the dense-gas model."""
    from safetwin.emergency_planner.plant_consequence import default_grid

    weather = Weather(3.0, 270.0, "D")
    for equipment_id in demo_plant.inventories:
        release = release_at_equipment(demo_plant, equipment_id)
        res = zones_at_equipment(demo_plant, equipment_id, weather, grid=default_grid(release, spacing_m=100.0))
        assert res.zones and res.thresholds.units in ("mg/m3", "W/m2"), equipment_id
        if equipment_id in ("DS-701", "V-601"):
            assert res.regime.model == "dense" and res.valid, (equipment_id, res.regime)


def test_cli_model_choices_and_explosions(tmp_path):
    """--model auto|dense|passive chooses the cloud model (the ammonia leak's dense cloud is marked
    outside the Gaussian's validity when forced passive); --kind fireball|flash_fire|vce and
    --explosion-model run the explosion outcomes; a wrong choice is refused naming the accepted values."""
    plant = str(bundled_plant_path("demo_plant"))
    out = tmp_path / "z.geojson"

    def run(*args: str):
        return runner.invoke(app, ["consequence", "zones", plant, *args, "--frame", "local", "--out", str(out)])

    dense = run("-e", "V-601", "--model", "dense")
    assert dense.exit_code == 0, dense.output
    assert json.loads(out.read_text())["properties"]["model"].startswith("dense_gas:slab")
    passive = run("-e", "V-601", "--model", "passive")
    assert passive.exit_code == 0, passive.output
    props = json.loads(out.read_text())["properties"]
    assert props["model"].startswith("gaussian_plume") and props["valid"] is False
    bad = run("-e", "V-601", "--model", "heavy")
    assert bad.exit_code == 2 and "auto, dense or passive" in bad.output
    bad = run("-e", "V-3102", "--kind", "vce", "--explosion-model", "tnt")
    assert bad.exit_code == 2 and "multi_energy or bst" in bad.output
    bad = run("-e", "V-3102", "--kind", "boom")
    assert bad.exit_code == 2 and "fireball" in bad.output and "vce" in bad.output
    fb = run("-e", "SP-401", "--kind", "fireball")
    assert fb.exit_code == 0 and "fireball:ccps" in fb.output, fb.output
    for method in ("multi_energy", "bst"):
        vce = run("-e", "V-3102", "--kind", "vce", "--wind-from", "100", "--explosion-model", method)
        assert vce.exit_code == 0 and f"vce:{method}" in vce.output and "flammable mass" in vce.output, vce.output
    ff = run("-e", "V-3102", "--kind", "flash_fire", "--wind-from", "100")
    assert ff.exit_code == 0 and "LFL" in ff.output, ff.output
