"""Soak of the live incident declaration: the demo plant's simulated traffic with detector faults,
then a real release.

What ``make demo`` runs, faster than real time and without a broker: the simulated plant
(:class:`~safetwin.live_bridge.simulator.PlantSimulator`, every detector and the met station, faults
at ``--fault-rate`` per sensor per hour: stuck, out of range, dropout, bad) is advanced in 1 s steps;
its messages go through the bridge's :class:`~safetwin.live_bridge.ingest.Ingestor` into the
TwinState and the alarm engine; the :class:`~safetwin.emergency_planner.live.LiveIncidentMonitor`
(the met station's wind with its fallback) estimates and judges every 5 s of source time.

For ``--minutes`` only faults happen; then a chlorine leak at DS-701 (``--rate`` kg/s, the
simulator's wind: 3 m/s from 270°, class D) is added to the traffic. Figures: the faults drawn and
the alarms they raised, whether an incident was declared before the release (acceptance: never),
and the time from the second detector (of those the declaration found consistent) reaching its
warning level to the declaration (acceptance: ≤ 30 s).

Usage:  .venv/bin/python benchmarks/bench_soak_declaration.py [--minutes 30] [--fault-rate 2] [--seed 1]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time

import numpy as np

from safetwin.emergency_planner.live import LiveIncidentMonitor
from safetwin.emergency_planner.live.weather import LiveWeatherSource
from safetwin.emergency_planner.physics.dispersion import WindHistory, puff_train
from safetwin.emergency_planner.physics.sigmas import PasquillSigmas
from safetwin.emergency_planner.physics.weather import Weather
from safetwin.live_bridge.ingest import Ingestor
from safetwin.live_bridge.simulator import PlantSimulator, SimConfig
from safetwin.plant_models.loader import bundled_plant_path, load_plant
from safetwin.twin.alarms.engine import AlarmEngine
from safetwin.twin.alarms.rules import AlarmRules
from safetwin.twin.state import TwinState

START_TS = 1_750_046_400.0          # 2025-06-16 04:00 UTC, midday at the plant
SOURCE, SOURCE_XY = "DS-701", (76.0, 306.0)


@dataclasses.dataclass
class SoakResult:
    """What one soak saw (times in s of simulation)."""

    faults: dict[str, int]           # faults the simulator drew, by kind
    fault_alarms: int                # level-alarm transitions of gas detectors before the release
    declared_before_release: float | None
    declared_s: float | None
    second_consistent_s: float | None
    explained: tuple[str, ...]
    estimates: int
    wall_s: float

    @property
    def delay_s(self) -> float | None:
        if self.declared_s is None or self.second_consistent_s is None:
            return None
        return self.declared_s - self.second_consistent_s


def soak(*, fault_s: float, after_s: float = 120.0, fault_rate_per_h: float = 2.0, rate_kg_s: float = 0.7,
         seed: int = 1) -> SoakResult:
    """``fault_s`` of faults only, then the release for ``after_s`` (see the module docstring)."""
    wall = time.perf_counter()
    plant = load_plant(bundled_plant_path("demo_plant"))
    train = puff_train(source_xy_m=SOURCE_XY, rate_times_s=np.array([fault_s]), rate_kg_s=np.array([rate_kg_s]),
                       wind=WindHistory.steady(3.0, 270.0), sigmas=PasquillSigmas("D"), puff_interval_s=2.0,
                       release_height_m=1.0, end_time_s=fault_s + after_s + 5.0)
    train = dataclasses.replace(train, min_distance_m=15.0)
    sim = PlantSimulator(plant, "soak", SimConfig(seed=seed, fault_rate_per_h=fault_rate_per_h, people=0),
                         concentration=lambda x, y, t: train.concentration_at(x, y, t), substance="chlorine",
                         start_ts=START_TS)
    state = TwinState(plant)
    transitions: list = []
    engine = AlarmEngine(AlarmRules(state), on_transitions=transitions.extend).start()
    ingest = Ingestor(state, "soak", alarms=engine)
    monitor = LiveIncidentMonitor(state, LiveWeatherSource(state, Weather(3.0, 270.0, "D")), origin_ts=START_TS)
    monitor.attach()
    warned: dict[str, float] = {}
    declared_before = None
    faults: dict[str, int] = {}
    in_fault = {d.sid: "" for d in sim.detectors}
    gas = {sid for sid, sen in plant.sensors.items() if getattr(sen.type, "value", sen.type) in ("toxic_gas", "flammable_gas")}
    try:
        for m in sim.start_messages():
            ingest.handle(m.topic, m.payload, START_TS)
        t = 0.0
        while t < fault_s + after_s:
            t += 1.0
            now = START_TS + t
            for m in sim.advance(t):
                ingest.handle(m.topic, m.payload, now)
            for d in sim.detectors:
                if d.fault and d.fault != in_fault[d.sid]:
                    faults[d.fault] = faults.get(d.fault, 0) + 1
                in_fault[d.sid] = d.fault
            engine.wait_idle()
            if t > fault_s:
                for sid, r in state.readings().items():
                    s = plant.sensors[sid]
                    if (sid not in warned and s.alarm is not None and r.quality in ("ok", "out_of_range")
                            and r.value >= s.alarm.warning):
                        warned[sid] = r.ts - START_TS
            monitor.poll()
            if monitor.declared and t <= fault_s and declared_before is None:
                declared_before = t
            if monitor.declared and t > fault_s:
                break
    finally:
        monitor.detach()
        engine.stop()
    fault_alarms = sum(1 for tr in transitions if tr.kind == "LVL" and tr.source_id in gas
                       and tr.ts <= START_TS + fault_s)
    declared = monitor.declared_ts - START_TS if monitor.declared_ts is not None else None
    verdict = next((u.declaration for u in monitor.history if u.declared and u.declaration is not None
                    and u.declaration.declared), None)
    explained = verdict.explained if verdict is not None else ()
    times = sorted(warned[sid] for sid in explained if sid in warned)
    return SoakResult(faults=faults, fault_alarms=fault_alarms,
                      declared_before_release=declared_before, declared_s=declared,
                      second_consistent_s=times[1] if len(times) >= 2 else None, explained=tuple(explained),
                      estimates=len(monitor.history), wall_s=time.perf_counter() - wall)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--fault-rate", type=float, default=2.0, help="faults per sensor per hour")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=float, default=0.7, help="chlorine release rate, kg/s")
    a = ap.parse_args()
    print(f"demo plant, {a.minutes:g} min of faults ({a.fault_rate:g} per sensor per hour, seed {a.seed}), then "
          f"{a.rate:g} kg/s of chlorine at {SOURCE}; load avg {os.getloadavg()[0]:.2f}")
    r = soak(fault_s=60.0 * a.minutes, fault_rate_per_h=a.fault_rate, rate_kg_s=a.rate, seed=a.seed)
    print(f"faults drawn: {sum(r.faults.values())} ({r.faults}); gas level-alarm transitions they raised: "
          f"{r.fault_alarms}; incident declared before the release: "
          f"{'NO' if r.declared_before_release is None else f'YES at {r.declared_before_release:.0f} s'} "
          f"(target: no)")
    delay = r.delay_s
    print(f"release: declared {'-' if r.declared_s is None else f'{r.declared_s - 60 * a.minutes:.0f} s after it starts'}"
          f", {'-' if delay is None else f'{delay:.0f} s'} after the second consistent detector reached its warning "
          f"level (target <= 30 s: {'met' if delay is not None and delay <= 30 else 'NOT met'}); consistent: "
          f"{', '.join(r.explained) or '-'}")
    print(f"{r.estimates} estimates; {r.wall_s:.0f} s wall for {a.minutes:g} simulated minutes "
          f"({60 * a.minutes / r.wall_s:.1f}x real time)")


if __name__ == "__main__":
    main()
