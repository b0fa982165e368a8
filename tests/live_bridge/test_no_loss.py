"""No data loss: 100 000 QoS 1 readings (2 000 gateway batches of 50) published while (a) the
bridge process is SIGKILLed and restarted and (b) our own broker (the shipped mosquitto.conf,
persistence in a temp dir) is restarted. Every reading must be in the history exactly once,
checked by count, distinct (source, seq) keys and checksums of values and sequence numbers."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import text

from safetwin.live_bridge.broker import EmbeddedBroker, free_port, mosquitto_binary
from safetwin.live_bridge.payloads import iso_ms
from safetwin.live_bridge.topics import Topics
from safetwin.plant_models.loader import bundled_plant_path
from safetwin.twin.store import Store

N_MSGS = int(os.environ.get("SAFETWIN_NOLOSS_MSGS", "2000"))
PER_MSG = 50
SENSORS = ("GD-01", "GD-02", "GD-03")


def start_bridge(port: int, site: str, db: str, log_path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "safetwin", "bridge", "run", "--plant", str(bundled_plant_path("small_plant")),
         "--site", site, "--host", "127.0.0.1", "--port", str(port), "--db", db],
        stdout=subprocess.DEVNULL, stderr=open(log_path, "ab"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if b"READY" in open(log_path, "rb").read():
            return proc
        assert proc.poll() is None, open(log_path, "rb").read()[-2000:]
        time.sleep(0.05)
    raise TimeoutError("bridge did not start")


def value(k: int) -> float:
    return (k % 40) / 4.0          # exact in binary floating point; below every alarm level


class Publisher(threading.Thread):
    """A gateway that publishes QoS 1 with a persistent session; paho resends unacknowledged
    messages after reconnects (e.g. across the broker restart)."""

    def __init__(self, port: int, site: str) -> None:
        super().__init__(daemon=True)
        self.t = Topics(site)
        self.sent = 0
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gw-nl-" + uuid.uuid4().hex[:6],
                             protocol=mqtt.MQTTv5)
        self.c.reconnect_delay_set(0.2, 1)
        self.c.max_inflight_messages_set(100)
        self.c.max_queued_messages_set(0)
        from paho.mqtt.properties import Properties
        from paho.mqtt.packettypes import PacketTypes
        p = Properties(PacketTypes.CONNECT)
        p.SessionExpiryInterval = 3600
        self.c.connect("127.0.0.1", port, clean_start=False, properties=p)
        self.acked: set[int] = set()
        self.c.on_publish = lambda c, u, mid, rc, props: self.acked.add(mid)
        self.c.loop_start()
        self.infos: list = []

    def run(self) -> None:
        now = time.time()
        for m in range(N_MSGS):
            r = [{"sid": SENSORS[(m * PER_MSG + i) % 3], "ts": iso_ms(now + m * 0.001), "v": value(m * PER_MSG + i)}
                 for i in range(PER_MSG)]
            body = json.dumps({"gw": "gw-nl", "seq": m, "ts": iso_ms(now + m * 0.001), "r": r}).encode()
            self.infos.append(self.c.publish(self.t.batch("gw-nl"), body, qos=1))
            self.sent = m + 1
            if m % 50 == 49:
                time.sleep(0.02)   # ~2 500 batches/s at most: a busy gateway

    def wait_all_published(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sent == N_MSGS and all(i.mid in self.acked for i in self.infos):
                return True
            time.sleep(0.1)
        return False


def test_no_loss_across_bridge_kill_and_broker_restart(tmp_path):
    if mosquitto_binary() is None:  # `make test` installs it; a missing binary must not pass silently
        pytest.fail("the no-loss test restarts its own broker and needs the mosquitto binary "
                    "(tools/ensure_services.sh installs it)")
    port = free_port()
    broker = EmbeddedBroker(port=port, data_dir=tmp_path / "mosq", auth=False).start()   # durability, not auth
    site = "nl" + uuid.uuid4().hex[:6]
    db = f"sqlite:///{tmp_path / 'h.db'}"
    log = tmp_path / "bridge.log"
    bridge = start_bridge(port, site, db, log)
    pub = Publisher(port, site)
    try:
        pub.start()
        while pub.sent < N_MSGS // 3:
            time.sleep(0.01)
        bridge.send_signal(signal.SIGKILL)            # (a) crash the bridge mid-stream
        bridge.wait()
        time.sleep(0.5)
        bridge = start_bridge(port, site, db, log)
        while pub.sent < 2 * N_MSGS // 3:
            time.sleep(0.01)
        broker.restart()                              # (b) restart the broker mid-stream
        pub.join(120)
        assert pub.wait_all_published(120), "publisher could not deliver to the broker"
        expected = N_MSGS * PER_MSG
        with Store.open(db, migrate=False) as store:
            deadline = time.monotonic() + 120
            while store.count_readings() < expected and time.monotonic() < deadline:
                time.sleep(0.25)
            with store.engine.connect() as conn:
                n, keys, vsum, ssum = conn.execute(text(
                    "SELECT count(*), count(DISTINCT source || ':' || seq), sum(value), sum(seq) "
                    "FROM sensor_readings")).one()
        exp_v = sum(value(k) for k in range(expected))
        exp_s = sum(m * 1000 + i for m in range(N_MSGS) for i in range(PER_MSG))
        print(f"\nno-loss: expected {expected}, stored {n}, distinct keys {keys}, "
              f"value checksum {vsum} (expected {exp_v}), seq checksum {ssum} (expected {exp_s})")
        assert (n, keys, vsum, ssum) == (expected, expected, exp_v, exp_s)
    finally:
        if bridge.poll() is None:
            bridge.send_signal(signal.SIGTERM)
            try:
                bridge.wait(20)
            except subprocess.TimeoutExpired:
                bridge.kill()
        pub.c.disconnect()
        pub.c.loop_stop()
        broker.stop()
