"""Recommendations for the demo plant's day shift (268 people), recommended at the alarm time with
what is known then: the releases under the ensemble of winds around the t0 wind
(:mod:`safetwin.emergency_planner.recommend.ensemble`, 7 winds for a class-D station).

Per scenario (``--scenario``, repeatable; default every drill of the scenario library):
the wall and CPU time of :func:`recommend` (median and best of ``--repeat`` runs after one warm-up
run that compiles the numba kernels), people/s, the time per stage; and, measured in the same run,
the peer: the same call on the scenario's own single wind history (foresight), with the ratio.
The CPU time is the figure to judge on a shared machine (the wall time grows with the load).
Then the exact-check throughput of :class:`PuffField` against ``PuffTrain.concentration_at`` on
the route samples of the run.

Target: ≤ 1 s for 268 people, in every drill; the last line gives each drill's CPU median and the worst.

Usage:  .venv/bin/python benchmarks/bench_recommend.py [--repeat 3] [--scenario NAME ...]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from safetwin.emergency_planner.incident import run_incident
from safetwin.emergency_planner.recommend import HazardSpec, PuffField, recommend
from safetwin.emergency_planner.recommend.ensemble import WindEnsemble, hazard_known_at, scenario_t0_wind
from safetwin.emergency_planner.recommend.routing import sample_route
from safetwin.emergency_planner.recommend.scenario import scenario_blocked, scenario_people
from safetwin.scenarios.loader import list_scenarios, load_scenario


def timed(fn, repeat: int) -> tuple[object, list[float], list[float]]:
    """``fn()`` run ``repeat`` times: its last result, wall times and CPU times (s)."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return out, walls, cpus


def bench(name: str, repeat: int) -> float:
    """Run and print the figures of one drill; returns its CPU median (s)."""
    loaded = load_scenario(name)
    res = run_incident(loaded, evacuate=False)
    t0 = float(res.metrics["alarm_s"])
    ensemble = WindEnsemble.around(scenario_t0_wind(loaded.scenario, t0), t0)
    known = hazard_known_at(res, ensemble)
    foresight = HazardSpec.from_incident(res)
    ids, xy = scenario_people(loaded)
    blocked = scenario_blocked(loaded)
    print(f"\nscenario {name}: {len(ids)} people, t0 = {t0:.0f} s (alarm), load avg {os.getloadavg()[0]:.2f}, "
          f"{os.cpu_count()} cpus; {ensemble.note}")
    tw = time.perf_counter()
    recommend(loaded.plant, known, ids, xy, t0, blocked=blocked)
    print(f"warm-up (numba compile or cache load): {time.perf_counter() - tw:.2f} s")
    rec, walls, cpus = timed(lambda: recommend(loaded.plant, known, ids, xy, t0, blocked=blocked), repeat)
    _, peer_walls, peer_cpus = timed(lambda: recommend(loaded.plant, foresight, ids, xy, t0, blocked=blocked), repeat)
    med, cpu = statistics.median(walls), statistics.median(cpus)
    s = rec.to_dict()["summary"]  # type: ignore[attr-defined]
    print(f"recommend (t0 ensemble): wall median {med:.2f} s, best {min(walls):.2f} s; CPU median {cpu:.2f} s over "
          f"{repeat} runs -> {len(ids) / cpu:.0f} people per CPU-s (target <= 1 s: "
          f"{'met' if cpu <= 1.0 else 'NOT met'} on CPU, {'met' if med <= 1.0 else 'NOT met'} on wall at this load)")
    print(f"peer, single wind with foresight: wall median {statistics.median(peer_walls):.2f} s, CPU median "
          f"{statistics.median(peer_cpus):.2f} s -> ensemble / single CPU ratio {cpu / statistics.median(peer_cpus):.2f}")
    print(f"  routes checked safe: {s['with_route']} / {s['people']}, evacuate {s['evacuate']}, shelter {s['shelter']}, "
          f"escape {s['escape']}, at risk {s['at_risk']}; excluded muster points: "
          f"{[m.id for m in rec.muster if m.excluded]}")  # type: ignore[attr-defined]
    print("  stages (last run, wall s): " + ", ".join(f"{k} {v:.2f}" for k, v in rec.timings_s.items()))  # type: ignore[attr-defined]
    # exact-check throughput: PuffField vs PuffTrain.concentration_at on the route samples
    pts, ts = [], []
    for p in rec.people:  # type: ignore[attr-defined]
        if p.route_xy is not None:
            q, t = sample_route(p.route_xy, p.route_t_s, rec.params.sample_m)  # type: ignore[attr-defined]
            pts.append(q), ts.append(t)
    if not pts or not res.gas_sources:
        return cpu
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
    print(f"exact route check: {len(T)} samples in {t_fast:.2f} s with PuffField "
          f"= {len(T) / t_fast:,.0f} samples/s; PuffTrain.concentration_at would take {t_floor:.1f} s "
          f"(extrapolated from {len(sub)}) -> {t_floor / t_fast:.0f}x")
    return cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scenario", action="append", default=None)
    a = ap.parse_args()
    cpu = {name: bench(name, a.repeat) for name in a.scenario or list_scenarios()}
    worst = max(cpu, key=cpu.__getitem__)
    print("\nCPU median per drill: " + ", ".join(f"{k} {v:.2f} s" for k, v in cpu.items())
          + f"; worst {worst} {cpu[worst]:.2f} s (target <= 1 s: {'met' if cpu[worst] <= 1.0 else 'NOT met'}); "
          f"load avg {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
