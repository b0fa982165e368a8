"""The twin link: alarms of the live twin open alarm cases and suspend the permits they touch.

:meth:`TwinLink.attach` subscribes to the twin's event bus: a gas alarm touching a permit's
work area suspends it (GB 30871 4.8, 5.2.6, 6.5) and notifies the holder and guardian; a worker
thread does the work so the bus publisher is never blocked. Alarm levels the rule pack ignores
(``suspension.alarm_levels_ignored``) open a case but stop no work.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from shapely.geometry import Point

from .alarm_cases import AlarmCaseService
from .context import GAS_SENSOR_TYPES, RecordService, WorkflowContext
from .permits import PermitService

log = logging.getLogger("safetwin.workflows")


class TwinLink(RecordService):
    """Twin events → workflow actions (see the module docstring)."""

    def __init__(self, ctx: WorkflowContext, permits: PermitService, alarm_cases: AlarmCaseService) -> None:
        super().__init__(ctx)
        self.permits = permits
        self.alarm_cases = alarm_cases
        self._events: queue.Queue = queue.Queue()
        self._worker: threading.Thread | None = None
        self._unsubscribe: list[Callable[[], None]] = []

    def attach(self, state: Any) -> None:
        """Subscribe to ``state.bus``: alarms open alarm cases and suspend permits they touch."""
        from safetwin.twin.events import AlarmRaised

        self.ctx.state = state
        self._unsubscribe.append(state.bus.subscribe(AlarmRaised, self._events.put))
        self._worker = threading.Thread(target=self._run, name="workflow-events", daemon=True)
        self._worker.start()

    def close(self) -> None:
        """Unsubscribe and stop the event worker."""
        for u in self._unsubscribe:
            u()
        self._unsubscribe.clear()
        if self._worker is not None:
            self._events.put(None)
            self._worker.join(timeout=5)
            self._worker = None

    def drain(self, timeout_s: float = 5.0) -> None:
        """Wait until queued twin events are handled (tests)."""
        done = threading.Event()
        self._events.put(done)
        done.wait(timeout_s)

    def _run(self) -> None:
        while True:
            ev = self._events.get()
            if ev is None:
                return
            if isinstance(ev, threading.Event):
                ev.set()
                continue
            try:
                self.on_alarm(ev)
            except Exception:
                log.exception("workflow handling of %r failed", ev)

    def on_alarm(self, ev: Any) -> list[str]:
        """Handle an ``AlarmRaised``: open/refresh its alarm case; suspend permits a gas alarm touches."""
        now = datetime.fromtimestamp(ev.ts, timezone.utc)
        suspended: list[str] = []
        sensor = self.plant.sensors.get(ev.source_id)
        stops = ev.level not in self.pack.suspension.alarm_levels_ignored
        if sensor is not None and sensor.type.value in GAS_SENSOR_TYPES and stops:
            where = Point(sensor.position)
            area = sensor.area_id or (self.state.area_of(*sensor.position) if self.state else None)
            suspended = self.permits.suspend_touching(where, self.pack.suspension.radius_m, area,
                                                      f"gas alarm {ev.alarm_id} ({ev.level}) at {ev.source_id}: {ev.message}",
                                                      now)
        self.alarm_cases.record_alarm(ev, now, suspended)
        return suspended
