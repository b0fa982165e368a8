"""Recommendations for the demo plant's day shift (268 people) on the chlorine drum leak with the
W -> SW wind shift, recommended at the alarm time.

Prints the wall time of :func:`recommend` (median and best of ``--repeat`` runs after one warm-up
run that compiles the numba kernels), people/s, the time per stage, and the exact-check
throughput of :class:`PuffField` against the floor it replaces, ``PuffTrain.concentration_at``
(the same puffs, every puff at every sample), on the route samples of the run.

Target: < 5 s for 268 people.

Usage:  .venv/bin/python benchmarks/bench_recommend.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from safetwin.emergency_planner.incident import run_incident
from safetwin.emergency_planner.recommend import HazardSpec, PuffField, recommend
from safetwin.emergency_planner.recommend.routing import sample_route
from safetwin.emergency_planner.recommend.scenario import scenario_blocked, scenario_people
from safetwin.scenarios.loader import load_scenario


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scenario", default="chlorine_drum_leak_wind_shift")
    a = ap.parse_args()
    loaded = load_scenario(a.scenario)
    res = run_incident(loaded, evacuate=False)
    hz = HazardSpec.from_incident(res)
    ids, xy = scenario_people(loaded)
    blocked = scenario_blocked(loaded)
    t0 = float(res.metrics["alarm_s"])
    print(f"scenario {a.scenario}: {len(ids)} people, t0 = {t0:.0f} s (alarm), load avg {os.getloadavg()[0]:.2f}, "
          f"{os.cpu_count()} cpus")
    tw = time.perf_counter()
    rec = recommend(loaded.plant, hz, ids, xy, t0, blocked=blocked)
    print(f"warm-up (numba compile or cache load): {time.perf_counter() - tw:.2f} s")
    times = []
    for _ in range(a.repeat):
        tw = time.perf_counter()
        rec = recommend(loaded.plant, hz, ids, xy, t0, blocked=blocked)
        times.append(time.perf_counter() - tw)
    med, best = statistics.median(times), min(times)
    s = rec.to_dict()["summary"]
    print(f"recommend: median {med:.2f} s, best {best:.2f} s over {a.repeat} runs -> {len(ids) / med:.0f} people/s "
          f"(target < 5 s: {'met' if med < 5 else 'NOT met'})")
    print(f"  routes checked safe: {s['with_route']} / {s['people']}, evacuate {s['evacuate']}, shelter {s['shelter']}, "
          f"at risk {s['at_risk']}; excluded muster points: {[m.id for m in rec.muster if m.excluded]}")
    print("  stages (last run, s): " + ", ".join(f"{k} {v:.2f}" for k, v in rec.timings_s.items()))
    # exact-check throughput: PuffField vs PuffTrain.concentration_at on the route samples
    pts, ts = [], []
    for p in rec.people:
        if p.route_xy is not None:
            q, t = sample_route(p.route_xy, p.route_t_s, rec.params.sample_m)
            pts.append(q), ts.append(t)
    P, T = np.vstack(pts), np.concatenate(ts)
    tr = res.gas_sources[0].train
    pf = PuffField(tr)
    tw = time.perf_counter()
    pf(P[:, 0], P[:, 1], T)
    t_fast = time.perf_counter() - tw
    sub = np.random.default_rng(0).choice(len(T), min(len(T), 20000), replace=False)
    tw = time.perf_counter()
    tr.concentration_at(P[sub, 0], P[sub, 1], T[sub])
    t_floor = (time.perf_counter() - tw) * len(T) / len(sub)
    print(f"exact route check: {len(T)} samples ({rec.params.sample_m} m) in {t_fast:.2f} s with PuffField "
          f"= {len(T) / t_fast:,.0f} samples/s; PuffTrain.concentration_at would take {t_floor:.1f} s "
          f"(extrapolated from {len(sub)}) -> {t_floor / t_fast:.0f}x")


if __name__ == "__main__":
    main()
