"""Live-bridge benchmark on our own mosquitto (shipped config, temp dir, free port).

(a) Throughput on the *same live traffic*, measured against a bare paho counter: a separate
    publisher **process** publishes N QoS 1 gateway batches of 50 readings as fast as it can
    (``--timestamps reading``, the default: every reading with its own source time, as gateways
    send; ``batch``: one time per batch)
    (paho without a network thread, ``loop(0)`` pumped every 64 messages). The identical stream
    (same topic, same count, same payload bytes: the publisher prints a SHA-256 over them) is
    consumed once by (1) a bare paho subscriber that only counts messages (auto-ack) and once
    by (2) the full LiveBridge (decode, validate, dedupe, TwinState, alarm rules, history made
    durable before each ack: appended to the ingest log and fdatasync'ed, group-committed).
    Each run is timed from the first message received to the last one received (bare) /
    acknowledged after its group commit (bridge). Prints readings/s for both and the ratio,
    the CPU time per message of each consumer process, and -- because the log indexer expands
    the durable log into the ``sensor_readings`` table behind the acks, in its own process at
    lower priority -- when every reading was visible in the history table, checked by count.
    ``--rounds`` (default 3) repeats the pair, each on a fresh broker, and prints the median ratio
    with every round's: on a shared 2-core machine one pair varies by ±25 %.
(b) Latency: single QoS 1 readings at a fixed rate (default 1 000 msg/s); every 10th toggles a
    gas detector across its HH level; latency = alarm transition seen on the twin's bus minus
    the reading's source time (stamped just before publish). Prints p50/p99.

    .venv/bin/python benchmarks/bench_bridge.py [--msgs 6000] [--rounds 3] [--rate 1000] [--seconds 10]
                                                [--timestamps reading|batch]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt

from safetwin.live_bridge.bridge import BridgeConfig, LiveBridge
from safetwin.live_bridge.broker import BRIDGE_USER, SIM_USER, EmbeddedBroker, free_port
from safetwin.live_bridge.mqtt_client import BrokerEndpoint, mqtt_client, unique_client_id
from safetwin.live_bridge.payloads import iso_ms
from safetwin.live_bridge.topics import Topics
from safetwin.plant_models.loader import bundled_plant_path, load_plant
from safetwin.twin.alarms import RuleConfig
from safetwin.twin.events import AlarmStateChanged

PER_MSG = 50
SITE = "bench"
GW = "gw-b"


# ---------------------------------------------------------------------------- the publisher process
def iso_us(ts_s: float) -> str:
    """RFC 3339 UTC with microseconds (what gateways stamping each reading send)."""
    return datetime.fromtimestamp(ts_s, timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def make_payloads(sensors: list[str], n_msgs: int, base_ts: float, seed: int, per_reading: bool = True) -> list[bytes]:
    """Deterministic gateway batches: every sensor near its normal value, well inside its
    alarm levels (below 40 % of the first level; oxygen around 20.9 %vol). ``per_reading``: each
    reading has its own time (50 us apart, as a gateway stamps what it samples); else one time
    per batch."""
    from safetwin.twin.alarms import rule_for_sensor
    plant = load_plant(bundled_plant_path("small_plant"))
    span: dict[str, tuple[float, float]] = {}
    for sid in sensors:
        rule = rule_for_sensor(plant.sensors[sid])
        if rule is not None and rule.direction < 0:
            span[sid] = (20.7, 21.0)
        elif rule is not None and rule.levels:
            span[sid] = (0.0, 0.4 * rule.levels[0][1])
        else:
            span[sid] = (0.0, 0.4 * plant.sensors[sid].range_max)
    rng = random.Random(seed)
    out = []
    for m in range(n_msgs):
        ts = iso_us(base_ts + m * 0.004)
        r = []
        for i in range(PER_MSG):
            sid = sensors[(m * PER_MSG + i) % len(sensors)]
            lo, hi = span[sid]
            r.append({"sid": sid, "ts": iso_us(base_ts + m * 0.004 + i * 5e-5) if per_reading else ts,
                      "v": round(rng.uniform(lo, hi), 3)})
        out.append(json.dumps({"gw": GW, "seq": m, "ts": ts, "r": r}, separators=(",", ":")).encode())
    return out


def publisher_main(port: int, n_msgs: int, base_ts: float, seed: int, per_reading: bool) -> None:
    """Run in a child process: publish the batches as fast as possible, then print a summary.
    Credentials (the simulated plant's user of the shipped config) come in the environment."""
    plant = load_plant(bundled_plant_path("small_plant"))
    sensors = sorted(s for s in plant.sensors if s != "MET-1")
    payloads = make_payloads(sensors, n_msgs, base_ts, seed, per_reading)
    topic = Topics(SITE).batch(GW)
    digest = hashlib.sha256()
    for p in payloads:
        digest.update(topic.encode() + b"\0" + p)
    ep = BrokerEndpoint("127.0.0.1", port, os.environ.get("BENCH_MQTT_USER"), os.environ.get("BENCH_MQTT_PASSWORD"))
    c = mqtt_client(unique_client_id("bench-pub"), ep, protocol=mqtt.MQTTv311, max_inflight=1000,
                    unlimited_queue=True)
    acked = [0]
    c.on_publish = lambda cl, u, mid, rc, props: acked.__setitem__(0, acked[0] + 1)
    c.connect("127.0.0.1", port)
    while not c.is_connected():
        c.loop(0.05)
    t0 = time.perf_counter()
    for k, p in enumerate(payloads):
        c.publish(topic, p, qos=1)
        if k % 64 == 63:
            c.loop(0)
    t_sent = time.perf_counter()
    deadline = time.monotonic() + 300
    while acked[0] < n_msgs and time.monotonic() < deadline:
        c.loop(0.01)
    t_acked = time.perf_counter()
    c.disconnect()
    print(json.dumps({"published": n_msgs, "acked": acked[0], "sha256": digest.hexdigest(),
                      "publish_s": t_sent - t0, "acked_s": t_acked - t0}), flush=True)


#: the broker of the current round (shipped configuration: authentication and ACLs on)
BROKER: EmbeddedBroker
PER_READING = True
RECEIPTS = True


def start_broker(port: int, data_dir: Path, site: str) -> EmbeddedBroker:
    global BROKER
    BROKER = EmbeddedBroker(port=port, data_dir=data_dir, site=site).start()
    return BROKER


def run_publisher(port: int, n_msgs: int, base_ts: float, seed: int) -> subprocess.Popen:
    env = dict(os.environ, BENCH_MQTT_USER=SIM_USER, BENCH_MQTT_PASSWORD=BROKER.credentials[SIM_USER])
    return subprocess.Popen([sys.executable, __file__, "--publisher", "--port", str(port), "--msgs", str(n_msgs),
                             "--base-ts", repr(base_ts), "--seed", str(seed),
                             "--timestamps", "reading" if PER_READING else "batch"],
                            stdout=subprocess.PIPE, text=True, env=env)


def finish_publisher(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate(timeout=600)
    return json.loads(out.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- consumers
def thread_cpu_ns() -> dict[str, int]:
    """CPU time (ns) used so far by each live thread of this process, by thread name
    (Linux ``/proc/self/task/<tid>/schedstat``; empty elsewhere)."""
    out: dict[str, int] = {}
    for t in threading.enumerate():
        try:
            with open(f"/proc/self/task/{t.native_id}/schedstat") as f:
                out[t.name] = out.get(t.name, 0) + int(f.read().split()[0])
        except (OSError, ValueError, TypeError):
            continue
    return out


def bare_run(port: int, n_msgs: int, base_ts: float, seed: int) -> tuple[float, dict]:
    """readings/s of a paho subscriber (MQTT 5, QoS 1, auto-ack) that only counts, live."""
    got = [0]
    first = [0.0]
    last = [0.0]
    cpu = [0.0, 0.0]
    done = threading.Event()

    def on_msg(c, u, m):
        now = time.perf_counter()
        if got[0] == 0:
            first[0] = now
            cpu[0] = time.process_time()
        got[0] += 1
        last[0] = now
        if got[0] >= n_msgs:
            cpu[1] = time.process_time()
            done.set()

    c = mqtt_client(unique_client_id("bench-bare"), BROKER.endpoint(BRIDGE_USER))
    c.on_message = on_msg
    c.connect("127.0.0.1", port)
    c.loop_start()
    c.subscribe(Topics(SITE).batch("+"), qos=1)
    time.sleep(0.5)
    pub = run_publisher(port, n_msgs, base_ts, seed)
    while not done.wait(0.5) and (pub.poll() is None or time.perf_counter() - max(last[0], first[0]) < 10):
        pass                                  # until all arrived, or the publisher ended and nothing came for 10 s
    info = finish_publisher(pub)
    c.disconnect()
    c.loop_stop()
    info["cpu_us_per_msg"] = (cpu[1] - cpu[0]) / max(1, got[0] - 1) * 1e6
    return got[0] * PER_MSG / (last[0] - first[0]), info


def bridge_run(port: int, plant, n_msgs: int, base_ts: float, seed: int, db: str) -> tuple[float, dict, dict]:
    """readings/s of the full LiveBridge on the same live stream: first message received →
    last message acknowledged (its history rows durable). Also times the history table:
    ``info['indexed_s']`` from the first message until all readings were counted there."""
    cfg = BridgeConfig(site=SITE, port=port, db_url=db, restore_timeout_s=0.5, username=BRIDGE_USER,
                       password=BROKER.credentials[BRIDGE_USER], receipts=RECEIPTS)
    b = LiveBridge(plant, cfg).start()
    first = [0.0]
    cpu0 = [0.0]
    threads0: dict[str, int] = {}
    inner = b.inbound.on_message_cb

    def timed(conn, msg):
        if first[0] == 0.0:
            first[0] = time.perf_counter()
            cpu0[0] = time.process_time()
        inner(conn, msg)

    b.inbound.on_message_cb = timed
    inner_burst = b.inbound.on_burst_cb

    def timed_burst(conn, msgs):
        if first[0] == 0.0:
            first[0] = time.perf_counter()
            cpu0[0] = time.process_time()
            threads0.update(thread_cpu_ns())
        inner_burst(conn, msgs)

    b.inbound.on_burst_cb = timed_burst
    time.sleep(0.5)
    pub = run_publisher(port, n_msgs, base_ts, seed)
    deadline = time.monotonic() + 600
    while b.acker.acked < n_msgs and time.monotonic() < deadline:
        time.sleep(0.002)
    t_end = time.perf_counter()
    cpu_us = (time.process_time() - cpu0[0]) / n_msgs * 1e6
    threads1 = thread_cpu_ns()
    info = finish_publisher(pub)
    info["cpu_us_per_msg"] = cpu_us
    info["thread_us_per_msg"] = {k: (v - threads0.get(k, 0)) / n_msgs / 1e3 for k, v in threads1.items()
                                 if v - threads0.get(k, 0) > 0}
    b.wait_indexed(600)
    info["indexed_s"] = time.perf_counter() - first[0]
    info["history_count"] = b.store.count_readings()
    stats = b.stats()
    stats["fast_path"] = b.rules.fast_path
    b.stop()
    return n_msgs * PER_MSG / (t_end - first[0]), stats, info


def latency(port: int, site: str, plant, rate: float, seconds: float, db: str) -> np.ndarray:
    topics = Topics(site)
    over = {"GD-01": RuleConfig((("HH", 50.0),), 1, period_s=5.0, range_min=0, range_max=100)}
    b = LiveBridge(plant, BridgeConfig(site=site, port=port, db_url=db, restore_timeout_s=0.5, rule_overrides=over,
                                       username=BRIDGE_USER, password=BROKER.credentials[BRIDGE_USER]))
    lat: list[float] = []
    b.state.bus.subscribe(AlarmStateChanged,
                          lambda e: lat.append(time.time() - e.ts) if e.alarm_id == "GD-01_LVL" else None)
    b.start()
    c = mqtt_client(unique_client_id("bench-lat"), BROKER.endpoint(SIM_USER))
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


def calibration() -> str:
    t0 = time.process_time()
    x = 0
    for i in range(1_000_000):
        x += i
    loop_ms = (time.process_time() - t0) * 1000
    return f"load average {os.getloadavg()[0]:.2f}, 1e6-iteration Python loop {loop_ms:.0f} ms CPU, {os.cpu_count()} cores"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--msgs", type=int, default=6000, help="gateway batches of 50 for (a)")
    ap.add_argument("--rate", type=float, default=1000.0, help="msg/s for (b)")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of (b)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--rounds", type=int, default=3,
                    help="interleaved bare/bridge rounds for (a); the median ratio is the figure")
    ap.add_argument("--only", choices=("both", "bridge"), default="both", help="bridge: skip the bare run (profiling)")
    ap.add_argument("--timestamps", choices=("reading", "batch"), default="reading",
                    help="one source time per reading (what gateways send) or one per batch")
    ap.add_argument("--no-receipts", action="store_true", help="the bridge publishes no receipts to gateways")
    ap.add_argument("--publisher", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--base-ts", type=float, default=0.0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.publisher:
        publisher_main(args.port, args.msgs, args.base_ts, args.seed, args.timestamps == "reading")
        return
    global PER_READING, RECEIPTS
    PER_READING = args.timestamps == "reading"
    RECEIPTS = not args.no_receipts
    plant = load_plant(bundled_plant_path("small_plant"))
    print("calibration:", calibration())
    # each round replays the same payloads to both consumers (source times included), stamped 30 s
    # before the round: with one time for the whole run, a round starting more than 270 s later
    # (a loaded machine) found its readings past IngestConfig.max_live_age_s -- history only, no
    # live state, no alarm evaluation -- and measured a lighter bridge
    base_ts = time.time() - 30.0
    n = args.msgs * PER_MSG
    with tempfile.TemporaryDirectory() as tmp:
        if args.only == "bridge":
            port = free_port()
            broker = start_broker(port, Path(tmp) / "mosq", SITE)
            try:
                full, stats, info_f = bridge_run(port, plant, args.msgs, base_ts, args.seed, f"sqlite:///{tmp}/a.db")
            finally:
                broker.stop()
            print(f"bridge only: {full:,.0f} readings/s; CPU {info_f['cpu_us_per_msg']:.0f} us/msg; threads "
                  f"{ {k: round(v, 1) for k, v in info_f['thread_us_per_msg'].items()} }")
            return
        print(f"(a) {args.msgs} batches x {PER_MSG} = {n} readings, one source time per {args.timestamps}, QoS 1, "
              f"receipts {'on' if RECEIPTS else 'off'}, "
              "shipped broker configuration (authentication, ACLs), live from a publisher process; "
              f"{args.rounds} rounds, each: a fresh broker, the bare counter, then the full LiveBridge")
        ratios, bares, fulls = [], [], []
        for r in range(args.rounds):
            port = free_port()
            broker = start_broker(port, Path(tmp) / f"mosq{r}", SITE)
            base_ts = time.time() - 30.0
            try:
                bare, info_b = bare_run(port, args.msgs, base_ts, args.seed)
                full, stats, info_f = bridge_run(port, plant, args.msgs, base_ts, args.seed, f"sqlite:///{tmp}/a{r}.db")
            finally:
                broker.stop()
            same = info_b["sha256"] == info_f["sha256"]
            ratios.append(full / bare)
            bares.append(bare)
            fulls.append(full)
            per = sorted(info_f["thread_us_per_msg"].items(), key=lambda kv: -kv[1])
            st = stats
            print(f"  round {r + 1}: identical streams {same} (sha256 {info_b['sha256'][:12]}…), load {os.getloadavg()[0]:.2f}")
            print(f"    publisher         : {n / info_b['acked_s']:10,.0f} / {n / info_f['acked_s']:,.0f} readings/s "
                  f"(bare run / bridge run, to last PUBACK)")
            print(f"    bare paho counter : {bare:10,.0f} readings/s")
            print(f"    full LiveBridge   : {full:10,.0f} readings/s  (history durable before each ack)")
            print(f"    ratio             : {full / bare:.2f}")
            print(f"    CPU per message   : bare {info_b['cpu_us_per_msg']:.0f} us, bridge {info_f['cpu_us_per_msg']:.0f} us "
                  f"(consumer process, all threads)")
            print(f"    history table     : {info_f['history_count']:,} of {n:,} readings counted "
                  f"{info_f['indexed_s']:.2f} s after the first message ({n / info_f['indexed_s']:,.0f} readings/s "
                  f"end to end, indexer process at nice 10)")
            print("    bridge threads    : " + ", ".join(f"{k} {v:.1f}" for k, v in per if v >= 0.5)
                  + " us/msg (main = this benchmark's wait loop)")
            print(f"    bridge stats      : log records={st['log']['durable']} syncs={st['log']['syncs']} "
                  f"rejected={st['rejected']} flags={st['flags']} alarm fast path={st['fast_path']} "
                  f"conflated={st['alarm_engine'].conflated}")
        print(f"  median over {args.rounds} rounds: bare {float(np.median(bares)):,.0f} readings/s, bridge "
              f"{float(np.median(fulls)):,.0f} readings/s, ratio {float(np.median(ratios)):.2f} "
              f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)})")
        if not args.skip_latency:
            port = free_port()
            broker = start_broker(port, Path(tmp) / "mosq-lat", "benchlat")
            try:
                lat = latency(port, "benchlat", plant, args.rate, args.seconds, f"sqlite:///{tmp}/b.db")
            finally:
                broker.stop()
            print(f"(b) {args.rate:.0f} msg/s for {args.seconds:.0f} s, {len(lat)} alarm transitions: "
                  f"p50 {np.percentile(lat, 50):.2f} ms, p99 {np.percentile(lat, 99):.2f} ms, max {lat.max():.2f} ms")


if __name__ == "__main__":
    main()
