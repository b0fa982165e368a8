"""LiveIncidentMonitor: source estimates, plume prediction and recommendations during a live incident.

Thin glue between the twin and the estimator (all computation is in :mod:`.estimate`):

1. It subscribes to the twin's :class:`~safetwin.twin.events.EventBus`: every
   :class:`ReadingApplied` of a gas detector (quality ``ok`` or ``out_of_range``) goes into a
   per-detector ring buffer (``history_s`` of source time), and the first
   :class:`AlarmStateChanged` of kind ``LVL`` on a gas detector that may vote (its health is ``ok``
   or ``saturated``, :mod:`safetwin.twin.sensor_health`) starts the estimation. A faulty or stale
   detector's alarm starts nothing.
2. From then on it re-estimates when new readings have advanced the source clock by
   ``every_s`` (default 5 s): on its own worker thread (:meth:`start`), so the bridge's ingest
   thread only appends to a buffer; or synchronously with :meth:`poll` (tests, replays). Only the
   readings of detectors that may vote at that moment enter the estimate.
3. Every update is kept in :attr:`history` (:class:`MonitorUpdate`: source time, time since the
   first alarm, the :class:`~.estimate.SourceEstimate`, the
   :class:`~.declaration.IncidentDeclaration`, and the recommendations when asked for). The
   incident is declared (:attr:`LiveIncidentMonitor.declared_ts`, latched) the first time healthy
   detectors agree on one source; estimates before that are forecasts, not an incident.
4. :meth:`recommendations` predicts the plume forward (:func:`.estimate.predict_plume`) and calls
   the recommendation engine (:func:`safetwin.emergency_planner.recommend.recommend`) with the
   people's live RTLS positions from the TwinState: people at risk, routes, muster points.

Clock: source timestamps (s since the epoch) minus ``origin_ts`` — the first reading seen unless
given (a drill replay passes the scenario's epoch so estimates are in scenario seconds).
Wind: a :class:`~.weather.LiveWeatherSource` (the site's met station with its visible fallback,
what live mode uses: every update keeps the :class:`~.weather.LiveWeather` it used), a
:class:`~.observations.WindInput` or a callable ``t_s -> WindInput``.

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.twin.state import TwinState
    >>> state = TwinState(load_plant(bundled_plant_path("demo_plant")))
    >>> mon = LiveIncidentMonitor(state, WindInput(3.0, 270.0, "D")).attach()
    >>> mon.first_alarm_ts is None, mon.history
    (True, [])
    >>> mon.detach()
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from safetwin.background import Worker
from safetwin.twin.events import AlarmStateChanged, ReadingApplied
from safetwin.twin.sensor_health import SensorHealth, assess_sensors
from safetwin.twin.state import TwinState

from .declaration import IncidentDeclaration, declare_incident
from .estimate import EstimationParams, SourceEstimate, estimate_source, predict_plume
from .estimate.dense_kernel import warm_ladders
from .observations import Observations, WindInput, is_gas_detector
from .weather import LiveWeather, LiveWeatherSource

log = logging.getLogger(__name__)

ACTIVE_ALARM_STATES = ("UNACK", "ACKED")
USABLE_QUALITIES = ("ok", "out_of_range")
WARM_EVERY_S = 60.0
"""How often (s) the dense-gas ladders are checked against the wind (a pass with the wind class unchanged is free)."""


@dataclass
class MonitorUpdate:
    """One re-estimate: source time ``t_s`` (monitor clock), seconds since the first alarm, the
    estimate, the declaration verdict on it, ``declared`` (the incident is declared, now or by an
    earlier update), the live weather used (None for a fixed wind) and, if requested, the
    recommendations."""

    t_s: float
    since_alarm_s: float
    estimate: SourceEstimate
    declaration: IncidentDeclaration | None = None
    declared: bool = False
    recommendations: Any = None
    weather: LiveWeather | None = None


class LiveIncidentMonitor:
    """See the module docstring."""

    def __init__(self, state: TwinState, wind: LiveWeatherSource | WindInput | Callable[[float], WindInput], *,
                 params: EstimationParams | None = None, every_s: float = 5.0, history_s: float = 600.0,
                 origin_ts: float | None = None, candidates: list[str] | None = None,
                 recommend_every: int = 0, horizon_s: float = 900.0,
                 on_update: Callable[[MonitorUpdate], None] | None = None) -> None:
        self.state = state
        self.plant = state.plant
        self.wind = wind
        self.params = params or EstimationParams()
        self.every_s = float(every_s)
        self.history_s = float(history_s)
        self.origin_ts = origin_ts
        self.candidates = candidates
        self.recommend_every = int(recommend_every)
        self.horizon_s = float(horizon_s)
        self.on_update = on_update
        self.gas_ids = {s.id for s in self.plant.meta.sensors if is_gas_detector(s)}
        self._buf: dict[str, deque] = {sid: deque() for sid in self.gas_ids}
        self._lock = threading.Lock()
        self._latest_ts = -math.inf
        self._last_est_ts = -math.inf
        self.first_alarm_ts: float | None = None
        self.first_alarm_source: str | None = None
        self.declared_ts: float | None = None
        self.health: dict[str, SensorHealth] = {}
        self.history: list[MonitorUpdate] = []
        self.errors = 0
        self._due = threading.Event()
        self._busy = False
        self._worker = Worker("safetwin-live-monitor", self._loop, wake=self._due.set, logger=log)
        # the dense forward model's ladders for the current wind, built before the first alarm needs them
        self._warmer = Worker("safetwin-live-dense-kernels", self._warm_loop, logger=log)
        self._stop = self._worker.stop_event
        self._unsub: list[Callable[[], None]] = []

    # ---------------------------------------------------------------- wiring
    def attach(self) -> LiveIncidentMonitor:
        """Subscribe to the twin's readings and alarm transitions."""
        bus = self.state.bus
        self._unsub = [bus.subscribe(ReadingApplied, self._on_reading),
                       bus.subscribe(AlarmStateChanged, self._on_alarm)]
        return self

    def detach(self) -> None:
        for u in self._unsub:
            u()
        self._unsub = []

    def start(self) -> LiveIncidentMonitor:
        """Attach and run the estimates on a worker thread."""
        if not self._unsub:
            self.attach()
        self._worker.start()
        if self.params.dense_model:
            self._warmer.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker (waiting up to ``timeout`` s for a running estimate) and detach."""
        self._warmer.stop(timeout)
        self._worker.stop(timeout)
        self.detach()

    def _warm_loop(self) -> None:
        stop = self._warmer.stop_event
        while not stop.is_set():
            try:
                self._warm()
            except Exception:
                log.exception("live monitor: warming the dense-gas kernels failed")
            stop.wait(WARM_EVERY_S)

    def _warming_must_stop(self) -> bool:
        """Warming gives way to the estimates once a gas alarm is active (they build what they need)."""
        return self._warmer.stop_event.is_set() or self.first_alarm_ts is not None

    def _warm(self) -> None:
        """Build the dense-gas ladders (:mod:`.estimate.dense_kernel`) for the wind now; cached, so a
        pass under an unchanged wind class costs nothing. Not while an alarm is being estimated."""
        if self._warming_must_stop():
            return
        with self._lock:
            latest = self._latest_ts
        try:
            wind = self.wind_at(self.to_t_s(latest) if math.isfinite(latest) else 0.0)
        except Exception as exc:     # no wind yet (a live station not heard from): try again next pass
            log.debug("live monitor: no wind to warm the dense-gas kernels (%s)", exc)
            return
        p = self.params
        warm_ladders(self.plant, float(wind.speed_m_s), wind.stability, averaging_time_s=p.averaging_time_s,
                     rate_bounds_kg_s=p.rate_bounds_kg_s, stop=self._warming_must_stop)

    def __enter__(self) -> LiveIncidentMonitor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- event handlers (bus thread: short)
    def _on_reading(self, ev: ReadingApplied) -> None:
        if ev.sensor_id not in self.gas_ids or ev.quality not in USABLE_QUALITIES or not math.isfinite(ev.value):
            return
        with self._lock:
            if self.origin_ts is None:
                self.origin_ts = ev.ts
            buf = self._buf[ev.sensor_id]
            buf.append((ev.ts, ev.value))
            while buf and buf[0][0] < ev.ts - self.history_s:
                buf.popleft()
            if ev.ts > self._latest_ts:
                self._latest_ts = ev.ts
            due = self.first_alarm_ts is not None and self._latest_ts - self._last_est_ts >= self.every_s
        if due:
            self._due.set()

    def _on_alarm(self, ev: AlarmStateChanged) -> None:
        if (ev.kind != "LVL" or ev.source_id not in self.gas_ids or ev.state not in ACTIVE_ALARM_STATES
                or self.first_alarm_ts is not None):
            return
        health = assess_sensors(self.state, float(ev.ts), [ev.source_id])[ev.source_id]
        if not health.votes:
            log.info("live monitor: alarm of %s ignored, detector %s (%s)", ev.source_id, health.status, health.reason)
            return
        with self._lock:
            if self.first_alarm_ts is None:
                self.first_alarm_ts = float(ev.ts)
                self.first_alarm_source = ev.source_id
                self._last_est_ts = -math.inf
        log.info("live monitor: first gas alarm %s at %s; estimating", ev.source_id, ev.ts)
        self._due.set()

    # ---------------------------------------------------------------- estimation
    def _loop(self) -> None:
        while not self._stop.is_set():
            self._due.wait(0.5)
            self._busy = True
            self._due.clear()
            try:
                if not self._stop.is_set():
                    self.poll()
            except Exception:
                self.errors += 1
                log.exception("live monitor update failed")
            finally:
                self._busy = False

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until the worker has no estimate due or running (tests, paced replays)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._busy and not self._due.is_set():
                return True
            time.sleep(0.005)
        return False

    @property
    def latest_reading_ts(self) -> float:
        """Source time (epoch s) of the newest gas reading received."""
        return self._latest_ts

    def to_t_s(self, ts: float) -> float:
        """Source time (epoch s) → monitor clock (s)."""
        return ts - (self.origin_ts or 0.0)

    def observations(self, exclude: frozenset[str] | set[str] = frozenset()) -> Observations:
        """The buffered gas readings in the monitor clock, without the detectors in ``exclude``."""
        o = self.origin_ts or 0.0
        with self._lock:
            recs = [(sid, ts - o, v) for sid, buf in self._buf.items() if sid not in exclude for ts, v in buf]
        return Observations.from_records(recs)

    @property
    def declared(self) -> bool:
        """True once healthy detectors have agreed on one source (latched)."""
        return self.declared_ts is not None

    def weather_at(self, t_s: float) -> LiveWeather | None:
        """The live weather at monitor time ``t_s`` (None when the wind is fixed or a function)."""
        if isinstance(self.wind, LiveWeatherSource):
            return self.wind(t_s + (self.origin_ts or 0.0))
        return None

    def wind_at(self, t_s: float) -> WindInput:
        """The estimator's wind at monitor time ``t_s`` (with its uncertainty and source)."""
        live = self.weather_at(t_s)
        if live is not None:
            return live.wind_input()
        return self.wind(t_s) if callable(self.wind) else self.wind

    def poll(self, force: bool = False) -> MonitorUpdate | None:
        """Re-estimate now if an alarm is active and the source clock advanced ``every_s`` since the
        last estimate (or ``force``). Returns the new update or None."""
        with self._lock:
            if self.first_alarm_ts is None or self._latest_ts == -math.inf:
                return None
            if not force and self._latest_ts - self._last_est_ts < self.every_s:
                return None
            self._last_est_ts = self._latest_ts
            latest = self._latest_ts
        self.health = assess_sensors(self.state, latest, self.gas_ids)
        obs = self.observations(exclude={sid for sid, h in self.health.items() if not h.votes})
        t_s = self.to_t_s(latest)
        live = self.weather_at(t_s)
        wind = live.wind_input() if live is not None else self.wind_at(t_s)
        est = estimate_source(obs, self.plant, wind, candidates=self.candidates, params=self.params, t_now_s=t_s)
        verdict = declare_incident(est, obs, self.plant, self.health, params=self.params)
        if verdict.declared and self.declared_ts is None:
            self.declared_ts = latest
            log.warning("live monitor: incident declared at %s: %s", latest, verdict.reason)
        upd = MonitorUpdate(t_s, latest - self.first_alarm_ts, est, verdict, self.declared, weather=live)
        if self.recommend_every and len(self.history) % self.recommend_every == 0 and est.kind != "none":
            upd.recommendations = self.recommendations(est)
        self.history.append(upd)
        if self.on_update is not None:
            self.on_update(upd)
        return upd

    @property
    def latest(self) -> MonitorUpdate | None:
        return self.history[-1] if self.history else None

    # ---------------------------------------------------------------- forward prediction and advice
    def hazard(self, estimate: SourceEstimate):
        """The estimated release as a recommendation ``HazardSpec`` with what is known at the
        estimate's time: carried by every wind of the ensemble around the live wind then
        (:mod:`safetwin.emergency_planner.recommend.ensemble`), the highest over them (toxic
        substances only; a flammable cloud has no toxic channel there and is returned with an
        empty list)."""
        from safetwin.emergency_planner.recommend import HazardSource, HazardSpec, PuffField
        from safetwin.emergency_planner.recommend.ensemble import WindEnsemble
        from safetwin.emergency_planner.recommend.hazard import EnvelopeField
        from safetwin.scenarios.loader import resolve_substance

        wind = self.wind_at(estimate.t_s)
        ensemble = WindEnsemble.around(wind, estimate.t_s)
        members = [PuffField(predict_plume(estimate, w, estimate.t_s, self.horizon_s, params=self.params).train)
                   for w in ensemble.inputs(wind)]
        sub = resolve_substance(estimate.substance)
        field = EnvelopeField(members, pivot_xy_m=(estimate.x_m, estimate.y_m), offsets_deg=ensemble.offsets_deg)
        toxic = [(field, sub)] if sub.toxic is not None else []
        src = HazardSource("estimated-release", "release", (estimate.x_m, estimate.y_m), estimate.start_s)
        held = wind.from_deg
        return HazardSpec(toxic=toxic, flux=None, sources=[src], wind_from_deg=lambda t: held)

    def recommendations(self, estimate: SourceEstimate | None = None):
        """People at risk, routes and muster points from the people's live RTLS positions, for the
        plume predicted from ``estimate`` (default: the latest). Needs the recommendation engine
        (:mod:`safetwin.emergency_planner.recommend`); returns None when it is not importable."""
        est = estimate or (self.latest.estimate if self.latest else None)
        if est is None or est.kind == "none":
            return None
        try:
            from safetwin.emergency_planner.recommend import recommend
            from safetwin.emergency_planner.recommend.ensemble import WindEnsemble
        except ImportError:  # pragma: no cover - the engine ships with the planner
            log.warning("recommendation engine not importable; people at risk not computed")
            return None
        people = self.state.people()
        xy = np.column_stack([people["x"], people["y"]]) if len(people["id"]) else np.zeros((0, 2))
        t0 = time.perf_counter()
        rec = recommend(self.plant, self.hazard(est), [str(i) for i in people["id"]], xy, est.t_s)
        rec.notes.append(f"live: from the source estimate at t={est.t_s:.0f} s ({(time.perf_counter() - t0):.1f} s); "
                         + WindEnsemble.around(self.wind_at(est.t_s), est.t_s).note)
        return rec
