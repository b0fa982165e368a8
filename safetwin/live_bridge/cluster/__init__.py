"""A clustered MQTT broker for sites that cannot lose a machine (docs/cluster.md).

:mod:`.nats` renders the node configuration of a NATS JetStream cluster (the shipped
``nats-node.conf``) and runs such a cluster; :mod:`.netns` gives it several hosts on one machine
(network namespaces) for tests and benchmarks. ``python -m safetwin.live_bridge.cluster`` (or
``tools/cluster/start.sh``) starts a cluster in namespaces, or renders one node's configuration
for a real host.
"""
from .nats import NatsCluster, render_node_config
from .netns import NetnsError, NetnsLab, require_binaries

__all__ = ["NatsCluster", "NetnsError", "NetnsLab", "render_node_config", "require_binaries"]
