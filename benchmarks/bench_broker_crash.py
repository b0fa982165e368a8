"""What a broker crash loses, by Mosquitto configuration, and what the gateways' receipts add.

(a) The bridge's persistent session exists but the bridge is away; a gateway publishes N QoS 1
    readings (one per message) and has every PUBACK; the broker is SIGKILLed at once, restarted
    with the same configuration, and the bridge's session is drained: how many of N are gone.
    For the shipped configuration (autosave every 1 s) and two alternatives: autosave every 10 s
    (the previous shipped value) and ``autosave_on_changes true`` + ``autosave_interval 1`` (save
    after every change). Also the publish rate to the last PUBACK (the price of saving often).
(b) The same crash with the shipped configuration and a gateway with store and forward
    (``live_bridge.gateway``): batches not confirmed by the bridge's receipts are sent again.
    Prints stored / expected and the batches resent.

Each case runs ``--rounds`` times on a fresh broker (own mosquitto, free port, temp dir).

    .venv/bin/python benchmarks/bench_broker_crash.py [--n 5000] [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from safetwin.live_bridge.bridge import BridgeConfig, LiveBridge
from safetwin.live_bridge.broker import BRIDGE_USER, EmbeddedBroker, free_port
from safetwin.live_bridge.gateway import GatewayClient
from safetwin.live_bridge.mqtt_client import mqtt_client
from safetwin.live_bridge.payloads import iso_ms
from safetwin.plant_models.loader import bundled_plant_path, load_plant
from safetwin.twin.store import Store

SITE = "crash"
CONFIGS = {
    "shipped (autosave_interval 1)": None,
    "autosave_interval 10": "autosave_interval 10\nautosave_on_changes false",
    "autosave_on_changes true, autosave_interval 1": "autosave_interval 1\nautosave_on_changes true",
}


def start_broker(data_dir: Path, extra: str | None) -> EmbeddedBroker:
    b = EmbeddedBroker(port=free_port(), data_dir=data_dir, site=SITE, devices=["gw-1"])
    b.render()
    if extra is not None:   # replace the shipped persistence lines
        text = b.conf_path.read_text().replace("autosave_interval 1\nautosave_on_changes false\n", extra + "\n")
        b.conf_path.write_text(text)
    return _start_rendered(b)


def _start_rendered(b: EmbeddedBroker) -> EmbeddedBroker:
    """Start mosquitto on the configuration already rendered (kept across the crash)."""
    import subprocess

    from safetwin.live_bridge.broker import broker_reachable, mosquitto_binary
    b.proc = subprocess.Popen([mosquitto_binary(), "-c", str(b.conf_path)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    while not broker_reachable(b.bind, b.port, 0.2):
        if b.proc.poll() is not None:
            raise RuntimeError(b.proc.stderr.read().decode())
        time.sleep(0.02)
    return b


def session_client(b: EmbeddedBroker, got: set[int]):
    ep = b.endpoint(BRIDGE_USER)
    c = mqtt_client("crash-bridge-session", ep)
    c.on_message = lambda cl, u, m: got.add(int(m.payload))
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    connected = threading.Event()
    c.on_connect = lambda *a: connected.set()
    c.connect(ep.host, ep.port, clean_start=False, properties=props)
    c.loop_start()
    connected.wait(10)
    return c


def plain_round(tmp: Path, extra: str | None, n: int) -> tuple[int, float]:
    """(lost of n, publish rate msg/s to the last PUBACK) without receipts."""
    b = start_broker(tmp, extra)
    got: set[int] = set()
    s = session_client(b, got)
    subscribed = threading.Event()
    s.on_subscribe = lambda *a: subscribed.set()
    s.subscribe(f"pst/v1/{SITE}/gw/gw-1/readings", qos=1)
    subscribed.wait(10)
    s.disconnect()
    s.loop_stop()
    ep = b.endpoint("gw-1")
    p = mqtt_client("crash-gw", ep, max_inflight=1000, unlimited_queue=True)
    p.connect(ep.host, ep.port)
    p.loop_start()
    t0 = time.perf_counter()
    infos = [p.publish(f"pst/v1/{SITE}/gw/gw-1/readings", str(i).encode(), qos=1) for i in range(n)]
    for info in infos:
        info.wait_for_publish(120)
    rate = n / (time.perf_counter() - t0)
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait()
    p.loop_stop()
    _start_rendered(b)
    s = session_client(b, got)
    last, stable = -1, 0
    while stable < 3:                       # drained: nothing new for 3 polls
        time.sleep(0.3)
        stable = stable + 1 if len(got) == last else 0
        last = len(got)
    s.disconnect()
    s.loop_stop()
    b.stop()
    return n - len(got), rate


def receipts_round(tmp: Path, n: int, plant) -> tuple[int, int, int]:
    """(stored, expected, batches resent) with store and forward, shipped configuration."""
    b = start_broker(tmp, None)
    ep = b.endpoint(BRIDGE_USER)
    db = f"sqlite:///{tmp / 'h.db'}"
    cfg = BridgeConfig(site=SITE, host=ep.host, port=ep.port, username=ep.username, password=ep.password, db_url=db,
                       restore_timeout_s=0.5)
    LiveBridge(plant, cfg).start().stop()
    gw = GatewayClient(b.endpoint("gw-1"), SITE, "gw-1", resend_after_s=1.0).start()
    per, now = 50, time.time()
    msgs = n // per
    for m in range(msgs):
        r = [{"sid": "GD-01", "ts": iso_ms(now - 120 + m * 0.05 + i * 1e-3), "v": 1.0} for i in range(per)]
        gw.publish_batch(m, json.dumps({"gw": "gw-1", "seq": m, "ts": iso_ms(now), "r": r}).encode())
    gw.wait_acknowledged(120)
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait()
    _start_rendered(b)
    bridge = LiveBridge(plant, cfg).start()
    gw.wait_confirmed(300)
    bridge.wait_indexed(120)
    bridge.stop()
    gw.stop()
    b.stop()
    with Store.open(db, migrate=False) as store:
        return store.count_readings(site=SITE), msgs * per, gw.store.resent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; mosquitto SIGKILLed right after the last PUBACK of {args.n} "
          "QoS 1 messages queued for an absent subscriber")
    with tempfile.TemporaryDirectory() as tmp:
        for k, (label, extra) in enumerate(CONFIGS.items()):
            res = [plain_round(Path(tmp) / f"p{k}-{r}", extra, args.n) for r in range(args.rounds)]
            print(f"(a) {label:48s}: lost {[x[0] for x in res]} of {args.n}; publish "
                  f"{[round(x[1]) for x in res]} msg/s", flush=True)
        plant = load_plant(bundled_plant_path("small_plant"))
        res = [receipts_round(Path(tmp) / f"r{r}", args.n, plant) for r in range(args.rounds)]
        print(f"(b) shipped + gateway receipts: stored {[x[0] for x in res]} of {res[0][1]}; batches resent "
              f"{[x[2] for x in res]}; load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
