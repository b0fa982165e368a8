"""Resumable runs and identical results: serial, interrupted + resumed, and on a Dask LocalCluster."""
from __future__ import annotations

import numpy as np
import pytest

from safetwin.emergency_planner.qra import run_qra
from safetwin.emergency_planner.qra.config import direction_weights, load_config
from safetwin.plant_models.loader import bundled_plant_path

KW = dict(grid_m=5.0, margin_m=250.0, progress=False)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return run_qra(bundled_plant_path("small_plant"), out_dir=tmp_path_factory.mktemp("ref"), scheduler="serial", **KW)


def test_interrupted_run_resumes_without_recomputing(reference, tmp_path):
    plant = bundled_plant_path("small_plant")
    part = run_qra(plant, out_dir=tmp_path, scheduler="serial", max_tasks=2, **KW)
    assert not part.complete and part.stats.n_computed == 2 and not part.outputs
    cache = tmp_path / "cache" / part.run_key
    done_first = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.npz")}
    assert len(done_first) == 2
    seen = []
    full = run_qra(plant, out_dir=tmp_path, scheduler="serial", progress=lambda d, t, k: seen.append(k), **{
        k: v for k, v in KW.items() if k != "progress"})
    assert full.complete and full.stats.n_cached == 2 and full.stats.n_computed == reference.stats.n_tasks - 2
    assert not set(full.stats.computed_ids) & set(part.stats.computed_ids)
    assert {p.name: p.stat().st_mtime_ns for p in cache.glob("*.npz") if p.name in done_first} == done_first
    np.testing.assert_array_equal(full.ir, reference.ir)
    np.testing.assert_array_equal(full.fn_f, reference.fn_f)
    assert full.pll == reference.pll
    again = run_qra(plant, out_dir=tmp_path, scheduler="serial", **KW)
    assert again.stats.n_computed == 0 and again.stats.n_cached == reference.stats.n_tasks


def test_dask_local_cluster_matches_serial(reference, tmp_path):
    res = run_qra(bundled_plant_path("small_plant"), out_dir=tmp_path, scheduler=None, n_workers=2, **KW)
    assert res.stats.n_workers == 2 and res.stats.scheduler.startswith("tcp://")
    assert res.stats.startup_s > 0 and res.stats.sweep_s > 0 and len({p for p, _, _ in res.stats.timeline}) >= 1
    np.testing.assert_allclose(res.ir, reference.ir, rtol=1e-12, atol=0)
    np.testing.assert_allclose(res.fn_f, reference.fn_f, rtol=1e-12)
    assert set(res.outputs) >= {"contours_local", "contours_wgs84", "fn_csv", "criteria_json", "criteria_md", "ir_grid"}


def test_direction_weights_and_config_validation(tmp_path):
    w = direction_weights(tuple([1 / 12] * 12), 720, smear=True)
    assert w.sum() == pytest.approx(1.0) and np.allclose(w, 1 / 720)
    w2 = direction_weights((1.0,) + (0.0,) * 11, 720, smear=False)
    assert w2[0] == 1.0 and w2[1:].sum() == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("weather:\n  rose:\n    p: [0.5, 0.5]\n")
    with pytest.raises(ValueError, match="12 sectors"):
        load_config(None, config_path=bad)


def test_wind_rose_rotation_moves_the_plume(tmp_path):
    """All wind from the west (270°): toxic risk lies east of the chlorine drums, not west."""
    over = {"weather": {"rose": {"p": [0.0] * 9 + [1.0, 0.0, 0.0]}, "sector_smear": False}}
    res = run_qra(bundled_plant_path("small_plant"), out_dir=tmp_path, scheduler="serial", overrides=over, **KW)
    g = res.grid
    j = int(round((108 - g.y_min_m) / g.dy_m))
    i_src = int(round((70 - g.x_min_m) / g.dx_m))  # CL2-DRUMS centroid (70, 107.5)
    east, west = res.ir[j, i_src + 30], res.ir[j, i_src - 30]  # 150 m each side
    assert east > 100 * max(west, 1e-30)


def test_weather_sharing_and_run_statistics(reference, monkeypatch):
    """Fields shared between weather classes (lethality.weather_key) give bit-identical task results;
    the run reports start-up, sweep, CPU time per case and a per-task timeline."""
    from safetwin.emergency_planner.qra import lethality as L
    from safetwin.emergency_planner.qra import tasks
    from safetwin.emergency_planner.qra.engine import prepare

    _, _, scns, ctx, _, _ = prepare(bundled_plant_path("small_plant"), grid_m=5.0, margin_m=250.0)
    shared = [tasks.run_task(s, ctx) for s in scns]
    assert any(len({L.weather_key(o.kind, wc) for wc in ctx.classes}) < len(ctx.classes)
               for s in scns for o in s.outcomes)  # the sharing is exercised
    monkeypatch.setattr(tasks, "weather_key", lambda kind, wc: (wc.name,))  # every class on its own
    alone = [tasks.run_task(s, ctx) for s in scns]
    for a, b in zip(shared, alone):
        np.testing.assert_array_equal(a["ir"], b["ir"])
        np.testing.assert_array_equal(a["case_n"], b["case_n"])
        assert a["pll"] == b["pll"]
    st = reference.stats
    assert st.sweep_s > 0 and st.task_cpu_s > 0 and st.cases_computed == reference.n_cases
    assert len(st.timeline) == st.n_computed == st.n_tasks
    assert reference.cpu_ms_per_case > 0 and reference.sweep_cases_per_s > 0


def test_tune_malloc_is_idempotent():
    from safetwin.emergency_planner.qra.tasks import tune_malloc

    first = tune_malloc()
    assert tune_malloc() is first
