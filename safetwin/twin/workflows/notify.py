"""Notifications through pluggable channels: in-memory (tests), webhook (HTTP POST), MQTT.

A :class:`Notifier` fans each :class:`Notification` out to its channels; a failing channel is
logged and counted, never raised into the workflow.
"""
from __future__ import annotations

import json
import logging
import threading
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
    """Anything with ``send(notification)``."""

    def send(self, n: Notification) -> None: ...


class MemoryChannel:
    """Keeps notifications in a list (tests, the API's recent-notifications view)."""

    def __init__(self, keep: int = 1000) -> None:
        self.sent: list[Notification] = []
        self.keep = keep

    def send(self, n: Notification) -> None:
        self.sent.append(n)
        del self.sent[:-self.keep]


class WebhookChannel:
    """POSTs each notification as JSON to ``url`` (httpx; short timeout)."""

    def __init__(self, url: str, timeout_s: float = 2.0) -> None:
        import httpx

        self.url = url
        self._client = httpx.Client(timeout=timeout_s)

    def send(self, n: Notification) -> None:
        self._client.post(self.url, content=n.to_json(), headers={"Content-Type": "application/json"}).raise_for_status()


class MqttChannel:
    """Publishes to ``{prefix}/{site}/notifications/{recipient}`` and ``{prefix}/{site}/{subject}`` (QoS 1).

    Uses paho-mqtt directly with its own network thread; reconnects automatically.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 1883, prefix: str = "safetwin",
                 client_id: str = "", username: str | None = None, password: str | None = None) -> None:
        import paho.mqtt.client as mqtt

        self.prefix = prefix
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if username:
            self._client.username_pw_set(username, password)
        self._connected = threading.Event()
        self._client.on_connect = lambda c, u, f, rc, p=None: self._connected.set()
        self._client.connect_async(host, port, keepalive=30)
        self._client.loop_start()

    def wait_connected(self, timeout_s: float = 5.0) -> bool:
        return self._connected.wait(timeout_s)

    def topics(self, n: Notification) -> list[str]:
        site = n.site_id or "site"
        return [f"{self.prefix}/{site}/{n.subject}"] + [f"{self.prefix}/{site}/notifications/{r}" for r in n.recipients]

    def send(self, n: Notification) -> None:
        payload = n.to_json()
        for t in self.topics(n):
            self._client.publish(t, payload, qos=1)

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


class Notifier:
    """Fans notifications out to channels; counts failures."""

    def __init__(self, channels: list[Channel] | None = None) -> None:
        self.channels: list[Channel] = list(channels or [])
        self.failures = 0

    def add(self, channel: Channel) -> None:
        self.channels.append(channel)

    def send(self, n: Notification) -> None:
        for ch in self.channels:
            try:
                ch.send(n)
            except Exception:
                self.failures += 1
                log.exception("notification channel %r failed for %s", ch, n.subject)
