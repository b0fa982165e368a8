"""Live-bridge benchmark on our own mosquitto (shipped config, temp dir, free port).

(a) Throughput: N gateway batches of 50 readings are queued on the broker for a persistent
    session, then drained by (1) a bare paho subscriber that only counts messages and (2) the
    full LiveBridge (decode, validate, TwinState, alarm rules, SQLite history committed before
    each ack). Prints readings/s for both and the ratio.
(b) Latency: single QoS 1 readings at a fixed rate (default 1 000 msg/s); every 10th toggles a
    gas detector across its HH level; latency = alarm transition seen on the twin's bus minus
    the reading's source time (stamped just before publish). Prints p50/p99.

    .venv/bin/python benchmarks/bench_bridge.py [--msgs 2000] [--rate 1000] [--seconds 10]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from safetwin.live_bridge.bridge import BridgeConfig, LiveBridge
from safetwin.live_bridge.broker import EmbeddedBroker, free_port
from safetwin.live_bridge.payloads import iso_ms
from safetwin.live_bridge.topics import Topics
from safetwin.plant_models.loader import bundled_plant_path, load_plant
from safetwin.twin.alarms import RuleConfig
from safetwin.twin.events import AlarmStateChanged

PER_MSG = 50


def _props() -> Properties:
    p = Properties(PacketTypes.CONNECT)
    p.SessionExpiryInterval = 3600
    p.ReceiveMaximum = 20000
    return p


def publish_traffic(port: int, topics: Topics, sensors: list[str], n_msgs: int) -> None:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-pub-" + uuid.uuid4().hex[:6], protocol=mqtt.MQTTv5)
    c.max_inflight_messages_set(200)
    c.connect("127.0.0.1", port)
    c.loop_start()
    now = time.time()
    infos = []
    for m in range(n_msgs):
        r = [{"sid": sensors[(m * PER_MSG + i) % len(sensors)], "ts": iso_ms(now + m * 1e-3), "v": 1.0 + (i % 5)}
             for i in range(PER_MSG)]
        infos.append(c.publish(topics.batch("gw-b"), json.dumps({"gw": "gw-b", "seq": m, "ts": iso_ms(now), "r": r},
                                                                 separators=(",", ":")).encode(), qos=1))
    for i in infos:
        i.wait_for_publish(60)
    c.disconnect()
    c.loop_stop()


def bare_drain(port: int, topics: Topics, sensors: list[str], n_msgs: int) -> float:
    """readings/s of a paho subscriber that only counts (auto-ack), draining a queued backlog."""
    cid = "bench-bare-" + uuid.uuid4().hex[:6]
    got = [0]
    done = threading.Event()

    def on_msg(c, u, m):
        got[0] += 1
        if got[0] >= n_msgs:
            done.set()

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv5)
    c.on_message = on_msg
    c.connect("127.0.0.1", port, clean_start=False, properties=_props())
    c.subscribe(topics.batch("+"), qos=1)
    c.loop(1.0)
    c.disconnect()
    publish_traffic(port, topics, sensors, n_msgs)
    c.connect("127.0.0.1", port, clean_start=False, properties=_props())
    t0 = time.perf_counter()
    c.loop_start()
    done.wait(300)
    dt = time.perf_counter() - t0
    c.disconnect()
    c.loop_stop()
    return got[0] * PER_MSG / dt


def bridge_drain(port: int, site: str, plant, sensors: list[str], n_msgs: int, db: str) -> tuple[float, dict]:
    topics = Topics(site)
    cfg = BridgeConfig(site=site, port=port, db_url=db, restore_timeout_s=0.5)
    LiveBridge(plant, cfg).start().stop()          # create the persistent session
    publish_traffic(port, topics, sensors, n_msgs)
    b = LiveBridge(plant, cfg)
    b.start()                                      # startup (schema check, retained restore) not timed
    t0 = time.perf_counter()
    n0 = b.ingestor.messages                       # messages already taken during the CONNACK race
    while b.acker.acked < n_msgs:
        time.sleep(0.005)
    dt = time.perf_counter() - t0
    stats = b.stats()
    b.stop()
    return (n_msgs - n0) * PER_MSG / dt, stats


def latency(port: int, site: str, plant, rate: float, seconds: float, db: str) -> np.ndarray:
    topics = Topics(site)
    over = {"GD-01": RuleConfig((("HH", 50.0),), 1, period_s=5.0, range_min=0, range_max=100)}
    b = LiveBridge(plant, BridgeConfig(site=site, port=port, db_url=db, restore_timeout_s=0.5, rule_overrides=over))
    lat: list[float] = []
    b.state.bus.subscribe(AlarmStateChanged,
                          lambda e: lat.append(time.time() - e.ts) if e.alarm_id == "GD-01_LVL" else None)
    b.start()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-lat-" + uuid.uuid4().hex[:6], protocol=mqtt.MQTTv5)
    c.on_socket_open = lambda cl, u, s: s.setsockopt(6, 1, 1)   # TCP_NODELAY
    c.connect("127.0.0.1", port)
    c.loop_start()
    others = [s for s in plant.sensors if s not in ("GD-01", "MET-1")]
    n = int(rate * seconds)
    t_start = time.perf_counter()
    high = False
    for k in range(n):
        target = t_start + k / rate
        while time.perf_counter() < target:
            time.sleep(max(0.0, min(0.0005, target - time.perf_counter())))
        if k % 10 == 0:
            high = not high
            sid, v = "GD-01", 60.0 if high else 0.0
        else:
            sid = others[k % len(others)]
            v = 0.1
        body = json.dumps({"sid": sid, "seq": k, "ts": iso_ms(time.time()), "v": v}).encode()
        c.publish(topics.reading("a", "u", sid), body, qos=1)
    time.sleep(1.0)
    c.disconnect()
    c.loop_stop()
    b.stop()
    return np.array(lat[5:]) * 1000.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--msgs", type=int, default=2000, help="gateway batches of 50 for (a)")
    ap.add_argument("--rate", type=float, default=1000.0, help="msg/s for (b)")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of (b)")
    args = ap.parse_args()
    plant = load_plant(bundled_plant_path("small_plant"))
    sensors = [s for s in plant.sensors if s != "MET-1"]
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        broker = EmbeddedBroker(port=port, data_dir=Path(tmp) / "mosq").start()
        try:
            bare = bare_drain(port, Topics("benchbare"), sensors, args.msgs)
            full, stats = bridge_drain(port, "benchfull", plant, sensors, args.msgs, f"sqlite:///{tmp}/a.db")
            print(f"(a) {args.msgs} batches x {PER_MSG} = {args.msgs * PER_MSG} readings, QoS 1, queued backlog")
            print(f"    bare paho counter : {bare:10,.0f} readings/s")
            print(f"    full LiveBridge   : {full:10,.0f} readings/s  (history committed before ack)")
            print(f"    ratio             : {full / bare:.2f}")
            print(f"    bridge stats      : written={stats['writer'].written} rejected={stats['rejected']}")
            lat = latency(port, "benchlat", plant, args.rate, args.seconds, f"sqlite:///{tmp}/b.db")
            print(f"(b) {args.rate:.0f} msg/s for {args.seconds:.0f} s, {len(lat)} alarm transitions: "
                  f"p50 {np.percentile(lat, 50):.2f} ms, p99 {np.percentile(lat, 99):.2f} ms, max {lat.max():.2f} ms")
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
