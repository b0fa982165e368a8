"""A Sparkplug B edge node for the simulated plant and the tests: births, aliased data, seq and
bdSeq, rebirth on request, a new session on restart.

:class:`EdgeNode` publishes for one edge node and its devices (``metrics``: device id, or None
for the node itself → metric names). Each MQTT session (:meth:`start`, :meth:`restart`) has a
new ``bdSeq`` (0–255, in the NBIRTH and in the will, which the broker publishes as NDEATH when
the node is lost), publishes the NBIRTH (seq 0; ``bdSeq`` and ``Node Control/Rebirth``
metrics) and a DBIRTH per device, then DATA messages carrying aliases only, seq 1, 2, … 255, 0 …
Aliases are numbered anew in each session, as an edge node may. An NCMD
``Node Control/Rebirth = true`` makes it publish its births again (same bdSeq, seq from 0).
Births carry each metric's last value and time (so they repeat stored readings, never add new
ones) or ``is_null`` before the first value.

DATA is published at QoS 1 by default: with the bridge's persistent session the broker keeps
what the bridge has not acknowledged across the bridge's restarts (docs/mqtt-topics.md,
"Sparkplug B"); ``qos=0`` is the Sparkplug specification's choice and loses what is in flight.

Example (needs a broker)::

    node = EdgeNode(BrokerEndpoint(), "plant1", "edge-1", {"plc-1": ["Gas/GD-01"]}).start()
    node.publish("plc-1", [("Gas/GD-01", 3.5, time.time())])
    node.stop()
"""
from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import paho.mqtt.client as mqtt
import yaml

from ..connection import MqttConnection
from ..mqtt_client import BrokerEndpoint
from .host import NAMESPACE, REBIRTH_METRIC
from .proto import DataType, Payload, set_metric_value

log = logging.getLogger(__name__)


class EdgeNode:
    """See the module docstring. ``datatype`` of every metric (default Double); ``qos`` of DATA
    and births; ``bd_seq`` of the first session."""

    def __init__(self, endpoint: BrokerEndpoint, group: str, edge: str, metrics: dict[str | None, Sequence[str]], *,
                 datatype: DataType = DataType.Double, qos: int = 1, bd_seq: int = 0, keepalive_s: int = 10) -> None:
        self.endpoint, self.group, self.edge = endpoint, group, edge
        self.metrics = {dev: list(names) for dev, names in metrics.items()}
        self.datatype, self.qos, self.keepalive_s = datatype, qos, keepalive_s
        self.bd_seq = (bd_seq - 1) % 256      # incremented by each session
        self.seq = 0
        self.sessions = 0
        self.rebirths = 0
        self.published = 0
        self._aliases: dict[str | None, dict[str, int]] = {}
        self._last: dict[tuple[str | None, str], tuple[float, float]] = {}   # last (value, time s)
        self._lock = threading.RLock()
        self.conn: MqttConnection | None = None

    def topic(self, kind: str, device: str | None = None) -> str:
        return f"{NAMESPACE}/{self.group}/{kind}/{self.edge}" + (f"/{device}" if device is not None else "")

    # ---- sessions
    def start(self) -> EdgeNode:
        """Open a new session (bdSeq + 1) and publish the births."""
        with self._lock:
            self.bd_seq = (self.bd_seq + 1) % 256
            self.sessions += 1
            n = 0
            for dev, names in self.metrics.items():
                self._aliases[dev] = {name: 1000 * (self.sessions % 7) + 100 * n + i + 1 for i, name in enumerate(names)}
                n += 1
            death = Payload(timestamp=int(time.time() * 1000))
            death.metrics.add(name="bdSeq", datatype=DataType.Int64, long_value=self.bd_seq)
            self.conn = MqttConnection(f"spb-{self.group}-{self.edge}", self.endpoint.host, self.endpoint.port,
                                       username=self.endpoint.username, password=self.endpoint.password,
                                       tls_ca_file=str(self.endpoint.tls_ca_file) if self.endpoint.tls_ca_file else None,
                                       persistent=False, keepalive_s=self.keepalive_s,
                                       will=(self.topic("NDEATH"), death.SerializeToString()),
                                       subscriptions=[self.topic("NCMD"), f"{self.topic('DCMD')}/+"],
                                       on_message=self._on_command)
            self.conn.start()
            self._births()
        return self

    def restart(self, drain_s: float = 10.0) -> None:
        """End the session as a crash would (after the broker acknowledged what was published:
        the broker publishes the NDEATH will) and open a new one (new bdSeq, new aliases, births)."""
        with self._lock:
            old = self.conn
            if old is not None:
                deadline = time.monotonic() + drain_s
                while old.unacknowledged() and time.monotonic() < deadline:
                    time.sleep(0.01)
                old.kill()
            self.start()

    def stop(self) -> None:
        """Publish NDEATH and disconnect."""
        with self._lock:
            if self.conn is None:
                return
            death = Payload(timestamp=int(time.time() * 1000))
            death.metrics.add(name="bdSeq", datatype=DataType.Int64, long_value=self.bd_seq)
            self.conn.publish(self.topic("NDEATH"), death.SerializeToString(), qos=1)
            self.conn.stop()
            self.conn = None

    def unacknowledged(self) -> int:
        return self.conn.unacknowledged() if self.conn is not None else 0

    # ---- messages
    def _next_seq(self) -> int:
        s = self.seq
        self.seq = (self.seq + 1) % 256
        return s

    def _births(self) -> None:
        """NBIRTH (seq 0) then a DBIRTH per device, each metric with its last value (or null)."""
        self.seq = 0
        now_ms = int(time.time() * 1000)
        nb = Payload(timestamp=now_ms, seq=self._next_seq())
        nb.metrics.add(name="bdSeq", datatype=DataType.Int64, long_value=self.bd_seq)
        nb.metrics.add(name=REBIRTH_METRIC, datatype=DataType.Boolean, boolean_value=False)
        self._birth_metrics(nb, None)
        self._send(self.topic("NBIRTH"), nb)
        for dev in self.metrics:
            if dev is None:
                continue
            db = Payload(timestamp=now_ms, seq=self._next_seq())
            self._birth_metrics(db, dev)
            self._send(self.topic("DBIRTH", dev), db)

    def _birth_metrics(self, p: Payload, dev: str | None) -> None:
        for name in self.metrics.get(dev, ()):
            m = p.metrics.add(name=name, alias=self._aliases[dev][name], datatype=self.datatype)
            last = self._last.get((dev, name))
            if last is None:
                m.is_null = True
            else:
                m.timestamp = round(last[1] * 1000)
                set_metric_value(m, last[0])

    def publish(self, device: str | None, values: Iterable[tuple[str, float | None, float]]) -> None:
        """One NDATA (``device`` None) or DDATA with ``values`` (metric name, value or None for
        a bad reading, time s), by alias; a metric may appear several times (several times)."""
        with self._lock:
            aliases = self._aliases[device]
            p = Payload(timestamp=int(time.time() * 1000))
            for name, value, ts in values:
                m = p.metrics.add(alias=aliases[name], timestamp=round(ts * 1000))
                if value is None:
                    m.is_null = True
                elif self.datatype in (DataType.Float, DataType.Double):
                    setattr(m, "float_value" if self.datatype == DataType.Float else "double_value", float(value))
                else:
                    m.datatype = self.datatype
                    set_metric_value(m, value)
                    m.ClearField("datatype")
                last = self._last.get((device, name))
                if value is not None and (last is None or ts >= last[1]):
                    self._last[(device, name)] = (value, ts)
            p.seq = self._next_seq()
            self._send(self.topic("DDATA" if device is not None else "NDATA", device), p)

    def _send(self, topic: str, p: Payload) -> None:
        assert self.conn is not None
        self.conn.publish(topic, p.SerializeToString(), qos=self.qos)
        self.published += 1

    def _on_command(self, conn: MqttConnection, msg: mqtt.MQTTMessage) -> None:
        try:
            p = Payload.FromString(msg.payload)
        except Exception:
            log.warning("edge node %s: unreadable command on %s", self.edge, msg.topic)
            return
        if any(m.name == REBIRTH_METRIC and m.boolean_value for m in p.metrics):
            with self._lock:
                if conn is self.conn:
                    self.rebirths += 1
                    self._births()


def metric_name(sensor_id: str) -> str:
    """The metric name the simulated edge node gives a sensor's value."""
    return f"Sensors/{sensor_id}/value"


def map_sensors(plant_dir: str | Path, out_dir: str | Path, *, group: str, edge: str,
                devices: dict[str, Sequence[str]]) -> Path:
    """Copy the plant folder ``plant_dir`` to ``out_dir`` with the sensors of ``devices`` (device
    id → sensor ids) mapped to Sparkplug metrics of edge node ``edge`` in ``group``
    (:func:`metric_name`); returns ``out_dir``. For drills and tests: a real site writes the
    ``sparkplug`` entries into its ``plant.yaml``."""
    src, out = Path(plant_dir), Path(out_dir)
    shutil.copytree(src, out, dirs_exist_ok=True)
    doc = yaml.safe_load((src / "plant.yaml").read_text())
    where = {sid: dev for dev, sids in devices.items() for sid in sids}
    missing = set(where) - {s["id"] for s in doc.get("sensors", [])}
    if missing:
        raise ValueError(f"no such sensors in {src}: {sorted(missing)}")
    for s in doc["sensors"]:
        if s["id"] in where:
            s["sparkplug"] = {"group": group, "edge": edge, "device": where[s["id"]], "metric": metric_name(s["id"])}
    (out / "plant.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return out
