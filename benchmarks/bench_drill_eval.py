"""Drill evaluation time for a full day shift: 268 people × 1 Hz × 20 min of RTLS tracks (321 600 fixes).

    .venv/bin/python benchmarks/bench_drill_eval.py [--people 268] [--minutes 20] [--repeat 3] [--store]

The tracks are synthetic (no simulation is timed): the demo plant's day shift placed by
``shift_population``, each person waiting a random pre-movement time after the alarm, then walking
straight to the nearest muster point at 0.8–1.6 m/s and staying there; one person never arrives.
The baseline record is generated the same way with shorter pre-movement. Printed: seconds for
``evaluate`` (measure both records, score, compare, findings; target < 2 s), for the HTML report,
and with ``--store`` for loading the tracks back from a SQLite store (``from_store``).
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone

import numpy as np

from safetwin.emergency_planner.drill.evaluate import evaluate
from safetwin.app.drill_records import from_store
from safetwin.emergency_planner.drill.record import DrillEvent, DrillRecord
from safetwin.emergency_planner.drill.report import report_html
from safetwin.plant_models.loader import bundled_plant_path, load_plant
from safetwin.scenarios.loader import load_scenario
from safetwin.twin.population import shift_population


def synthetic(plant, n: int, minutes: float, pre: tuple[float, float], seed: int, alarm_s: float = 40.0,
              missing: int = 1) -> DrillRecord:
    """Straight walks to the nearest muster point, sampled at 1 Hz (vectorised: (people, times) arrays)."""
    rng = np.random.default_rng(seed)
    ids, xy, _ = shift_population(plant, "day", seed=1)
    ids, xy = ids[:n], xy[:n]
    mp = np.array([m.position[:2] for m in plant.meta.muster_points], float)
    d = np.linalg.norm(xy[:, None, :] - mp[None, :, :], axis=2)
    goal = mp[np.argmin(d, axis=1)]
    t = np.arange(0.0, minutes * 60.0, 1.0)
    start = alarm_s + rng.uniform(*pre, len(ids))
    speed = rng.uniform(0.8, 1.6, len(ids))
    dist = d.min(axis=1)
    frac = np.clip((t[None, :] - start[:, None]) * speed[:, None] / np.maximum(dist[:, None], 1e-9), 0.0, 1.0)
    if missing:
        frac[-missing:] = np.minimum(frac[-missing:], 0.5)
    x = xy[:, 0:1] + frac * (goal[:, 0:1] - xy[:, 0:1])
    y = xy[:, 1:2] + frac * (goal[:, 1:2] - xy[:, 1:2])
    person = np.repeat(np.arange(len(ids)), t.size)
    return DrillRecord(scenario="chlorine_drum_leak_wind_shift", person_ids=list(ids), person=person.astype(np.int32),
                       t_s=np.tile(t, len(ids)), x_m=x.ravel(), y_m=y.ravel(),
                       events=[DrillEvent(0.0, "release_start"), DrillEvent(alarm_s - 30, "detection", "CL-01"),
                               DrillEvent(alarm_s, "alarm"), DrillEvent(alarm_s + 90, "response_start"),
                               DrillEvent(alarm_s + 400, "headcount_reported", detail={"count": len(ids) - missing})],
                       expected_headcount=len(ids))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=268)
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--store", action="store_true", help="also time loading the tracks from a SQLite store")
    a = ap.parse_args()
    plant = load_plant(bundled_plant_path("demo_plant"))
    sc = load_scenario("chlorine_drum_leak_wind_shift").scenario
    rec = synthetic(plant, a.people, a.minutes, (30.0, 240.0), seed=2)
    base = synthetic(plant, a.people, a.minutes, (30.0, 120.0), seed=3, missing=0)
    print(f"bench_drill_eval  {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC  load {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} cores")
    print(f"tracks: {rec.n_people} people x {a.minutes:g} min at 1 Hz = {rec.t_s.size} fixes (+ baseline {base.t_s.size})")
    evaluate(rec, plant, scenario=sc, baseline=base)   # warm-up (imports, shapely preparation)
    times = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        ev = evaluate(rec, plant, scenario=sc, baseline=base)
        times.append(time.perf_counter() - t)
    print(f"evaluate (both records measured, scored, compared): median {statistics.median(times):.3f} s "
          f"(min {min(times):.3f}) over {a.repeat} runs; target < 2 s -> {2.0 / statistics.median(times):.1f}x margin")
    print(f"  score {ev.score} grade {ev.grade}; findings " + ", ".join(f"{f['severity']} {f['indicator']}"
                                                                        for f in ev.findings))
    t = time.perf_counter()
    html = report_html(ev.to_dict())
    print(f"report_html: {time.perf_counter() - t:.3f} s ({len(html) / 1024:.0f} KiB)")
    if a.store:
        from safetwin.twin.store import Store

        t0 = datetime(2026, 12, 4, 10, tzinfo=timezone.utc)
        with tempfile.TemporaryDirectory() as tmp, Store.open(f"sqlite:///{tmp}/bench.db") as store:
            rows = [{"plant_id": plant.id, "person_id": rec.person_ids[p], "ts": t0 + timedelta(seconds=float(s)),
                     "x_m": float(x), "y_m": float(y)} for p, s, x, y in zip(rec.person, rec.t_s, rec.x_m, rec.y_m)]
            tw = time.perf_counter()
            store.write_positions(rows)
            tw = time.perf_counter() - tw
            t = time.perf_counter()
            got = from_store(store, plant, t0, t0 + timedelta(minutes=a.minutes + 1))
            tl = time.perf_counter() - t
        print(f"from_store (SQLite, {got.t_s.size} fixes in one query): {tl:.3f} s  (writing them took {tw:.1f} s)")


if __name__ == "__main__":
    main()
