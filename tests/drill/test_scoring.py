"""Scoring of the indicator system: thresholds, weights, grade caps, HSEEP ratings, configurable
weights, located errors in the indicator config and the drill log; muster arrivals (vectorised)."""
from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import yaml
from shapely.geometry import box

from safetwin.emergency_planner.drill.evaluate import evaluate
from safetwin.emergency_planner.drill.indicators import (DEFAULT_CONFIG_PATH, IndicatorConfigError, finding_severity,
                                                         grade, hseep_rating, load_indicator_config, score_value,
                                                         score_values)
from safetwin.emergency_planner.drill.metrics import measure, muster_arrivals
from safetwin.emergency_planner.drill.record import DrillEvent, DrillLogError, DrillRecord, load_drill_log

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def cfg():
    return load_indicator_config()


def test_measure_thresholds_lower_and_higher_is_better(cfg):
    alarm = cfg.indicator("alarm_time")                     # [60, 90, 120, 180, 300] s
    assert [score_value(alarm, v) for v in (30, 60, 61, 90, 120, 180, 300, 301, math.inf)] == [5, 5, 4, 4, 3, 2, 1, 0, 0]
    assert score_value(alarm, None) is None
    obj = cfg.indicator("objectives_met")                   # higher is better: [1.0, 0.8, 0.6, 0.4, 0.2]
    assert [score_value(obj, v) for v in (1.0, 0.9, 0.8, 0.5, 0.2, 0.0)] == [5, 4, 4, 2, 1, 0]
    # vectorised over many values (NaN = not observed → -1)
    assert score_values(alarm, np.array([10.0, np.nan, 1000.0])).tolist() == [5, -1, 0]


def test_finding_severity_follows_the_configured_limits(cfg):
    hc = cfg.indicator("headcount_accuracy")                # {不足项: 0}
    assert finding_severity(hc, 0) == "不足项" and finding_severity(hc, 5) is None
    alarm = cfg.indicator("alarm_time")                     # {整改项: 2, 改进项: 3}
    assert [finding_severity(alarm, s) for s in (0, 2, 3, 4, 5)] == ["整改项", "整改项", "改进项", None, None]


def test_grades_and_the_deficiency_cap():
    assert [grade(s, False) for s in (95, 90, 89.9, 80, 79.9, 60, 59.9)] == \
        ["优秀", "优秀", "良好", "良好", "合格", "合格", "不合格"]
    assert grade(97.0, True) == "合格" and grade(85.0, True) == "合格"   # any 不足项 caps at 合格
    assert grade(50.0, True) == "不合格"                                   # the cap never raises a grade


def test_hseep_ratings():
    assert [hseep_rating(f, False) for f in (1.0, 0.9, 0.89, 0.7, 0.69, 0.4, 0.39, 0.0)] == \
        ["P", "P", "S", "S", "M", "M", "U", "U"]
    assert hseep_rating(1.0, True) == "M" and hseep_rating(0.1, True) == "U" and hseep_rating(None, False) is None


def _record(late: bool = False, missing: bool = False) -> DrillRecord:
    """Two people walk 60 m east to a muster box at x in [100, 110]; alarm at 50 s."""
    pid, t, x, y = [], [], [], []
    for k, name in enumerate(("a", "b")):
        delay = 200.0 if (late and k == 1) else 0.0
        stop = 3 if (missing and k == 1) else 8
        for j in range(stop):
            pid.append(name), t.append(60.0 + delay + 30.0 * j), x.append(45.0 + 10.0 * j), y.append(5.0)
    return DrillRecord.from_arrays("unit", pid, t, x, y, events=[DrillEvent(0.0, "release_start"),
                                                                 DrillEvent(50.0, "alarm")])


GOALS = {"MP": box(100, 0, 110, 10)}


def test_muster_arrivals_first_fix_inside():
    rec = _record(late=True, missing=True)
    t, g = muster_arrivals(rec, GOALS)
    # person a: x = 45 + 10 j reaches 105 at j = 6 → t = 60 + 180; b stops at x = 65 (never)
    assert t.tolist() == [240.0, math.inf] and g.tolist() == [0, -1]


def _evaluate(rec, cfg, baseline=None):
    return evaluate(rec, None, baseline=baseline, config=cfg, now=NOW, goals=GOALS)


def test_score_is_the_weighted_mean_over_observed_modules(cfg):
    ev = _evaluate(_record(), cfg)
    # observed: alerting (alarm 50 s → 5), evacuation (complete 240 s / 900 s = 0.27 → 5, head count → 5);
    # protection, resources, response, objectives have no data and are left out of the total
    assert ev.score == 100.0 and ev.grade == "优秀" and ev.findings == []
    observed = {m["id"] for m in ev.modules if m["observed"]}
    assert observed == {"alerting", "evacuation"}
    ev2 = _evaluate(_record(missing=True), cfg)
    # evacuation: complete → never (0, w 1), head count (0, w 1.5) → fraction 0; alerting 1.0
    assert ev2.score == pytest.approx(100 * 20 / (20 + 35), abs=0.1)
    assert ev2.grade == "不合格"
    assert {f["indicator"]: f["severity"] for f in ev2.findings} == {"evacuation_complete": "不足项",
                                                                      "headcount_accuracy": "不足项"}
    assert {m["id"]: m["rating"] for m in ev2.modules}["evacuation"] == "U"


def test_configurable_weights_change_the_score(cfg):
    late = _record(late=True)
    base = _record()
    ev = _evaluate(late, cfg, baseline=base)
    ratio = ev.indicator("muster_time_vs_plan")["value"]
    assert ratio == pytest.approx((60 + 200 + 180) / 240)  # P90 of (240, 440) with method "higher" → 440
    assert ev.indicator("muster_time_vs_plan")["score"] == 1
    heavier = _evaluate(late, cfg.with_weights(indicators={"muster_time_vs_plan": 10.0}), baseline=base)
    lighter = _evaluate(late, cfg.with_weights(modules={"evacuation": 1.0}), baseline=base)
    assert heavier.score < ev.score < lighter.score
    # hand check: alerting 1.0 (w 20); evacuation (1·5 + 1·1 + 1.5·5)/5 / 3.5 (w 35)
    evac = (1 * 5 + 1 * 1 + 1.5 * 5) / 5 / 3.5
    assert ev.score == pytest.approx(100 * (20 + 35 * evac) / 55, abs=0.1)


def test_config_errors_are_located(tmp_path):
    doc = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    doc["modules"][0]["indicators"][0]["thresholds"] = [60, 30, 120, 180, 300]   # not ascending
    doc["modules"][1]["weight"] = -1
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(IndicatorConfigError) as err:
        load_indicator_config(p)
    text = str(err.value)
    assert str(p) in text and "modules[0].indicators[0]" in text and "ascending" in text
    assert "modules[1].weight" in text


def test_drill_log_errors_are_located(tmp_path):
    p = tmp_path / "log.yaml"
    p.write_text("drill: {id: D1}\nevents:\n  - {t_s: 10, kind: alarm_raised}\n"
                 "  - {t_s: 20, kind: headcount_reported}\n  - {kind: reported_to_authority}\n"
                 "  - {t_s: 5, kind: coffee_break}\n", encoding="utf-8")
    with pytest.raises(DrillLogError) as err:
        load_drill_log(p)
    issues = err.value.issues
    assert len(issues) == 3
    assert any("events[1]" in i and "count" in i for i in issues)
    assert any("events[2]" in i and "t_s" in i for i in issues)
    assert any("events[3].kind" in i for i in issues)
    assert all(str(p) in i for i in issues)
    good = tmp_path / "ok.json"
    good.write_text('{"drill": {"t0": "2026-12-04T10:00:00Z"}, "events": [{"time": "2026-12-04T10:01:30+00:00", '
                    '"kind": "alarm_raised"}, {"t_s": 400, "kind": "headcount_reported", "count": 19}]}',
                    encoding="utf-8")
    log = load_drill_log(good)
    ev = log.events_relative_to(log.t0)
    assert [(e.t_s, e.kind) for e in ev] == [(90.0, "alarm"), (400.0, "headcount_reported")]
    assert ev[1].detail["count"] == 19


def test_measure_reads_log_events():
    rec = _record(missing=True)
    rec.events += [DrillEvent(110.0, "response_start"), DrillEvent(400.0, "report_authority"),
                   DrillEvent(500.0, "headcount_reported", detail={"count": 2})]
    m = measure(rec, GOALS, capacities={"MP": 0})
    assert m["per_muster_point"] == {"MP": 1} and m["muster_over_capacity"] == 1
    assert measure(rec, GOALS)["muster_over_capacity"] is None          # no capacities: not observed
    assert m["alarm_s"] == 50.0 and m["response_delay_s"] == 60.0 and m["report_delay_s"] == 350.0
    assert m["mustered"] == 1 and m["people_not_accounted_for"] == 1 and m["headcount_error"] == 1
    assert m["evacuation_complete_s"] == math.inf


def test_shipped_config_is_the_documented_one():
    cfg = load_indicator_config()
    assert [m.id for m in cfg.modules] == ["alerting", "response", "evacuation", "protection", "resources", "objectives"]
    assert sum(m.weight for m in cfg.modules) == 100
    assert Path(DEFAULT_CONFIG_PATH).name == "default_indicators.yaml"


def test_toxic_load_along_tracks_reproduces_the_simulator(baseline_run, baseline):
    """The same agents' tracks (5 s fixes, held at the muster point) in the same plume give the
    simulator's own count of people above the AEGL-2 (30 min) load (its 2 s dose integration)."""
    from safetwin.emergency_planner.drill.exposure import exposure_from_incident

    got = exposure_from_incident(baseline_run, baseline)
    want = baseline_run.metrics["people_above_aegl2_dose"]
    assert want > 0 and abs(got["people_above_aegl2_dose"] - want) <= 1


def test_incident_metrics_name_the_toxic_load_and_give_the_dose_in_mg_min_m3(baseline_run):
    """The metrics keep the probit's toxic load C^n·t apart from the plain dose ∫C dt, which is in
    mg·min/m³ like the people table (the two differ by orders of magnitude for chlorine, n = 2)."""
    from safetwin.facade import people_frame

    m = baseline_run.metrics
    assert "max_dose" not in m
    gases = list(m["max_dose_mg_min_m3"])
    assert gases and all(f"toxic_{g}" in m["max_toxic_load"] for g in gases)
    table = people_frame(baseline_run.evacuation)
    for gas in gases:
        assert m["max_dose_mg_min_m3"][gas] == pytest.approx(float(table[f"dose_{gas}_mg_min_m3"].max()))
        assert m["max_dose_mg_min_m3"][gas] > 0
