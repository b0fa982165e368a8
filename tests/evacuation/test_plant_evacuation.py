"""The demo plant's day shift evacuates to its muster points, from the shift population or the live
twin, and the CLI writes its outputs. How much faster than real time: ``benchmarks/bench_plant_runs.py``."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from safetwin.app.cli import app
from safetwin.emergency_planner.plant_evacuation import evacuate_plant, shift_positions, twin_positions
from safetwin.plant_models.loader import bundled_plant_path
from safetwin.twin.state import TwinState


def test_demo_day_shift_musters_within_capacity(demo_plant):
    positions = shift_positions(demo_plant, "day", seed=3)
    assert len(positions) >= 250
    res = evacuate_plant(demo_plant, positions, seed=3)
    assert res.complete and res.summary()["not_accounted_for"] == 0 and not res.deadlock
    per_goal = res.summary()["per_goal"]
    caps = {m.id: m.capacity for m in demo_plant.meta.muster_points}
    assert sum(per_goal.values()) == len(positions)
    assert all(per_goal[g] <= caps[g] for g in per_goal)


def test_start_from_the_live_twin(small_plant):
    state = TwinState(small_plant)
    state.update_positions(["a", "b", "c"], [20.0, 150.0, 90.0], [80.0, 60.0, 130.0], ts=0.0)
    res = evacuate_plant(small_plant, twin_positions(state))
    assert res.n == 3 and res.complete


def test_cli_run_writes_outputs(tmp_path):
    r = CliRunner().invoke(app, ["evacuate", "run", str(bundled_plant_path("small_plant")), "--block", "R-2",
                                 "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["arrived"] == summary["n"] == 20 and summary["blocked"] == ["R-2"]
    assert (tmp_path / "trajectories.parquet").stat().st_size > 0
    r = CliRunner().invoke(app, ["evacuate", "run", str(bundled_plant_path("small_plant")), "--block", "NOPE",
                                 "--out", str(tmp_path)])
    assert r.exit_code == 1   # an unknown id is wrong input (ExitCode.INVALID)
