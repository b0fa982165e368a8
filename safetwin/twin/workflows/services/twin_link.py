"""The twin link: alarms of the live twin open alarm cases and act on the permits they touch.

:meth:`TwinLink.attach` subscribes to the twin's event bus; a worker thread does the work so the
bus publisher is never blocked. For each alarm of a detector touching a permit's work area
(:meth:`PermitService.touching`), the rule pack's ``suspension.alarm_levels`` says what happens,
by the alarm engine's level codes (:mod:`safetwin.twin.alarms`):

* ``stop`` (H, HH, L, LL in both shipped packs): the permit is suspended — an over-limit gas alarm
  stops the work at once (GB 30871-2022 5.2.6, 6.5, 4.8);
* ``judge`` (W): the detector's reading is judged like a gas test of the permit (GB 5.3.2 for
  flammables in jobs that need gas tests, GBZ 2.1 limits for toxic gases, 6.4): the permit is
  suspended when the reading fails, else its people are warned; the reading is judged again on
  every due-job pass while the alarm lasts (:meth:`PermitService.check_monitoring`), since the
  engine raises W once however the reading moves within it;
* ``warn`` (ROC): its people are told;
* ``monitoring_lost`` (FAULT, STALE): the detector no longer measures. A job that needs continuous
  gas monitoring (5.3.1 d 特级 hot work, 6.5 confined space) is suspended with the reason "gas
  monitoring lost" unless another working monitor covers it; the people of other jobs are told.

An alarm of a fire detector (flame, smoke, heat) suspends the permits it touches (4.8). Every
alarm opens or refreshes its alarm case. An alarm that returned to normal and awaits
acknowledgement (ISA-18.2 RTN_UNACK) changes no permit; it still refuses start and resume until
it is acknowledged (:meth:`PermitService._area_alarm`), which acknowledging its case does. A weather
station's record whose wind reaches a permit type's ``wind_limit`` suspends the active permits of
that type (GB 30871-2022, the types' outdoor wind limits).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from shapely.geometry import Point

from safetwin.background import EventQueue

from .alarm_cases import AlarmCaseService
from .context import GAS_SENSOR_TYPES, RecordService, WorkflowContext
from .permits import DETECTOR_FAILURE_LEVELS, PermitService

log = logging.getLogger("safetwin.workflows")


class TwinLink(RecordService):
    """Twin events → workflow actions (see the module docstring)."""

    def __init__(self, ctx: WorkflowContext, permits: PermitService, alarm_cases: AlarmCaseService) -> None:
        super().__init__(ctx)
        self.permits = permits
        self.alarm_cases = alarm_cases
        self._events = EventQueue("workflow-events", self._handle, logger=log)
        self._unsubscribe: list[Callable[[], None]] = []

    def attach(self, state: Any) -> None:
        """Subscribe to ``state.bus``: alarms open alarm cases and act on the permits they touch."""
        from safetwin.twin.events import AlarmRaised, MetObservationApplied

        self.ctx.state = state
        self._unsubscribe.append(state.bus.subscribe(AlarmRaised, self._events.put))
        self._unsubscribe.append(state.bus.subscribe(MetObservationApplied, self._events.put))
        self._events.start()

    def close(self) -> None:
        """Unsubscribe and stop the event worker."""
        for u in self._unsubscribe:
            u()
        self._unsubscribe.clear()
        self._events.stop()

    def drain(self, timeout_s: float = 60.0) -> bool:
        """Wait until the twin events queued so far are handled (tests); False when ``timeout_s``
        (s) passed first."""
        return self._events.drain(timeout_s)

    def _handle(self, ev: Any) -> None:
        if hasattr(ev, "alarm_id"):
            self.on_alarm(ev)
        else:
            self.on_weather(ev)

    def on_weather(self, ev: Any) -> list[str]:
        """Handle a ``MetObservationApplied``: suspend the active permits whose wind limit it reaches."""
        obs = self.state.met_observation(ev.station_id) if self.state is not None else None
        if obs is None or obs.quality != "ok" or obs.wind_speed_m_s is None or ev.station_id != self.plant.meta.weather_station:
            return []
        return self.permits.suspend_for_wind(float(obs.wind_speed_m_s), f"{ev.station_id} record",
                                             datetime.fromtimestamp(ev.ts, timezone.utc))

    def on_alarm(self, ev: Any) -> list[str]:
        """Handle an ``AlarmRaised``: open/refresh its alarm case; act on the permits it touches
        (see the module docstring). Returns the ids of the permits it suspended."""
        now = datetime.fromtimestamp(ev.ts, timezone.utc)
        sensor = self.plant.sensors.get(ev.source_id)
        suspended: list[str] = []
        if sensor is not None and not getattr(ev, "returned", False):
            suspended = self._act(ev, sensor, now)
        self.alarm_cases.record_alarm(ev, now, suspended)
        return suspended

    def _act(self, ev: Any, sensor: Any, now: datetime) -> list[str]:
        rules = self.pack.suspension
        stype = sensor.type.value
        where = Point(sensor.position)
        area = sensor.area_id or (self.state.area_of(*sensor.position) if self.state else None)
        label = f"{ev.alarm_id} ({ev.level}) at {ev.source_id}" + (f": {ev.message}" if ev.message else "")
        if stype in rules.fire_detector_types:
            if ev.level in DETECTOR_FAILURE_LEVELS:
                for p in self.permits.touching(where, rules.radius_m, area):
                    self.permits.warn(p, "detection_lost", f"fire detector {sensor.id} no longer detects ({label})")
                return []
            clause = f" ({self.pack.id} {rules.fire_clause})" if rules.fire_clause else ""
            return self.permits.suspend_touching(where, rules.radius_m, area, f"fire detected: {label}{clause}", now,
                                                 kind="fire")
        if stype not in GAS_SENSOR_TYPES:
            return []
        action = rules.action(ev.level)
        clause = f" ({self.pack.id} {rules.clause(ev.level)})" if rules.clause(ev.level) else ""
        if action == "stop":
            return self.permits.suspend_touching(where, rules.radius_m, area, f"gas alarm {label}{clause}", now,
                                                 kind="gas_alarm")
        out = []
        for p in self.permits.touching(where, rules.radius_m, area):
            if action == "judge":
                verdict = self.permits.judge_live_reading(p, sensor)
                if verdict is None or not verdict[0]:
                    why = verdict[1] if verdict else "no usable reading to judge"
                    if self.permits.suspend_one(p.id, f"gas alarm {label}: {why}{clause}", "gas_alarm", now):
                        out.append(p.id)
                else:
                    self.permits.warn(p, "gas_warning", f"gas warning {label}; the reading still passes the "
                                                        f"permit's limits ({verdict[1]})")
            elif action == "monitoring_lost":
                if self.pack.type_rule(p.type).needs_continuous_monitoring(p.level):
                    why = self.permits.monitoring_status(p, now)
                    if why:
                        if self.permits.suspend_one(p.id, f"gas monitoring lost: {label}; {why}{clause}",
                                                    "monitoring_lost", now):
                            out.append(p.id)
                        continue
                    self.permits.warn(p, "monitoring_degraded", f"{label}; another gas monitor still covers the work")
                else:
                    self.permits.warn(p, "monitoring_lost", f"gas detector {sensor.id} no longer measures ({label}); "
                                                            "test with a portable instrument")
            else:
                self.permits.warn(p, "gas_warning", label)
        return out
