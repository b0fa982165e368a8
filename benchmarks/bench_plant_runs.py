"""Wall time of whole-plant runs on the demo plant: the day shift's evacuation (how much faster than
real time) and each shipped scenario drill (release or fire, detection, response, agents).

Run:  .venv/bin/python benchmarks/bench_plant_runs.py [--scenarios NAME ...] [--repeat N]

Floors: the day shift musters >= 100x faster than real time (RSET / wall time); every shipped
scenario runs in < 60 s of wall time. Best of ``--repeat`` runs each; the machine's load is printed
beside the figures (the unit tests check these runs for correctness only).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from safetwin.emergency_planner.incident import run_incident
from safetwin.emergency_planner.plant_evacuation import evacuate_plant, shift_positions
from safetwin.plant_models.loader import load_plant
from safetwin.scenarios.loader import list_scenarios, load_scenario

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_source_estimation import best_of  # noqa: E402  (the wall-time best-of helper with the run's result)

REAL_TIME_FLOOR = 100.0
SCENARIO_CEILING_S = 60.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="*", default=None, help="scenario names (default: every shipped one)")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    plant = load_plant("demo_plant")
    positions = shift_positions(plant, "day", seed=3)
    evacuate_plant(plant, positions[:20], seed=3)  # compile the numba kernels outside the timing
    wall_s, evac = best_of(lambda: evacuate_plant(plant, positions, seed=3), args.repeat)
    factor = evac.rset_s / wall_s
    ok = evac.complete and factor >= REAL_TIME_FLOOR
    print(f"day shift: {evac.n} people, RSET {evac.rset_s:.0f} s, wall {wall_s:.2f} s, "
          f"{factor:.0f}x real time (floor {REAL_TIME_FLOOR:.0f}x): {'met' if ok else 'NOT MET'}")
    failed = not ok
    for name in args.scenarios or list_scenarios():
        loaded = load_scenario(name)
        cpu0 = time.process_time()
        wall_s, res = best_of(lambda: run_incident(loaded), args.repeat)
        cpu_s = (time.process_time() - cpu0) / args.repeat
        m = res.metrics
        models = ", ".join(sorted({g.model.split("+")[0] for g in res.gas_sources})) or "fires only"
        outcomes = ", ".join(f"{e.kind}:{e.detail.get('fire') or e.detail.get('blast')}" for e in res.events
                             if e.kind in ("ignition", "escalation", "explosion"))
        met = wall_s < SCENARIO_CEILING_S
        failed |= not met
        rset = m.get("evacuation_complete_s")
        rset_text = f"{rset:.0f} s" if rset is not None else "— (not everyone reached safety)"
        print(f"{name:34s} wall {wall_s:6.1f} s  cpu {cpu_s:6.1f} s  alarm {m.get('alarm_s')} s  RSET {rset_text}  "
              f"(ceiling {SCENARIO_CEILING_S:.0f} s): {'met' if met else 'NOT MET'}")
        print(f"{'':34s} clouds: {models}; {outcomes or 'no fire or explosion'}")
    print(f"load after: {os.getloadavg()[0]:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
