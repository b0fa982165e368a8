"""``python -m safetwin.live_bridge.cluster``: a NATS cluster for trying the bridge on one machine,
or one node's configuration for a real host (docs/cluster.md).

    python -m safetwin.live_bridge.cluster up --nodes 3 --dir var/cluster   # root; Ctrl-C stops it
    python -m safetwin.live_bridge.cluster render --name n0 --address 10.0.0.1 \\
        --peer 10.0.0.2 --peer 10.0.0.3 --store-dir /var/lib/safetwin-nats > n0.conf
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from .nats import NatsCluster, render_node_config
from .netns import NetnsLab


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m safetwin.live_bridge.cluster")
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start a cluster in network namespaces (root) until interrupted")
    up.add_argument("--nodes", type=int, default=3)
    up.add_argument("--dir", default="var/cluster", help="node configurations, JetStream data and logs")
    render = sub.add_parser("render", help="print one node's configuration")
    render.add_argument("--name", required=True)
    render.add_argument("--address", required=True)
    render.add_argument("--peer", action="append", default=[], help="another node's address (repeat)")
    render.add_argument("--store-dir", required=True)
    render.add_argument("--replicas", type=int, default=3)
    args = ap.parse_args(argv)
    if args.cmd == "render":
        sys.stdout.write(render_node_config(name=args.name, address=args.address, peers=args.peer,
                                            store_dir=args.store_dir, replicas=args.replicas))
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with NetnsLab(args.nodes) as lab, NatsCluster(lab, args.dir) as cluster:
        nodes = " ".join(f"{host}:{port}" for host, port in cluster.endpoints)
        print(f"MQTT nodes: {nodes}", flush=True)
        print(f"bridge: safetwin bridge run --host {cluster.endpoints[0][0]} " +
              " ".join(f"--fallback {h}:{p}" for h, p in cluster.endpoints[1:]), flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
