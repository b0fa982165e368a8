"""Notification channels of the app over real transports: MQTT through the one client factory (the
real broker), a webhook that refuses; every attempt reaches the delivery-log hook."""
from __future__ import annotations

import json
import socket
import threading
import uuid

import pytest

from safetwin.app.notify_channels import MqttChannel, WebhookChannel, build_notifier, close_notifier
from safetwin.app.settings import Settings
from safetwin.live_bridge.mqtt_client import BrokerEndpoint, mqtt_client, unique_client_id
from safetwin.twin.store import Store
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
    sub.on_connect = lambda c, u, f, r, p=None: c.subscribe(f"pst/v1/{site}/twin/notify/#", qos=1)
    sub.on_subscribe = lambda *args: subscribed.set()

    def on_message(_c, _u, msg):
        got[msg.topic] = json.loads(msg.payload)
        if len(got) >= 3:
            both.set()

    sub.on_message = on_message
    sub.connect(broker.host, broker.port)
    sub.loop_start()
    channel = MqttChannel(broker, site=site)
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
    root = f"pst/v1/{site}/twin/notify"
    assert set(got) == {f"{root}/about/permits/PTW-9", f"{root}/to/bob", f"{root}/to/gus"}
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


def test_the_notifier_follows_the_settings(broker, tmp_path):
    plain = build_notifier(Settings(notify_mqtt=False))
    assert [c.name for c in plain.channels] == ["memory"] and plain.outbox is None
    settings = Settings(notify_webhook_url="http://127.0.0.1:9/x", notify_mqtt=True, mqtt_host=broker.host,
                        mqtt_port=broker.port, notify_dingtalk_url="http://127.0.0.1:9/robot/send?access_token=t",
                        notify_wecom_url="http://127.0.0.1:9/cgi-bin/webhook/send?key=k", notify_smtp_host="127.0.0.1",
                        notify_email_to=["a@b.example"])
    with Store.open(f"sqlite:///{tmp_path / 'n.db'}") as store:
        full = build_notifier(settings, engine=store.engine, site="site-x")
        try:
            assert [c.name for c in full.channels] == ["memory", "mqtt", "webhook", "dingtalk", "wecom", "email"]
            assert full.channels[1].wait_connected(10)
            assert set(full.outbox.channels) == {"mqtt", "webhook", "dingtalk", "wecom", "email"}
            without_mqtt = build_notifier(settings, mqtt_on=False)
            assert without_mqtt.channels[1].name == "webhook"
            close_notifier(without_mqtt)
        finally:
            close_notifier(full)
