"""What the broker acknowledged survives the broker's crash: the shipped Mosquitto
configuration (authentication and ACLs on, a device user per gateway), the bridge absent while
a gateway's 5 000 readings are queued, the broker SIGKILLed right after its last PUBACK, then
restarted. Mosquitto loses what it had not saved; the gateway's store and forward sends it again
until the bridge's receipts confirm it: history holds all 5 000 readings, each once."""
from __future__ import annotations

import json
import signal
import time

import pytest
from sqlalchemy import text

from safetwin.live_bridge.bridge import BridgeConfig, LiveBridge
from safetwin.live_bridge.broker import BRIDGE_USER, EmbeddedBroker, free_port, mosquitto_binary
from safetwin.live_bridge.gateway import GatewayClient
from safetwin.live_bridge.payloads import iso_ms
from safetwin.twin.store import Store

from .conftest import wait_for

N_MSGS, PER_MSG = 100, 50


def test_broker_sigkill_right_after_acknowledging_queued_readings_loses_nothing(small_plant, tmp_path):
    if mosquitto_binary() is None:
        pytest.fail("needs the mosquitto binary (tools/ensure_services.sh installs it)")
    broker = EmbeddedBroker(port=free_port(), data_dir=tmp_path / "mosq", site="crash", devices=["gw-1"]).start()
    db = f"sqlite:///{tmp_path / 'h.db'}"
    ep = broker.endpoint(BRIDGE_USER)
    cfg = BridgeConfig(site="crash", host=ep.host, port=ep.port, username=ep.username, password=ep.password,
                       db_url=db, restore_timeout_s=0.5)
    LiveBridge(small_plant, cfg).start().stop()          # the bridge's persistent session exists, then it is away
    gw = GatewayClient(broker.endpoint("gw-1"), "crash", "gw-1", resend_after_s=1.0).start()
    bridge = None
    try:
        now = time.time()
        for m in range(N_MSGS):
            r = [{"sid": ("GD-01", "GD-02", "GD-03")[i % 3], "ts": iso_ms(now - 60 + m * 0.1 + i * 1e-3),
                  "v": (m * PER_MSG + i) % 40 / 4.0} for i in range(PER_MSG)]
            gw.publish_batch(m, json.dumps({"gw": "gw-1", "seq": m, "ts": iso_ms(now), "r": r}).encode())
        gw.wait_acknowledged(60)                          # the broker acknowledged every batch ...
        broker.proc.send_signal(signal.SIGKILL)           # ... and dies before it saved them
        broker.proc.wait()
        assert gw.store.held == N_MSGS
        broker.start()
        bridge = LiveBridge(small_plant, cfg).start()
        assert gw.wait_confirmed(120), f"{gw.store.held} batches never confirmed"
        assert bridge.wait_indexed(60)
        with Store.open(db, migrate=False) as store, store.engine.connect() as conn:
            n, keys, vsum = conn.execute(text("SELECT count(*), count(DISTINCT seq), sum(value) FROM sensor_readings "
                                              "WHERE site = 'crash'")).one()
        exp = sum((k % 40) / 4.0 for k in range(N_MSGS * PER_MSG))
        print(f"\nbroker crash: stored {n} of {N_MSGS * PER_MSG}, resent {gw.store.resent} batches, "
              f"confirmed {gw.store.confirmed}")
        assert (n, keys, vsum) == (N_MSGS * PER_MSG, N_MSGS * PER_MSG, exp)
    finally:
        gw.stop()
        if bridge is not None:
            bridge.stop()
        broker.stop()
