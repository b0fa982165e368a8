"""Notification channels that reach the outside world, and the notifier the app builds from the settings.

A channel is a small class with a ``name`` and ``send(notification)`` that raises when the
message was not handed over (the :class:`~safetwin.twin.workflows.notify.Channel` protocol of the
twin). The notifier queues every notification for these channels in the store's delivery log
(:class:`~safetwin.twin.workflows.delivery_log.DeliveryLog`), whose workers call ``send`` with
retries, back-off and dead letters.

* :class:`MqttChannel` — QoS 1, acknowledged by the broker, on the documented topics
  ``pst/v1/{site}/twin/notify/to/{recipient}`` (one per recipient) and
  ``pst/v1/{site}/twin/notify/about/{kind}/{id}`` (docs/mqtt-topics.md), through the one MQTT
  client factory (credentials and TLS);
* :class:`WebhookChannel` — HTTP POST of the notification as JSON;
* :class:`DingTalkChannel` — a 钉钉 group robot: ``{"msgtype": "text", "text": {"content": …}}``,
  signed when the robot has a secret (``timestamp`` in ms and ``sign`` = URL-encoded base64 of
  HMAC-SHA256(secret, "timestamp\\nsecret") added to the webhook URL); the robot's answer must say
  ``errcode`` 0;
* :class:`WeComChannel` — a 企业微信 group robot: the same text message to its ``…/webhook/send?key=``
  URL, ``errcode`` 0 expected;
* :class:`EmailChannel` — e-mail over SMTP (``smtplib``; STARTTLS and login when configured) to
  fixed addresses and to the addresses of the recipients.

Example::

    >>> from safetwin.app.settings import Settings
    >>> notifier = build_notifier(Settings(notify_webhook_url="http://127.0.0.1:9/hook"), mqtt_on=False)
    >>> [channel.name for channel in notifier.channels]
    ['memory', 'webhook']
    >>> dingtalk_sign("SECxyz", 1700000000000)
    '0PUR1j8g85Xg3vlFV%2FUrEcxXfF5HpCAGzcjrNfyJoyg%3D'
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import smtplib
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import httpx
import paho.mqtt.client as mqtt

from safetwin.live_bridge.mqtt_client import BrokerEndpoint, mqtt_client, unique_client_id
from safetwin.live_bridge.topics import Topics
from safetwin.twin.workflows.delivery_log import DeliveryLog, RetryPolicy
from safetwin.twin.workflows.notify import Delivery, MemoryChannel, Notification, Notifier

from .settings import Settings

__all__ = ["MqttChannel", "WebhookChannel", "DingTalkChannel", "WeComChannel", "EmailChannel", "dingtalk_sign",
           "outside_channels", "build_notifier", "close_notifier"]

#: robots cut longer texts (WeCom: 2048 bytes of text content); we stay below in characters of UTF-8
ROBOT_TEXT_MAX = 600
_NOT_ID = re.compile(r"[^A-Za-z0-9_:-]")


def _topic_id(text: str) -> str:
    """``text`` made usable as one topic level of the ``pst/v1`` schema (ids: ``[A-Za-z0-9_:-]{1,64}``)."""
    return (_NOT_ID.sub("_", text) or "_")[:64]


def _text(n: Notification) -> str:
    """The one-line message a person reads (robots, e-mail subject)."""
    return f"[SafeTwin {n.site_id or 'site'}] {n.text}"


class MqttChannel:
    """Publishes each notification (QoS 1) to one topic per recipient and one for its record; a
    publish counts only once the broker acknowledged it (PUBACK within ``ack_timeout_s``), so a
    broker that is down makes the attempt fail and the delivery log try again."""

    name = "mqtt"

    def __init__(self, endpoint: BrokerEndpoint | None = None, *, site: str = "site1", ack_timeout_s: float = 5.0,
                 client_id: str | None = None) -> None:
        self.endpoint = endpoint or BrokerEndpoint()
        self.site = site
        self.ack_timeout_s = ack_timeout_s
        self._connected = threading.Event()
        self._client = mqtt_client(client_id or unique_client_id("safetwin-notify"), self.endpoint)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = lambda *args, **kwargs: self._connected.clear()
        self._client.connect_async(self.endpoint.host, self.endpoint.port, keepalive=30)
        self._client.loop_start()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any = None) -> None:
        failed = reason.is_failure if hasattr(reason, "is_failure") else reason != 0
        if not failed:
            self._connected.set()

    def wait_connected(self, timeout_s: float = 5.0) -> bool:
        """True once the broker acknowledged the connection (within ``timeout_s`` seconds)."""
        return self._connected.wait(timeout_s)

    def topics(self, n: Notification) -> list[str]:
        """The topic of each recipient, then the record's (``subject`` ``kind/id``)."""
        topics = Topics(_topic_id(n.site_id or self.site))
        kind, _, record = n.subject.partition("/")
        return ([topics.notification_to(_topic_id(r)) for r in n.recipients]
                + [topics.notification_about(_topic_id(kind), _topic_id(record or "-"))])

    def send(self, n: Notification) -> None:
        if not self._connected.is_set():
            raise ConnectionError(f"MQTT broker {self.endpoint.host}:{self.endpoint.port} not connected")
        payload = n.to_json()
        infos = [(topic, self._client.publish(topic, payload, qos=1)) for topic in self.topics(n)]
        deadline = time.monotonic() + self.ack_timeout_s
        for topic, info in infos:
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise ConnectionError(f"MQTT publish to {topic} refused: {mqtt.error_string(info.rc)}")
            info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            if not info.is_published():
                raise TimeoutError(f"MQTT broker did not acknowledge {topic} within {self.ack_timeout_s:g} s")

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


class WebhookChannel:
    """POSTs each notification as JSON to ``url`` (httpx; a short timeout; a non-2xx answer raises)."""

    name = "webhook"

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        self.url = url
        self._client = httpx.Client(timeout=timeout_s)

    def send(self, n: Notification) -> None:
        self._client.post(self.url, content=n.to_json(), headers={"Content-Type": "application/json"}).raise_for_status()

    def close(self) -> None:
        self._client.close()


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` parameter of a signed DingTalk robot call: URL-encoded base64 of
    HMAC-SHA256(secret, "timestamp\\nsecret") (the robot's 加签 security setting)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


class _RobotChannel:
    """A group robot's webhook: POST a JSON text message, the answer must be ``{"errcode": 0, …}``."""

    name = "robot"

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        self.url = url
        self._client = httpx.Client(timeout=timeout_s)

    def message(self, n: Notification) -> dict[str, Any]:
        return {"msgtype": "text", "text": {"content": _text(n)[:ROBOT_TEXT_MAX]}}

    def target(self) -> str:
        return self.url

    def send(self, n: Notification) -> None:
        reply = self._client.post(self.target(), json=self.message(n))
        reply.raise_for_status()
        try:
            answer = reply.json()
        except ValueError:
            raise ConnectionError(f"{self.name} robot answered no JSON: {reply.text[:200]!r}") from None
        if answer.get("errcode") != 0:
            raise ConnectionError(f"{self.name} robot refused: errcode {answer.get('errcode')} "
                                  f"{answer.get('errmsg', '')!r}")

    def close(self) -> None:
        self._client.close()


class DingTalkChannel(_RobotChannel):
    """A 钉钉 group robot (``https://oapi.dingtalk.com/robot/send?access_token=…``), signed with
    ``secret`` when given (see :func:`dingtalk_sign`); ``clock`` gives epoch seconds."""

    name = "dingtalk"

    def __init__(self, url: str, secret: str | None = None, timeout_s: float = 5.0,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(url, timeout_s)
        self.secret = secret
        self.clock = clock

    def target(self) -> str:
        if not self.secret:
            return self.url
        timestamp = int(round(self.clock() * 1000))
        glue = "&" if "?" in self.url else "?"
        return f"{self.url}{glue}timestamp={timestamp}&sign={dingtalk_sign(self.secret, timestamp)}"


class WeComChannel(_RobotChannel):
    """A 企业微信 group robot (``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``); people are
    mentioned by their user ids when ``mention`` is on."""

    name = "wecom"

    def __init__(self, url: str, timeout_s: float = 5.0, mention: bool = False) -> None:
        super().__init__(url, timeout_s)
        self.mention = mention

    def message(self, n: Notification) -> dict[str, Any]:
        msg = super().message(n)
        if self.mention:
            msg["text"]["mentioned_list"] = [r for r in n.recipients if ":" not in r]
        return msg


class EmailChannel:
    """E-mail over SMTP: every notification to ``to`` and to the addresses ``addresses`` gives the
    recipients (user or role id → address); STARTTLS and login when configured."""

    name = "email"

    def __init__(self, host: str, port: int = 25, *, sender: str, to: list[str] | None = None,
                 addresses: dict[str, str] | None = None, starttls: bool = False, username: str | None = None,
                 password: str | None = None, timeout_s: float = 10.0) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.to = list(to or [])
        self.addresses = dict(addresses or {})
        self.starttls, self.username, self.password, self.timeout_s = starttls, username, password, timeout_s

    def recipients(self, n: Notification) -> list[str]:
        """The fixed addresses, then those of the notification's recipients (no repeats)."""
        return list(dict.fromkeys(self.to + [self.addresses[r] for r in n.recipients if r in self.addresses]))

    def message(self, n: Notification) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients(n))
        msg["Subject"] = f"{_text(n)[:150]}"
        msg["Message-ID"] = f"<{n.id}@safetwin>"
        msg["X-SafeTwin-Event"] = f"{n.subject} {n.event}"
        msg.set_content(f"{n.text}\n\nrecord: {n.subject}\nevent: {n.event}\nfor: {', '.join(n.recipients)}\n"
                        f"site: {n.site_id}\ntime: {n.ts}\nnotification id: {n.id}\n")
        return msg

    def send(self, n: Notification) -> None:
        to = self.recipients(n)
        if not to:
            raise ValueError(f"no e-mail address for {list(n.recipients)} (set notify_email_to or "
                             "notify_email_addresses)")
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(self.message(n), to_addrs=to)


def outside_channels(settings: Settings, site: str = "site1", *, mqtt_on: bool | None = None) -> list[Any]:
    """The channels to the outside the settings configure (by default MQTT only; ``mqtt_on``
    overrides ``notify_mqtt``, e.g. off when no broker runs)."""
    channels: list[Any] = []
    if settings.notify_mqtt if mqtt_on is None else mqtt_on:
        channels.append(MqttChannel(settings.broker_endpoint(), site=site))
    if settings.notify_webhook_url:
        channels.append(WebhookChannel(settings.notify_webhook_url))
    if settings.notify_dingtalk_url:
        channels.append(DingTalkChannel(settings.notify_dingtalk_url, settings.notify_dingtalk_secret))
    if settings.notify_wecom_url:
        channels.append(WeComChannel(settings.notify_wecom_url, mention=settings.notify_wecom_mention))
    if settings.notify_smtp_host:
        channels.append(EmailChannel(settings.notify_smtp_host, settings.notify_smtp_port,
                                     sender=settings.notify_email_from, to=settings.notify_email_to,
                                     addresses=settings.notify_email_addresses,
                                     starttls=settings.notify_smtp_starttls, username=settings.notify_smtp_username,
                                     password=settings.notify_smtp_password))
    return channels


def build_notifier(settings: Settings, *, engine: Any = None, site: str = "site1", mqtt_on: bool | None = None,
                   on_delivery: Callable[[Delivery], object] | None = None) -> Notifier:
    """The workflows' notifier: an in-memory channel (the recent-notifications view) and the outside
    channels of the settings; with the store's ``engine`` they go through its delivery log (its
    workers start with :meth:`DeliveryLog.start`; :func:`close_notifier` stops them), else directly.
    ``on_delivery`` receives every delivery attempt."""
    outside = outside_channels(settings, site, mqtt_on=mqtt_on)
    outbox = None
    if engine is not None and outside:
        outbox = DeliveryLog(engine, outside, on_delivery=on_delivery,
                             policy=RetryPolicy(max_attempts=settings.notify_max_attempts,
                                                base_s=settings.notify_retry_base_s,
                                                max_delay_s=settings.notify_retry_max_s))
    return Notifier([MemoryChannel(), *outside], on_delivery=on_delivery, outbox=outbox)


def close_notifier(notifier: Notifier) -> None:
    """Stop the delivery workers (what is not delivered stays queued) and close the channels."""
    if isinstance(notifier.outbox, DeliveryLog):
        notifier.outbox.stop()
    for channel in notifier.channels:
        if hasattr(channel, "close"):
            channel.close()
