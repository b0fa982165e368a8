"""Benchmark: apply 100 000 sensor readings and 1 000 000 person-position updates (with area
look-up) to TwinState, on one core, and print updates per second.

Target: >= 200 000 position updates/s with area look-up.

    .venv/bin/python benchmarks/bench_twin_state.py [--plant demo_plant]
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from safetwin.plant_models.loader import bundled_plant_path, load_plant
from safetwin.twin.population import shift_population
from safetwin.twin.state import TwinState

TARGET_POS_PER_S = 200_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plant", default=str(bundled_plant_path("demo_plant")))
    ap.add_argument("--readings", type=int, default=100_000)
    ap.add_argument("--positions", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=50, help="positions per gateway batch")
    a = ap.parse_args()
    plant = load_plant(a.plant)
    rng = np.random.default_rng(42)
    sensors = list(plant.sensors)
    ids, xy, _ = shift_population(plant, "day", seed=1)
    n_people = len(ids)

    # --- readings, one call each (the bridge applies them one by one)
    state = TwinState(plant)
    sid = [sensors[i] for i in rng.integers(0, len(sensors), a.readings)]
    val = rng.uniform(0, 10, a.readings).tolist()
    t0 = time.perf_counter()
    for k in range(a.readings):
        state.apply_reading(sid[k], val[k], float(k))
    t_read = time.perf_counter() - t0

    # --- positions: a random walk of the whole day shift (1 m steps), area looked up each time
    n = a.positions
    who = rng.integers(0, n_people, n)
    x = xy[who, 0] + rng.normal(0, 1.0, n)
    y = xy[who, 1] + rng.normal(0, 1.0, n)
    ts = np.arange(n, dtype=float) * 1e-3
    pid = [ids[i] for i in who]

    state = TwinState(plant)
    t0 = time.perf_counter()
    for k in range(0, n, a.batch):
        state.update_positions(pid[k:k + a.batch], x[k:k + a.batch], y[k:k + a.batch], ts[k:k + a.batch])
    t_batch = time.perf_counter() - t0

    state = TwinState(plant)
    xs, ys, tl = x.tolist(), y.tolist(), ts.tolist()
    t0 = time.perf_counter()
    for k in range(n):
        state.update_position(pid[k], xs[k], ys[k], tl[k])
    t_single = time.perf_counter() - t0

    print(f"machine: {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}; plant {plant.id}, {len(plant.areas)} areas, {n_people} people")
    print(f"readings applied one by one:           {a.readings / t_read:>12,.0f} readings/s ({a.readings} in {t_read:.2f} s)")
    print(f"positions in gateway batches of {a.batch:<4d}: {n / t_batch:>12,.0f} updates/s (area look-up included)")
    print(f"positions one by one:                  {n / t_single:>12,.0f} updates/s (area look-up included)")
    worst = min(n / t_batch, n / t_single)
    print(f"target >= {TARGET_POS_PER_S:,} position updates/s: {'MET' if worst >= TARGET_POS_PER_S else 'MISSED'} "
          f"(worst path {worst / TARGET_POS_PER_S:.1f}x target)")


if __name__ == "__main__":
    main()
