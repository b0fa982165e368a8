"""Benchmark of the Monte Carlo over weather draws: N draws of one scenario on a Dask
``LocalCluster`` with 1 worker process and with 2 worker processes (the QRA's executor), nothing cached.

For each configuration it prints

* ``total``   — wall time of the whole ``run_montecarlo`` call plus the cluster start;
* ``startup`` — cluster start, scatter of the plant and scenario, worker warm-up (imports, numba kernels);
* ``sweep``   — the draws after start-up, and the rate ``runs/s`` over it (the scaling figure);
* ``cpu/run`` — process CPU time per run measured inside the tasks (includes the evacuation model's
  numba threads; with 1 worker on an idle machine the model may use both cores for large crowds);
* ``cores``   — task CPU seconds / sweep seconds: how many cores the runs actually got;
* ``load``    — 1-min load average before → after (the machine is shared; a busy machine lowers the ratio).

The ratio 2 workers / 1 worker of runs/s over the sweep is the figure (target ≥ 1.5 on an idle
machine); ``--serial`` adds the in-process run (no Dask) as the floor. Then it checks that both
cluster runs gave identical metrics draw by draw and prints the spread of RSET, alarm time and harm.

    .venv/bin/python benchmarks/bench_montecarlo.py [--scenario h2s_confined_space] [--n 8] [--seed 1]
                                                     [--repeat 1] [--serial]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from safetwin.emergency_planner.montecarlo import DRAW_METRICS, run_montecarlo
from safetwin.emergency_planner.qra.executor import local_cluster


def run_one(a, name: str, nw: int, out: Path) -> dict:
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    if nw == 0:
        r = run_montecarlo(a.scenario, a.n, seed=a.seed, scheduler="serial", cache_dir=out, resume=False)
        cluster_s = 0.0
    else:
        from dask.distributed import Client

        cluster = local_cluster(nw)
        client = Client(cluster)
        cluster_s = time.perf_counter() - t0
        try:
            r = run_montecarlo(a.scenario, a.n, seed=a.seed, scheduler=client, cache_dir=out, resume=False)
        finally:
            client.close()
            cluster.close()
    total = time.perf_counter() - t0
    st = r.stats
    pcpu = sum(float(row.get("process_cpu_s", row["cpu_s"])) for row in r.rows)
    row = {"name": name, "total": total, "startup": cluster_s + st.startup_s, "sweep": st.sweep_s,
           "rate": st.n_computed / max(st.sweep_s, 1e-9), "rate_total": st.n_computed / total,
           "cpu_run": pcpu / max(st.n_computed, 1), "task_wall": st.task_wall_s / max(st.n_computed, 1),
           "cores": pcpu / max(st.sweep_s, 1e-9), "load": (load0, os.getloadavg()[0]), "res": r}
    print(f"{name:>15}: total {total:6.1f} s  startup {row['startup']:5.1f} s  sweep {st.sweep_s:6.1f} s  "
          f"{row['rate']:6.3f} runs/s (incl. start-up {row['rate_total']:6.3f})  cpu/run {row['cpu_run']:5.2f} s  "
          f"wall/run {row['task_wall']:5.2f} s  cores {row['cores']:4.2f}  load {load0:.2f} -> {row['load'][1]:.2f}",
          flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default="h2s_confined_space", help="scenario name or YAML file")
    ap.add_argument("--n", type=int, default=8, help="weather draws")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1, help="interleaved rounds of the configurations")
    ap.add_argument("--serial", action="store_true", help="also run in-process (no Dask) as the floor")
    a = ap.parse_args()
    configs = ([("single process", 0)] if a.serial else []) + [("dask 1 worker", 1), ("dask 2 workers", 2)]
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}; machine: {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; scenario {a.scenario}, {a.n} draws, seed {a.seed}")
    rows: dict[str, list[dict]] = {n: [] for n, _ in configs}
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(a.repeat):
            if a.repeat > 1:
                print(f"round {rnd + 1}/{a.repeat}")
            for name, nw in configs:
                rows[name].append(run_one(a, name, nw, Path(tmp) / f"{rnd}_{nw}"))
            one, two = rows["dask 1 worker"][-1], rows["dask 2 workers"][-1]
            print(f"  round ratio 2 workers / 1 worker: sweep {two['rate'] / one['rate']:.2f}x, "
                  f"incl. start-up {two['rate_total'] / one['rate_total']:.2f}x")
    med = {n: {k: statistics.median(r[k] for r in rs) for k in ("rate", "rate_total", "cpu_run", "sweep")}
           for n, rs in rows.items()}
    one, two = med["dask 1 worker"], med["dask 2 workers"]
    print(f"runs/s 1 worker {one['rate']:.3f}, 2 workers {two['rate']:.3f}: ratio {two['rate'] / one['rate']:.2f}x "
          f"(target >= 1.5x); incl. start-up {two['rate_total'] / one['rate_total']:.2f}x")
    if a.serial:
        ser = med["single process"]
        print(f"single process {ser['rate']:.3f} runs/s: 2 workers / single process {two['rate'] / ser['rate']:.2f}x")
    r1, r2 = rows["dask 1 worker"][-1]["res"], rows["dask 2 workers"][-1]["res"]
    same = all(x["weather"] == y["weather"] and all(x["metrics"][k] == y["metrics"][k] for k in DRAW_METRICS)
               for x, y in zip(r1.rows, r2.rows)) and len(r1.rows) == len(r2.rows)
    print(f"1-worker and 2-worker draws identical: {same}")
    s = r2.summary
    print(f"draws: classes {s['weather_classes']}; evacuation incomplete in {s['incomplete_evacuations']} draw(s), "
          f"deadlock in {s['deadlocks']}")
    for note in s["notes"]:
        print(f"note: {note}")
    print(r2.format_spread())


if __name__ == "__main__":
    main()
