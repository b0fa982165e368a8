"""Short check of the dense-gas field validation (the full run: benchmarks/bench_dense_gas_validation.py).

The trial files cite a publication for every value; the SafeTwin entry point reproduces slabx run
stand-alone on the same trial (units, averaging time, sampler height and the hand-over to the
passive model do not distort the engine's cloud); the documented state of agreement with the field
arc maxima is guarded (docs/consequence.md, "Validation").
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_dense_gas_validation.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_dense_gas_validation", BENCH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_dense_gas_validation"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def trials(bench):
    return {t.trial_set: t for t in bench.load_trials(bench.DEFAULT_DATA)}


def test_every_trial_value_cites_a_source(bench, trials, tmp_path):
    """Source: the files' own headers. At least three sets with published arc maxima, among them Jack
    Rabbit II chlorine and an ammonia set; a value without a source listed in its file is refused."""
    assert {"Jack Rabbit II", "Desert Tortoise"} <= set(trials) and len(trials) >= 3
    assert trials["Desert Tortoise"].substance == "ammonia" and trials["Jack Rabbit II"].substance == "chlorine"
    for t in trials.values():
        assert t.cited_by["observations"] in t.sources
        assert all(src in t.sources for src in t.cited_by.values())
        assert np.all(t.observed_kg_m3 > 0) and np.all(np.diff(t.x_m) > 0)
    text = (bench.DEFAULT_DATA / "desert_tortoise_trial4.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("wind_speed_m_s: {value: 4.5, source: SLAB1990}", "wind_speed_m_s: {value: 4.5}"),
                   encoding="utf-8")
    with pytest.raises(bench.MissingSource, match="wind_speed_m_s"):
        bench.load_trial(bad)


def test_entry_point_reproduces_slabx_on_jack_rabbit_ii(bench, trials):
    """Source: Jack Rabbit II trial 7 (Mazzola et al. 2021, Table 5). Through the entry point the cloud is
    SLAB's (dense, chosen automatically) and matches slabx stand-alone within 20 % at every arc, 0.2–11 km,
    though SafeTwin hands the cloud over to the passive model before 11 km. The field maxima are
    under-predicted (documented: about 5x with the transcribed class D); the guard is the documented band
    0.08–1.0."""
    t = trials["Jack Rabbit II"]
    ep = bench.entry_point_prediction(t)
    sa = bench.slabx_prediction(t)
    assert ep.model.startswith("dense_gas:slab:")
    assert np.all(np.abs(np.log(ep.predicted_kg_m3 / sa.predicted_kg_m3)) < np.log(1.2)), ep.predicted_kg_m3 / sa.predicted_kg_m3
    assert np.all(np.diff(ep.predicted_kg_m3) < 0)
    ratio = ep.predicted_kg_m3 / t.observed_kg_m3
    assert np.all((ratio > 0.08) & (ratio < 1.0)), ratio


def test_desert_tortoise_through_the_entry_point(bench, trials):
    """Source: Desert Tortoise 4 (Goldwire et al. 1985 via EPA 1999 Table 2-1; SLAB manual example 2 deck).
    The flashing ammonia jet keeps its 81 % liquid airborne as the deck does, is dense at the source and stays
    SLAB's cloud to the 2.8 km arc: the entry point is the manual's deck within 10 % at every arc. The CCPS
    rain-out rule (the default before) sits 1.4x or more below it at every arc. Both stay within a factor 6
    of the field."""
    t = trials["Desert Tortoise"]
    ep = bench.entry_point_prediction(t)
    ccps = bench.entry_point_prediction(t, rainout_model="ccps_double_flash")
    sa = bench.slabx_prediction(t)
    assert ep.model.startswith("dense_gas:slab:horizontal_jet")
    assert np.all(np.abs(np.log(ep.predicted_kg_m3 / sa.predicted_kg_m3)) < np.log(1.1)), ep.predicted_kg_m3 / sa.predicted_kg_m3
    assert np.all(ep.predicted_kg_m3 > 1.4 * ccps.predicted_kg_m3)
    for p in (ep, sa, ccps):
        ratio = p.predicted_kg_m3 / t.observed_kg_m3
        assert np.all(np.abs(np.log(ratio)) < np.log(6.0)), (p.model, ratio)


def test_slabx_on_the_deck_reproduces_its_published_desert_tortoise_comparison(bench, trials):
    """Source: slabx 1.0.6 VALIDATION.md §2: MG = exp<ln Co − ln Cp> = 0.733 on Desert Tortoise 1, 2, 4 at the
    100 and 800 m arcs against the Jack Rabbit III arc maxima. slabx on the SLAB manual's deck against this
    file's EPA-table values at the same arcs gives the same within 5 %: the harness and the observations
    reproduce SLAB's published performance (docs/consequence.md, "Dense gas against field trials")."""
    t = trials["Desert Tortoise"]
    sa = bench.slabx_prediction(t)
    near = np.isin(t.x_m, [100.0, 800.0])
    mg = bench.evaluation_scores(t.observed_kg_m3[near], sa.predicted_kg_m3[near]).mg
    assert mg == pytest.approx(bench.SLABX_PUBLISHED_DT_MG, rel=0.05)


def test_demo_threat_distance_routes_for_the_chlorine_drum():
    """Source: benchmarks/demo_threat_distances.py (the table in docs/consequence.md). The chlorine drum's
    flashing jet (all of it airborne, 83 % as droplets) goes to the dense path; its AEGL-3 reach agrees within
    20 % by the Gaussian, the entry point's dense path and slabx stand-alone; beyond the hand-over the entry
    point follows the passive Gaussian (within 20 %) and never reaches less far than slabx alone, whose far
    field dilutes more (its weakly damped gravity spreading, slabx LIMITATIONS.md §3)."""
    spec = importlib.util.spec_from_file_location("demo_threat_distances", BENCH.parent / "demo_threat_distances.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["demo_threat_distances"] = mod
    spec.loader.exec_module(mod)
    row = mod.scenario_row("chlorine_drum_leak_wind_shift")
    assert row.chosen == "dense" and [lv[0] for lv in row.levels] == ["RED", "ORANGE", "YELLOW"]
    (_, _, g3, d3, s3), *lower = row.levels
    assert abs(np.log(g3 / d3)) < np.log(1.2) and abs(np.log(s3 / d3)) < np.log(1.2)
    for _, _, gaussian, dense, slabx in lower:
        assert dense > 0 and abs(np.log(gaussian / dense)) < np.log(1.2) and slabx <= dense


def test_an_independent_method_misses_jack_rabbit_ii_as_slab_does(bench, trials):
    """Source: Britter & McQuaid (1988) workbook curves as fitted in CCPS (1999) §2.3.2; the HSE equivalent
    source for Desert Tortoise (Jack Rabbit III MWG, Gant et al. 2022, Tables 3-7: the flashed ammonia diluted
    until its last droplet evaporates, 204-206 K, about 14 mol %; as quoted in slabx's tests).
    The adiabatic-mixture cloud built here from SafeTwin's properties lands on HSE's state for Desert
    Tortoise 4; on that cloud the correlation is within x2 of the 100 and 800 m arcs. On Jack Rabbit II's
    transcribed mass and weather it under-predicts the 200 and 500 m arcs by more than 3x with either
    initial cloud, as SLAB does: the miss is not SLAB's alone (docs/consequence.md)."""
    dt = trials["Desert Tortoise"]
    mixed = next(s for s in bench.bm_sources(dt) if s.volume_fraction < 1.0)
    assert 201.0 < mixed.temperature_k < 209.0 and 0.13 < mixed.volume_fraction < 0.15
    near = np.isin(dt.x_m, [100.0, 800.0])
    ratio = bench.britter_mcquaid_prediction(dt, mixed).predicted_kg_m3[near] / dt.observed_kg_m3[near]
    assert np.all(np.abs(np.log(ratio)) < np.log(2.0)), ratio
    jr = trials["Jack Rabbit II"]
    first_two = np.isin(jr.x_m, [200.0, 500.0])
    for src in bench.bm_sources(jr):
        q = bench.britter_mcquaid_prediction(jr, src)
        assert "instantaneous" in q.model
        assert np.all(q.predicted_kg_m3[first_two] / jr.observed_kg_m3[first_two] < 1.0 / 3.0), q.model


def test_slabx_grid_does_not_explain_the_jack_rabbit_ii_miss(bench, trials):
    """Source: slabx LIMITATIONS.md §2 (dense, fast two-phase jets can need a finer grid than SLAB's defaults).
    Refining slabx's field grid 8x and its sub-steps from 3 to 8 moves the Jack Rabbit II arcs from 1 to 11 km
    by under 10 % (the 200 m arc by about a fifth; with 16x and 16 sub-steps, the benchmark's diagnostics,
    by 1.5x): the far-field miss is not numerical."""
    t = trials["Jack Rabbit II"]
    base = bench.slabx_prediction(t).predicted_kg_m3
    fine = bench.slabx_prediction(t, grid={"n_field_steps": 320, "substeps": 8}).predicted_kg_m3
    far = t.x_m >= 1000.0
    assert np.all(np.abs(np.log(fine[far] / base[far])) < np.log(1.1)), fine / base
    assert np.all(fine / base < 1.7), fine / base


def test_jack_rabbit_i_hinges_on_the_sampler_height(bench, trials):
    """Source: Jack Rabbit I trial 7 (Hanna et al. 2016, Table 1; the 1 m sampler height transcribed by
    DisperSim3D, unverified). SLAB's cloud at the 25 m arc is a few decimetres deep: at the file's 1 m the
    25 m arc is under-predicted more than 20x, at the ground SLAB is within x2.2 at every arc
    (docs/consequence.md, "Dense gas against field trials", item 11)."""
    t = trials["Jack Rabbit I"]
    assert t.receptor_height_m == 1.0
    at_1m = bench.slabx_prediction(t).predicted_kg_m3 / t.observed_kg_m3
    at_ground = bench.slabx_prediction(bench.replace(t, receptor_height_m=0.0)).predicted_kg_m3 / t.observed_kg_m3
    assert at_1m[0] < 0.05, at_1m
    assert np.all(np.abs(np.log(at_ground)) < np.log(2.2)), at_ground
