"""Notification channels of the app over real transports: MQTT through the one client factory (the
real broker), a webhook that refuses; every attempt reaches the delivery-log hook."""
from __future__ import annotations

import json
import socket
import threading
import uuid

import pytest

from safetwin.app.notify_channels import MqttChannel, WebhookChannel, build_notifier
from safetwin.app.settings import Settings
from safetwin.live_bridge.mqtt_client import BrokerEndpoint, mqtt_client, unique_client_id
from safetwin.twin.workflows.notify import Notification, Notifier

pytestmark = pytest.mark.mqtt


@pytest.fixture(scope="module")
def broker() -> BrokerEndpoint:
    endpoint = Settings().broker_endpoint()
    try:
        socket.create_connection((endpoint.host, endpoint.port), timeout=2).close()
    except OSError as exc:
        pytest.fail(f"MQTT broker {endpoint.host}:{endpoint.port} unreachable ({exc}); make test starts one")
    return endpoint


def test_mqtt_channel_delivers_to_each_recipient_and_logs_the_delivery(broker):
    site = "n" + uuid.uuid4().hex[:8]
    got: dict[str, dict] = {}
    subscribed, both = threading.Event(), threading.Event()
    sub = mqtt_client(unique_client_id("notify-sub"), broker)
    sub.on_connect = lambda c, u, f, r, p=None: c.subscribe(f"safetwin/{site}/#", qos=1)
    sub.on_subscribe = lambda *args: subscribed.set()

    def on_message(_c, _u, msg):
        got[msg.topic] = json.loads(msg.payload)
        if len(got) >= 3:
            both.set()

    sub.on_message = on_message
    sub.connect(broker.host, broker.port)
    sub.loop_start()
    channel = MqttChannel(broker)
    deliveries = []
    try:
        assert subscribed.wait(10) and channel.wait_connected(10)
        Notifier([channel], on_delivery=deliveries.append).send(
            Notification(("bob", "gus"), "permits/PTW-9", "suspended", "STOP WORK", site, {"permit": "PTW-9"}))
        assert both.wait(10), got
    finally:
        channel.close()
        sub.disconnect()
        sub.loop_stop()
    assert set(got) == {f"safetwin/{site}/permits/PTW-9", f"safetwin/{site}/notifications/bob",
                        f"safetwin/{site}/notifications/gus"}
    assert all(doc["event"] == "suspended" and doc["data"] == {"permit": "PTW-9"} for doc in got.values())
    assert [(d.channel, d.ok, d.recipients) for d in deliveries] == [("mqtt", True, ("bob", "gus"))]


def test_a_refusing_webhook_is_logged_as_failed_not_raised():
    deliveries = []
    notifier = Notifier([WebhookChannel("http://127.0.0.1:9/nothing-listens", timeout_s=0.5)],
                        on_delivery=deliveries.append)
    notifier.send(Notification(("bob",), "hazards/H-1", "overdue", "late"))
    notifier.channels[0].close()
    (delivery,) = deliveries
    assert notifier.failures == 1 and not delivery.ok and delivery.channel == "webhook"
    assert "ConnectError" in delivery.error


def test_the_notifier_follows_the_settings(broker):
    plain = build_notifier(Settings())
    assert [c.name for c in plain.channels] == ["memory"]
    full = build_notifier(Settings(notify_webhook_url="http://127.0.0.1:9/x", notify_mqtt=True,
                                   mqtt_host=broker.host, mqtt_port=broker.port, notify_mqtt_prefix="site-x"))
    try:
        assert [c.name for c in full.channels] == ["memory", "webhook", "mqtt"]
        assert full.channels[2].prefix == "site-x" and full.channels[2].wait_connected(10)
    finally:
        full.channels[1].close()
        full.channels[2].close()
