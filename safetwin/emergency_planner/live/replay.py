"""Scenario traffic for the live estimator: the pure parts (the simulated plant that plays a
scenario lives in the live bridge, :mod:`safetwin.live_bridge.scenario_replay`).

* :func:`detector_field` — the concentration function the plant simulator's detectors read:
  the scenario's puff trains (:func:`..incident.run_incident`), evaluated at each detector's
  own height (the simulator passes only x, y; this wrapper looks the height up by position,
  ground level elsewhere).
* :class:`Truth`, :func:`compare` — what really happened and how far an estimate is from it.
* :func:`decode_readings` — gateway/single reading messages → ``(sensor_id, t_s, value, q)``.
* :func:`synthetic_observations` — noise-free or noisy readings of every gas detector for a
  known point source (unit tests, benchmarks, doctests).
* :func:`release_cases` — releases drawn at random (equipment, rate, wind) for the estimator's
  acceptance runs, away from the equipment of the scenario library's drills.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
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


def decode_readings(messages: Iterable, start_ts: float = 0.0) -> list[tuple[str, float, float | None, str]]:
    """``(sensor_id, t_s, value, quality)`` of the readings in gateway-batch or single-reading
    messages (``Message``/``(topic, payload, …)``), ``t_s`` = source time − ``start_ts``."""
    out = []
    for m in messages:
        topic, payload = m[0], m[1]
        if not topic.endswith(("/readings", "/reading")) or "/rtls/" in topic:
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


@dataclass(frozen=True)
class ReleaseCase:
    """One drawn release: equipment, its substance and centroid (m), rate (kg/s), the true wind."""

    equipment_id: str
    substance: str
    xy_m: tuple[float, float]
    rate_kg_s: float
    wind: WindInput


#: a drawn release's rate range (kg/s) by how the detectors measure it: toxic heads read ppm of a
#: few ppm to a few hundred; %LEL heads need kilograms per second
TOXIC_RATES_KG_S, FLAMMABLE_RATES_KG_S = (0.05, 1.0), (1.0, 10.0)


def release_cases(plant: Plant, count: int, *, seed: int = 0, exclude: Iterable[str] = ()) -> list[ReleaseCase]:
    """``count`` releases at random equipment of the plant (not in ``exclude``) whose substance
    some gas detector responds to, log-uniform rates (:data:`TOXIC_RATES_KG_S` or
    :data:`FLAMMABLE_RATES_KG_S`), a random wind direction, 2–5 m/s, class C, D or E."""
    from .estimate.hypotheses import candidate_equipment, plant_substances

    rng = np.random.default_rng(seed)
    gas = [s for s in plant.sensors.values() if is_gas_detector(s)]
    skip = set(exclude)
    pool = sorted((e, v) for e, v in candidate_equipment(plant, plant_substances(plant)).items()
                  if e not in skip and any(response_factor(d, v[2]) > 0 for d in gas))
    if not pool:
        raise ValueError(f"release_cases: no equipment of plant {plant.id!r} holds a gas its detectors see")
    out = []
    for _ in range(count):
        eid, (x, y, sub) = pool[int(rng.integers(len(pool)))]
        toxic = any(response_factor(d, sub) > 0 and d.unit == "ppm" for d in gas)
        lo, hi = TOXIC_RATES_KG_S if toxic else FLAMMABLE_RATES_KG_S
        rate = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        wind = WindInput(float(rng.uniform(2.0, 5.0)), float(rng.uniform(0.0, 360.0)), str(rng.choice(["C", "D", "E"])))
        out.append(ReleaseCase(eid, sub.name, (x, y), rate, wind))
    return out


@dataclass(frozen=True)
class AlarmedCase:
    """A drawn release the detectors alarm on: the case, its noisy readings, the first alarm (s)
    and the wind as the plant's met station would report it (direction and speed uncertainty)."""

    case: ReleaseCase
    observations: Observations
    first_alarm_s: float
    met: WindInput


def alarmed_release_cases(plant: Plant, count: int, *, seed: int = 0, exclude: Iterable[str] = (),
                          t_end_s: float = 300.0, alarm_by_s: float = 200.0, noise: float = 0.005,
                          draws_per_case: int = 20) -> Iterator[AlarmedCase]:
    """Up to ``count`` drawn releases (:func:`release_cases`) whose readings (the planner's puff
    train, ``noise`` of each span, ``t_end_s`` s) reach a warning level by ``alarm_by_s`` s, with
    the met station's wind (:func:`~.weather.wind_uncertainty` around the true wind)."""
    from .weather import wind_uncertainty

    found = 0
    for k, case in enumerate(release_cases(plant, draws_per_case * count, seed=seed, exclude=exclude)):
        if found == count:
            return
        obs = synthetic_observations(plant, case.substance, case.xy_m, case.rate_kg_s, case.wind, t_end_s=t_end_s,
                                     model="puff_train", noise=noise, seed=k, release_height_m=1.0)
        alarm = first_alarm_s(obs, plant)
        if alarm is None or alarm > alarm_by_s:
            continue
        found += 1
        sigma, speed_sigma = wind_uncertainty(case.wind.speed_m_s, None, case.wind.stability)
        yield AlarmedCase(case, obs, alarm, replace(case.wind, from_sigma_deg=sigma, speed_sigma_m_s=speed_sigma))


def first_alarm_s(observations: Observations, plant: Plant, *, noise_frac: float = 0.02) -> float | None:
    """Time (s) of the first reading at or above its detector's warning level (None if none)."""
    from .estimate.detectors import DetectorArrays

    detectors = DetectorArrays.from_sensors(observations.sensor_ids, plant.sensors, noise_frac=noise_frac)
    hit = observations.value >= detectors.warning_level[observations.sensor_index]
    return float(observations.t_s[hit].min()) if hit.any() else None
