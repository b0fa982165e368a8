"""Timing of the dispersion kernels on a 1000 × 1000 grid, as ratios to one ``numpy.exp``.

Run:  .venv/bin/python benchmarks/bench_dispersion.py [--repeat N]

Measures, in the same process:

* floor: ``numpy.exp`` over a float64 array of 1000 × 1000 (best of N);
* plume: :func:`plume_field` for a 1 kg/s ground release, class D, 3 m/s, wind from 240°
  (oblique to the grid), 2 m spacing (2 km × 2 km), source at the grid centre (best of N, after a
  warm-up call that compiles the numba kernel);
* puff train: 200 puffs (a 2000 s release, one puff every 10 s) under a wind that turns by 60°
  and changes speed, evaluated on the same grid at t = 2000 s (best of N).

Times are CPU time of this process (``time.process_time``). Target: plume field ≤ 3 × the floor,
with the field equal to the point formula at every node (tests/physics/test_plume_field_exact.py).
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from safetwin.emergency_planner.physics.dispersion import WindHistory, plume_field, puff_train
from safetwin.emergency_planner.physics.grid import GridSpec
from safetwin.emergency_planner.physics.sigmas import PasquillSigmas

N = 1000


def best_of(fn, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    grid = GridSpec.around(0.0, 0.0, (N - 1), 2.0)
    assert grid.shape == (N, N)
    arr = np.linspace(-5.0, 0.0, N * N).reshape(N, N)
    floor = best_of(lambda: np.exp(arr), args.repeat)

    sig = PasquillSigmas("D", "briggs_rural")

    def plume() -> np.ndarray:
        return plume_field(grid, source_xy_m=(0.0, 0.0), wind_from_deg=240.0, rate_kg_s=1.0, wind_speed_m_s=3.0,
                           sigmas=sig).concentration_mg_m3

    plume()  # compile / warm caches
    t_plume = best_of(plume, args.repeat)
    frac = float(np.mean(plume() > 0))

    wind = WindHistory(np.array([0.0, 600.0, 1200.0]), np.array([3.0, 4.0, 2.5]), np.array([240.0, 270.0, 300.0]))
    train = puff_train(source_xy_m=(0.0, 0.0), rate_times_s=np.array([0.0, 2000.0]), rate_kg_s=np.array([1.0, 0.0]),
                       wind=wind, sigmas=sig, puff_interval_s=10.0)
    assert train.release_times_s.size == 200, train.release_times_s.size

    def puffs() -> np.ndarray:
        return train.field(grid, 2000.0)

    puffs()
    t_puff = best_of(puffs, args.repeat)

    print(f"grid {N}x{N} float64, best of {args.repeat}, CPU time")
    print(f"  floor  numpy.exp over {N*N:,} values : {floor*1e3:8.2f} ms  (1.00x)")
    print(f"  plume field (D, 3 m/s, from 240 deg)  : {t_plume*1e3:8.2f} ms  ({t_plume/floor:5.2f}x floor)"
          f"   [{frac:.0%} of cells inside the plume]")
    print(f"  200-puff train field at t = 2000 s    : {t_puff*1e3:8.2f} ms  ({t_puff/floor:5.2f}x floor)")
    ok = t_plume / floor <= 3.0
    print(f"target plume <= 3x floor (CPU time): {'MET' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
