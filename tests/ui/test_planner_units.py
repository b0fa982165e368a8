"""Planner page without a browser: composition and located validation errors, the scenario hash,
the run manager (cache, one run per session, playback arrays) and the page's 2D frame update.

One real incident run (H2S drain release at V-1102, 20 people, 180 s — a reduced
``h2s_confined_space`` library drill) is shared by the tests of this module (thread executor).
"""
from __future__ import annotations

import time

import numpy as np
import pytest
from safetwin.scenarios.loader import ScenarioValidationError, load_scenario
from safetwin.ui.planner_runs import (
    COMPOSED_LABEL,
    ComposeForm,
    PlannerRuns,
    compose_scenario,
    scenario_key,
    validate_document,
)

FORM = ComposeForm(equipment="V-1102", rate_kg_s=0.05, release_duration_s=180.0, release_height_m=0.5,
                   wind_speed_m_s=1.5, wind_from_deg=0.0, stability="E", time_of_day="09:40", people_limit=20,
                   duration_s=180.0)


def _ctx():
    from safetwin.plant_models.loader import bundled_plant_path, load_plant
    from safetwin.twin.state import TwinState
    from safetwin.ui.common import UIContext
    from safetwin.ui.snapshot import SnapshotSource

    return UIContext(SnapshotSource(TwinState(load_plant(bundled_plant_path("demo_plant")))))


@pytest.fixture(scope="module")
def runs():
    r = PlannerRuns(executor="thread")
    yield r
    r.close()


@pytest.fixture(scope="module")
def finished(runs):
    """The shared run, finished (results and routes)."""
    rec = runs.submit("session-1", compose_scenario(FORM), label="H2S V-1102")
    deadline = time.monotonic() + 240
    while (not rec.done or rec.routes_pending) and time.monotonic() < deadline:
        runs.poll()
        time.sleep(0.2)
    assert rec.status == "done", rec.error
    return rec


def test_compose_validates_into_the_scenario_schema():
    """A composed form becomes a valid scenario with the chosen source, weather and a limited population."""
    loaded = validate_document(compose_scenario(FORM))
    sc = loaded.scenario
    assert loaded.plant.id == "demo_plant" and loaded.shift == "day"
    assert sc.events[0].equipment == "V-1102" and sc.events[0].rate_kg_s == 0.05
    assert sc.events[0].hole_diameter_m is None
    assert (sc.weather.wind_from_deg, sc.weather.stability) == (0.0, "E")
    assert sc.population.limit == 20 and sc.simulation.duration_s == 180.0


def test_composition_errors_are_located():
    """Bad values come back as issues named by the composed scenario and field (checked in memory, so no
    file line); nothing is clamped."""
    bad = ComposeForm(equipment="V-1102", rate_kg_s=-1.0, time_of_day="25:70", wind_speed_m_s=0.0)
    with pytest.raises(ScenarioValidationError) as exc:
        validate_document(compose_scenario(bad))
    fields = {i.field for i in exc.value.issues}
    assert {"time_of_day", "events.0.rate_kg_s", "weather.wind_speed_m_s"} <= fields
    assert all(i.file == COMPOSED_LABEL and i.line is None for i in exc.value.issues)
    # plant-level checks: equipment without an inventory, a fire of a gas that does not burn
    with pytest.raises(ScenarioValidationError) as exc:
        validate_document(compose_scenario(ComposeForm(equipment="NO-SUCH", rate_kg_s=1.0)))
    assert [i.field for i in exc.value.issues] == ["events.0.equipment"]
    assert "NO-SUCH" in exc.value.issues[0].message
    with pytest.raises(ScenarioValidationError) as exc:
        validate_document(compose_scenario(ComposeForm(equipment="DS-701", event_type="pool_fire")))
    assert any("does not burn" in i.message for i in exc.value.issues)


def test_scenario_key_follows_what_the_run_depends_on():
    """Equal scenarios hash equally (title ignored); a changed wind gives a new key."""
    doc = compose_scenario(FORM)
    k1 = scenario_key(validate_document(doc))
    doc2 = dict(doc, title="another title")
    assert scenario_key(validate_document(doc2)) == k1
    doc3 = compose_scenario(ComposeForm(**{**FORM.__dict__, "wind_from_deg": 90.0}))
    assert scenario_key(validate_document(doc3)) != k1
    assert scenario_key(load_scenario("h2s_confined_space")) == scenario_key(load_scenario("h2s_confined_space"))


def test_run_manager_caches_and_limits_sessions(runs, finished):
    """A second request for the same scenario reuses the run; a session cannot start two runs at once."""
    again = runs.submit("session-2", compose_scenario(FORM))
    assert again is finished and again.future is finished.future
    other = compose_scenario(ComposeForm(**{**FORM.__dict__, "wind_from_deg": 180.0, "duration_s": 60.0,
                                            "people_limit": 5}))
    rec = runs.submit("session-3", other)
    try:
        assert runs.active_for("session-3") is rec or rec.done
        if not rec.done:
            with pytest.raises(RuntimeError, match="already runs"):
                runs.submit("session-3", compose_scenario(ComposeForm(**{**FORM.__dict__, "wind_from_deg": 200.0})))
    finally:
        deadline = time.monotonic() + 120
        while not rec.done and time.monotonic() < deadline:
            runs.poll()
            time.sleep(0.2)
    assert rec.status == "done" and runs.progress(rec) == 1.0
    with pytest.raises(ValueError):
        PlannerRuns(executor="fork")


def test_playback_arrays_are_consistent(finished):
    """Frames hold everyone (moving or mustered); field snapshots match their grid; metrics are numbers."""
    pb = finished.playback
    m = pb.metrics
    assert m["people"] == 20 and m["alarm_s"] is not None and m["alarm_s"] > 0
    assert pb.n_frames >= 30 and np.all(np.diff(pb.frame_times_s) > 0)
    x, y, code = pb.people_at(pb.n_frames - 1)
    assert len(x) == len(y) == len(code) == m["people"]
    assert int((code == 4).sum()) == m["arrived"]
    x0, _, _ = pb.people_at(0)
    assert not np.allclose(np.sort(x0), np.sort(x)), "nobody moved"
    (name, arr), = pb.fields.items()
    assert name == "conc_hydrogen_sulfide_mg_m3"
    assert arr.shape == (len(pb.field_times_s), len(pb.field_y_m), len(pb.field_x_m))
    assert arr.max() > pb.field_meta[name].thresholds[0][0], "the plume never exceeds AEGL-1"
    assert pb.field_index(61.0) == int(np.argmin(np.abs(pb.field_times_s - 61.0)))
    assert [lab for _, lab in pb.field_meta[name].thresholds] == ["AEGL-1", "AEGL-2", "AEGL-3"]
    assert any(e[1] == "alarm" for e in pb.events)
    assert pb.routes or pb.routes_note  # recommended routes, or why there are none


def test_plan_view_frame_changes_people_and_field(finished):
    """A playback frame replaces the people and the field image; compare metrics carry A, B and deltas."""
    from safetwin.ui import planner
    from safetwin.ui.planner import PlanMap, metrics_html

    ctx = _ctx()
    pb = finished.playback
    pm = PlanMap(ctx.plant, pb, None, "en")
    assert pm.field_name == "conc_hydrogen_sulfide_mg_m3" and pm.colorbar is not None
    assert len(pm.figure.select({"name": "planner-legend"})) == 1
    pm.show(20.0)
    people0, image0 = dict(pm.people_src.data), pm.field_src.data["image"][0]
    pm.show(150.0)
    assert not np.array_equal(people0["x"], pm.people_src.data["x"])
    assert not np.array_equal(image0, pm.field_src.data["image"][0])
    html_ = metrics_html(pb, pb, "zh")
    assert "报警时间" in html_ and "class='md-alarm_s' style='text-align:right'>+0<" in html_
    n = len(planner.FRAME_TIMES_S)
    ctx.extra["planner_runs"] = PlannerRuns(executor="thread")
    try:
        from safetwin.twin.workflows.roles import Actor

        view = planner.PlannerView(ctx, lang="en", actor=Actor("pat", frozenset({"planner"})))
        assert view.allowed
        denied = planner.PlannerView(ctx, lang="en", actor=Actor("wim", frozenset({"worker"})))
        assert not denied.allowed and "planner-denied" in denied.layout().object
    finally:
        ctx.extra["planner_runs"].close()
    assert len(planner.FRAME_TIMES_S) == n  # no run shown, no frame drawn


def test_timeline_objectives_and_progress_in_words(runs, finished):
    """The timeline names events and details in words with rounded figures (no JSON, no 15-digit
    floats); objectives name their metric; the progress gives no estimate before a run has measured
    this machine, and says so when a run takes longer than estimated."""
    import re

    from safetwin.ui.planner import metrics_html, timeline_html, user_issue

    pb = finished.playback
    text = re.sub(r"<[^>]+>", " ", timeline_html(pb, "en"))
    assert "release starts" in text and "{" not in text and '"' not in text, text[:400]
    assert not re.search(r"\.\d{5,}", text), "unrounded figures in the timeline"
    zh = re.sub(r"<[^>]+>", " ", timeline_html(pb, "zh"))
    assert "泄漏开始" in zh and "release_start" not in zh
    objectives = re.sub(r"<[^>]+>", " ", metrics_html(pb, None, "en").split("planner-objectives")[-1])
    assert "e+0" not in objectives and "_s " not in objectives, objectives
    assert runs.calibrated, "a finished run calibrates the estimate"
    fresh = PlannerRuns(executor="thread")
    try:
        assert fresh.calibrated is False     # the page shows pl_progress_first: elapsed only, no guess
    finally:
        fresh.close()
    assert user_issue("time_of_day", "String should match pattern '^x$'", "zh") == "时刻 [HH:MM]: 请用 HH:MM 格式，例如 14:30"
