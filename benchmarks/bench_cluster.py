"""Clustered broker and bridge HA, the acceptance sizes (docs/cluster.md): a 3-node NATS JetStream
cluster in network namespaces (root), gateway batches of 50 readings at QoS 1.

1. node loss: the broker node the bridge and the gateway are on (``--kill-node 1``: the node of
   the bridge's live lane) is SIGKILLed mid-stream; a chlorine reading above high-high is
   published at the kill through another node. Figures:
   lost / duplicated readings in the history, seconds from the kill to the retained alarm record
   (QoS 1) and to the alarm on the bridge's live feed (``twin/live/alarm``, QoS 0) at observers on
   a third node (the alarm gap; budget 5 s), which JetStream Raft groups the killed node led.
2. bridge failover: `safetwin bridge run --ha` active and standby (lease in SQLite), the active
   SIGKILLed mid-stream. Figures: seconds from the kill to the standby's READY (budget 5 s),
   lost / duplicated readings.

    python benchmarks/bench_cluster.py [--batches 2000] [--rounds 3] [--no-failover] [--kill-node 0|1]
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile
import threading
import time
import uuid

from safetwin.live_bridge.bridge import BridgeConfig, LiveBridge
from safetwin.live_bridge.cluster import NatsCluster, NetnsLab
from safetwin.live_bridge.cluster.drills import AlarmProbe, BridgeProcess, GatewayStream, account
from safetwin.plant_models.loader import bundled_plant_path, load_plant
from safetwin.twin.events import AlarmStateChanged
from safetwin.twin.store import Store

GAS = ("GD-01", "GD-02", "GD-03")


def watch_election(cluster: NatsCluster, stream: str, dead: str, via: int, t_kill: list[float],
                   out: dict[str, float]) -> threading.Thread:
    """Poll node ``via`` until ``stream`` has a leader other than ``dead``; ``out['elected_s']``:
    seconds after the kill."""
    def run() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            leader = cluster.stream_leaders(via, timeout_s=0.5).get(stream)
            if t_kill and leader and leader != dead:
                out["elected_s"] = time.monotonic() - t_kill[0]
                return
            time.sleep(0.05)
    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th


def node_loss(cluster: NatsCluster, batches: int, tmp: str, kill: int = 0, live_records: bool = True) -> None:
    """One round; ``kill``: the node SIGKILLed (0: the bridge's and the gateway's node, 1: the
    node of the bridge's live lane); the probe publishes through, and the observers sit on, the
    other two nodes."""
    ep = cluster.endpoints
    a, b = [i for i in range(3) if i != kill]
    dead = f"n{kill}"
    site = "b" + uuid.uuid4().hex[:8]
    cfg = BridgeConfig(site=site, host=ep[0][0], port=ep[0][1], fallbacks=tuple(ep[1:]), keepalive_s=5,
                       db_url=f"sqlite:///{tmp}/nodeloss.db", restore_timeout_s=1.0)
    bridge = LiveBridge(load_plant(bundled_plant_path("small_plant")), cfg)
    raised: list[float] = []
    bridge.state.bus.subscribe(AlarmStateChanged, lambda e: raised.append(time.monotonic())
                               if e.alarm_id.startswith("CL-01") and not raised else None)
    bridge.start()
    bridge.publisher.live_records = live_records   # type: ignore[union-attr]
    stream = GatewayStream(site, ep, sensors=GAS, batches=batches, per_batch=50, rate_batches_s=200).start_stream()
    probe = AlarmProbe(site, [ep[b], ep[a]], [ep[a], ep[b]], sensor="CL-01", value=5.0).start()
    try:
        while stream.acked() < batches // 3:
            time.sleep(0.01)
        leaders = cluster.stream_leaders(a)
        led = sorted(name for name, node in leaders.items() if node == dead)
        t_kill: list[float] = []
        election: dict[str, float] = {}
        watcher = watch_election(cluster, "$MQTT_msgs", dead, a, t_kill, election) if "$MQTT_msgs" in led else None
        t_kill.append(time.monotonic())
        cluster.kill(kill)
        probe.fire()
        live_gap = probe.wait_live(60)
        gap0 = probe.wait_record_qos0(60)
        gap = probe.wait(60)
        if watcher is not None:
            watcher.join(60)
        t0 = time.monotonic()
        stream.wait_acked(600)
        bridge.wait_indexed(600)
        acc = account(bridge.store, stream, wait_s=600)
        print(f"node loss ({dead} killed; live record copies {'on' if live_records else 'off'}): "
              f"{acc.expected} readings, lost {acc.lost}, duplicated {acc.duplicated}, "
              f"exact {acc.exact}; "
              f"alarm {gap if gap is None else round(gap, 2)} s after the kill (budget 5 s, ratio "
              f"{'n/a' if gap is None else round(gap / 5.0, 2)}); bridge reconnects {bridge.inbound.disconnects}; "
              f"drain after the alarm {time.monotonic() - t0:.1f} s")
        print(f"  live alarm feed (QoS 0, twin/live/alarm): {'none' if live_gap is None else f'{live_gap:.2f} s'} "
              f"after the kill (budget 5 s); live lane messages used {bridge.lane_used}")
        print(f"  retained record at an observer subscribed at QoS 0: {'none' if gap0 is None else f'{gap0:.2f} s'}; "
              f"the bridge raised the alarm {raised[0] - t_kill[0] if raised else float('nan'):.2f} s after the kill; "
              f"outbound reconnects {bridge.out.disconnects}, publishes moved on {bridge.out.publish_stalls}, "
              f"alarm records re-published {bridge.publisher.republished}")
        streams = [n for n in led if "/" not in n]
        print(f"  Raft groups led by the killed node: streams {', '.join(streams) or 'none'}, consumers "
              f"{len(led) - len(streams)} of {sum('/' in n for n in leaders)}"
              + (f"; $MQTT_msgs (QoS 1 messages) had a new leader {election['elected_s']:.2f} s after the kill"
                 if "elected_s" in election else "")
              + f"; publishes moved on for want of a PUBACK: gateway {stream.conn.publish_stalls}, "
                f"probe {probe.publisher.publish_stalls}")
    finally:
        stream.close()
        probe.close()
        bridge.stop()
        cluster.start_node(kill)
        cluster.wait_ready([kill], timeout_s=180)


def failover(cluster: NatsCluster, batches: int, tmp: str) -> None:
    ep = cluster.endpoints
    site = "b" + uuid.uuid4().hex[:8]
    db = f"sqlite:///{tmp}/ha.db"
    plant = str(bundled_plant_path("small_plant"))
    first = BridgeProcess(plant=plant, site=site, endpoints=ep, db_url=db, log_path=f"{tmp}/a.log")
    first.wait_role("READY", timeout_s=180)
    second = BridgeProcess(plant=plant, site=site, endpoints=[ep[1], ep[2], ep[0]], db_url=db, log_path=f"{tmp}/b.log")
    stream = GatewayStream(site, [ep[1], ep[2], ep[0]], sensors=GAS, batches=batches, per_batch=50, rate_batches_s=200)
    try:
        second.wait_role("STANDBY", timeout_s=180)
        stream.start_stream()
        while stream.acked() < batches // 3:
            time.sleep(0.01)
        t_kill = time.monotonic()
        first.kill()
        t_ready = second.wait_role("READY", timeout_s=120)
        stream.wait_acked(600)
        with Store.open(db, migrate=False) as store:
            acc = account(store, stream, wait_s=600)
        took = t_ready - t_kill
        print(f"bridge failover: standby READY {took:.2f} s after the active's SIGKILL (lease 2.5 s; budget 5 s, "
              f"ratio {took / 5.0:.2f}); {acc.expected} readings, lost {acc.lost}, duplicated {acc.duplicated}, "
              f"exact {acc.exact}")
    finally:
        stream.close()
        first.stop()
        second.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=2000, help="gateway batches of 50 readings per run")
    ap.add_argument("--rounds", type=int, default=3, help="node-loss rounds")
    ap.add_argument("--no-failover", action="store_true", help="skip the bridge failover run")
    ap.add_argument("--kill-node", type=int, default=0, choices=(0, 1, 2, -1),
                    help="node killed in the node-loss rounds: 0 = the bridge's, 1 = its live lane's, 2 = the "
                         "third; -1 = each in turn (round r kills node r mod 3)")
    ap.add_argument("--no-live-records", action="store_true",
                    help="the bridge sends no live (QoS 0) copy of its alarm records (as before 2026-12-08)")
    ap.add_argument("--ab", action="store_true", help="odd rounds without the live copy of the alarm records")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores)")
    tmp = tempfile.mkdtemp(prefix="bench-cluster-")
    t0 = time.monotonic()
    with NetnsLab(3) as lab, NatsCluster(lab, f"{tmp}/nats") as cluster:
        print(f"3-node cluster answering MQTT after {time.monotonic() - t0:.1f} s")
        for r in range(args.rounds):
            node_loss(cluster, args.batches, tmp, r % 3 if args.kill_node < 0 else args.kill_node,
                      live_records=not (args.ab and r % 2) and not args.no_live_records)
        if not args.no_failover:
            failover(cluster, args.batches, tmp)
    print(f"load average {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
