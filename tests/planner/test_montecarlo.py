"""Monte Carlo over weather draws: the draws follow the plant's wind
rose and Pasquill's key, one scenario over N draws runs through the QRA's executor with identical
results serially and on a 2-worker Dask LocalCluster, resumes without recomputing, and reports a spread.

Reference for the consistency checks: the Pasquill–Turner stability key (Turner 1970, *Workbook of
atmospheric dispersion estimates*), evaluated independently through
``physics.stability.pasquill_class_key``.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.stats import chisquare

from safetwin.emergency_planner.montecarlo import (DRAW_METRICS, apply_weather, convergence, min_draws_for_quantile,
                                                   quantile_interval, run_montecarlo, speed_range, summarize,
                                                   weather_distribution, weather_draws)
from safetwin.emergency_planner.incident import wind_history
from safetwin.emergency_planner.physics.stability import pasquill_class_key
from safetwin.emergency_planner.qra.config import load_config
from safetwin.emergency_planner.qra.executor import Task, execute_tasks
from safetwin.plant_models.loader import bundled_plant_path
from safetwin.scenarios.loader import load_scenario

SMALL = Path(__file__).parent / "data" / "small_cl2_wind_shift.yaml"
DEMO = bundled_plant_path("demo_plant")


@pytest.fixture(scope="module")
def small_mc(tmp_path_factory) -> Path:
    """A copy of the small-plant chlorine drill (~1–2 s per run) that listens to all its detectors,
    so detection and alarm do not hinge on two detectors east of the drums."""
    doc = yaml.safe_load(SMALL.read_text(encoding="utf-8"))
    doc["detection"].pop("detectors")
    doc["detection"]["level"] = "high"
    p = tmp_path_factory.mktemp("mc_scn") / "small_cl2_mc.yaml"
    p.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return p


# ------------------------------------------------------------------ weather draws (no simulation)
def _sector(frm: np.ndarray, n_sec: int) -> np.ndarray:
    w = 360.0 / n_sec
    return np.floor((frm + w / 2) / w).astype(int) % n_sec


def test_directions_follow_the_plant_wind_rose():
    rose = np.array(load_config(DEMO)["weather"]["rose"]["p"])
    d = weather_draws(DEMO, 20000, seed=11)
    counts = np.bincount(_sector(d.wind_from_deg, len(rose)), minlength=len(rose))
    assert np.array_equal(counts, np.bincount(d.sector, minlength=len(rose)))  # inside its own sector
    assert chisquare(counts, 20000 * rose).pvalue > 1e-3
    # the test has power: the same draws are far from a uniform rose
    assert chisquare(counts, np.full(len(rose), 20000 / len(rose))).pvalue < 1e-6
    assert (d.wind_from_deg >= 0).all() and (d.wind_from_deg < 360).all()


def test_uniform_rose_spec_and_class_frequencies_per_period():
    spec = {"rose": "uniform", "period_fraction": {"day": 0.3, "night": 0.7},
            "classes": [{"name": "B3", "stability": "B", "wind_speed_m_s": 3.0, "p_day": 0.4, "p_night": 0.0},
                        {"name": "D5", "stability": "D", "wind_speed_m_s": 5.0, "p_day": 0.6, "p_night": 0.5},
                        {"name": "F1.5", "stability": "F", "wind_speed_m_s": 1.5, "p_day": 0.0, "p_night": 0.5}]}
    d = weather_draws(spec, 12000, seed=5)
    counts = np.bincount(_sector(d.wind_from_deg, 12), minlength=12)
    assert chisquare(counts).pvalue > 1e-3 and (d.sector == -1).all()
    is_day = d.period == "day"
    assert abs(is_day.mean() - 0.3) < 4 * math.sqrt(0.3 * 0.7 / 12000)
    night_cls = d.weather_class[~is_day]
    obs = [np.sum(night_cls == c) for c in ("D5", "F1.5")]
    assert chisquare(obs, [0.5 * len(night_cls)] * 2).pvalue > 1e-3 and not np.any(night_cls == "B3")
    day_cls = d.weather_class[is_day]
    obs = [np.sum(day_cls == c) for c in ("B3", "D5")]
    assert chisquare(obs, [0.4 * len(day_cls), 0.6 * len(day_cls)]).pvalue > 1e-3


def test_speed_and_stability_consistent_with_the_pasquill_key():
    """Every draw's (stability, u10, period) is a cell of Turner's table (some insolation / cloud
    column, or heavy overcast → D); the default data's daytime E5/F1.5 share is dropped and said so."""
    for period in ("day", "night"):
        d = weather_draws(DEMO, 3000, seed=2, period=period)
        assert (d.period == period).all()
        for s, u in zip(d.stability, d.wind_speed_m_s):
            if period == "day":
                keys = {pasquill_class_key(u, is_day=True, insolation=i) for i in ("strong", "moderate", "slight")}
            else:
                keys = {pasquill_class_key(u, is_day=False, cloud_fraction=c) for c in (0.0, 1.0)}
            keys.add("D")
            assert any(s in k.split("-") for k in keys), (period, s, u)
        assert 1.0 <= d.wind_speed_m_s.min() and d.wind_speed_m_s.max() <= 20.0
        f = d.wind_speed_m_s[d.stability == "F"]
        assert period == "day" and f.size == 0 or f.size > 300 and f.max() < 3.0
    notes = weather_distribution(DEMO).notes
    assert any("F1.5" in n and "day" in n for n in notes) and any("E5" in n for n in notes)
    assert speed_range("E", "day") is None and speed_range("A", "night") is None
    # within a class the speed spreads around the class's representative value
    d5 = weather_draws(DEMO, 4000, seed=9, period="day")
    u = d5.wind_speed_m_s[d5.weather_class == "D5"]
    assert abs(np.median(u) - 5.0) < 0.25 and 0.2 < np.std(np.log(u)) < 0.4


def test_draws_are_reproducible_and_prefix_stable():
    a, b = weather_draws(DEMO, 50, seed=4), weather_draws(DEMO, 50, seed=4)
    c, short = weather_draws(DEMO, 50, seed=5), weather_draws(DEMO, 7, seed=4)
    assert np.array_equal(a.wind_from_deg, b.wind_from_deg) and np.array_equal(a.wind_speed_m_s, b.wind_speed_m_s)
    assert not np.array_equal(a.wind_from_deg, c.wind_from_deg)
    assert np.array_equal(a.wind_from_deg[:7], short.wind_from_deg) and list(a.stability[:7]) == list(short.stability)


def test_bad_weather_specs_are_rejected_with_the_field():
    with pytest.raises(ValueError, match=r"weather\.rose"):
        weather_draws({"rose": {"p": [0.5, 0.2, 0.2, 0.0]}, "classes": [{"stability": "D", "wind_speed_m_s": 5}]}, 3)
    with pytest.raises(ValueError, match=r"weather\.classes\[1\]"):
        weather_draws({"rose": "uniform", "classes": [{"stability": "D", "wind_speed_m_s": 5, "p_day": 1},
                                                      {"wind_speed_m_s": 2}]}, 3)
    with pytest.raises(ValueError, match="no class is possible by night"):
        weather_draws({"rose": "uniform", "classes": [{"stability": "B", "wind_speed_m_s": 3, "p_day": 1,
                                                       "p_night": 1}]}, 3)
    with pytest.raises(ValueError, match="n must be"):
        weather_draws(DEMO, -1)
    with pytest.raises(ValueError, match="period"):
        weather_draws(DEMO, 2, period="dusk")


def test_a_draw_keeps_the_wind_shift_relative():
    sc = load_scenario(SMALL).scenario  # 2 m/s from 270°, at 150 s: from 300° at 2.5 m/s
    d = weather_draws(DEMO, 1, seed=0, period="day").draw(0)
    d = type(d)(0, "day", "B3", "B", 100.0, 4.0)
    new = apply_weather(sc, d)
    assert new.weather.stability == "B" and new.weather.temperature_k == sc.weather.temperature_k
    wh = wind_history(new)
    assert wh.from_deg.tolist() == pytest.approx([100.0, 130.0])
    assert wh.speed_m_s.tolist() == pytest.approx([4.0, 5.0])
    wrap = apply_weather(sc, type(d)(0, "day", "D5", "D", 350.0, 2.0))
    assert wind_history(wrap).from_deg.tolist() == pytest.approx([350.0, 20.0])
    assert new.events == sc.events and new.population == sc.population


def test_summary_statistics():
    s = summarize([3.0, None, 1.0, float("nan"), 2.0, 10.0])
    assert (s["n"], s["missing"], s["max"], s["min"]) == (4, 2, 10.0, 1.0)
    assert s["mean"] == pytest.approx(4.0) and s["sd"] == pytest.approx(np.std([3, 1, 2, 10], ddof=1))
    assert s["p50"] == pytest.approx(2.5) and s["p95"] == pytest.approx(np.percentile([1, 2, 3, 10], 95))
    assert summarize([None])["mean"] is None
    # the mean's interval is the Student-t one (scipy's, computed independently)
    from scipy import stats
    lo, hi = stats.t.interval(0.95, 3, loc=4.0, scale=stats.sem([3, 1, 2, 10]))
    assert s["mean_ci"] == pytest.approx([lo, hi])


def test_small_samples_are_flagged_and_percentile_intervals_need_enough_draws():
    """N = 6 (what the CLI printed P5/P95 for without a word): P5/P95 cannot be bounded, and say so."""
    six = summarize([180.0, 195.0, 172.0, 240.0, 201.0, 188.0])
    assert six["p95_ci"][1] is None and six["p5_ci"][0] is None
    assert any("P5 and P95 from 6 draws are not estimates" in w and "72" in w for w in six["warnings"])
    assert six["p50_ci"] == [172.0, 240.0]                       # n = 6: the extremes bound the median at 96.9 %
    big = summarize(list(np.random.default_rng(0).normal(200.0, 20.0, 100)))
    assert big["warnings"] == [] and None not in big["p95_ci"] and None not in big["p5_ci"]
    assert min_draws_for_quantile(0.95) == 72 and min_draws_for_quantile(0.5) == 6


def test_quantile_intervals_cover_at_their_stated_level():
    """Coverage checked by simulation (an independent method): lognormal samples of 100, the true
    P95 and median known; the distribution-free interval must cover them at least as often as it
    claims (it is exact up to discreteness: ≥ 95 %)."""
    rng = np.random.default_rng(42)
    reps, n = 3000, 100
    samples = rng.lognormal(5.0, 0.4, (reps, n))
    for q in (0.5, 0.95):
        truth = float(np.exp(5.0 + 0.4 * __import__("scipy").stats.norm.ppf(q)))
        first = quantile_interval(samples[0], q)
        hits = 0
        for x in samples:
            r = quantile_interval(x, q)
            hits += r["low"] <= truth <= r["high"]
        rate = hits / reps
        assert first["coverage"] >= 0.95
        assert rate >= first["coverage"] - 3 * math.sqrt(0.05 * 0.95 / reps), (q, rate, first["coverage"])


def test_convergence_is_the_running_statistics():
    x = [5.0, 1.0, None, 3.0, 7.0]
    c = convergence(x)
    vals = np.array([5.0, 1.0, 3.0, 7.0])
    assert c["k"].tolist() == [1, 2, 3, 4]
    assert c["mean"] == pytest.approx(np.cumsum(vals) / np.arange(1, 5))
    assert c["p50"][-1] == pytest.approx(np.median(vals)) and np.isnan(c["mean_low"][0])
    assert c["mean_low"][-1] == pytest.approx(summarize(x)["mean_ci"][0])


def test_generic_executor_rejects_duplicate_ids(tmp_path):
    with pytest.raises(ValueError, match="unique"):
        execute_tasks([Task("a", 1), Task("a", 2)], math.ldexp, 1, tmp_path, scheduler="serial")


# ------------------------------------------------------------------ runs through the executor
def _metrics(res):
    return [(r["index"], r["weather"], {k: r["metrics"][k] for k in DRAW_METRICS}) for r in res.rows]


def test_serial_resume_and_dask_cluster_give_identical_draws(small_mc, tmp_path):
    n = 4
    part = run_montecarlo(small_mc, n, seed=3, scheduler="serial", cache_dir=tmp_path / "s", max_tasks=2)
    assert not part.complete and part.stats.n_computed == 2 and len(part.rows) == 2
    cache = tmp_path / "s" / "small_cl2_wind_shift"
    first = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.json")}
    assert len(first) == 2
    full = run_montecarlo(small_mc, n, seed=3, scheduler="serial", cache_dir=tmp_path / "s")
    assert full.complete and full.stats.n_cached == 2 and full.stats.n_computed == n - 2
    assert not set(full.stats.computed_ids) & set(part.stats.computed_ids)
    assert {p.name: p.stat().st_mtime_ns for p in cache.glob("*.json") if p.name in first} == first

    dask = run_montecarlo(small_mc, n, seed=3, scheduler=None, n_workers=2, cache_dir=tmp_path / "d")
    assert dask.stats.scheduler.startswith("tcp://") and dask.stats.n_workers == 2 and dask.stats.n_computed == n
    assert _metrics(dask) == _metrics(full)  # bit-identical metrics and weather, draw by draw
    again = run_montecarlo(small_mc, n, seed=3, scheduler=None, cache_dir=tmp_path / "d")
    assert again.stats.n_computed == 0 and again.stats.n_cached == n and _metrics(again) == _metrics(full)

    # the spread: the draws' winds differ, and so do the outcomes
    dirs = [r["weather"]["wind_from_deg"] for r in full.rows]
    assert np.ptp(dirs) > 30.0
    m = full.summary["metrics"]
    assert m["expected_harm"]["n"] == n and m["expected_harm"]["sd"] > 0
    assert m["last_arrival_s"]["sd"] > 0 and m["alarm_s"]["n"] == n
    assert m["expected_harm"]["max"] == max(full.values("expected_harm"))
    assert full.summary["period"] == "day" and sum(full.summary["weather_classes"].values()) == n
    # a longer run with the same seed reuses the first n draws
    more = run_montecarlo(small_mc, n + 1, seed=3, scheduler="serial", cache_dir=tmp_path / "s")
    assert more.stats.n_cached == n and more.stats.n_computed == 1


def test_the_people_propagate_into_rset(small_mc, tmp_path):
    """Before, every draw kept the scenario's people (positions, pre-movement, walking speeds: the
    same seeds), so only the weather moved RSET — through the alarm time or the routes. Now each
    draw draws its people again: the pre-movement and speeds differ draw by draw and so does the
    time from the alarm to the last person safe, for the same weather; --fixed-people keeps the old
    behaviour (the weather's share alone)."""
    n = 4
    fixed = run_montecarlo(small_mc, n, seed=3, scheduler="serial", cache_dir=tmp_path / "f", vary_people=False)
    varied = run_montecarlo(small_mc, n, seed=3, scheduler="serial", cache_dir=tmp_path / "v")
    mf, mv = fixed.summary["metrics"], varied.summary["metrics"]
    assert mf["premovement_mean_s"]["sd"] < 1e-9 and mf["walking_speed_mean_m_s"]["sd"] < 1e-12
    assert mv["premovement_mean_s"]["sd"] > 0.5 and mv["walking_speed_mean_m_s"]["sd"] > 0.005
    assert [r["weather"] for r in fixed.rows] == [r["weather"] for r in varied.rows]   # same weather draws
    after_f, after_v = fixed.values("rset_after_alarm_s"), varied.values("rset_after_alarm_s")
    assert sum(abs(a - b) > 1.0 for a, b in zip(after_f, after_v) if a is not None and b is not None) >= n - 1
    assert varied.summary["vary_people"] and not fixed.summary["vary_people"]


def test_cli_montecarlo_writes_draws_and_summary(small_mc, tmp_path):
    from typer.testing import CliRunner

    from safetwin.app.cli.scenario import app

    runner = CliRunner()
    out = tmp_path / "out"
    r = runner.invoke(app, ["montecarlo", str(small_mc), "--n", "2", "--seed", "1", "--serial", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "2 computed, 0 cached" in r.output and "expected_harm" in r.output
    assert "WARNING: P5 and P95 from 2 draws are not estimates" in r.output and "*" in r.output
    png = out / "convergence.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    lines = (out / "draws.csv").read_text().splitlines()
    assert len(lines) == 3 and lines[0].startswith("draw,period,weather_class,stability,wind_from_deg")
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["metrics"]) == set(DRAW_METRICS) and summary["n_finished"] == 2
    assert len(json.loads((out / "draws.json").read_text())) == 2
    r2 = runner.invoke(app, ["montecarlo", str(small_mc), "--n", "2", "--seed", "1", "--serial", "--out", str(out)])
    assert r2.exit_code == 0 and "0 computed, 2 cached" in r2.output
    bad = runner.invoke(app, ["montecarlo", str(small_mc), "--n", "2", "--serial", "--period", "dusk",
                              "--out", str(out)])
    assert bad.exit_code == 2 and "period" in bad.output
    missing = runner.invoke(app, ["montecarlo", "no_such_scenario", "--n", "2", "--serial", "--out", str(out)])
    assert missing.exit_code == 1 and "no scenario" in missing.output
