"""The façade (``import safetwin as st``): lazy, in-memory scenarios checked like files, wrong ids
named with the closest ones, results as tables with units in the column names."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import safetwin as st
from safetwin.errors import UnknownIdError


def test_import_of_a_leaf_stays_light():
    """``import safetwin.substances`` / ``safetwin.twin.state`` load neither the planner nor pandas."""
    code = ("import sys, safetwin, safetwin.substances, safetwin.twin.state; "
            "heavy = [m for m in ('pandas', 'mesa', 'simpy', 'safetwin.emergency_planner', 'safetwin.facade') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_facade_names_load_on_use():
    assert {"load_plant", "run_scenario", "evacuate", "zones", "Scenario", "Release", "Weather"} <= set(dir(st))
    assert st.Release.__name__ == "ReleaseEvent" and st.Weather.__name__ == "WeatherSpec"
    with pytest.raises(AttributeError, match="no attribute 'run_scenarios'"):
        st.run_scenarios  # noqa: B018


@pytest.fixture(scope="module")
def plant():
    return st.load_plant("small_plant")


def _leak(**over):
    doc = dict(name="leak", plant="small_plant", events=[st.Release(equipment="CL2-DRUMS", rate_kg_s=0.2)],
               weather=st.Weather(wind_speed_m_s=3.0, wind_from_deg=270), population=st.Population(limit=6),
               simulation=st.Simulation(duration_s=120.0))
    doc.update(over)
    return st.Scenario(**doc)


def test_wrong_ids_name_the_closest(plant):
    with pytest.raises(UnknownIdError) as err:
        plant.sensors["CL-1"]
    assert "plant small_plant has no sensor 'CL-1'" in str(err.value)
    assert err.value.suggestions[0] in ("CL-01", "CL-02", "CL-03")
    with pytest.raises(KeyError, match="has no area 'A-OFICE'; closest: 'A-OFFICE'"):
        plant.areas["A-OFICE"]
    with pytest.raises(KeyError, match="has no equipment 'XX-999'; it has"):
        plant.equipment["XX-999"]


def test_in_memory_scenario_checked_like_a_file(plant):
    bad = _leak(events=[st.Release(equipment="CL2-DRUM", rate_kg_s=0.2)],
                detection=st.Detection(detectors=["CL-01", "CL-10"]), shift="dya")
    with pytest.raises(st.ScenarioValidationError) as err:
        st.run_scenario(bad, plant=plant)
    issues = {i.field: i.message for i in err.value.issues}
    assert "closest: 'CL2-DRUMS'" in issues["events.0.equipment"]
    assert "closest: 'day'" in issues["shift"]
    assert "has no sensor 'CL-10'; closest: 'CL-01'" in issues["detection.detectors.1"]
    # a document (a mapping as in a file) goes the same way, schema errors first
    with pytest.raises(st.ScenarioValidationError) as err:
        st.run_scenario({"name": "leak", "plant": "small_plant", "events": [{"type": "release", "equipment": "TK-1"}],
                         "weather": {"wind_speed_m_s": 3.0, "wind_from_deg": 270}})
    assert [i.field for i in err.value.issues] == ["events.0"]
    # checked against another plant than the one it names
    with pytest.raises(st.ScenarioValidationError, match="names plant 'demo_plant'"):
        st.run_scenario(_leak(plant="demo_plant"), plant=plant)


def test_run_tables_carry_units(plant):
    run = st.run_scenario(_leak(), plant=plant)
    people = run.people
    assert list(people.columns[:7]) == ["person_id", "state", "muster_point", "premovement_s", "departure_s",
                                        "arrival_s", "incapacitated_s"]
    assert len(people) == 6 and "dose_chlorine_mg_min_m3" in people and "harm_probability_chlorine" in people
    dose_mg_s_m3 = run.result.evacuation.field_integral["toxic_chlorine"]
    np.testing.assert_allclose(people["dose_chlorine_mg_min_m3"], dose_mg_s_m3 / 60.0)
    assert (people["dose_chlorine_mg_min_m3"] >= 0).all()
    # the toxic load C^n t the probit uses and the plain dose are integrated from the same samples
    load = run.result.evacuation.dose["toxic_chlorine"]
    assert ((load > 0) == (dose_mg_s_m3 > 0)).all()
    arrivals = run.events[run.events.kind == "arrival"]
    assert sorted(arrivals.source) == sorted(people.person_id[people.arrival_s.notna()])
    assert run.metrics["alarm_s"] == run.events.time_s[run.events.kind == "alarm"].iloc[0]


def test_zones_table(plant):
    table = st.zones(plant, equipment="TK-1", weather=st.Weather(wind_speed_m_s=3.0, wind_from_deg=270))
    assert table.attrs["kind"] == "pool_fire" and list(table.level) == ["RED", "ORANGE", "YELLOW"]
    assert list(table.threshold_w_m2) == [10000.0, 5000.0, 2000.0]
    assert (np.diff(table.max_distance_m) > 0).all()  # lower flux reaches further
    with pytest.raises(ValueError, match="steady weather"):
        st.zones(plant, equipment="TK-1", weather=st.Weather(wind_speed_m_s=3.0, wind_from_deg=270,
                                                             changes=[st.WindChange(time_s=60, wind_from_deg=200)]))


def test_evacuate_a_shift(plant):
    run = st.evacuate(plant, shift="night")
    assert run.summary["arrived"] == 5 and set(run.people.muster_point) <= {"MP-1", "MP-2"}
    assert run.people.person_id.str.startswith("night-").all()
