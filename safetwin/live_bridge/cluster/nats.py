"""A NATS JetStream cluster as the plant's MQTT broker: node configuration and a runner.

Why NATS (measured on this machine, docs/cluster.md): a 3-node cluster answers MQTT within
about 3 s of its start (RabbitMQ 3.10: about 17 s), sessions, retained messages and QoS 1
messages are JetStream streams replicated on every node (RabbitMQ 3.10 keeps retained messages
on one node and never sends them to wildcard subscriptions, which the bridge's alarm restore
uses), and a QoS 1 PUBLISH is acknowledged only after the replicated stream stored it. Both
speak MQTT 3.1.1 only; the bridge falls back to it (``protocol="auto"``). NATS refuses a ``.``
in a topic, so Sparkplug B (``spBv1.0/...``) needs Mosquitto or another broker.

Example (root, the namespaces of :class:`~.netns.NetnsLab`)::

    with NetnsLab(3) as lab, NatsCluster(lab, tmp_path) as cluster:
        bridge = LiveBridge(plant, BridgeConfig(host=cluster.endpoints[0][0], port=1883,
                                                fallbacks=tuple(cluster.endpoints[1:])))
        ...
        cluster.kill(0)                      # SIGKILL a node mid-stream
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from string import Template

import paho.mqtt.client as mqtt

from ..mqtt_client import BrokerEndpoint, mqtt_client, unique_client_id
from .netns import NetnsLab, require_binaries

log = logging.getLogger(__name__)

TEMPLATE = Path(__file__).resolve().parent / "nats-node.conf"
CLIENT_PORT, CLUSTER_PORT, MONITOR_PORT, MQTT_PORT = 4222, 6222, 8222, 1883


def render_node_config(*, name: str, address: str, peers: list[str], store_dir: str | Path,
                       cluster_name: str = "safetwin", mqtt_port: int = MQTT_PORT, replicas: int = 3,
                       ack_wait_s: float = 2.0, max_ack_pending: int = 5000) -> str:
    """The configuration of one node: ``address`` is where it listens, ``peers`` the addresses
    of the other nodes (their cluster port 6222), ``ack_wait_s`` the redelivery time (s) of
    unacknowledged QoS 1 messages."""
    if not 1 <= replicas <= 5:
        raise ValueError("stream replicas: 1 to 5")
    routes = ", ".join(f"nats://{p}:{CLUSTER_PORT}" for p in peers)
    return Template(TEMPLATE.read_text()).substitute(
        name=name, address=address, client_port=CLIENT_PORT, monitor_port=MONITOR_PORT,
        store_dir=str(store_dir), cluster_name=cluster_name, cluster_port=CLUSTER_PORT, routes=routes,
        mqtt_port=mqtt_port, replicas=replicas, ack_wait=f"{ack_wait_s:g}s", max_ack_pending=max_ack_pending)


class NatsCluster:
    """One ``nats-server`` per host of ``lab``; see the module docstring. ``start`` raises
    :class:`~.netns.NetnsError` when ``nats-server`` is not installed and ``TimeoutError`` when
    the cluster does not answer MQTT in time; logs are ``{data_dir}/n{i}.log``."""

    def __init__(self, lab: NetnsLab, data_dir: str | Path, *, ack_wait_s: float = 2.0,
                 max_ack_pending: int = 5000) -> None:
        self.lab = lab
        self.data_dir = Path(data_dir)
        self.ack_wait_s = ack_wait_s
        self.max_ack_pending = max_ack_pending
        self.binary = require_binaries("nats-server")["nats-server"]
        self.procs: list[subprocess.Popen | None] = [None] * lab.n

    @property
    def endpoints(self) -> list[tuple[str, int]]:
        """``(address, MQTT port)`` of every node, in node order."""
        return [(a, MQTT_PORT) for a in self.lab.addresses]

    def start(self, timeout_s: float = 60.0) -> NatsCluster:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            for i in range(self.lab.n):
                self._write_config(i)
                self.start_node(i)
            self.wait_ready(timeout_s=timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _write_config(self, i: int) -> Path:
        addresses = self.lab.addresses
        conf = render_node_config(name=f"n{i}", address=addresses[i],
                                  peers=[a for j, a in enumerate(addresses) if j != i],
                                  store_dir=self.data_dir / f"n{i}", replicas=min(3, self.lab.n),
                                  ack_wait_s=self.ack_wait_s, max_ack_pending=self.max_ack_pending)
        path = self.data_dir / f"n{i}.conf"
        path.write_text(conf)
        return path

    def start_node(self, i: int) -> None:
        """Start (or restart) node ``i`` with its configuration and stored state."""
        log_file = open(self.data_dir / f"n{i}.log", "ab")
        try:
            self.procs[i] = self.lab.popen(i, [self.binary, "-c", str(self.data_dir / f"n{i}.conf")],
                                           stdout=log_file, stderr=subprocess.STDOUT)
        finally:
            log_file.close()

    def wait_ready(self, nodes: list[int] | None = None, timeout_s: float = 60.0) -> None:
        """Block until every node in ``nodes`` (default: all running) accepts an MQTT session,
        which needs the JetStream cluster to have placed the MQTT streams."""
        deadline = time.monotonic() + timeout_s
        todo = [i for i in (nodes if nodes is not None else range(self.lab.n)) if self.procs[i] is not None]
        while todo:
            i = todo[0]
            proc = self.procs[i]
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"nats-server n{i} exited with {proc.returncode}; see {self.data_dir}/n{i}.log")
            if _mqtt_session_ok(*self.endpoints[i], timeout_s=max(0.5, min(5.0, deadline - time.monotonic()))):
                todo.pop(0)
                continue
            if time.monotonic() > deadline:
                raise TimeoutError(f"NATS node n{i} does not accept MQTT sessions after {timeout_s} s")
            time.sleep(0.2)

    def stream_leaders(self, via: int, timeout_s: float = 2.0) -> dict[str, str]:
        """Stream name (and ``stream/consumer`` name) → server name of its current leader, as
        node ``via`` sees it (the monitoring endpoint ``/jsz``); those without a leader are
        missing. The MQTT layer's streams are ``$MQTT_msgs`` (QoS 1 messages), ``$MQTT_rmsgs``
        (retained) and ``$MQTT_sess``; each QoS 1 subscription of a session is a consumer of
        ``$MQTT_msgs``. Every one of them is a Raft group: its leader's loss stops it until the
        others elect a new one."""
        url = f"http://{self.lab.addresses[via]}:{MONITOR_PORT}/jsz?accounts=true&streams=true&consumers=true"
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as resp:
                doc = json.load(resp)
        except (OSError, ValueError):
            return {}
        out: dict[str, str] = {}
        for acc in doc.get("account_details") or []:
            for st in acc.get("stream_detail") or []:
                leader = (st.get("cluster") or {}).get("leader")
                if leader:
                    out[st.get("name", "?")] = leader
                for con in st.get("consumer_detail") or []:
                    leader = (con.get("cluster") or {}).get("leader")
                    if leader:
                        out[f"{st.get('name', '?')}/{con.get('name', '?')}"] = leader
        return out

    def kill(self, i: int) -> None:
        """SIGKILL node ``i`` (a crashed machine; its stored state stays for a restart)."""
        proc = self.procs[i]
        if proc is not None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            self.procs[i] = None

    def stop(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL after 10 s) and anything left in the lab's
        namespaces."""
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for i, proc in enumerate(self.procs):
            if proc is not None:
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
            self.procs[i] = None
        for ns in self.lab.namespaces:
            out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, check=False).stdout
            for pid in out.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _mqtt_session_ok(host: str, port: int, *, timeout_s: float) -> bool:
    """True when an MQTT 3.1.1 client with a persistent session gets a successful CONNACK."""
    done = threading.Event()
    ok: list[bool] = []

    def on_connect(client: mqtt.Client, userdata: object, flags: object, rc: mqtt.ReasonCode,
                   props: object) -> None:
        ok.append(not rc.is_failure)
        done.set()

    client = mqtt_client(unique_client_id("safetwin-probe"), BrokerEndpoint(host, port), protocol=mqtt.MQTTv311,
                         clean_session=True)
    client.on_connect = on_connect
    try:
        client.connect(host, port, keepalive=10)
    except OSError:
        return False
    client.loop_start()
    try:
        done.wait(timeout_s)
    finally:
        client.disconnect()
        client.loop_stop()
    return bool(ok and ok[0])
