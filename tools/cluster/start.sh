#!/usr/bin/env bash
# Start a 3-node NATS JetStream cluster (the clustered MQTT broker of docs/cluster.md) in network
# namespaces on this machine, print its MQTT endpoints and run until Ctrl-C, then remove the
# nodes and namespaces again. Needs root, iproute2 and nats-server (tools/ensure_services.sh cluster).
#   tools/cluster/start.sh [--nodes 3] [--dir var/cluster]
# For real hosts, render each node's configuration instead:
#   python -m safetwin.live_bridge.cluster render --name n0 --address A --peer B --peer C --store-dir DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
exec "$PY" -m safetwin.live_bridge.cluster up "$@"
