"""Fixtures of the drill-evaluation tests: the small-plant chlorine drill scenario and its simulated
baseline (run once per session, ~2–5 s)."""
from __future__ import annotations

from pathlib import Path

import pytest

from safetwin.emergency_planner.drill.record import from_incident
from safetwin.emergency_planner.incident import run_incident
from safetwin.scenarios.loader import load_scenario

DATA = Path(__file__).parent / "data"
SCENARIO = DATA / "small_cl2_drill.yaml"


@pytest.fixture(scope="session")
def drill_scenario():
    return load_scenario(SCENARIO)


@pytest.fixture(scope="session")
def baseline_run(drill_scenario):
    """The simulated drill of the scenario (IncidentResult)."""
    return run_incident(drill_scenario)


@pytest.fixture(scope="session")
def baseline(baseline_run):
    """The simulated drill as a DrillRecord (the baseline every recorded drill is compared with)."""
    return from_incident(baseline_run)
