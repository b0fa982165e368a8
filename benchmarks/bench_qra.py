"""Benchmark of the demo plant's full QRA.

Runs the same case sweep on the same 2 m grid over the site plus 500 m around it (all equipment,
12 wind sectors spread at 0.5°, 6 weather classes, the example off-site population), with nothing
cached, in three configurations:

1. single process (``scheduler="serial"``: the task function called in a loop, no Dask);
2. a Dask ``LocalCluster`` with 1 worker process;
3. a Dask ``LocalCluster`` with 2 worker processes (the default run).

A "case" is one outcome × weather class × wind sector. For each run it prints

* ``total``   — wall time of the whole ``run_qra`` call plus the cluster start (what a user waits);
* ``startup`` — cluster start, scatter of the context and worker warm-up (imports, substance tables);
* ``sweep``   — the case sweep after start-up, and the rate ``cases/s`` over it (the scaling figure);
* ``cpu/case``— CPU time per case measured inside the tasks (thread CPU time): equal across
  configurations when Dask adds no per-task overhead; if 2 workers then fall short of 2×, the
  cores were taken by other load (``load`` = 1-min load average before → after the run);
* ``cores``   — task CPU seconds / sweep seconds: how many cores the tasks actually got;
* where the rest went: worker time outside tasks (start lag, imbalance at the end, gaps between
  tasks), in-task wall minus CPU (the task thread waiting for a core), driver CPU during the sweep.

With ``--repeat N`` the configurations run interleaved N times (the machine is shared, the load
changes) and the ratio is given per round and for the medians. ``--report DIR`` writes a Dask
``performance_report`` HTML per Dask run.

    .venv/bin/python benchmarks/bench_qra.py [--grid-m 2] [--margin-m 500] [--repeat 1] [--report DIR]
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path

from safetwin.emergency_planner.qra import run_qra
from safetwin.emergency_planner.qra.executor import local_cluster
from safetwin.plant_models.loader import bundled_plant_path, load_plant

CONFIGS = (("single process", "serial", 1), ("dask 1 worker", "dask", 1), ("dask 2 workers", "dask", 2))


def run_one(plant, a, name: str, kind: str, nw: int, out: Path, report_dir: Path | None):
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    if kind == "serial":
        r = run_qra(plant, grid_m=a.grid_m, margin_m=a.margin_m, out_dir=out, scheduler="serial", resume=False,
                    progress=False)
        cluster_s = 0.0
    else:
        from dask.distributed import Client, performance_report

        cluster = local_cluster(nw, profile=report_dir is not None)
        client = Client(cluster)
        cluster_s = time.perf_counter() - t0
        rep = (performance_report(filename=str(report_dir / f"{name.replace(' ', '_')}.html"))
               if report_dir else contextlib.nullcontext())
        try:
            with rep:
                r = run_qra(plant, grid_m=a.grid_m, margin_m=a.margin_m, out_dir=out, scheduler=client,
                            resume=False, progress=False)
        finally:
            client.close()
            cluster.close()
    total = time.perf_counter() - t0
    st = r.stats
    # worker timeline: time the workers were not inside a task during the sweep, split into the
    # start lag, the imbalance at the end (first worker done → last worker done) and the gaps between tasks
    ends: dict[float, float] = {}
    busy = 0.0
    for pid, ta, tb in st.timeline:
        ends[pid] = max(ends.get(pid, 0.0), tb)
        busy += tb - ta
    n_w = max(len(ends), 1)
    t_end = st.sweep_t0 + st.sweep_s
    idle = n_w * st.sweep_s - busy
    tail = sum(t_end - e for e in ends.values())
    lag = sum(min(ta for p, ta, _ in st.timeline if p == pid) - st.sweep_t0 for pid in ends)
    row = {"name": name, "total": total, "startup": cluster_s + st.startup_s, "sweep": st.sweep_s,
           "rate": r.sweep_cases_per_s, "rate_total": r.n_cases / total, "cpu_ms": r.cpu_ms_per_case,
           "cores": st.task_cpu_s / max(st.sweep_s, 1e-9), "faults": st.minor_faults, "load": (load0, os.getloadavg()[0]),
           "res": r, "idle": idle, "tail": tail, "lag": lag, "preempt": st.task_wall_s - st.task_cpu_s,
           "driver_cpu": st.driver_cpu_s}
    print(f"{name:>15}: total {total:6.1f} s  startup {row['startup']:5.1f} s  sweep {st.sweep_s:6.1f} s  "
          f"{row['rate']:7.1f} cases/s (incl. start-up {row['rate_total']:6.1f})  cpu/case {row['cpu_ms']:5.2f} ms  "
          f"cores {row['cores']:4.2f}  faults {st.minor_faults / 1e6:5.2f} M  load {load0:.2f} -> {row['load'][1]:.2f}",
          flush=True)
    print(f"{'':>15}  worker time outside tasks {idle:5.2f} s (start lag {lag:4.2f}, end imbalance {tail:4.2f}, "
          f"between tasks {idle - lag - tail:4.2f}); in-task wall - cpu {row['preempt']:5.2f} s; "
          f"driver cpu during sweep {st.driver_cpu_s:5.2f} s", flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--grid-m", type=float, default=2.0)
    ap.add_argument("--margin-m", type=float, default=500.0)
    ap.add_argument("--repeat", type=int, default=1, help="interleaved rounds of the three configurations")
    ap.add_argument("--report", type=Path, default=None, help="folder for Dask performance_report HTML files")
    ap.add_argument("--only", nargs="*", default=None, choices=[n for n, _, _ in CONFIGS],
                    help="run only these configurations (the ratios need all three)")
    a = ap.parse_args()
    configs = [c for c in CONFIGS if a.only is None or c[0] in a.only]
    if a.report:
        a.report.mkdir(parents=True, exist_ok=True)
    plant = load_plant(bundled_plant_path("demo_plant"))
    print(f"machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"demo plant, grid {a.grid_m:g} m, margin {a.margin_m:g} m")
    rows: dict[str, list[dict]] = {n: [] for n, _, _ in configs}
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(a.repeat):
            if a.repeat > 1:
                print(f"round {rnd + 1}/{a.repeat}")
            for name, kind, nw in configs:
                rows[name].append(run_one(plant, a, name, kind, nw, Path(tmp) / f"{rnd}_{name.replace(' ', '_')}",
                                          a.report))
            if len(configs) < len(CONFIGS):
                continue
            one, two = rows["dask 1 worker"][-1], rows["dask 2 workers"][-1]
            print(f"  round ratio 2 workers / 1 worker: sweep {two['rate'] / one['rate']:.2f}x, "
                  f"incl. start-up {two['rate_total'] / one['rate_total']:.2f}x")
    med = {n: {k: statistics.median(r[k] for r in rs) for k in ("total", "startup", "sweep", "rate", "rate_total",
                                                              "cpu_ms", "cores")} for n, rs in rows.items()}
    print("medians:" if a.repeat > 1 else "summary:")
    for n, m in med.items():
        print(f"{n:>15}: total {m['total']:6.1f} s  startup {m['startup']:5.1f} s  sweep {m['sweep']:6.1f} s  "
              f"{m['rate']:7.1f} cases/s  cpu/case {m['cpu_ms']:5.2f} ms  cores {m['cores']:4.2f}")
    if len(configs) < len(CONFIGS):
        last = rows[configs[-1][0]][-1]
        s = last["res"].summary()
        print(f"full QRA ({configs[-1][0]}) total {last['total']:.1f} s; {s['tasks']} tasks, {s['outcomes']} outcomes, "
              f"{last['res'].n_cases} cases; max IR {s['max_ir_per_year']:.2e} /y, PLL {s['pll_per_year']:.2e} /y")
        return
    one, two, ser = med["dask 1 worker"], med["dask 2 workers"], med["single process"]
    print(f"cases/s 1 worker {one['rate']:.1f}, 2 workers {two['rate']:.1f}: ratio {two['rate'] / one['rate']:.2f}x "
          f"(target >= 1.8x); incl. start-up {two['rate_total'] / one['rate_total']:.2f}x")
    print(f"dask 1 worker / single process: sweep {ser['sweep'] / one['sweep']:.2f}x, "
          f"cpu/case {one['cpu_ms'] / ser['cpu_ms']:.2f}x;  2 workers / single process: sweep "
          f"{ser['sweep'] / two['sweep']:.2f}x")
    full = rows["dask 2 workers"][-1]["res"]
    base = rows["single process"][-1]["res"]
    diff = float(abs(full.ir - base.ir).max())
    print(f"full QRA (2 workers) total {rows['dask 2 workers'][-1]['total']:.1f} s (target <= 300 s)")
    print(f"max |IR(dask) - IR(single)| = {diff:.3e} /y (max IR {full.ir.max():.3e} /y)")
    s = full.summary()
    print(f"full QRA: {s['tasks']} tasks, {s['outcomes']} outcomes, {full.n_cases} cases, grid {full.grid.nx}x"
          f"{full.grid.ny} = {full.ir.size} cells; max IR {s['max_ir_per_year']:.2e} /y, PLL {s['pll_per_year']:.2e} /y, "
          f"GB 36894 individual pass {s['individual_pass']}, societal pass {s['societal_pass']}")
    for lv, g in full.contours.items():
        print(f"  IR >= {lv:.0e}/y: {g.area / 1e4:8.2f} ha")


if __name__ == "__main__":
    main()
