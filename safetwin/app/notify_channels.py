"""Notification channels that reach the outside world, and the notifier the app builds from the settings.

A channel is a small class with a ``name`` and ``send(notification)`` that raises when the message
was not handed over (the :class:`~safetwin.twin.workflows.notify.Channel` protocol of the twin).
The :class:`~safetwin.twin.workflows.notify.Notifier` counts failures and reports every attempt to
its ``on_delivery`` hook — the delivery log — so a new channel (an instant-messaging robot, e-mail)
is one more class here and one more line in :func:`build_notifier`.

* :class:`WebhookChannel` — HTTP POST of the notification as JSON (``SAFETWIN_NOTIFY_WEBHOOK_URL``);
* :class:`MqttChannel` — QoS 1 on ``{prefix}/{site}/{subject}`` and
  ``{prefix}/{site}/notifications/{recipient}`` (``SAFETWIN_NOTIFY_MQTT``), through the one MQTT
  client factory (:func:`safetwin.live_bridge.mqtt_client.mqtt_client`: credentials and TLS).

Example::

    >>> from safetwin.app.settings import Settings
    >>> notifier = build_notifier(Settings(notify_webhook_url="http://127.0.0.1:9/hook"))
    >>> [channel.name for channel in notifier.channels]
    ['memory', 'webhook']
"""
from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import paho.mqtt.client as mqtt

from safetwin.live_bridge.mqtt_client import BrokerEndpoint, mqtt_client, unique_client_id
from safetwin.twin.workflows.notify import Delivery, MemoryChannel, Notification, Notifier

from .settings import Settings

__all__ = ["WebhookChannel", "MqttChannel", "build_notifier"]


class WebhookChannel:
    """POSTs each notification as JSON to ``url`` (httpx; a short timeout; a non-2xx answer raises)."""

    name = "webhook"

    def __init__(self, url: str, timeout_s: float = 2.0) -> None:
        self.url = url
        self._client = httpx.Client(timeout=timeout_s)

    def send(self, n: Notification) -> None:
        self._client.post(self.url, content=n.to_json(), headers={"Content-Type": "application/json"}).raise_for_status()

    def close(self) -> None:
        self._client.close()


class MqttChannel:
    """Publishes each notification (QoS 1) to ``{prefix}/{site}/{subject}`` and to
    ``{prefix}/{site}/notifications/{recipient}`` for every recipient.

    One client of the MQTT factory with its own network thread; paho reconnects by itself, and a
    publish while disconnected is queued (QoS 1) rather than lost."""

    name = "mqtt"

    def __init__(self, endpoint: BrokerEndpoint | None = None, *, prefix: str = "safetwin",
                 client_id: str | None = None) -> None:
        self.endpoint = endpoint or BrokerEndpoint()
        self.prefix = prefix
        self._connected = threading.Event()
        self._client = mqtt_client(client_id or unique_client_id("safetwin-notify"), self.endpoint)
        self._client.on_connect = lambda client, userdata, flags, reason, props=None: self._connected.set()
        self._client.connect_async(self.endpoint.host, self.endpoint.port, keepalive=30)
        self._client.loop_start()

    def wait_connected(self, timeout_s: float = 5.0) -> bool:
        """True once the broker acknowledged the connection (within ``timeout_s`` seconds)."""
        return self._connected.wait(timeout_s)

    def topics(self, n: Notification) -> list[str]:
        """The subject topic, then one per recipient."""
        site = n.site_id or "site"
        return [f"{self.prefix}/{site}/{n.subject}"] + [f"{self.prefix}/{site}/notifications/{r}" for r in n.recipients]

    def send(self, n: Notification) -> None:
        payload = n.to_json()
        for topic in self.topics(n):
            info = self._client.publish(topic, payload, qos=1)
            if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):   # NO_CONN: queued until reconnect
                raise ConnectionError(f"MQTT publish to {topic} refused: {mqtt.error_string(info.rc)}")

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def build_notifier(settings: Settings, *, on_delivery: Callable[[Delivery], object] | None = None) -> Notifier:
    """The workflows' notifier: an in-memory channel (the recent-notifications view), a webhook
    when ``notify_webhook_url`` is set, MQTT when ``notify_mqtt`` is on (the settings' broker,
    credentials and TLS); ``on_delivery`` receives every delivery attempt."""
    channels: list = [MemoryChannel()]
    if settings.notify_webhook_url:
        channels.append(WebhookChannel(settings.notify_webhook_url))
    if settings.notify_mqtt:
        channels.append(MqttChannel(settings.broker_endpoint(), prefix=settings.notify_mqtt_prefix))
    return Notifier(channels, on_delivery=on_delivery)
