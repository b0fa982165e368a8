"""Sparkplug B in, no loss: 100 000 metric values from a Sparkplug edge node through Mosquitto
(the shipped configuration: authentication, ACLs; the edge node logs in as itself) into the
bridge, across a bridge kill (connections dropped without DISCONNECT, nothing acknowledged
after it; a new bridge on the same store and session) and an edge-node rebirth (a new MQTT session:
NDEATH by the broker, bdSeq + 1, new aliases, births), plus one seq gap answered by a rebirth
request. Figures: lost / duplicated values in the history (value and seq checksums), the
metrics/s the broker acknowledged to the edge node, the rebirths.

    python benchmarks/bench_sparkplug.py [--metrics 100000] [--per-message 60]
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

from safetwin.live_bridge.bridge import BridgeConfig, LiveBridge
from safetwin.live_bridge.broker import BRIDGE_USER, EmbeddedBroker, free_port
from safetwin.live_bridge.sparkplug.drill import SparkplugStream, account
from safetwin.live_bridge.sparkplug.edge import EdgeNode, map_sensors, metric_name
from safetwin.plant_models.loader import bundled_plant_path, load_plant

SITE, GROUP, EDGE = "spb1", "plant1", "edge-1"
DEVICES = {"plc-1": ["GD-01", "GD-02"], "plc-2": ["GD-03"]}


def wait(cond, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--metrics", type=int, default=100_000)
    ap.add_argument("--per-message", type=int, default=60)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    tmp = Path(tempfile.mkdtemp(prefix="bench-spb-"))
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores)")
    broker = EmbeddedBroker(port=free_port(), data_dir=tmp / "mosquitto", site=SITE, devices=[EDGE]).start()
    plant = load_plant(map_sensors(bundled_plant_path("small_plant"), tmp / "plant", group=GROUP, edge=EDGE,
                                   devices=DEVICES))
    bep = broker.endpoint(BRIDGE_USER)
    cfg = BridgeConfig(site=SITE, host=bep.host, port=bep.port, username=bep.username, password=bep.password,
                       db_url=f"sqlite:///{tmp / 'history.db'}", restore_timeout_s=1.0)
    node = EdgeNode(broker.endpoint(EDGE), GROUP, EDGE, {d: [metric_name(s) for s in sids] for d, sids in DEVICES.items()})
    n = args.metrics
    stream = SparkplugStream(node, total=n, per_message=args.per_message)
    first = LiveBridge(plant, cfg).start()
    second = None
    try:
        t0 = time.monotonic()
        node.start()
        stream.send(until=n * 3 // 10)
        first.kill()
        t_kill = time.monotonic()
        stream.send(until=n // 2)                      # queued by the broker for the dead bridge
        second = LiveBridge(plant, cfg).start()
        restart_s = time.monotonic() - t_kill
        node.restart()
        stream.send(until=n * 7 // 10)
        node.seq = (node.seq + 3) % 256                # a gap: the bridge asks for a rebirth
        stream.send(until=n * 8 // 10)
        rebirth_ok = wait(lambda: node.rebirths >= 1, 60)
        stream.send(until=n)
        wait(lambda: node.unacknowledged() == 0, 300)
        sent_s = time.monotonic() - t0
        wait(lambda: second.acker.pending() == 0, 300)
        second.wait_indexed(600)
        acc = account(second.store, stream, wait_s=600)
        print(f"sparkplug: {acc.expected} metric values in {node.published} messages "
              f"({args.per_message} per DATA message), lost {acc.lost}, duplicated {acc.duplicated}, "
              f"bit-exact {acc.exact}")
        print(f"  edge node sessions {node.sessions} (bdSeq now {node.bd_seq}), rebirth requests answered "
              f"{node.rebirths} (asked after the gap: {rebirth_ok}); bridge restarted in {restart_s:.2f} s")
        print(f"  published and acknowledged by the broker: {n / sent_s:,.0f} metrics/s over {sent_s:.1f} s "
              f"(including the bridge restart)")
        print(f"  second bridge: flags {dict(second.rejects.flags)}, rejected {dict(second.rejects.counts)}")
    finally:
        node.stop()
        if second is not None:
            second.stop()
        broker.stop()
    print(f"load average {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
