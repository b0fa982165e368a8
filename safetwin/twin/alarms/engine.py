"""The alarm thread: :class:`AlarmEngine` runs :class:`.rules.AlarmRules` from a priority queue.

Safety sensors (:data:`.config.SAFETY_TYPES`) and operator commands come first, then other
telemetry, then housekeeping (stale checks every ``tick_s``). Submitting never blocks: when
the queue bound is hit, readings are conflated to the latest per sensor (counted in
``stats.conflated``) — never silently lost for alarm purposes. Times are seconds since the
Unix epoch (UTC).

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.twin.state import TwinState
    >>> from safetwin.twin.alarms.rules import AlarmRules
    >>> state = TwinState(load_plant(bundled_plant_path("small_plant")))
    >>> engine = AlarmEngine(AlarmRules(state)).start()
    >>> engine.submit_readings([("GD-01", 60.0, 100.0, "ok")])
    >>> engine.wait_idle(), [a.level for a in state.active_alarms()]
    (True, ['HH'])
    >>> engine.stop()
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from safetwin.background import Worker

from .config import SAFETY_TYPES
from .rules import AlarmRecord, AlarmRules

log = logging.getLogger(__name__)

_P_SAFETY, _P_CMD, _P_OTHER, _P_TICK = 0, 0, 1, 2


@dataclass(slots=True)
class EngineStats:
    evaluated: int = 0
    transitions: int = 0
    conflated: int = 0
    errors: int = 0
    max_queue: int = 0
    queue_full_events: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class AlarmEngine:
    """Runs :class:`AlarmRules` on a dedicated thread fed by a bounded priority queue.

    ``submit_readings`` never blocks: past ``max_items`` queued items the batch is conflated
    into a latest-per-sensor map that the thread evaluates next. ``on_transitions`` (optional)
    receives each list of transitions on the alarm thread (e.g. to publish and store them).
    """

    def __init__(self, rules: AlarmRules, *, max_items: int = 10_000, tick_s: float = 1.0,
                 on_transitions: Callable[[list[AlarmRecord]], None] | None = None) -> None:
        self.rules = rules
        self.max_items = max_items
        self.tick_s = tick_s
        self.on_transitions = on_transitions
        self.stats = EngineStats()
        self._heap: list[tuple[int, int, str, object]] = []
        self._count = itertools.count()
        self._cond = threading.Condition()
        self._conflated: dict[str, tuple[str, float | None, float, str]] = {}
        self._stop = False
        self._idle = True
        self._worker = Worker("safetwin-alarms", self._run, wake=self._wake_to_stop)
        self._safety = {sid for sid, s in rules.state.sensors.items()
                        if getattr(s.type, "value", s.type) in SAFETY_TYPES}

    def start(self) -> AlarmEngine:
        self._worker.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._worker.stop(timeout)

    def _wake_to_stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def submit_readings(self, readings: Iterable[tuple[str, float | None, float, str]]) -> None:
        """Queue live readings ``(sid, value, ts_s, quality)`` for evaluation (never blocks)."""
        items = list(readings)
        if not items:
            return
        prio = _P_SAFETY if any(r[0] in self._safety for r in items) else _P_OTHER
        with self._cond:
            if len(self._heap) >= self.max_items:
                self.stats.queue_full_events += 1
                for r in items:
                    self._conflated[r[0]] = r
                self.stats.conflated += len(items)
            else:
                heapq.heappush(self._heap, (prio, next(self._count), "r", items))
                if len(self._heap) > self.stats.max_queue:
                    self.stats.max_queue = len(self._heap)
            self._idle = False
            self._cond.notify()

    def submit_columns(self, sids: list[str], values: list[float | None], ts: list[float],
                       qualities: list[str]) -> None:
        """Queue a batch of live readings as columns (one gateway message; values in sensor
        units, ts in s); evaluated with :meth:`AlarmRules.evaluate_many`. Never blocks: over the
        queue bound the readings are conflated to the latest per sensor."""
        if not sids:
            return
        prio = _P_OTHER if self._safety.isdisjoint(sids) else _P_SAFETY
        with self._cond:
            if len(self._heap) >= self.max_items:
                self.stats.queue_full_events += 1
                for r in zip(sids, values, ts, qualities):
                    self._conflated[r[0]] = r
                self.stats.conflated += len(sids)
            else:
                heapq.heappush(self._heap, (prio, next(self._count), "b", (sids, values, ts, qualities)))
                if len(self._heap) > self.stats.max_queue:
                    self.stats.max_queue = len(self._heap)
            self._idle = False
            self._cond.notify()

    def submit_conflated(self, readings: Iterable[tuple[str, float | None, float, str]]) -> None:
        """Queue readings of a flooding source as latest-per-sensor (evaluated after queued work)."""
        with self._cond:
            for r in readings:
                self._conflated[r[0]] = r
            self.stats.conflated += 1
            self._idle = False
            self._cond.notify()

    def command(self, cmd: str, alarm_id: str, ts: float, by: str = "", shelve_s: float = 3600.0) -> None:
        """Queue an operator command: ``ack``, ``shelve`` or ``unshelve`` (high priority)."""
        with self._cond:
            heapq.heappush(self._heap, (_P_CMD, next(self._count), "c", (cmd, alarm_id, ts, by, shelve_s)))
            self._idle = False
            self._cond.notify()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until the queue is empty and the thread idle (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (self._idle and not self._heap and not self._conflated):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _run(self) -> None:
        next_tick = time.monotonic() + self.tick_s
        while True:
            with self._cond:
                while not self._heap and not self._conflated and not self._stop:
                    self._idle = True
                    self._cond.notify_all()
                    left = next_tick - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                if self._stop:
                    return
                self._idle = False
                if self._heap:
                    _, _, kind, payload = heapq.heappop(self._heap)
                elif self._conflated:
                    kind, payload = "r", list(self._conflated.values())
                    self._conflated = {}
                else:
                    kind, payload = "t", None
            try:
                out: list[AlarmRecord] = []
                if kind == "r":
                    ev = self.rules.evaluate
                    for sid, value, ts, quality in payload:  # type: ignore[union-attr]
                        out.extend(ev(sid, value, ts, quality))
                    self.stats.evaluated += len(payload)  # type: ignore[arg-type]
                elif kind == "b":
                    out = self.rules.evaluate_many(*payload)  # type: ignore[misc]
                    self.stats.evaluated += len(payload[0])  # type: ignore[index]
                elif kind == "c":
                    cmd, aid, ts, by, shelve_s = payload  # type: ignore[misc]
                    if cmd == "ack":
                        out = self.rules.acknowledge(aid, ts, by)
                    elif cmd == "shelve":
                        out = self.rules.shelve(aid, ts, shelve_s, by)
                    elif cmd == "unshelve":
                        out = self.rules.unshelve(aid, ts, by)
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + self.tick_s
                    out.extend(self.rules.check_stale(time.time()))
                if out:
                    self.stats.transitions += len(out)
                    if self.on_transitions is not None:
                        self.on_transitions(out)
            except Exception:
                self.stats.errors += 1
                log.exception("alarm evaluation failed")

