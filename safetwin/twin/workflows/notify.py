"""Notifications through pluggable channels.

A :class:`Notifier` fans each :class:`Notification` out to its channels; a failing channel is
logged and counted, never raised into the workflow. Every attempt is one :class:`Delivery`,
handed to the notifier's ``on_delivery`` hook (a delivery log) when one is given.

A channel is anything with ``send(notification)`` that raises when the message was not handed
over, and optionally a ``name``. The twin holds the protocol and :class:`MemoryChannel` (tests,
the recent-notifications view); channels that talk to the outside (webhook, MQTT …) belong to the
wiring layer (``safetwin.app.notify_channels``), which builds them from the settings.

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
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Protocol

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

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, default=str)


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


def channel_name(channel: Channel) -> str:
    """A channel's ``name``, else its class name."""
    return str(getattr(channel, "name", type(channel).__name__))


class MemoryChannel:
    """Keeps notifications in a list (tests, the API's recent-notifications view)."""

    name = "memory"

    def __init__(self, keep: int = 1000) -> None:
        self.sent: list[Notification] = []
        self.keep = keep

    def send(self, n: Notification) -> None:
        self.sent.append(n)
        del self.sent[:-self.keep]


class Notifier:
    """Fans notifications out to channels; counts failures; reports each attempt to ``on_delivery``."""

    def __init__(self, channels: list[Channel] | None = None, *,
                 on_delivery: Callable[[Delivery], object] | None = None) -> None:
        self.channels: list[Channel] = list(channels or [])
        self.on_delivery = on_delivery
        self.failures = 0
        self.delivered = 0

    def add(self, channel: Channel) -> None:
        self.channels.append(channel)

    def send(self, n: Notification) -> None:
        for ch in self.channels:
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
