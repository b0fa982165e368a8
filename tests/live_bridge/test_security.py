"""The shipped broker configuration is closed by default: no anonymous clients, only the bridge
writes ``twin/…``, each device writes only its own topics; TLS with the CA generated at the first
start. Each test starts its own Mosquitto (the suite's broker on 1883 is anonymous)."""
from __future__ import annotations

import json
import os
import stat
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from safetwin.live_bridge.bridge import BridgeConfig, LiveBridge
from safetwin.live_bridge.broker import (BRIDGE_USER, OPERATOR_USER, SIM_USER, EmbeddedBroker, free_port,
                                         mosquitto_binary)
from safetwin.live_bridge.mqtt_client import BrokerEndpoint, mqtt_client, unique_client_id
from safetwin.live_bridge.payloads import iso_ms
from safetwin.live_bridge.topics import Topics

from .conftest import wait_for

SITE = "sec"
T = Topics(SITE)


@pytest.fixture
def closed_broker(tmp_path):
    if mosquitto_binary() is None:
        pytest.fail("needs the mosquitto binary (tools/ensure_services.sh installs it)")
    b = EmbeddedBroker(port=free_port(), data_dir=tmp_path / "mosq", site=SITE, devices=["gw-1", "gw-2"]).start()
    yield b
    b.stop()


class Client:
    """A connected client of one endpoint; ``accepted`` tells whether the broker let it in;
    records what it receives and the reason code of each PUBACK."""

    def __init__(self, endpoint: BrokerEndpoint, subscribe: str | None = None) -> None:
        self.msgs: list[tuple[str, bytes, bool]] = []
        self.pubacks: dict[int, int] = {}
        self.answered = threading.Event()
        self.subscribed = threading.Event()
        self.accepted = False
        c = mqtt_client(unique_client_id("sec"), endpoint)
        c.on_connect = self._on_connect
        c.on_disconnect = lambda *a: self.answered.set()
        c.on_message = lambda cl, u, m: self.msgs.append((m.topic, bytes(m.payload), bool(m.retain)))
        c.on_subscribe = lambda *a: self.subscribed.set()
        c.on_publish = lambda cl, u, mid, rc, props: self.pubacks.__setitem__(mid, rc.value)
        self.c, self.subscribe = c, subscribe
        c.connect(endpoint.host, endpoint.port)
        c.loop_start()
        assert self.answered.wait(20), "no CONNACK"
        if self.accepted and subscribe:
            assert self.subscribed.wait(20)

    def _on_connect(self, c, u, flags, reason, props=None):
        self.accepted = not reason.is_failure
        if self.accepted and self.subscribe:
            c.subscribe(self.subscribe, qos=1)
        self.answered.set()

    def send(self, topic: str, payload: bytes, retain: bool = False) -> int:
        """Publish QoS 1 and return the PUBACK reason code (0: accepted)."""
        info = self.c.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(20)
        assert wait_for(lambda: info.mid in self.pubacks, timeout=20)
        return self.pubacks[info.mid]

    def topics(self) -> list[str]:
        return [t for t, _, _ in self.msgs]

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def test_anonymous_clients_are_refused_and_only_the_bridge_writes_the_twin(closed_broker):
    b = closed_broker
    assert not Client(b.endpoint(None)).accepted                         # anonymous: CONNECT refused
    assert not Client(BrokerEndpoint(b.bind, b.port, "gw-1", "wrong")).accepted
    watch = Client(b.endpoint(BRIDGE_USER), subscribe=f"pst/v1/{SITE}/#")
    forged = json.dumps({"alarm_id": "GD-01_LVL", "state": "SHELVED"}).encode()

    def send_as(user: str, topic: str, payload: bytes, retain: bool = False) -> int:
        """One publish by a fresh client of ``user`` (paho drops a connection after a refused
        PUBACK and reconnects): its PUBACK reason code."""
        client = Client(b.endpoint(user))
        try:
            return client.send(topic, payload, retain)
        finally:
            client.close()
    try:
        refused = {
            "gateway writes the twin": send_as("gw-1", T.alarm("GD-01_LVL"), forged, retain=True),
            "gateway writes another gateway": send_as("gw-1", T.batch("gw-2"), b"{}"),
            "gateway writes a sensor": send_as("gw-1", T.reading("a", "u", "GD-01"), b"{}"),
            "simulated plant writes the twin": send_as(SIM_USER, T.muster(), b'{"pob":0}', retain=True),
            "operator writes alarm state": send_as(OPERATOR_USER, T.alarm("GD-01_LVL"), forged, retain=True),
        }
        allowed = {
            "gateway its own batch": send_as("gw-1", T.batch("gw-1"), b"{}"),
            "simulated plant a device topic": send_as(SIM_USER, T.batch("gw-7"), b"{}"),
            "operator an alarm request": send_as(OPERATOR_USER, T.alarm_cmd(), b"{}"),
        }
        print(f"\nPUBACK reason codes: refused {refused}, allowed {allowed}")
        assert all(code == 0 for code in allowed.values()), allowed
        assert all(code == 135 for code in refused.values()), refused     # 0x87 Not authorized
        assert wait_for(lambda: {T.batch("gw-1"), T.batch("gw-7"), T.alarm_cmd()} <= set(watch.topics()))
        assert not {T.alarm("GD-01_LVL"), T.batch("gw-2"), T.muster(), T.reading("a", "u", "GD-01")} & set(watch.topics())
        late = Client(b.endpoint(BRIDGE_USER), subscribe=f"pst/v1/{SITE}/twin/#")   # nothing was retained
        late.send(T.twin_status(), b'{"probe":1}')
        assert wait_for(lambda: T.twin_status() in late.topics())
        assert T.alarm("GD-01_LVL") not in late.topics() and T.muster() not in late.topics()
        late.close()
    finally:
        watch.close()
    # the generated secrets are readable by their owner only
    for name in ("credentials.json", "passwd", "credentials.env"):
        assert stat.S_IMODE(os.stat(b.data_dir / name).st_mode) == 0o600, name


def test_the_bridge_runs_with_its_credentials_and_a_device_feeds_it(closed_broker, small_plant, tmp_path):
    b = closed_broker
    ep = b.endpoint(BRIDGE_USER)
    cfg = BridgeConfig(site=SITE, host=ep.host, port=ep.port, username=ep.username, password=ep.password,
                       db_url=f"sqlite:///{tmp_path / 'h.db'}", restore_timeout_s=0.5)
    gw1 = Client(b.endpoint("gw-1"))
    try:
        with LiveBridge(small_plant, cfg) as bridge:
            now = iso_ms(time.time())
            body = {"gw": "gw-1", "seq": 1, "ts": now, "r": [{"sid": "GD-01", "ts": now, "v": 60.0}]}
            assert gw1.send(T.batch("gw-1"), json.dumps(body).encode()) == 0
            assert wait_for(lambda: any(a.alarm_id == "GD-01_LVL" for a in bridge.state.active_alarms()), timeout=30)
    finally:
        gw1.close()


def test_tls_with_the_ca_made_at_first_start(tmp_path, small_plant):
    if mosquitto_binary() is None:
        pytest.fail("needs the mosquitto binary (tools/ensure_services.sh installs it)")
    b = EmbeddedBroker(port=free_port(), data_dir=tmp_path / "mosq", site=SITE, tls=True).start()
    try:
        assert b.ca_file is not None and b.ca_file.exists()
        assert stat.S_IMODE(os.stat(b.ca_file.parent / "ca.key").st_mode) == 0o600
        plain = Client(BrokerEndpoint(b.bind, b.port, BRIDGE_USER, b.credentials[BRIDGE_USER]))  # no TLS
        assert not plain.accepted                      # the TLS listener dropped the plain CONNECT
        plain.close()
        ep = b.endpoint(BRIDGE_USER)
        cfg = BridgeConfig(site=SITE, host=ep.host, port=ep.port, username=ep.username, password=ep.password,
                           tls_ca_file=ep.tls_ca_file, db_url=f"sqlite:///{tmp_path / 'h.db'}", restore_timeout_s=0.5)
        sim = Client(b.endpoint(SIM_USER))
        assert sim.accepted
        try:
            with LiveBridge(small_plant, cfg) as bridge:
                now = iso_ms(time.time())
                reading = {"sid": "GD-02", "seq": 1, "ts": now, "v": 7.5}
                assert sim.send(T.reading("a", "u", "GD-02"), json.dumps(reading).encode()) == 0
                assert wait_for(lambda: bridge.state.reading("GD-02") is not None, timeout=30)
        finally:
            sim.close()
        # restarting reuses the CA and the credentials made at the first start
        ca = b.ca_file.read_bytes()
        again = EmbeddedBroker(port=b.port, data_dir=b.data_dir, site=SITE, tls=True)
        again.render()
        assert again.ca_file.read_bytes() == ca and again.credentials == b.credentials
    finally:
        b.stop()
