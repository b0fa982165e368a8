"""Soak test of the live bridge: N minutes (default 10) at 5 000 readings/s plus 250 moving
RTLS tags (1 fix/s each) through our own mosquitto into a LiveBridge with SQLite history.

A separate publisher process sends 100 QoS 1 gateway batches of 50 readings per second
(4 gateways, demo plant detectors, values inside normal ranges) and one omlox Location per tag
per second (QoS 1), paced on a fixed schedule. The bridge runs in this process. Every minute
the RSS (VmRSS) and the counters are printed; at the end the history must hold exactly the
published readings and positions ("nothing lost"), and start/end RSS are printed (of the bridge
and of its ingest-log indexer process, with the indexer's backlog).

    .venv/bin/python benchmarks/soak_bridge.py [--minutes 10] [--rate 5000] [--tags 250]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PER_MSG = 50
GATEWAYS = 4


def rss_mib(pid: int | str = "self") -> float:
    """Resident set size of a process (default: this one) in MiB (from /proc/<pid>/status)."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def indexer_rss(bridge) -> float:
    """RSS of the bridge's log indexer process in MiB (nan when it runs in-process)."""
    proc = getattr(bridge.indexer, "proc", None)
    return rss_mib(proc.pid) if proc is not None else float("nan")


# ---------------------------------------------------------------------------- publisher process
def publisher_main(port: int, site: str, seconds: float, rate: float, tags: int, seed: int) -> None:
    import paho.mqtt.client as mqtt

    from safetwin.live_bridge.mqtt_client import mqtt_client, unique_client_id
    from safetwin.live_bridge.payloads import iso_ms
    from safetwin.live_bridge.topics import Topics
    from safetwin.plant_models.loader import bundled_plant_path, load_plant
    from safetwin.twin.alarms import rule_for_sensor

    plant = load_plant(bundled_plant_path("demo_plant"))
    sensors = sorted(s for s in plant.sensors if rule_for_sensor(plant.sensors[s]) is not None)
    normal: dict[str, tuple[float, float]] = {}
    for sid in sensors:
        rule = rule_for_sensor(plant.sensors[sid])
        s = plant.sensors[sid]
        hi = 0.3 * rule.levels[0][1] if rule.levels and rule.direction > 0 else 0.3 * s.range_max
        normal[sid] = (20.8, 21.0) if rule.direction < 0 else (0.0, hi)
    rng = random.Random(seed)
    t = Topics(site)
    from safetwin.live_bridge.mqtt_client import BrokerEndpoint
    ep = BrokerEndpoint("127.0.0.1", port, os.environ.get("SOAK_MQTT_USER"), os.environ.get("SOAK_MQTT_PASSWORD"))
    c = mqtt_client(unique_client_id("soak-pub"), ep, protocol=mqtt.MQTTv311, max_inflight=2000, unlimited_queue=True)
    acked = [0]
    c.on_publish = lambda cl, u, mid, rc, props: acked.__setitem__(0, acked[0] + 1)
    c.connect("127.0.0.1", port)
    c.loop_start()
    msgs_per_s = rate / PER_MSG
    # tags walk on circles of different radii and speeds (1–1.6 m/s) around the plant centre
    cx, cy = 450.0, 300.0
    tag_r = [rng.uniform(30.0, 250.0) for _ in range(tags)]
    tag_w = [rng.uniform(1.0, 1.6) / r for r in tag_r]
    tag_p = [rng.uniform(0.0, 2 * math.pi) for _ in range(tags)]
    n_batch = n_read = n_pos = sent = 0
    gw_seq = [0] * GATEWAYS
    t0 = time.monotonic()
    while True:
        el = time.monotonic() - t0
        if el >= seconds:
            break
        due_b = int(el * msgs_per_s) + 1
        while n_batch < due_b:
            g = n_batch % GATEWAYS
            now = time.time()
            ts = iso_ms(now)
            r = []
            for i in range(PER_MSG):
                sid = sensors[(n_batch * PER_MSG + i) % len(sensors)]
                lo, hi = normal[sid]
                r.append({"sid": sid, "ts": ts, "v": round(rng.uniform(lo, hi), 3)})
            body = json.dumps({"gw": f"gw-{g}", "seq": gw_seq[g], "ts": ts, "r": r}, separators=(",", ":"))
            c.publish(t.batch(f"gw-{g}"), body.encode(), qos=1)
            gw_seq[g] += 1
            n_batch += 1
            n_read += PER_MSG
            sent += 1
        due_p = int(el * tags) + 1          # each tag once per second
        while n_pos < due_p:
            k = n_pos % tags
            rnd = n_pos // tags
            now = time.time()
            a = tag_p[k] + tag_w[k] * (now - t0)
            loc = {"provider_id": f"tag-{k}", "position": {"type": "Point",
                   "coordinates": [round(cx + tag_r[k] * math.cos(a), 2), round(cy + tag_r[k] * math.sin(a), 2)]},
                   "crs": "local", "timestamp_generated": iso_ms(now), "trackables": [f"P-{k:03d}"],
                   "properties": {"seq": rnd}}
            c.publish(t.location(f"tag-{k}"), json.dumps(loc, separators=(",", ":")).encode(), qos=1)
            n_pos += 1
            sent += 1
        time.sleep(0.005)
    deadline = time.monotonic() + 120
    while acked[0] < sent and time.monotonic() < deadline:
        time.sleep(0.05)
    c.disconnect()
    c.loop_stop()
    print(json.dumps({"readings": n_read, "positions": n_pos, "messages": sent, "acked": acked[0],
                      "seconds": time.monotonic() - t0}), flush=True)


# ---------------------------------------------------------------------------- the soak
def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=5000.0, help="readings/s")
    ap.add_argument("--tags", type=int, default=250)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--publisher", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--site", default="soak", help=argparse.SUPPRESS)
    args = ap.parse_args()
    seconds = args.minutes * 60.0
    if args.publisher:
        publisher_main(args.port, args.site, seconds, args.rate, args.tags, args.seed)
        return 0

    from safetwin.live_bridge.bridge import BridgeConfig, LiveBridge
    from safetwin.live_bridge.broker import BRIDGE_USER, SIM_USER, EmbeddedBroker, free_port
    from safetwin.plant_models.loader import bundled_plant_path, load_plant
    from safetwin.twin.store import Store

    plant = load_plant(bundled_plant_path("demo_plant"))
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        broker = EmbeddedBroker(port=port, data_dir=Path(tmp) / "mosq", site=args.site).start()   # shipped config
        db = f"sqlite:///{tmp}/soak.db"
        bridge = LiveBridge(plant, BridgeConfig(site=args.site, port=port, db_url=db, restore_timeout_s=0.5,
                                                username=BRIDGE_USER, password=broker.credentials[BRIDGE_USER])).start()
        os.environ.update(SOAK_MQTT_USER=SIM_USER, SOAK_MQTT_PASSWORD=broker.credentials[SIM_USER])   # the publisher
        try:
            rss0 = rss_mib()
            rss_ix0 = indexer_rss(bridge)
            print(f"soak: {args.minutes:g} min at {args.rate:,.0f} readings/s + {args.tags} tags at 1 Hz; "
                  f"start RSS {rss0:.1f} MiB", flush=True)
            pub = subprocess.Popen([sys.executable, __file__, "--publisher", "--port", str(port), "--site", args.site,
                                    "--minutes", str(args.minutes), "--rate", str(args.rate),
                                    "--tags", str(args.tags), "--seed", str(args.seed)],
                                   stdout=subprocess.PIPE, text=True)
            t0 = time.monotonic()
            rss_1min = None
            while pub.poll() is None:
                time.sleep(1.0)
                el = time.monotonic() - t0
                if int(el) % 60 == 0 and el > 1:
                    s = bridge.stats()
                    rss = rss_mib()
                    if rss_1min is None:
                        rss_1min = rss
                    lag = (bridge.log.durable - 0) if bridge.log else 0
                    ix = s["indexer"] or {}
                    print(f"  t={el:5.0f} s  RSS {rss:7.1f} MiB (indexer {indexer_rss(bridge):5.1f})  "
                          f"log records {lag:>8,} indexed to seg {ix.get('segment')} byte {ix.get('offset')}  "
                          f"readings {s['readings_history']:>9,}  "
                          f"positions {s['positions_applied']:>7,}  acked {s['acked']:>8,}  "
                          f"pending rows {s['writer'].pending:>6}  alarm queue max {s['alarm_engine'].max_queue}  "
                          f"transitions {s['alarm_engine'].transitions}", flush=True)
            info = json.loads(pub.stdout.read().strip().splitlines()[-1])
            deadline = time.monotonic() + 120
            while bridge.acker.acked < info["messages"] and time.monotonic() < deadline:
                time.sleep(0.1)
            bridge.writer.flush(60)
            t_ix = time.monotonic()
            indexed = bridge.wait_indexed(600)
            print(f"history table caught up with the ingest log {time.monotonic() - t_ix:.1f} s after the last ack "
                  f"({'ok' if indexed else 'TIMEOUT'})", flush=True)
            rss_end = rss_mib()
            rss_ix_end = indexer_rss(bridge)
            with Store.open(db, migrate=False) as store:
                n_r, n_p = store.count_readings(), store.count_positions()
            s = bridge.stats()
        finally:
            bridge.stop()
            broker.stop()
    lost_r, lost_p = info["readings"] - n_r, info["positions"] - n_p
    print(f"published: {info['readings']:,} readings, {info['positions']:,} positions in "
          f"{info['messages']:,} messages over {info['seconds']:.0f} s (PUBACKed {info['acked']:,})")
    print(f"history  : {n_r:,} readings, {n_p:,} positions; rejected {s['rejected']}; flags {s['flags']}")
    print(f"RSS      : start {rss0:.1f} MiB, after 1 min {rss_1min or float('nan'):.1f} MiB, end {rss_end:.1f} MiB; "
          f"indexer process start {rss_ix0:.1f} MiB, end {rss_ix_end:.1f} MiB")
    ok = lost_r == 0 and lost_p == 0
    print("nothing lost" if ok else f"LOST: {lost_r} readings, {lost_p} positions")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
