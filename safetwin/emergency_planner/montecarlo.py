"""Monte Carlo over weather: one scenario, N weather draws, the spread of RSET, alarm time and harm.

Two steps, each usable alone:

1. :func:`weather_draws` samples N weathers from a plant's QRA weather data (``qra/data/weather.yaml``
   merged with ``<plant>/qra.yaml``: weather classes with day/night probabilities and the wind rose)
   or from a distribution spec of the same shape. Per draw: a period (day/night), a weather class
   from that period's probabilities, the wind direction from the class's rose (sector by its
   probability, then uniform across the sector; ``rose: uniform`` gives 0–360° uniform) and a wind
   speed kept consistent with the class by Pasquill's key (Turner 1970): lognormal around
   the class's representative speed (``speed_sigma`` in ln units), truncated to the speeds where
   the key allows that class in that period (A < 3, B < 5, C ≥ 2 m/s by day only; E 2–5 and F < 3 m/s
   at night only; D always) and to [1, 20] m/s (1 m/s: ALOHA's floor). A class the key never allows in
   a period (the illustrative default data give E5 and F1.5 a small daytime share) gets probability 0
   in that period and the others are renormalised; ``WeatherDistribution.notes`` says so. Draws are
   made by inverse transform from one ``(n, 5)`` block of uniforms, so a fixed seed reproduces them
   and the first k draws are the same for every n ≥ k (a longer run reuses a shorter run's cache).
2. :func:`run_montecarlo` replaces the scenario's weather by each draw and runs
   :func:`~safetwin.emergency_planner.incident.run_incident` as one task per draw through the shared
   executor (:func:`~safetwin.emergency_planner.qra.executor.execute_tasks`, the QRA's code path:
   serial, local Dask cluster or a remote scheduler; JSON result per draw cached, resumable).
   Each draw also draws its people again (:func:`apply_people`: positions in their areas,
   pre-movement from the scenario's distribution, walking speeds), so the spread of RSET is that of
   the weather *and* of the people (with the scenario's seeds kept, as before, pre-movement and
   speeds were the same in every draw and only the alarm time and the routes moved RSET);
   ``vary_people=False`` keeps them for the weather's share alone. Events and response are kept.

Wind shifts: the draw sets the wind at t0 and the stability; each ``weather.changes`` entry is kept
as a change *relative* to the scenario's own t0 wind: its direction is turned by the same angle
(a shift W → SW of −45° stays −45° from the drawn direction) and its speed scaled by the drawn /
original t0 speed ratio (capped at 30 m/s). Temperature and humidity are the scenario's.

Per draw (:data:`DRAW_METRICS`): ``rset_s`` (evacuation complete: the last person safe; missing when
somebody is never accounted for), ``last_arrival_s`` (last of those who reached safety),
``alarm_s``, ``first_detection_s``, ``people_above_aegl2_dose``, ``expected_harm`` (Σ over people of
the probability of harm, channels combined as independent, 1 − Π(1 − p)), ``max_harm_probability``,
``people_not_accounted_for``, ``incapacitated`` (and, in the rows, ``deadlock``: the agent model
stopped because nobody could reach any goal, e.g. the cloud cuts every route), ``rset_after_alarm_s``,
``premovement_mean_s`` and ``walking_speed_mean_m_s`` (the draw's people). The summary gives per
metric n, missing, mean with its Student-t interval, sd (n − 1), P5/P50/P95 (linear interpolation)
with distribution-free order-statistic intervals (:func:`quantile_interval`), min and max over the
draws that have a value, and a warning where the draws are too few (:func:`min_draws_for_quantile`);
:func:`convergence` gives the running statistics for the convergence plot.

Example (draws only: no simulation)::

    >>> from safetwin.plant_models.loader import bundled_plant_path
    >>> d = weather_draws(bundled_plant_path("demo_plant"), 1000, seed=1, period="night")
    >>> len(d), sorted(set(d.stability))
    (1000, ['D', 'E', 'F'])
    >>> bool((d.wind_speed_m_s[d.stability == "F"] < 3.0).all())
    True
    >>> a = weather_draws(bundled_plant_path("demo_plant"), 5, seed=7)
    >>> b = weather_draws(bundled_plant_path("demo_plant"), 3, seed=7)
    >>> bool((a.wind_from_deg[:3] == b.wind_from_deg).all()), a.draw(0).period in ("day", "night")
    (True, True)

A run (2 local Dask workers; ``scheduler="serial"`` runs in this process)::

    >>> res = run_montecarlo("h2s_confined_space", 8, seed=1, cache_dir="var/mc")   # doctest: +SKIP
    >>> res.summary["metrics"]["alarm_s"]["p95"]                                    # doctest: +SKIP
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Mapping

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import binom
from scipy.stats import t as t_dist

from safetwin.plant_models.loader import Plant, bundled_plant_path
from safetwin.scenarios.loader import LoadedScenario, load_scenario
from safetwin.scenarios.schema import Scenario

from .physics.stability import resolve_class
from .qra.config import load_config
from .qra.executor import ExecutionStats, Progress, Task, execute_tasks

__all__ = ["WeatherClassSpec", "WeatherDistribution", "WeatherDraw", "WeatherDraws", "weather_distribution",
           "weather_draws", "speed_range", "apply_weather", "apply_people", "people_seed", "period_of", "run_draw",
           "summarize", "mean_interval", "quantile_interval", "min_draws_for_quantile", "convergence", "PERCENTILES",
           "MonteCarloResult", "run_montecarlo", "DRAW_METRICS", "CODE_VERSION"]

CODE_VERSION = "mc-2"  # mc-2: rows carry RSET after the alarm and the people's draws
#: Wind speed limits of the draws (m/s at 10 m): ALOHA's 1 m/s floor; 20 m/s is beyond any class.
SPEED_MIN_M_S, SPEED_MAX_M_S = 1.0, 20.0
#: Per-draw metrics summarised over the draws (see the module docstring).
DRAW_METRICS = ("rset_s", "rset_after_alarm_s", "last_arrival_s", "alarm_s", "first_detection_s",
                "people_above_aegl2_dose", "expected_harm", "max_harm_probability", "people_not_accounted_for",
                "incapacitated", "premovement_mean_s", "walking_speed_mean_m_s")
PERIODS = ("day", "night")

# Pasquill's key (Turner 1970, as in physics.stability) as speed intervals (m/s at 10 m) where
# a letter occurs in some column of the period: day columns strong/moderate/slight insolation, night
# columns cloudy/clear; heavy overcast gives D at any speed, day or night.
_ALLOWED: dict[tuple[str, str], tuple[float, float]] = {
    ("A", "day"): (0.0, 3.0), ("B", "day"): (0.0, 5.0), ("C", "day"): (2.0, math.inf),
    ("D", "day"): (0.0, math.inf), ("D", "night"): (0.0, math.inf),
    ("E", "night"): (2.0, 5.0), ("F", "night"): (0.0, 3.0),
}


def speed_range(stability: str, period: str) -> tuple[float, float] | None:
    """Wind speeds (m/s at 10 m) at which Pasquill's key gives ``stability`` in ``period`` ("day" or
    "night"), clipped to [1, 20] m/s; ``None`` if the key never gives it then (E or F by day, A–C at
    night). A pair such as ``"A-B"`` is taken as its more stable letter.

    >>> speed_range("F", "night"), speed_range("F", "day"), speed_range("C", "day")
    ((1.0, 3.0), None, (2.0, 20.0))
    """
    if period not in PERIODS:
        raise ValueError(f"period must be 'day' or 'night', got {period!r}")
    r = _ALLOWED.get((resolve_class(stability), period))
    if r is None:
        return None
    lo, hi = max(r[0], SPEED_MIN_M_S), min(r[1], SPEED_MAX_M_S)
    return (lo, hi) if hi > lo else None


# ================================================================================ distribution
@dataclass(frozen=True)
class WeatherClassSpec:
    """A weather class: ``name``, Pasquill ``stability``, representative ``wind_speed_m_s`` (10 m),
    probability within the day and within the night (after the consistency check), and its wind
    rose (P of wind FROM each of n equal sectors, sector k centred on k·360/n°; ``None`` = uniform)."""

    name: str
    stability: str
    wind_speed_m_s: float
    p_day: float
    p_night: float
    rose: tuple[float, ...] | None


@dataclass(frozen=True)
class WeatherDistribution:
    """What :func:`weather_draws` samples from: classes, the fraction of time that is day, the
    lognormal spread of speed within a class and the changes made for consistency (``notes``)."""

    classes: tuple[WeatherClassSpec, ...]
    day_fraction: float
    speed_sigma: float = 0.3
    notes: tuple[str, ...] = ()

    def p(self, period: str) -> np.ndarray:
        """Class probabilities in ``period`` ("day" or "night")."""
        return np.array([c.p_day if period == "day" else c.p_night for c in self.classes])


def _rose(spec: Any, where: str) -> tuple[float, ...] | None:
    if spec is None or spec == "uniform" or (isinstance(spec, Mapping) and spec.get("p") == "uniform"):
        return None
    p = spec.get("p") if isinstance(spec, Mapping) else spec
    try:
        arr = tuple(float(x) for x in p)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: expected 'uniform' or {{p: [probabilities per sector]}}, got {spec!r}") from None
    if len(arr) < 4 or min(arr) < 0 or abs(sum(arr) - 1.0) > 1e-6:
        raise ValueError(f"{where}: a rose needs ≥ 4 sectors of probabilities ≥ 0 summing to 1 "
                         f"(got {len(arr)} sectors summing to {sum(arr):.6f})")
    return arr


def weather_distribution(source: Any, *, speed_sigma: float = 0.3) -> WeatherDistribution:
    """The weather distribution of ``source``: a :class:`WeatherDistribution` (returned as is), a
    loaded :class:`Plant`, a plant folder or bundled plant name (its merged QRA weather), a full QRA
    config (a mapping with ``weather``) or a weather section (``classes`` [name, stability,
    wind_speed_m_s, p_day, p_night, optional rose], ``rose`` ({p: [...]} or ``uniform``),
    ``period_fraction`` {day, night}). Raises ``ValueError`` naming the field at fault."""
    if isinstance(source, WeatherDistribution):
        return source
    if isinstance(source, Plant):
        w = load_config(source.path)["weather"]
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_dir():
            path = bundled_plant_path(str(source))
            if not path.is_dir():
                raise ValueError(f"weather source {source!r}: not a plant folder nor a bundled plant")
        w = load_config(path)["weather"]
    elif isinstance(source, Mapping):
        w = dict(source["weather"]) if "weather" in source else dict(source)
    else:
        raise ValueError(f"weather source: expected a plant, a plant folder, a config or a weather mapping, "
                         f"got {type(source).__name__}")
    if not isinstance(speed_sigma, (int, float)) or not 0 < speed_sigma <= 2:
        raise ValueError(f"speed_sigma must be in (0, 2] (ln units), got {speed_sigma!r}")
    pf = w.get("period_fraction", {"day": 0.5, "night": 0.5})
    day = float(pf.get("day", 0.0))
    if not 0 <= day <= 1 or abs(day + float(pf.get("night", 0.0)) - 1) > 1e-6:
        raise ValueError(f"weather.period_fraction: day and night must be in [0, 1] and sum to 1, got {pf}")
    base = _rose(w.get("rose", "uniform"), "weather.rose")
    if not w.get("classes"):
        raise ValueError("weather.classes: at least one weather class is needed")
    classes, notes = [], []
    for k, c in enumerate(w["classes"]):
        where = f"weather.classes[{k}]"
        try:
            name, stab, u = str(c.get("name", k)), str(c["stability"]), float(c["wind_speed_m_s"])
            resolve_class(stab)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(f"{where}: needs stability (Pasquill A–F) and wind_speed_m_s: {err}") from None
        if not 0 < u <= 30:
            raise ValueError(f"{where} ({name}): wind_speed_m_s must be in (0, 30], got {u}")
        p = {}
        for per in PERIODS:
            p[per] = float(c.get(f"p_{per}", 0.0))
            if p[per] < 0:
                raise ValueError(f"{where} ({name}): p_{per} must be ≥ 0, got {p[per]}")
            if p[per] > 0 and speed_range(stab, per) is None:
                notes.append(f"class {name} ({stab}) dropped by {per} (p_{per} = {p[per]:g}): Pasquill's key has "
                             f"no {resolve_class(stab)} by {per}")
                p[per] = 0.0
        rose = _rose(c["rose"], f"{where}.rose") if "rose" in c else base
        classes.append(WeatherClassSpec(name, stab, u, p["day"], p["night"], rose))
    for per, frac in (("day", day), ("night", 1 - day)):
        s = sum(c.p_day if per == "day" else c.p_night for c in classes)
        if frac > 0 and s <= 0:
            raise ValueError(f"weather.classes: no class is possible by {per} (p_{per} all zero after the "
                             f"Pasquill consistency check)")
        if frac > 0 and abs(s - 1) > 1e-9:
            notes.append(f"{per} probabilities renormalised from {s:.4g} to 1")
            key = "p_day" if per == "day" else "p_night"
            classes = [WeatherClassSpec(**{**c.__dict__, key: getattr(c, key) / s}) for c in classes]
    return WeatherDistribution(tuple(classes), day, float(speed_sigma), tuple(notes))


# ================================================================================ draws
@dataclass(frozen=True)
class WeatherDraw:
    """One sampled weather: ``index`` in the sequence, period, class name, Pasquill stability, wind
    FROM (deg clockwise from north) and speed (m/s at 10 m)."""

    index: int
    period: str
    weather_class: str
    stability: str
    wind_from_deg: float
    wind_speed_m_s: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class WeatherDraws:
    """N draws as arrays (index i of each array is draw i); ``draw(i)`` gives one :class:`WeatherDraw`."""

    period: np.ndarray
    weather_class: np.ndarray
    stability: np.ndarray
    wind_from_deg: np.ndarray
    wind_speed_m_s: np.ndarray
    sector: np.ndarray  # rose sector index (-1 for a uniform rose)
    distribution: WeatherDistribution
    seed: int

    def __len__(self) -> int:
        return len(self.wind_from_deg)

    def draw(self, i: int) -> WeatherDraw:
        return WeatherDraw(int(i), str(self.period[i]), str(self.weather_class[i]), str(self.stability[i]),
                           float(self.wind_from_deg[i]), float(self.wind_speed_m_s[i]))

    def __iter__(self):
        return (self.draw(i) for i in range(len(self)))


def _pick(u: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Index drawn from probabilities ``p`` by inverse transform of uniforms ``u``."""
    cdf = np.cumsum(p) / np.sum(p)
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(p) - 1)


def weather_draws(source: Any, n: int, seed: int = 0, *, period: str = "any",
                  speed_sigma: float = 0.3) -> WeatherDraws:
    """``n`` weather draws from ``source`` (see :func:`weather_distribution`) with a fixed ``seed``.

    ``period``: ``"day"`` or ``"night"`` (every draw in that period, the scenario's own time of day)
    or ``"any"`` (period drawn by the day/night fractions). See the module docstring for the method;
    uniforms column by column: period, class, sector, position in the sector, speed."""
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if period not in ("any",) + PERIODS:
        raise ValueError(f"period must be 'any', 'day' or 'night', got {period!r}")
    dist = weather_distribution(source, speed_sigma=speed_sigma)
    u = np.random.default_rng(int(seed)).random((int(n), 5))
    if period == "any":
        per = np.where(u[:, 0] < dist.day_fraction, "day", "night")
    else:
        if (dist.day_fraction if period == "day" else 1 - dist.day_fraction) <= 0:
            raise ValueError(f"weather.period_fraction gives the {period} no time")
        per = np.full(int(n), period)
    cls = np.zeros(int(n), int)
    for pname in PERIODS:
        m = per == pname
        if m.any():
            cls[m] = _pick(u[m, 1], dist.p(pname))
    frm = np.zeros(int(n))
    sector = np.full(int(n), -1)
    speed = np.zeros(int(n))
    stab = np.empty(int(n), object)
    for k, c in enumerate(dist.classes):
        m = cls == k
        if not m.any():
            continue
        stab[m] = resolve_class(c.stability)
        if c.rose is None:
            frm[m] = 360.0 * u[m, 2]
        else:
            width = 360.0 / len(c.rose)
            s = _pick(u[m, 2], np.asarray(c.rose))
            sector[m] = s
            frm[m] = np.mod((s + u[m, 3] - 0.5) * width, 360.0)
        for pname in PERIODS:
            mp = m & (per == pname)
            if not mp.any():
                continue
            lo, hi = speed_range(c.stability, pname)  # type: ignore[misc]  # p = 0 where None
            mu, sg = math.log(c.wind_speed_m_s), dist.speed_sigma
            a, b = ndtr((math.log(lo) - mu) / sg), ndtr((math.log(hi) - mu) / sg)
            q = np.clip(a + u[mp, 4] * (b - a), 1e-15, 1 - 1e-15)
            speed[mp] = np.clip(np.exp(mu + sg * ndtri(q)), lo, hi)
    frm = np.where(frm >= 360.0, frm - 360.0, frm)
    names = np.array([c.name for c in dist.classes], object)
    return WeatherDraws(per.astype(object), names[cls] if n else np.empty(0, object), stab, frm, speed, sector,
                        dist, int(seed))


# ================================================================================ scenario
def period_of(time_of_day: str, day_hours: tuple[float, float] = (7.0, 19.0)) -> str:
    """``"day"`` if ``time_of_day`` (HH:MM) is within ``day_hours`` (local hours, start inclusive),
    else ``"night"`` (a fixed stand-in for 1 h after sunrise to 1 h before sunset).

    >>> period_of("14:30"), period_of("02:30")
    ('day', 'night')
    """
    h, m = time_of_day.split(":")
    t = int(h) + int(m) / 60.0
    return "day" if day_hours[0] <= t < day_hours[1] else "night"


def apply_weather(sc: Scenario, d: WeatherDraw) -> Scenario:
    """``sc`` with its t0 wind and stability replaced by draw ``d``; wind changes kept relative (see
    the module docstring). The result is validated again (a :class:`Scenario`)."""
    w = sc.weather
    changes = []
    for c in w.changes:
        ch = c.model_dump()
        if c.wind_from_deg is not None:
            ch["wind_from_deg"] = float(np.mod(d.wind_from_deg + (c.wind_from_deg - w.wind_from_deg), 360.0)) % 360.0
        if c.wind_speed_m_s is not None:
            ch["wind_speed_m_s"] = min(30.0, d.wind_speed_m_s * c.wind_speed_m_s / w.wind_speed_m_s)
        changes.append(ch)
    doc = sc.model_dump()
    doc["weather"].update(wind_speed_m_s=d.wind_speed_m_s, wind_from_deg=d.wind_from_deg, stability=d.stability,
                          changes=changes)
    return Scenario.model_validate(doc)


def people_seed(seed: int, index: int) -> int:
    """The seed of draw ``index``'s people (positions in their areas, pre-movement, walking speeds):
    independent streams per draw from ``numpy.random.SeedSequence((seed, index))``, so draw k is the
    same in every run with the same seed.

    >>> people_seed(1, 0) == people_seed(1, 0) != people_seed(1, 1)
    True
    """
    return int(np.random.SeedSequence((int(seed), int(index))).generate_state(1)[0])


def apply_people(sc: Scenario, seed: int) -> Scenario:
    """``sc`` with the people drawn again: the population seed (who stands where in each area, and
    which ones a ``limit`` keeps) and the simulation seed (each person's pre-movement time from the
    scenario's distribution, free walking speed (Weidmann) and tolerance) both set to ``seed``."""
    doc = sc.model_dump()
    doc["population"]["seed"] = int(seed)
    doc["simulation"]["seed"] = int(seed)
    return Scenario.model_validate(doc)


# ================================================================================ one task
@dataclass(frozen=True)
class _DrawContext:
    plant: Plant
    path: Path
    evacuate: bool


@dataclass(frozen=True)
class _DrawPayload:
    draw: WeatherDraw
    scenario: Scenario


def _none_if_nan(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def draw_metrics(res: Any) -> dict[str, Any]:
    """The :data:`DRAW_METRICS` of one :class:`~.incident.IncidentResult` (JSON-safe; ``None`` = no value)."""
    m = res.metrics
    out: dict[str, Any] = {"rset_s": m.get("evacuation_complete_s"), "last_arrival_s": m.get("last_arrival_s"),
                           "alarm_s": m.get("alarm_s"), "first_detection_s": m.get("first_detection_s"),
                           "people_above_aegl2_dose": m.get("people_above_aegl2_dose"),
                           "max_harm_probability": m.get("max_harm_probability"),
                           "people_not_accounted_for": m.get("people_not_accounted_for"),
                           "incapacitated": m.get("incapacitated"), "people": m.get("people"),
                           "deadlock": m.get("deadlock"),
                           "first_engine_in_action_s": m.get("first_engine_in_action_s")}
    ev = res.evacuation
    if ev is not None:
        hp = [np.asarray(v, float) for v in ev.harm_probability.values() if len(v)]
        # per person 1 - Π(1 - p_c), computed as -expm1(Σ log1p(-p_c)) to keep tiny probabilities
        out["expected_harm"] = float(np.sum(-np.expm1(np.sum(np.log1p(-np.clip(np.stack(hp), 0.0, 1.0)), axis=0)))) \
            if hp else 0.0
        out["expected_harm_by_channel"] = {k: float(np.sum(v)) for k, v in ev.harm_probability.items()}
        # the people's own draws (what varies with the draw besides the weather)
        out["premovement_mean_s"] = float(np.mean(ev.premovement_s)) if ev.n else None
        out["walking_speed_mean_m_s"] = float(np.mean(ev.free_speed_m_s)) if ev.n else None
    else:
        out["expected_harm"] = out["premovement_mean_s"] = out["walking_speed_mean_m_s"] = None
    rset, alarm = out.get("rset_s"), out.get("alarm_s")
    out["rset_after_alarm_s"] = None if rset is None or alarm is None else float(rset) - float(alarm)
    out["objectives_met"] = {o["id"]: bool(o["met"]) for o in m.get("objectives", [])}
    return {k: _none_if_nan(v) for k, v in out.items()}


def run_draw(payload: _DrawPayload, ctx: _DrawContext) -> dict[str, Any]:
    """Task function (pure but for timing): play the scenario of one draw, return its row (JSON-safe):
    ``index``, ``weather`` (the draw), ``metrics`` (:func:`draw_metrics`) and the task's own timing
    (``seconds``, ``cpu_s`` of the task thread, ``process_cpu_s`` including the agent model's numba
    threads, ``t_start``/``t_end`` epoch s, ``pid``)."""
    from .incident import run_incident

    t_epoch, t, c, pc = time.time(), time.perf_counter(), time.thread_time(), time.process_time()
    res = run_incident(LoadedScenario(payload.scenario, ctx.plant, ctx.path), evacuate=ctx.evacuate)
    return {"index": payload.draw.index, "weather": payload.draw.as_dict(), "metrics": draw_metrics(res),
            "seconds": time.perf_counter() - t, "cpu_s": time.thread_time() - c,
            "process_cpu_s": time.process_time() - pc, "t_start": t_epoch, "t_end": time.time(),
            "pid": float(os.getpid())}


def _warm_up() -> bool:
    """Once per worker before the sweep: import the incident stack (SimPy, agents, numba kernels from
    their cache) and undo Dask's malloc tuning (see :func:`.qra.tasks.tune_malloc`)."""
    from .evacuation import _kernels  # noqa: F401  (loads the cached numba kernels)
    from .incident import run_incident  # noqa: F401
    from .qra.tasks import tune_malloc

    return tune_malloc()


def _save_json(path: Path, res: Any) -> None:
    """Atomic JSON write (temporary file + rename), so a resumed run never trusts a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1, allow_nan=False)
    os.replace(tmp, path)


def _load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# ================================================================================ summary
#: the percentiles reported per metric
PERCENTILES = (5, 50, 95)


def mean_interval(x: np.ndarray, confidence: float = 0.95) -> tuple[float, float] | None:
    """Student-t interval for the mean of ``x`` (n ≥ 2; exact for normal data, approximate otherwise)."""
    n = x.size
    if n < 2:
        return None
    half = float(t_dist.ppf(0.5 + confidence / 2, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    m = float(x.mean())
    return (m - half, m + half)


def quantile_interval(x: np.ndarray, q: float, confidence: float = 0.95) -> dict[str, Any]:
    """Distribution-free interval for the ``q`` quantile (0 < q < 1) from order statistics: the
    ranks (l, u) with P(X₍ₗ₎ ≤ ξ_q < X₍ᵤ₎) = F_B(u − 1) − F_B(l − 1) ≥ ``confidence``, F_B the
    Binomial(n, q) CDF (Conover 1999, *Practical Nonparametric Statistics*, §3.2; Hahn & Meeker 1991,
    *Statistical Intervals*, ch. 5). A side that n draws cannot bound is None (e.g. P95 from fewer
    than 72 draws has no 95 % equal-tailed upper bound). ``coverage`` is the interval's exact level.

    >>> r = quantile_interval(np.arange(1.0, 101.0), 0.5)
    >>> r["low"], r["high"], r["coverage"] >= 0.95
    (40.0, 61.0, True)
    >>> quantile_interval(np.arange(1.0, 7.0), 0.95)["high"] is None
    True
    """
    n = x.size
    xs = np.sort(x)
    alpha = 1.0 - confidence
    k = np.arange(0, n + 1)
    cdf = binom.cdf(k, n, q)                              # cdf[j] = P(B ≤ j)
    lows = np.flatnonzero(cdf[:n] <= alpha / 2)           # l − 1 = j with P(B ≤ l − 1) ≤ α/2
    highs = np.flatnonzero(cdf[:n] >= 1 - alpha / 2)      # u − 1 = j with P(B ≤ u − 1) ≥ 1 − α/2
    l_rank = int(lows[-1]) + 1 if lows.size else None     # 1-based ranks
    u_rank = int(highs[0]) + 1 if highs.size else None
    below = float(cdf[l_rank - 1]) if l_rank else 0.0
    above = float(cdf[u_rank - 1]) if u_rank else 1.0
    return {"low": float(xs[l_rank - 1]) if l_rank else None, "high": float(xs[u_rank - 1]) if u_rank else None,
            "coverage": above - below, "ranks": [l_rank, u_rank]}


def min_draws_for_quantile(q: float, confidence: float = 0.95) -> int:
    """Fewest draws for which both sides of :func:`quantile_interval` exist (equal tails: the sample
    extremes bound ξ_q on each side with probability ≥ 1 − α/2, i.e. max(q, 1 − q)^n ≤ α/2): 72 for
    P5 or P95, 6 for the median at 95 % (a one-sided 95 % bound on P95 needs 59: Wilks 1941).

    >>> min_draws_for_quantile(0.95), min_draws_for_quantile(0.5)
    (72, 6)
    """
    n = 1
    while max(q, 1 - q) ** n > (1 - confidence) / 2:
        n += 1
    return n


def summarize(values: list[Any], confidence: float = 0.95) -> dict[str, Any]:
    """n, missing, mean with its ``confidence`` interval (Student t), sd (n − 1), P5/P50/P95 (linear
    interpolation) with their distribution-free intervals (:func:`quantile_interval`), min, max of
    the non-missing values (``None``/NaN count as missing), and ``warnings`` where n draws cannot
    support a figure.

    >>> s = summarize([1.0, 2.0, 3.0, None])
    >>> s["n"], s["missing"], s["mean"], s["p50"], s["max"]
    (3, 1, 2.0, 2.0, 3.0)
    >>> s["p95_ci"], s["warnings"][0][:38]                     # a lower bound only
    ([2.0, None], 'P5 and P95 from 3 draws are not estima')
    """
    x = np.array([float(v) for v in values if v is not None and math.isfinite(float(v))])
    out: dict[str, Any] = {"n": int(x.size), "missing": len(values) - int(x.size), "confidence": confidence}
    keys = ["mean", "mean_ci", "sd", "min", "max"] + [f"p{p}" for p in PERCENTILES] + \
        [f"p{p}_ci" for p in PERCENTILES]
    if not x.size:
        return {**out, **dict.fromkeys(keys), "warnings": ["no draw has a value"]}
    pct = np.percentile(x, PERCENTILES)
    out.update(mean=float(x.mean()), sd=float(x.std(ddof=1)) if x.size > 1 else 0.0, min=float(x.min()),
               max=float(x.max()))
    ci = mean_interval(x, confidence)
    out["mean_ci"] = list(ci) if ci else None
    for p, v in zip(PERCENTILES, pct):
        out[f"p{p}"] = float(v)
        qi = quantile_interval(x, p / 100.0, confidence)
        out[f"p{p}_ci"] = [qi["low"], qi["high"]]
    warnings = []
    need = min_draws_for_quantile(0.05, confidence)
    if x.size < need:
        warnings.append(f"P5 and P95 from {x.size} draws are not estimates: a distribution-free "
                        f"{confidence:.0%} interval for them needs at least {need} draws (order statistics)")
    need50 = min_draws_for_quantile(0.5, confidence)
    if x.size < need50:
        warnings.append(f"the median from {x.size} draws has no {confidence:.0%} interval (needs {need50})")
    if x.size < 2:
        warnings.append("one draw: no spread and no interval for the mean")
    out["warnings"] = warnings
    return out


def convergence(values: list[Any], confidence: float = 0.95) -> dict[str, np.ndarray]:
    """Running statistics over the first k draws (k = 1 … n, draws in order, missing ones skipped):
    mean with its Student-t interval, P5/P50/P95 — the data of the convergence plot
    (:func:`safetwin.ui.montecarlo_plot.convergence_png`).

    >>> c = convergence([1.0, 3.0, None, 2.0])
    >>> c["k"].tolist(), c["mean"].tolist()
    ([1, 2, 3], [1.0, 2.0, 2.0])
    """
    x = np.array([float(v) for v in values if v is not None and math.isfinite(float(v))])
    k = np.arange(1, x.size + 1)
    csum, csq = np.cumsum(x), np.cumsum(x * x)
    mean = csum / np.maximum(k, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(k > 1, (csq - k * mean**2) / np.maximum(k - 1, 1), np.nan)
        half = t_dist.ppf(0.5 + confidence / 2, np.maximum(k - 1, 1)) * np.sqrt(np.maximum(var, 0.0) / k)
    half = np.where(k > 1, half, np.nan)
    pct = np.array([np.percentile(x[:j], PERCENTILES) for j in k]).reshape(-1, len(PERCENTILES))
    return {"k": k, "mean": mean, "mean_low": mean - half, "mean_high": mean + half,
            **{f"p{p}": pct[:, i] for i, p in enumerate(PERCENTILES)}}


@dataclass
class MonteCarloResult:
    """Outcome of :func:`run_montecarlo`: one row per finished draw (``index``, ``weather``,
    ``metrics``, timing), the summary (per-metric statistics, inputs), execution statistics."""

    scenario: str
    n: int
    seed: int
    period: str
    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    stats: ExecutionStats
    complete: bool
    outputs: dict[str, str] = field(default_factory=dict)

    def values(self, metric: str) -> list[Any]:
        """``metric`` of every finished draw, in draw order (``None`` where missing)."""
        return [r["metrics"].get(metric) for r in self.rows]

    def table(self) -> list[dict[str, Any]]:
        """Flat per-draw rows: draw, weather fields, the :data:`DRAW_METRICS`, wall time (s)."""
        out = []
        for r in self.rows:
            w = r["weather"]
            out.append({"draw": r["index"], "period": w["period"], "weather_class": w["weather_class"],
                        "stability": w["stability"], "wind_from_deg": round(w["wind_from_deg"], 3),
                        "wind_speed_m_s": round(w["wind_speed_m_s"], 4),
                        **{k: r["metrics"].get(k) for k in DRAW_METRICS}, "deadlock": r["metrics"].get("deadlock"),
                        "run_s": round(r["seconds"], 3)})
        return out

    def format_spread(self) -> str:
        """The summary as a text table (one line per metric): the mean and the median with their
        intervals; P5/P95 marked ``*`` when the draws are too few to bound them, and the warnings."""
        conf = self.summary.get("confidence", 0.95)
        head = (f"{'metric':<24}{'n':>4}{'miss':>5} {'mean':>10} {f'mean {conf:.0%} CI':>21} {'sd':>9} {'P5':>10} "
                f"{'P50':>10} {f'P50 {conf:.0%} CI':>21} {'P95':>10} {'max':>9}")
        lines = [head]

        def f(v: Any, w: int = 9) -> str:
            return f"{v:>{w}.3g}" if v is not None else f"{'-':>{w}}"

        def ci(pair: Any) -> str:
            if not pair:
                return f"{'-':>21}"
            lo, hi = (f"{v:.3g}" if v is not None else ("-inf", "inf")[k] for k, v in enumerate(pair))
            return f"{'[' + lo + ', ' + hi + ']':>21}"

        starred = False
        for k, s in self.summary["metrics"].items():
            weak = s["n"] < min_draws_for_quantile(0.05, conf)
            starred |= weak and s["n"] > 0
            mark = "*" if weak and s["n"] > 0 else " "
            lines.append(f"{k:<24}{s['n']:>4}{s['missing']:>5} {f(s['mean'], 10)} {ci(s['mean_ci'])} {f(s['sd'])} "
                         f"{f(s['p5'])}{mark} {f(s['p50'], 10)} {ci(s['p50_ci'])} {f(s['p95'])}{mark} {f(s['max'])}")
        if starred:
            lines.append(f"* not an estimate: fewer than {min_draws_for_quantile(0.05, conf)} draws cannot bound P5/P95 "
                         f"at {conf:.0%} (distribution-free, order statistics)")
        for w in self.summary.get("warnings", []):
            lines.append(f"WARNING: {w}")
        return "\n".join(lines)

    def write(self, out_dir: str | Path) -> dict[str, str]:
        """Write ``draws.csv``, ``draws.json`` (full rows) and ``summary.json`` to ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"draws_csv": out / "draws.csv", "draws_json": out / "draws.json", "summary": out / "summary.json"}
        table = self.table()
        with paths["draws_csv"].open("w", newline="", encoding="utf-8") as f:
            wr = csv.DictWriter(f, fieldnames=list(table[0]) if table else ["draw"])
            wr.writeheader()
            wr.writerows(table)
        paths["draws_json"].write_text(json.dumps(self.rows, indent=1), encoding="utf-8")
        paths["summary"].write_text(json.dumps(self.summary, indent=2), encoding="utf-8")
        self.outputs = {k: str(p) for k, p in paths.items()}
        return self.outputs


def _plant_digest(plant: Plant) -> str:
    h = hashlib.sha256()
    root = Path(plant.path)
    for p in sorted(root.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def run_montecarlo(scenario_name: str | Path, n: int, *, seed: int = 0, scheduler: Any = None, n_workers: int = 2,
                   cache_dir: str | Path = "var/montecarlo/cache", evacuate: bool = True, resume: bool = True,
                   period: str = "auto", weather: Any = None, speed_sigma: float = 0.3, vary_people: bool = True,
                   confidence: float = 0.95, progress: Progress | None = None,
                   max_tasks: int | None = None) -> MonteCarloResult:
    """Run scenario ``scenario_name`` (library name or YAML path) over ``n`` weather draws.

    ``weather``: the distribution source (default: the scenario's plant QRA weather; see
    :func:`weather_distribution`); ``period``: ``"auto"`` (the scenario's time of day, see
    :func:`period_of`), ``"day"``, ``"night"`` or ``"any"``; ``vary_people``: each draw also draws
    its people again (:func:`apply_people`; False keeps the scenario's, so the spread is the
    weather's alone); ``confidence``: the level of the intervals; ``scheduler``/``n_workers``/``resume``/
    ``progress``/``max_tasks`` as in :func:`~.qra.executor.execute_tasks`. Each draw's result is
    cached as JSON under ``cache_dir/<scenario>/`` keyed by the drawn scenario, the plant files and
    the code version, so a re-run (or a longer run with the same seed) recomputes only what is new.
    Raises :class:`~safetwin.scenarios.loader.ScenarioValidationError` / ``FileNotFoundError`` for a
    bad scenario and ``ValueError`` for a bad weather spec or ``n``."""
    loaded = load_scenario(scenario_name)
    sc = loaded.scenario
    per = period_of(sc.time_of_day) if period == "auto" else period
    draws = weather_draws(loaded.plant if weather is None else weather, n, seed, period=per, speed_sigma=speed_sigma)
    pdig = _plant_digest(loaded.plant)
    tasks = []
    for d in draws:
        s = apply_weather(sc, d)
        if vary_people:
            s = apply_people(s, people_seed(seed, d.index))
        key = hashlib.sha256(json.dumps([CODE_VERSION, s.model_dump(mode="json"), pdig, evacuate],
                                        sort_keys=True).encode()).hexdigest()[:12]
        tasks.append(Task(f"draw-{d.index:04d}-{key}", _DrawPayload(d, s), 1.0))
    ctx = _DrawContext(loaded.plant, loaded.path, evacuate)
    results, stats = execute_tasks(tasks, run_draw, ctx, Path(cache_dir) / sc.name, scheduler=scheduler,
                                   n_workers=n_workers, resume=resume, progress=progress, max_tasks=max_tasks,
                                   save=_save_json, load=_load_json, suffix=".json", warm_up=_warm_up,
                                   key_prefix="mc")
    rows = sorted(results.values(), key=lambda r: r["index"])
    summary = {
        "scenario": sc.name, "plant": loaded.plant.id, "n_draws": int(n), "n_finished": len(rows), "seed": int(seed),
        "period": per, "evacuate": evacuate, "speed_sigma": speed_sigma, "vary_people": vary_people,
        "notes": list(draws.distribution.notes),
        "original_weather": sc.weather.model_dump(mode="json"),
        "weather_classes": {c: int(sum(1 for r in rows if r["weather"]["weather_class"] == c))
                            for c in sorted({r["weather"]["weather_class"] for r in rows})},
        "wind_speed_m_s": summarize([r["weather"]["wind_speed_m_s"] for r in rows]),
        "incomplete_evacuations": sum(1 for r in rows if r["metrics"].get("rset_s") is None),
        "deadlocks": sum(1 for r in rows if r["metrics"].get("deadlock")),
        "metrics": {k: summarize([r["metrics"].get(k) for r in rows], confidence) for k in DRAW_METRICS},
        "confidence": confidence,
        "execution": {"scheduler": stats.scheduler, "workers": stats.n_workers, "computed": stats.n_computed,
                      "cached": stats.n_cached, "wall_s": round(stats.wall_s, 3),
                      "startup_s": round(stats.startup_s, 3),
                      "sweep_s": round(stats.sweep_s, 3), "task_cpu_s": round(stats.task_cpu_s, 3)},
    }
    summary["warnings"] = _grouped_warnings(summary["metrics"])
    return MonteCarloResult(sc.name, int(n), int(seed), per, rows, summary, stats, stats.complete)


def _grouped_warnings(metrics: dict[str, dict[str, Any]]) -> list[str]:
    """Each distinct small-sample warning once, with the metrics it concerns."""
    by_text: dict[str, list[str]] = {}
    for k, s in metrics.items():
        for w in s.get("warnings") or []:
            by_text.setdefault(w, []).append(k)
    return [f"{w} [{', '.join(ks)}]" for w, ks in by_text.items()]
