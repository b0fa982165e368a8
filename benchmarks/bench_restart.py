"""Restart rebuild: how long a bridge takes to rebuild its twin from history before it publishes.

A SQLite (or ``--db`` PostgreSQL) store holds ``--days`` days of history of the demo plant's site
(every sensor every ``--period`` s, and ``--people`` people with a fix every 5 s for the last hour)
plus the same history of a second site (the look-ups must stay on their own site); the site's
ingest log holds ``--log-records`` gateway batches not yet indexed. Prints the time of
:func:`~safetwin.live_bridge.rebuild.rebuild_twin` (median of 3) and what it restored.

    .venv/bin/python benchmarks/bench_restart.py [--days 2] [--period 10] [--people 500]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from safetwin.live_bridge.ingestlog import DurableLog
from safetwin.live_bridge.rebuild import rebuild_twin
from safetwin.plant_models.loader import bundled_plant_path, load_plant
from safetwin.twin.state import TwinState
from safetwin.twin.store import Store


def fill(store: Store, plant, site: str, now: float, days: float, period_s: float, people: int) -> int:
    sids = sorted(plant.sensors)
    rows, n = [], 0
    t = now - days * 86400
    seq = 0
    while t < now:
        rows.extend((plant.id, sid, t, t, 1.0, plant.sensors[sid].unit, "ok", "gw-1", seq * 1000 + i, site)
                    for i, sid in enumerate(sids))
        seq += 1
        t += period_s
        if len(rows) >= 50_000:
            n += store.insert_reading_rows(rows)
            rows = []
    n += store.insert_reading_rows(rows)
    from datetime import datetime, timezone
    fixes = [{"plant_id": plant.id, "site": site, "person_id": f"P-{k:04d}", "x_m": 100.0 + k % 50, "y_m": 100.0,
              "ts": datetime.fromtimestamp(now - 3600 + s * 5, timezone.utc)} for k in range(people) for s in range(0, 720, 12)]
    store.write_positions(fixes)
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=float, default=2.0)
    ap.add_argument("--period", type=float, default=10.0, help="s between readings of one sensor")
    ap.add_argument("--people", type=int, default=500)
    ap.add_argument("--log-records", type=int, default=2000)
    ap.add_argument("--db", default=None, help="database URL (default: a SQLite file in a temp dir)")
    args = ap.parse_args()
    plant = load_plant(bundled_plant_path("demo_plant"))
    now = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(args.db or f"sqlite:///{tmp}/h.db")
        t0 = time.perf_counter()
        n = sum(fill(store, plant, site, now, args.days, args.period, args.people) for site in ("site1", "other"))
        print(f"history: {n:,} readings of {len(plant.sensors)} sensors over {args.days:g} days on 2 sites, "
              f"{args.people} people per site, filled in {time.perf_counter() - t0:.0f} s")
        log = DurableLog(Path(tmp) / "log")
        sids = sorted(plant.sensors)
        for k in range(args.log_records):
            log.put_record(plant.id, "gw-2", now - 1, k * 1000, sids, [now - 2] * len(sids), [2.0] * len(sids),
                           [plant.sensors[s].unit for s in sids], ["ok"] * len(sids), "site1")
        log.sync()
        times, report = [], None
        for _ in range(3):
            state = TwinState(plant)
            t0 = time.perf_counter()
            report = rebuild_twin(state, store, "site1", log_dir=log.directory, before_segment=log.segment + 1, now=now)
            times.append(time.perf_counter() - t0)
        log.close()
        store.close()
    print(f"rebuild: median {statistics.median(times):.3f} s (runs {', '.join(f'{x:.3f}' for x in times)}); "
          f"{report.readings} sensor values ({report.from_log} from {args.log_records} un-indexed log records), "
          f"{report.people} people; load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
