"""Benchmark of the demo plant's full QRA (issue 9).

Runs the same case sweep three times on the same 2 m grid over the site plus 500 m around it
(all equipment, 12 wind sectors spread at 0.5°, 6 weather classes, the example off-site
population), with nothing cached:

1. single process (``scheduler="serial"``: the task function called in a loop, no Dask);
2. a Dask ``LocalCluster`` with 1 worker process;
3. a Dask ``LocalCluster`` with 2 worker processes (the default run).

Prints wall time, cases/s and grid cells × cases per second for each, and the speed-ups.
A "case" is one outcome × weather class × wind sector.

    .venv/bin/python benchmarks/bench_qra.py [--grid-m 2] [--margin-m 500]
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from safetwin.emergency_planner.qra import run_qra
from safetwin.emergency_planner.qra.config import DATA_DIR
from safetwin.plant_models.loader import bundled_plant_path, load_plant


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--grid-m", type=float, default=2.0)
    ap.add_argument("--margin-m", type=float, default=500.0)
    a = ap.parse_args()
    plant = load_plant(bundled_plant_path("demo_plant"))
    cfg = None  # the demo plant ships its own qra.yaml (rose, off-site population)
    print(f"machine: {os.cpu_count()} CPUs; demo plant, grid {a.grid_m:g} m, margin {a.margin_m:g} m")
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, sched, nw in (("single process", "serial", 1), ("dask 1 worker", None, 1), ("dask 2 workers", None, 2)):
            r = run_qra(plant, grid_m=a.grid_m, margin_m=a.margin_m, out_dir=Path(tmp) / name.replace(" ", "_"),
                        scheduler=sched, n_workers=nw, resume=False, progress=False, config_path=cfg)
            runs[name] = r
            s = r.summary()
            print(f"{name:>15}: wall {r.stats.wall_s:7.2f} s  tasks {s['tasks']}  outcomes {s['outcomes']}  "
                  f"cases {r.n_cases}  grid {r.grid.nx}x{r.grid.ny} = {r.ir.size} cells  "
                  f"{r.cases_per_s:8.1f} cases/s  {r.cell_cases_per_s:.3e} cell-cases/s")
        full = runs["dask 2 workers"]
        base = runs["single process"]
        one = runs["dask 1 worker"]
        diff = float(abs(full.ir - base.ir).max())
        print(f"speed-up dask 2 workers / single process: {base.stats.wall_s / full.stats.wall_s:.2f}x")
        print(f"speed-up dask 2 workers / dask 1 worker:  {one.stats.wall_s / full.stats.wall_s:.2f}x")
        print(f"max |IR(dask) - IR(single)| = {diff:.3e} /y (max IR {full.ir.max():.3e} /y)")
        s = full.summary()
        print(f"full QRA: max IR {s['max_ir_per_year']:.2e} /y, PLL {s['pll_per_year']:.2e} /y, "
              f"GB 36894 individual pass {s['individual_pass']}, societal pass {s['societal_pass']}")
        for lv, g in full.contours.items():
            print(f"  IR >= {lv:.0e}/y: {g.area / 1e4:8.2f} ha")


if __name__ == "__main__":
    main()
