"""In-process event bus: the twin publishes, other parts (bridge, workflows, UI, store) subscribe.

Handlers run synchronously in the publishing thread, so keep them short (hand work to a
queue). A handler that raises is logged and counted; it never breaks the publisher or the
other handlers.

Example::

    >>> bus = EventBus()
    >>> seen = []
    >>> unsubscribe = bus.subscribe(ReadingApplied, seen.append)
    >>> bus.publish(ReadingApplied("GD-01", 12.0, 0.0, "ok"))
    >>> len(seen)
    1
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReadingApplied:
    sensor_id: str
    value: float
    ts: float  # source time, s since the Unix epoch (UTC)
    quality: str


@dataclass(frozen=True, slots=True)
class MetObservationApplied:
    """A meteorological station's new observation record is the twin's live weather."""

    station_id: str
    ts: float  # source time, s since the Unix epoch (UTC)
    quality: str


@dataclass(frozen=True, slots=True)
class AlarmRaised:
    alarm_id: str
    source_id: str
    level: str
    ts: float
    message: str = ""
    returned: bool = False  # ISA-18.2 RTN_UNACK: the condition is gone, the alarm awaits acknowledgement


@dataclass(frozen=True, slots=True)
class AlarmCleared:
    alarm_id: str
    source_id: str
    ts: float


@dataclass(frozen=True, slots=True)
class PersonEnteredArea:
    person_id: str
    area_id: str
    ts: float


@dataclass(frozen=True, slots=True)
class PersonLeftArea:
    person_id: str
    area_id: str
    ts: float


@dataclass(frozen=True, slots=True)
class EquipmentStateChanged:
    equipment_id: str
    state: str
    ts: float
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlarmStateChanged:
    """An ISA-18.2 alarm transition (see ``twin.alarms``); ``state`` is an ``AlarmState`` value."""

    alarm_id: str
    source_id: str
    kind: str
    state: str
    level: str
    priority: int
    ts: float  # s since the Unix epoch (UTC)
    value: float | None = None
    limit: float | None = None
    raised_ts: float | None = None
    acked_by: str | None = None
    message: str = ""
    seq: int = 0


Handler = Callable[[Any], None]


class EventBus:
    """Thread-safe publish/subscribe by event type (``subscribe(object, h)`` receives everything)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: dict[type, tuple[Handler, ...]] = {}
        self.handler_errors = 0

    def subscribe(self, event_type: type, handler: Handler) -> Callable[[], None]:
        """Call ``handler(event)`` for each published event of ``event_type``; returns an unsubscribe function."""
        with self._lock:
            self._handlers[event_type] = self._handlers.get(event_type, ()) + (handler,)

        def unsubscribe() -> None:
            with self._lock:
                hs = list(self._handlers.get(event_type, ()))
                if handler in hs:
                    hs.remove(handler)
                self._handlers[event_type] = tuple(hs)

        return unsubscribe

    def has_subscribers(self, event_type: type) -> bool:
        """True when someone listens to ``event_type`` (or to every event)."""
        return bool(self._handlers.get(event_type) or self._handlers.get(object))

    def publish(self, event: Any) -> None:
        """Deliver ``event`` to its type's handlers, then to catch-all handlers."""
        handlers = self._handlers.get(type(event), ()) + self._handlers.get(object, ())
        for h in handlers:
            try:
                h(event)
            except Exception:  # a faulty subscriber must not break the twin
                self.handler_errors += 1
                log.exception("event handler %r failed on %r", h, event)
