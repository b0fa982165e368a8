"""Fixtures of the live-bridge tests: the real Mosquitto broker over TCP (``broker`` in
tests/conftest.py: tests FAIL when it is unreachable), a unique site per test (retained topics do
not leak between tests), a temporary SQLite history and a paho publisher."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest

from safetwin.live_bridge.bridge import BridgeConfig
from safetwin.live_bridge.broker import clear_retained  # noqa: F401 (re-exported for the tests)
from waiting import wait_until as wait_for  # noqa: F401  (the tests here import it from this conftest)


@pytest.fixture
def site() -> str:
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'history.db'}"


@pytest.fixture
def bridge_config(broker, site, db_url) -> BridgeConfig:
    host, port = broker
    return BridgeConfig(site=site, host=host, port=port, db_url=db_url, publish_period_s=0.5,
                        restore_timeout_s=1.0)


class Pub:
    """A synchronous QoS 1 publisher for tests."""

    def __init__(self, host: str, port: int) -> None:
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="pub-" + uuid.uuid4().hex[:8],
                             protocol=mqtt.MQTTv5)
        self.c.connect(host, port)
        self.c.loop_start()

    def send(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False, wait: bool = True):
        info = self.c.publish(topic, payload.encode() if isinstance(payload, str) else payload, qos=qos, retain=retain)
        if wait and qos:
            info.wait_for_publish(10)
        return info

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture
def pub(broker) -> Iterator[Pub]:
    p = Pub(*broker)
    yield p
    p.close()


