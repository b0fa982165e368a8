"""Notifications through pluggable channels.

A :class:`Notifier` fans each :class:`Notification` out to its channels; a failing channel is
logged and counted, never raised into the workflow. Every attempt is one :class:`Delivery`,
handed to the notifier's ``on_delivery`` hook when one is given.

A channel is anything with ``send(notification)`` that raises when the message was not handed
over, and optionally a ``name``; a channel with ``local = True`` lives in this process
(:class:`MemoryChannel`). With an ``outbox`` (:class:`~.delivery_log.DeliveryLog`), the notifier
only queues a notification for the other channels — in the store, in one short transaction —
and the outbox's workers deliver it with retries, back-off and dead letters, so a slow or dead
receiver never holds up the workflow and nothing is lost across a restart. The twin holds the
protocol and :class:`MemoryChannel` (tests, the recent-notifications view); channels that talk to
the outside (MQTT, webhooks, DingTalk and WeCom robots, e-mail) belong to the wiring layer
(``safetwin.app.notify_channels``), which builds them from the settings.

Example::

    >>> memory, log = MemoryChannel(), []
    >>> notifier = Notifier([memory], on_delivery=log.append)
    >>> notifier.send(Notification(("gus",), "permits/PTW-1", "suspended", "STOP WORK"))
    >>> [(d.channel, d.ok, d.recipients) for d in log], len(memory.sent)
    ([('memory', True, ('gus',))], 1)
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from typing import Any, Protocol

log = logging.getLogger("safetwin.workflows.notify")


@dataclass(frozen=True)
class Notification:
    """A message to people about a record (``subject`` e.g. ``permit/PTW-1``)."""

    recipients: tuple[str, ...]
    subject: str
    event: str
    text: str
    site_id: str = ""
    data: dict = field(default_factory=dict)
    ts: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())
    #: unique per notification, the same in every channel and every retry (receivers drop repeats by it)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_dict(self) -> dict[str, Any]:
        """The notification as a JSON-able dict (recipients as a list)."""
        out = asdict(self)
        out["recipients"] = list(self.recipients)
        return json.loads(json.dumps(out, ensure_ascii=False, default=str))

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Notification:
        """Back from :meth:`to_dict` (unknown keys ignored)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in doc.items() if k in known}
        values["recipients"] = tuple(values.get("recipients", ()))
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


class Channel(Protocol):
    """Anything with ``send(notification)`` that raises when the notification was not handed over."""

    def send(self, n: Notification) -> None: ...


@dataclass(frozen=True)
class Delivery:
    """One attempt to hand a notification to one channel (``ts``: UTC epoch seconds)."""

    channel: str
    subject: str
    event: str
    recipients: tuple[str, ...]
    site_id: str
    ok: bool
    error: str = ""
    ts: float = field(default_factory=time.time)
    #: attempt number (1-based), the outbox row and its state after the attempt (outbox deliveries)
    attempt: int = 1
    delivery_id: int | None = None
    state: str = ""


def channel_name(channel: Channel) -> str:
    """A channel's ``name``, else its class name."""
    return str(getattr(channel, "name", type(channel).__name__))


class Outbox(Protocol):
    """Where a notifier queues notifications for its outside channels (:class:`~.delivery_log.DeliveryLog`)."""

    def enqueue(self, n: Notification, channels: Any = None) -> list[int]: ...


class MemoryChannel:
    """Keeps notifications in a list (tests, the API's recent-notifications view)."""

    name = "memory"
    local = True

    def __init__(self, keep: int = 1000) -> None:
        self.sent: list[Notification] = []
        self.keep = keep

    def send(self, n: Notification) -> None:
        self.sent.append(n)
        del self.sent[:-self.keep]


class Notifier:
    """Fans notifications out to channels (through ``outbox`` for all but local ones, when given);
    counts failures; reports each direct attempt to ``on_delivery``."""

    def __init__(self, channels: list[Channel] | None = None, *,
                 on_delivery: Callable[[Delivery], object] | None = None, outbox: Outbox | None = None) -> None:
        self.channels: list[Channel] = list(channels or [])
        self.on_delivery = on_delivery
        self.outbox = outbox
        self.failures = 0
        self.delivered = 0
        self.queued = 0

    def add(self, channel: Channel) -> None:
        self.channels.append(channel)

    def send(self, n: Notification) -> None:
        direct = [ch for ch in self.channels if self.outbox is None or getattr(ch, "local", False)]
        queued = [channel_name(ch) for ch in self.channels if ch not in direct]
        if queued:
            try:
                self.queued += len(self.outbox.enqueue(n, queued))   # type: ignore[union-attr]
            except Exception:   # the store is down: try the channels directly rather than say nothing
                log.exception("notification outbox failed for %s; sending directly", n.subject)
                direct = list(self.channels)
        for ch in direct:
            error = ""
            try:
                ch.send(n)
                self.delivered += 1
            except Exception as exc:
                self.failures += 1
                error = f"{type(exc).__name__}: {exc}"
                log.exception("notification channel %s failed for %s", channel_name(ch), n.subject)
            self._report(Delivery(channel_name(ch), n.subject, n.event, n.recipients, n.site_id, not error, error))

    def _report(self, delivery: Delivery) -> None:
        if self.on_delivery is None:
            return
        try:
            self.on_delivery(delivery)
        except Exception:
            log.exception("delivery log hook failed for %s via %s", delivery.subject, delivery.channel)
