"""Scenario library: schema, located errors, and one end-to-end run with causality checks."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from safetwin.scenarios.loader import (ScenarioValidationError, list_scenarios, load_scenario, shift_at,
                                       validate_scenario)

DATA = Path(__file__).parent / "data"
SMALL = DATA / "small_cl2_wind_shift.yaml"
SHIPPED = {"chlorine_drum_leak_wind_shift", "ammonia_refrigeration_night", "lpg_sphere_jet_fire_domino",
           "gasoline_bund_pool_fire", "h2s_confined_space", "release_main_gate_blocked"}
MOLAR_VOLUME_L = 24.45  # L/mol at 25 °C, 1 atm


def test_library_has_the_six_drills():
    assert SHIPPED <= set(list_scenarios())


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_shipped_scenario_validates(name):
    assert validate_scenario(name) == []
    sc = load_scenario(name)
    assert sc.plant.id == "demo_plant"
    for e in sc.scenario.events:
        assert e.equipment in sc.plant.inventories


def test_shift_follows_time_of_day():
    sc = load_scenario("ammonia_refrigeration_night")
    assert shift_at(sc.plant, "02:30") == "night" == sc.shift
    assert shift_at(sc.plant, "14:30") == "day"


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "broken.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_schema_errors_are_located(tmp_path):
    p = _write(tmp_path, """schema_version: 1
name: broken
plant: demo_plant
events:
  - {type: release, time_s: 0, equipment: DS-701, hole_diameter_m: -0.01}
  - {type: release, time_s: 10, equipment: DS-701}
weather:
  wind_speed_m_s: 3
  wind_from_deg: 400
detection: {alarm_delay_s: 30, colour: red}
""")
    with pytest.raises(ScenarioValidationError) as err:
        load_scenario(p)
    by_field = {i.field: i for i in err.value.issues}
    assert all(i.file == str(p) for i in err.value.issues)
    assert "events.0.hole_diameter_m" in by_field and by_field["events.0.hole_diameter_m"].line == 5
    assert any(f.startswith("events.1") and "hole_diameter_m or rate_kg_s" in i.message for f, i in by_field.items())
    assert by_field["weather.wind_from_deg"].line == 9
    assert "detection.colour" in by_field
    assert str(p) in str(err.value) and "weather.wind_from_deg" in str(err.value)


def test_plant_reference_errors_are_located(tmp_path):
    p = _write(tmp_path, """schema_version: 1
name: broken-refs
plant: demo_plant
shift: evening
events:
  - {type: release, time_s: 0, equipment: XX-999, rate_kg_s: 1.0}
  - {type: pool_fire, time_s: 0, equipment: DS-701}
weather: {wind_speed_m_s: 3, wind_from_deg: 90}
blocked: {gates: [G-MAIN, G-NOWHERE]}
response: {fire_engines: [HY-01]}
detection: {detectors: [GD-CL-01, NOPE]}
""")
    issues = validate_scenario(p)
    fields = {i.field: i for i in issues}
    assert fields["events.0.equipment"].line == 6 and "XX-999" in fields["events.0.equipment"].message
    assert "does not burn" in fields["events.1.type"].message  # chlorine
    assert "evening" in fields["shift"].message
    assert "G-NOWHERE" in fields["blocked.gates.1"].message and "blocked.gates.0" not in fields
    assert "fire engine" in fields["response.fire_engines.0"].message
    assert "detection.detectors.1" in fields and "detection.detectors.0" not in fields


def test_bad_yaml_and_missing_file(tmp_path):
    p = _write(tmp_path, "name: [unclosed\n")
    issues = validate_scenario(p)
    assert issues and issues[0].field == "(yaml)" and issues[0].line is not None
    assert validate_scenario("no_such_scenario")[0].field == "(file)"


# ------------------------------------------------------------------ end to end (small plant)
@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    from safetwin.emergency_planner.incident import run_incident

    res = run_incident(load_scenario(SMALL))
    out = tmp_path_factory.mktemp("small_run")
    paths = res.write(out)
    return res, paths


def test_small_scenario_runs_end_to_end(small_run):
    res, paths = small_run
    for key in ("events", "metrics", "trajectories", "people", "fields"):
        assert paths[key].exists() and paths[key].stat().st_size > 0
    doc = json.loads(paths["events"].read_text())
    assert doc["scenario"] == "small_cl2_wind_shift" and len(doc["events"]) == len(res.events)
    metrics = json.loads(paths["metrics"].read_text())
    assert metrics["people"] == 20 and metrics["alarm_s"] is not None
    import pyarrow.parquet as pq

    f = np.load(paths["fields"])
    c = f["conc_chlorine_mg_m3"]
    assert c.shape == (len(f["times_s"]), len(f["y_m"]), len(f["x_m"]))
    assert c[0].max() == 0.0 and c[1].max() > 0.0  # nothing before the release at 10 s, a cloud at 60 s
    tr = pq.read_table(paths["trajectories"])
    assert {"time_s", "person_id", "x_m", "y_m", "state"} <= set(tr.column_names) and tr.num_rows > 0


def _reading_ppm(res, det_id: str, t: float) -> float:
    """Independent recomputation: sum of the puff trains of the detector's gas at its position and
    height, converted with the molar volume at 25 °C."""
    s = res.detectors[det_id]
    total = 0.0
    for g in res.gas_sources:
        if g.substance.name == "chlorine":
            c = g.train.concentration_at(np.array([s.position[0]]), np.array([s.position[1]]), np.array([t]),
                                         z_m=s.height_m)[0]
            total += c * MOLAR_VOLUME_L / (g.substance.molar_mass_kg_mol * 1000.0)
    return float(total)


def test_detection_is_caused_by_the_plume(small_run):
    res = small_run[0]
    dt = res.sample_interval_s
    dets = res.events_of("detection")
    assert dets, "the plume passes CL-02/CL-03 downwind: they must alarm"
    release = res.events_of("release_start")[0].time_s
    for e in dets:
        level = getattr(res.detectors[e.source].alarm, res.level)
        assert e.time_s > release
        assert _reading_ppm(res, e.source, e.time_s) >= level
        assert _reading_ppm(res, e.source, e.time_s - dt) < level
    # detectors that did not alarm never reached their level at any sample
    silent = set(res.detectors) - {e.source for e in dets}
    for d in silent:
        level = getattr(res.detectors[d].alarm, res.level)
        assert all(_reading_ppm(res, d, t) < level for t in np.arange(0.0, res.scenario.simulation.duration_s, dt))
    # the farther detector (CL-03, 55 m) alarms after the nearer one (CL-02, 15 m)
    t = {e.source: e.time_s for e in dets}
    assert t["CL-02"] < t["CL-03"]


def test_alarm_follows_first_detection_with_delay(small_run):
    res = small_run[0]
    first = min(e.time_s for e in res.events_of("detection"))
    alarm = res.events_of("alarm")[0]
    assert alarm.time_s == pytest.approx(first + res.scenario.detection.alarm_delay_s)
    assert alarm.detail["cause"] == "detection"


def test_no_arrival_before_departure_and_departure_after_alarm(small_run):
    res = small_run[0]
    alarm = res.events_of("alarm")[0].time_s
    dep = {e.source: e.time_s for e in res.events_of("departure")}
    arr = {e.source: e.time_s for e in res.events_of("arrival")}
    assert arr, "people must reach the muster points"
    for pid, t in arr.items():
        assert pid in dep and dep[pid] <= t
    assert all(t >= alarm - 1e-9 for t in dep.values())
    ev = res.evacuation
    assert np.all(ev.start_moving_s[np.isfinite(ev.start_moving_s)] >= alarm - 1e-9)
    assert np.all(np.nan_to_num(ev.arrival_time_s, nan=np.inf) >= np.nan_to_num(ev.start_moving_s, nan=0.0))


def test_events_are_time_ordered_and_blocked_gate_diverts_the_unit(small_run):
    res = small_run[0]
    times = [e.time_s for e in res.events]
    assert times == sorted(times)
    gate = res.events_of("external_unit_at_gate")[0]
    assert gate.detail["gate"] == "G-EAST" and gate.detail["diverted"]
    alarm = res.events_of("alarm")[0].time_s
    u = res.scenario.response.external[0]
    assert gate.time_s == pytest.approx(alarm + u.eta_s + u.detour_s)
    r = res.scenario.response
    dep = next(e for e in res.events_of("engine_departed") if e.source == u.id)
    on = next(e for e in res.events_of("engine_on_scene") if e.source == u.id)
    assert on.time_s == pytest.approx(dep.time_s + dep.detail["route_m"] / r.speed_m_s)
    assert dep.detail["route_m"] >= math.dist((199.5, 75.0), (70.0, 108.0)) - r.standoff_m


def test_wind_history_follows_the_scenario():
    from safetwin.emergency_planner.incident import wind_history

    w = wind_history(load_scenario(SMALL).scenario)
    assert w.at(100.0) == (2.0, 270.0) and w.at(200.0) == (2.5, 300.0)


def test_jet_fire_escalates_to_the_neighbouring_sphere():
    from safetwin.emergency_planner.incident import run_incident

    res = run_incident(load_scenario("lpg_sphere_jet_fire_domino"), evacuate=False)
    esc = res.events_of("escalation")
    assert [e.source for e in esc][:1] == ["SP-402"]
    assert esc[0].detail["flux_kw_m2"] >= 45.0  # pressurised-vessel escalation threshold
    assert res.events_of("alarm")[0].time_s < esc[0].time_s
    # an engine job is opened for the escalation
    assert any(e.detail.get("job") == "escalation-SP-402" for e in res.events_of("engine_dispatched"))


def test_cli_list_validate_and_run(tmp_path):
    from typer.testing import CliRunner

    from safetwin.app.cli.scenario import app

    runner = CliRunner()
    r = runner.invoke(app, ["list"])
    assert r.exit_code == 0 and "chlorine_drum_leak_wind_shift" in r.output
    r = runner.invoke(app, ["validate"])
    assert r.exit_code == 0, r.output
    bad = _write(tmp_path, "name: x\nplant: demo_plant\nevents: []\nweather: {wind_speed_m_s: 1, wind_from_deg: 0}\n")
    r = runner.invoke(app, ["validate", str(bad)])
    assert r.exit_code == 1 and "events" in r.output
    r = runner.invoke(app, ["run", str(SMALL), "--out", str(tmp_path / "o"), "--no-evacuation"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o" / "events.json").exists() and (tmp_path / "o" / "metrics.json").exists()


# ------------------------------------------------------------------ every shipped drill (slow)
def _reading(res, det_id: str, t: float) -> float:
    """Detector reading recomputed from the puff trains: ppm via the molar volume at 25 °C for
    toxic detectors (their own gas), %LEL via the LFL volume fraction (every flammable gas)."""
    s = res.detectors[det_id]
    total = 0.0
    for g in res.gas_sources:
        c = g.train.concentration_at(np.array([s.position[0]]), np.array([s.position[1]]), np.array([t]),
                                     z_m=s.height_m)[0]
        ppm = c * MOLAR_VOLUME_L / (g.substance.molar_mass_kg_mol * 1000.0)
        if s.unit == "%LEL" and g.substance.lfl_vol_frac is not None:
            total += 100.0 * ppm / (g.substance.lfl_vol_frac * 1e6)
        elif s.unit == "ppm" and s.gas and s.gas.replace("_", " ") == g.substance.name:
            total += ppm
    return float(total)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_scenario_runs_with_causal_events(name, tmp_path):
    from safetwin.emergency_planner.incident import run_incident

    res = run_incident(load_scenario(name))   # wall time per scenario: benchmarks/bench_plant_runs.py
    paths = res.write(tmp_path)
    assert {"events", "metrics", "trajectories", "people", "fields"} <= set(paths)
    dt = res.sample_interval_s
    starts = [e.time_s for e in res.events if e.kind in ("release_start", "ignition")]
    for e in res.events_of("detection"):
        assert e.time_s >= min(starts)
        if res.detectors[e.source].type.value == "flame":
            continue
        level = getattr(res.detectors[e.source].alarm, res.level)
        assert _reading(res, e.source, e.time_s) >= level
        assert _reading(res, e.source, e.time_s - dt) < level
    alarm = res.events_of("alarm")[0].time_s
    dep = {e.source: e.time_s for e in res.events_of("departure")}
    for e in res.events_of("arrival"):
        assert dep[e.source] <= e.time_s and dep[e.source] >= alarm - 1e-9
    for e in res.events_of("engine_on_scene"):
        assert e.time_s >= alarm


def test_engines_stage_upwind_of_the_release():
    from safetwin.emergency_planner.incident import run_incident

    res = run_incident(load_scenario("chlorine_drum_leak_wind_shift"), evacuate=False)
    src = res.gas_sources[0].train.source_xy_m
    d = res.events_of("engine_dispatched")[0]
    sx, sy = d.detail["staging_xy_m"]
    # wind from 270 (west) at the dispatch time: the staging point lies west of the leak
    assert d.time_s < 300.0 and sx < src[0] - 0.5 * res.scenario.response.standoff_m
    assert abs(sy - src[1]) < 1.0


def test_several_events_at_their_times(tmp_path):
    from safetwin.emergency_planner.incident import run_incident

    text = SMALL.read_text().replace(
        "  - {id: leak, type: release, time_s: 10, equipment: CL2-DRUMS, rate_kg_s: 0.05, duration_s: 240, height_m: 1.0}",
        "  - {id: leak, type: release, time_s: 10, equipment: CL2-DRUMS, rate_kg_s: 0.05, duration_s: 240, height_m: 1.0}\n"
        "  - {id: tank-fire, type: pool_fire, time_s: 120, equipment: TK-1, domino: false}")
    assert "tank-fire" in text
    p = tmp_path / "two_events.yaml"
    p.write_text(text.replace("plant: small_plant", f"plant: {Path(load_scenario(SMALL).plant.path)}"))
    res = run_incident(load_scenario(p), evacuate=False)
    ign = res.events_of("ignition")
    assert [(e.source, e.time_s) for e in ign] == [("tank-fire", 120.0)]
    assert res.events_of("release_start")[0].time_s == 10.0
    assert res.events_of("release_end")[0].time_s == pytest.approx(250.0)
    assert [f.start_s for f in res.fires] == [120.0]
