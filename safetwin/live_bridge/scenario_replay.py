"""A scenario played by the simulated plant, in scenario time and without a broker.

* :class:`ScenarioReplay` — a :class:`~.simulator.PlantSimulator` whose detectors read the
  scenario's puff trains (:func:`~safetwin.emergency_planner.live.replay.detector_field`) and
  whose weather station measures the scenario's weather, stepped in scenario time
  (``advance``); the scenario's wind as an exact
  :class:`~safetwin.emergency_planner.live.observations.WindInput` too, and the truth (for tests
  and the comparison only).
* :func:`replay_offline` — that traffic decoded into the live source estimator, compared with the
  truth at every estimate (``safetwin scenario estimate``).

Example::

    >>> rp = ScenarioReplay("release_main_gate_blocked", seed=1)          # doctest: +SKIP
    >>> msgs = rp.advance(30.0)                                            # doctest: +SKIP
"""
from __future__ import annotations

from safetwin.emergency_planner.incident import run_incident, wind_history
from safetwin.emergency_planner.live.estimate import estimate_source
from safetwin.emergency_planner.live.observations import Observations, WindInput, is_gas_detector
from safetwin.emergency_planner.live.replay import (REPLAY_EPOCH, ReplayStep, Truth, compare, decode_readings,
                                                    detector_field)
from safetwin.emergency_planner.physics.dispersion import WindHistory
from safetwin.emergency_planner.physics.stability import resolve_class
from safetwin.scenarios.loader import load_scenario

from .simulator import PlantSimulator, SimConfig

__all__ = ["ScenarioReplay", "replay_offline"]


class ScenarioReplay:
    """A scenario's detector and tag traffic, produced in scenario time (see the module docstring)."""

    def __init__(self, name: str, *, seed: int = 0, fault_rate_per_h: float = 0.5, site: str = "replay",
                 start_ts: float = REPLAY_EPOCH, people: int | None = None):
        self.loaded = load_scenario(name)
        self.plant = self.loaded.plant
        self.scenario = self.loaded.scenario
        res = run_incident(self.loaded, evacuate=False)
        if not res.gas_sources:
            raise ValueError(f"scenario {name!r} has no gas release")
        g = res.gas_sources[0]
        det = [e.time_s for e in res.events if e.kind == "detection"]
        alarm = [e.time_s for e in res.events if e.kind == "alarm"]
        self.truth = Truth(g.equipment_id, g.substance.name, g.train.source_xy_m[0], g.train.source_xy_m[1],
                           g.rate_kg_s, g.start_s, min(det) if det else None, alarm[0] if alarm else None)
        self.wind_hist: WindHistory = wind_history(self.scenario)
        self.stability = resolve_class(self.scenario.weather.stability)
        self.start_ts = start_ts
        cfg = SimConfig(seed=seed, fault_rate_per_h=fault_rate_per_h, people=people)
        self.sim = PlantSimulator(self.plant, site, cfg, concentration=detector_field([s.train for s in res.gas_sources],
                                                                                   self.plant),
                                  substance=g.substance.name, start_ts=start_ts, wind=self.wind_hist.at,
                                  stability=self.stability)

    def wind_at(self, t_s: float) -> WindInput:
        """The met station's wind at scenario time ``t_s``."""
        speed, frm = self.wind_hist.at(t_s)
        return WindInput(speed, frm, self.stability)

    def start_messages(self):
        return self.sim.start_messages()

    def advance(self, t_s: float):
        return self.sim.advance(t_s)

    def to_scenario_s(self, ts: float) -> float:
        return ts - self.start_ts


def replay_offline(name: str, *, seed: int = 0, step_s: float = 1.0, every_s: float = 5.0,
                   after_alarm_s: float = 60.0, fault_rate_per_h: float = 0.5,
                   params=None) -> tuple[Truth, float, list[ReplayStep]]:
    """Replay a scenario's detector traffic without a broker (``PlantSimulator.advance`` in steps
    of ``step_s``), start at the first reading at or above a detector's warning level, and
    estimate every ``every_s`` until ``after_alarm_s`` after it. Returns (truth, first alarm
    time s, steps). The estimator sees only the decoded readings and the met wind."""
    rp = ScenarioReplay(name, seed=seed, fault_rate_per_h=fault_rate_per_h)
    sensors = rp.plant.sensors
    records: list[tuple[str, float, float]] = []
    first_alarm = None
    steps: list[ReplayStep] = []
    t, next_est = 0.0, None
    horizon = rp.scenario.simulation.duration_s
    while t <= horizon:
        t += step_s
        for sid, ts, v, q in decode_readings(rp.advance(t), rp.start_ts):
            s = sensors.get(sid)
            if s is None or not is_gas_detector(s) or v is None or q == "bad":
                continue
            records.append((sid, ts, v))
            if first_alarm is None and s.alarm is not None and v >= s.alarm.warning:
                first_alarm = ts
                next_est = ts
        if first_alarm is None:
            continue
        if t - first_alarm > after_alarm_s + 1e-9:
            break
        if t >= next_est:
            obs = Observations.from_records(records)
            est = estimate_source(obs, rp.plant, rp.wind_at(t), params=params, t_now_s=t)
            steps.append(compare(est, rp.truth, first_alarm))
            next_est = t + every_s
    return rp.truth, (first_alarm if first_alarm is not None else float("nan")), steps
