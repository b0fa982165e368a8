"""The drill evaluator counts a simulated drill the way the simulation does: on the demo plant's
H2S drill, everybody the agent model brought to a muster point is mustered in the evaluation
(muster arrival = first fix inside a muster disc grown by the tolerance), from memory and from
the run folder written by ``safetwin scenario run``."""
from __future__ import annotations

from safetwin.emergency_planner.drill.evaluate import evaluate
from safetwin.emergency_planner.drill.record import from_incident, from_run_folder
from safetwin.emergency_planner.incident import run_incident
from safetwin.scenarios.loader import load_scenario


def test_simulated_demo_drill_musters_match_the_agent_model(tmp_path):
    loaded = load_scenario("h2s_confined_space")
    res = run_incident(loaded)
    res.write(tmp_path / "run")
    arrived = res.metrics["arrived"]
    assert arrived > 250
    for rec in (from_incident(res), from_run_folder(tmp_path / "run")):
        ev = evaluate(rec, loaded.plant, scenario=loaded.scenario, baseline=rec)
        m = ev.to_dict()["metrics"]
        assert m["mustered"] == arrived, (m["mustered"], arrived)
        assert m["people_not_accounted_for"] == res.metrics["people_not_accounted_for"]
