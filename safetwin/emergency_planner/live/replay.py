"""Scenario traffic for the live estimator, without a broker (drills, CLI, tests).

* :func:`detector_field` — the concentration function the plant simulator's detectors read:
  the scenario's puff trains (:func:`..incident.run_incident`), evaluated at each detector's
  own height (the simulator passes only x, y; this wrapper looks the height up by position,
  ground level elsewhere).
* :class:`ScenarioReplay` — a :class:`~safetwin.live_bridge.simulator.PlantSimulator` driven by
  that field, stepped in scenario time (``advance``), plus the scenario's weather as the
  :class:`.observations.WindInput` a met station would give, and the truth (for tests only).
* :func:`decode_readings` — gateway/single reading messages → ``(sensor_id, t_s, value, q)``.
* :func:`synthetic_observations` — noise-free or noisy readings of every gas detector for a
  known point source (unit tests, benchmarks, doctests).

Example::

    >>> rp = ScenarioReplay("release_main_gate_blocked", seed=1)          # doctest: +SKIP
    >>> msgs = rp.advance(30.0)                                            # doctest: +SKIP
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from safetwin.plant_models.loader import Plant
from safetwin.emergency_planner.physics.dispersion import WindHistory, puff_train
from safetwin.emergency_planner.physics.sigmas import PasquillSigmas

from .kernel import front_factor, unit_concentration, wind_frame
from .observations import Observations, WindInput, is_gas_detector, response_factor

#: a fixed epoch for replays (source timestamps = REPLAY_EPOCH + scenario seconds)
REPLAY_EPOCH = 1.7e9


def detector_field(trains: list, plant: Plant):
    """``c(x, y, t) -> mg/m³`` summing ``trains`` (PuffTrain) at each detector's height (looked up
    by its (x, y) rounded to 1 cm; ground level for any other point)."""
    heights = {(round(s.position[0], 2), round(s.position[1], 2)): s.height_m for s in plant.sensors.values()}

    def c(x, y, t):
        x, y, t = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float), np.asarray(t, float))
        z = np.array([heights.get((round(a, 2), round(b, 2)), 0.0) for a, b in zip(x.ravel(), y.ravel())])
        out = np.zeros(x.size)
        for tr in trains:
            out += tr.concentration_at(x.ravel(), y.ravel(), t.ravel(), z_m=z)
        return out.reshape(x.shape)

    return c


@dataclass
class Truth:
    """What really happened (tests and the CLI's comparison only; never given to the estimator)."""

    equipment_id: str
    substance: str
    x_m: float
    y_m: float
    rate_kg_s: float
    start_s: float
    first_detection_s: float | None
    alarm_s: float | None


class ScenarioReplay:
    """A scenario's detector and tag traffic, produced in scenario time (see the module docstring)."""

    def __init__(self, name: str, *, seed: int = 0, fault_rate_per_h: float = 0.5, site: str = "replay",
                 start_ts: float = REPLAY_EPOCH, people: int | None = None):
        from safetwin.live_bridge.simulator import PlantSimulator, SimConfig
        from safetwin.scenarios.loader import load_scenario

        from ..incident import run_incident, wind_history

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
        from safetwin.emergency_planner.physics.stability import resolve_class
        self.stability = resolve_class(self.scenario.weather.stability)
        self.start_ts = start_ts
        cfg = SimConfig(seed=seed, fault_rate_per_h=fault_rate_per_h, people=people)
        self.sim = PlantSimulator(self.plant, site, cfg, concentration=detector_field([s.train for s in res.gas_sources],
                                                                                   self.plant),
                                  substance=g.substance.name, start_ts=start_ts)

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


def decode_readings(messages: Iterable, start_ts: float = 0.0) -> list[tuple[str, float, float | None, str]]:
    """``(sensor_id, t_s, value, quality)`` of the readings in gateway-batch or single-reading
    messages (``Message``/``(topic, payload, …)``), ``t_s`` = source time − ``start_ts``."""
    out = []
    for m in messages:
        topic, payload = m[0], m[1]
        if not (topic.endswith("/readings") or topic.endswith("/reading")) or "/rtls/" in topic:
            continue
        doc = json.loads(payload)
        rows = doc.get("r", [doc]) if isinstance(doc, dict) else []
        for r in rows:
            if "sid" not in r or "ts" not in r:
                continue
            ts = datetime.fromisoformat(r["ts"].replace("Z", "+00:00")).timestamp()
            out.append((r["sid"], ts - start_ts, r.get("v"), r.get("q", "good")))
    return out


def synthetic_observations(plant: Plant, substance: str, source_xy_m: tuple[float, float], rate_kg_s: float,
                           wind: WindInput, *, t_end_s: float, t_start_s: float = 0.0, release_height_m: float = 1.0,
                           period_s: float | None = None, noise: float = 0.0, seed: int = 0,
                           model: str = "kernel", near_field_m: float = 15.0,
                           detectors: list[str] | None = None) -> Observations:
    """Readings (each detector's unit) of the plant's gas detectors for a point source.

    ``model="kernel"`` uses the estimator's own forward model (an exact-recovery check);
    ``"puff_train"`` the planner's puff train. ``noise`` adds Gaussian noise of that fraction of
    each detector's span, plus a multiplicative log-normal error of the same σ on the signal."""
    from safetwin.scenarios.loader import resolve_substance
    sub = resolve_substance(substance)
    rng = np.random.default_rng(seed)
    sens = [s for s in plant.sensors.values() if is_gas_detector(s) and (detectors is None or s.id in detectors)]
    sig = PasquillSigmas(wind.stability, "briggs_rural", averaging_time_s=600.0)
    train = None
    if model == "puff_train":
        import dataclasses
        train = puff_train(source_xy_m=source_xy_m, rate_times_s=np.array([t_start_s]), rate_kg_s=np.array([rate_kg_s]),
                           wind=WindHistory.steady(wind.speed_m_s, wind.from_deg), sigmas=sig, puff_interval_s=2.0,
                           release_height_m=release_height_m, end_time_s=t_end_s + 1.0)
        train = dataclasses.replace(train, min_distance_m=near_field_m)
    series = {}
    for s in sens:
        per = period_s or s.period_s
        t = np.arange(per / 2, t_end_s + 1e-9, per)
        f = response_factor(s, sub)
        if model == "kernel":
            xw, yw = wind_frame(np.array([source_xy_m[0]]), np.array([source_xy_m[1]]), np.array([s.position[0]]),
                                np.array([s.position[1]]), wind.from_deg)
            U = unit_concentration(xw, yw, np.array([s.height_m]), release_height_m, sig, wind.speed_m_s,
                                   near_field_m=near_field_m)[0, 0, 0]
            sy0 = float(np.asarray(sig(np.array([near_field_m]))[0])[0])
            sxx = float(np.asarray(sig(np.maximum(xw, near_field_m))[0]).ravel()[0])
            F = front_factor(xw[0, 0], sxx, wind.speed_m_s * (t - t_start_s), sy0)
            c = rate_kg_s * U * F
        elif model == "puff_train":
            c = train.concentration_at(np.full(t.size, s.position[0]), np.full(t.size, s.position[1]), t,
                                       z_m=s.height_m)
        else:
            raise ValueError(f"model must be 'kernel' or 'puff_train', got {model!r}")
        v = f * c
        if noise > 0:
            span = s.range_max - s.range_min
            v = v * np.exp(noise * rng.standard_normal(t.size)) + noise * span * rng.standard_normal(t.size)
        series[s.id] = (t, v)
    return Observations.from_series(series)


@dataclass
class ReplayStep:
    """One estimate of an offline replay, with its comparison to the truth."""

    t_s: float
    since_alarm_s: float
    estimate: object
    distance_error_m: float
    rate_ratio: float
    equipment_correct: bool

    @property
    def ok(self) -> bool:
        """The acceptance criterion: right equipment (or within 25 m) and rate within a factor 2."""
        return (self.equipment_correct or self.distance_error_m <= 25.0) and 0.5 <= self.rate_ratio <= 2.0


def compare(estimate, truth: Truth, first_alarm_s: float) -> ReplayStep:
    """Distance error (m), rate ratio (estimate/truth) and equipment match of an estimate."""
    import math
    d = math.hypot(estimate.x_m - truth.x_m, estimate.y_m - truth.y_m) if estimate.kind != "none" else math.inf
    ratio = estimate.rate_kg_s / truth.rate_kg_s if estimate.kind != "none" else math.nan
    return ReplayStep(estimate.t_s, estimate.t_s - first_alarm_s, estimate, d, ratio,
                      estimate.equipment_id == truth.equipment_id)


def replay_offline(name: str, *, seed: int = 0, step_s: float = 1.0, every_s: float = 5.0,
                   after_alarm_s: float = 60.0, fault_rate_per_h: float = 0.5, params=None) -> tuple[Truth, float, list[ReplayStep]]:
    """Replay a scenario's detector traffic without a broker (``PlantSimulator.advance`` in steps
    of ``step_s``), start at the first reading at or above a detector's warning level, and
    estimate every ``every_s`` until ``after_alarm_s`` after it. Returns (truth, first alarm
    time s, steps). The estimator sees only the decoded readings and the met wind."""
    from .estimate import estimate_source

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
