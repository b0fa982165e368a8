"""The twin as a Sparkplug B host application: births, aliases, seq and bdSeq, rebirth requests.

:class:`SparkplugHost` turns one Sparkplug message (``spBv1.0/{group}/{type}/{edge}[/{device}]``,
protobuf payload, :mod:`.proto`) into readings of the plant's sensors: a sensor names the metric
that carries its value in the plant file (``sensors[].sparkplug``: group, edge node, device,
metric name). The rules (Sparkplug 3.0, host application):

* **Births.** NBIRTH declares the node's metrics (name, alias, datatype, current value) and its
  ``bdSeq``; DBIRTH the same for a device behind it. A new NBIRTH forgets the node's devices.
  Aliases are remembered per node and device; DATA messages carry aliases only. Every birth is
  handed to ``on_birth`` (the bridge keeps them in the store, so a restarted bridge decodes what
  the broker kept for it) before the message is acknowledged.
* **seq** counts every message of a node (0–255, wrapping; NBIRTH restarts it). A message whose
  seq is not the previous one + 1 is still used (history is keyed by the metric's time) but is a
  gap (flag ``spb_seq_gap``) and the node is asked to **rebirth**: an NCMD
  ``Node Control/Rebirth = true`` on ``spBv1.0/{group}/NCMD/{edge}``, at most once per
  ``rebirth_interval_s`` per node. DATA or DBIRTH from a node without a birth (``no_birth``)
  and an alias the birth did not declare (``unknown_alias``) are rejected and ask for a rebirth too.
* **bdSeq.** NDEATH carries the ``bdSeq`` of the session it ends: it takes the node (and its
  devices) offline only when it matches the current birth's -- data until its next NBIRTH is
  ``no_birth`` --; a late death of an older session is ignored (flag ``spb_stale_death``).
* **Metrics → readings.** A metric's time is its own ``timestamp`` or the payload's (ms since the
  epoch); ``is_historical`` keeps it out of the live state; ``is_null`` is a reading without value
  (quality bad); the property ``Quality`` (192 good, 0 bad, 500 stale) gives the quality.
  Integers, floats, doubles and booleans (1/0) are read; a mapped metric of another type is
  rejected (``not_numeric``). Metrics no sensor maps are counted (flag ``spb_unmapped``).
  History rows of a metric have the source ``spb:{edge}[/{device}]`` and as seq the CRC-32 of
  ``{group}/{metric}``: with the metric's time in the key, a message the broker delivers again
  is the same row.

Messages the bridge itself sends (NCMD, DCMD, STATE) are ignored; a malformed topic or payload
raises :class:`SparkplugError` (reason, located detail).

Example::

    >>> host = SparkplugHost({("g1", "edge1", "plc1", "Gas/GD-01"): "GD-01"}, host_id="twin")
    >>> birth = Payload(timestamp=1_700_000_000_000, seq=0)
    >>> _ = birth.metrics.add(name="bdSeq", datatype=DataType.Int64, long_value=4)
    >>> _ = host.handle("spBv1.0/g1/NBIRTH/edge1", birth.SerializeToString(), 1.7e9)
    >>> dbirth = Payload(timestamp=1_700_000_000_000, seq=1)
    >>> m = dbirth.metrics.add(name="Gas/GD-01", alias=11, datatype=DataType.Float, float_value=2.5)
    >>> host.handle("spBv1.0/g1/DBIRTH/edge1/plc1", dbirth.SerializeToString(), 1.7e9).readings[0].value
    2.5
    >>> data = Payload(timestamp=1_700_000_001_000, seq=2)
    >>> _ = data.metrics.add(alias=11, float_value=7.0)
    >>> r = host.handle("spBv1.0/g1/DDATA/edge1/plc1", data.SerializeToString(), 1.7e9).readings[0]
    >>> r.sensor, r.value, r.ts, r.source
    ('GD-01', 7.0, 1700000001.0, 'spb:edge1/plc1')
"""
from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError

from .proto import DataType, Payload, metric_value

log = logging.getLogger(__name__)

NAMESPACE = "spBv1.0"
NODE_TYPES = frozenset({"NBIRTH", "NDATA", "NDEATH", "NCMD"})
DEVICE_TYPES = frozenset({"DBIRTH", "DDATA", "DDEATH", "DCMD"})
#: Sparkplug metric quality codes (property ``Quality``) → the payload quality words of the JSON topics
QUALITY = {192: "good", 0: "bad", 500: "stale"}
REBIRTH_METRIC = "Node Control/Rebirth"

#: key of a mapped metric: (group, edge node, device or None, metric name)
MetricKey = tuple[str, str, str | None, str]
#: alias → (metric name, datatype)
Aliases = dict[int, tuple[str, int]]


class SparkplugError(Exception):
    """A Sparkplug message the host refuses: ``reason`` (a reject counter) and ``detail``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass(frozen=True, slots=True)
class SpbTopic:
    """The parts of a Sparkplug topic."""

    group: str
    kind: str
    edge: str
    device: str | None


def parse_topic(topic: str) -> SpbTopic:
    """Split ``spBv1.0/{group}/{type}/{edge}[/{device}]``; raises :class:`SparkplugError`
    (``unknown_topic``) for anything else.

    >>> parse_topic("spBv1.0/g1/DDATA/edge1/plc1")
    SpbTopic(group='g1', kind='DDATA', edge='edge1', device='plc1')
    """
    parts = topic.split("/")
    if parts[0] != NAMESPACE or len(parts) not in (4, 5) or not all(parts):
        raise SparkplugError("unknown_topic", f"not spBv1.0/{{group}}/{{type}}/{{edge}}[/{{device}}]: {topic[:200]!r}")
    kind = parts[2]
    if len(parts) == 4 and kind not in NODE_TYPES:
        raise SparkplugError("unknown_topic", f"{kind!r} is not a node message type (or needs a device id)")
    if len(parts) == 5 and kind not in DEVICE_TYPES:
        raise SparkplugError("unknown_topic", f"{kind!r} is not a device message type")
    return SpbTopic(parts[1], kind, parts[3], parts[4] if len(parts) == 5 else None)


@dataclass(slots=True)
class MetricReading:
    """One mapped metric of a message: ``index`` in the payload's metrics, value (None: null),
    source time ``ts`` (s), payload quality word, history source and seq."""

    index: int
    name: str
    sensor: str
    value: float | None
    ts: float
    quality: str
    historical: bool
    source: str
    seq: int


@dataclass(slots=True)
class HostResult:
    """What one message gave: readings of mapped metrics and metric-level rejections
    (index, reason, detail)."""

    kind: str
    readings: list[MetricReading] = field(default_factory=list)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass(slots=True)
class _Node:
    bd_seq: int
    aliases: Aliases
    devices: dict[str, Aliases] = field(default_factory=dict)
    online: bool = True
    #: seq of the last message (None: unknown, e.g. after the bridge restarted)
    seq: int | None = None
    last_rebirth: float = -1e18


def metric_seq(group: str, metric: str) -> int:
    """The history seq of a metric's rows: CRC-32 of ``{group}/{metric}`` (stable across births)."""
    return zlib.crc32(f"{group}/{metric}".encode())


def rebirth_request(now: float) -> bytes:
    """The NCMD payload asking an edge node to publish its births again."""
    p = Payload(timestamp=int(now * 1000))
    p.metrics.add(name=REBIRTH_METRIC, datatype=DataType.Boolean, boolean_value=True)
    return p.SerializeToString()


def state_payload(online: bool, timestamp_ms: int) -> bytes:
    """The host's STATE message (JSON, retained): ``{"online": …, "timestamp": ms}``."""
    return json.dumps({"online": online, "timestamp": timestamp_ms}).encode()


class SparkplugHost:
    """See the module docstring. ``mapping``: metric key → sensor id. ``send(topic, payload)``
    publishes a rebirth request (QoS 0); ``on_birth(group, edge, device, bd_seq, aliases)`` keeps a
    birth (``device`` None: a node birth, which also drops the node's device births);
    ``flag(name)`` counts accepted-but-noteworthy events."""

    def __init__(self, mapping: dict[MetricKey, str], *, host_id: str,
                 send: Callable[[str, bytes], None] | None = None,
                 on_birth: Callable[[str, str, str | None, int, Aliases], None] | None = None,
                 flag: Callable[[str], None] | None = None, rebirth_interval_s: float = 2.0) -> None:
        self.mapping = mapping
        self.host_id = host_id
        self.send = send
        self.on_birth = on_birth
        self.flag = flag or (lambda name: None)
        self.rebirth_interval_s = rebirth_interval_s
        self.groups = sorted({k[0] for k in mapping})
        self._nodes: dict[tuple[str, str], _Node] = {}
        #: when a rebirth was last asked of a node not (yet) born
        self._no_birth_rebirth: dict[tuple[str, str], float] = {}
        #: rebirth requests sent, per (group, edge)
        self.rebirths_requested: dict[tuple[str, str], int] = {}

    # ---- topics
    def subscriptions(self) -> list[str]:
        """The topic filters of the mapped groups."""
        return [f"{NAMESPACE}/{g}/#" for g in self.groups]

    def state_topic(self) -> str:
        return f"{NAMESPACE}/STATE/{self.host_id}"

    # ---- births kept across restarts
    def load_births(self, births: list[tuple[str, str, str | None, int, Aliases]]) -> None:
        """Take the births kept by ``on_birth`` (node births before their devices' births): the
        aliases of the sessions that were current when the previous run stopped. The seq is
        unknown until the next message."""
        for group, edge, device, bd_seq, aliases in births:
            if device is None:
                self._nodes[(group, edge)] = _Node(bd_seq, dict(aliases))
        for group, edge, device, _bd, aliases in births:
            node = self._nodes.get((group, edge))
            if device is not None and node is not None:
                node.devices[device] = dict(aliases)

    def node(self, group: str, edge: str) -> _Node | None:
        return self._nodes.get((group, edge))

    # ---- messages
    def handle(self, topic: str, payload: bytes, now: float) -> HostResult:
        """Decode one message and update the host state; see the module docstring."""
        t = parse_topic(topic)
        if t.kind in ("NCMD", "DCMD"):
            return HostResult(t.kind)
        try:
            p = Payload.FromString(payload)
        except DecodeError as exc:
            raise SparkplugError("malformed_protobuf", f"not a Sparkplug B payload: {exc}") from None
        key = (t.group, t.edge)
        node = self._nodes.get(key)
        if t.kind == "NDEATH":
            return self._death(t, p, node)
        if not p.HasField("seq"):
            raise SparkplugError("invalid_field", f"{t.kind} without seq")
        if p.seq > 255:
            raise SparkplugError("invalid_field", f"seq {p.seq} outside 0-255")
        if t.kind == "NBIRTH":
            bd = self._bd_seq(p)
            aliases = self._aliases(p)
            self._nodes[key] = node = _Node(bd, aliases, seq=p.seq)
            self._keep(t.group, t.edge, None, bd, aliases)
            return self._readings(t, p, aliases, now, birth=True)
        if node is None:
            self._rebirth(t, None, now, "no birth")
            raise SparkplugError("no_birth", f"{t.kind} from edge node {t.group}/{t.edge} before its NBIRTH")
        if not node.online:
            self._rebirth(t, node, now, "data after its death")
            raise SparkplugError("no_birth", f"{t.kind} from edge node {t.group}/{t.edge} after its NDEATH "
                                             f"(bdSeq {node.bd_seq}) without a new NBIRTH")
        self._check_seq(t, node, p.seq, now)
        if t.kind == "DDEATH":
            node.devices.pop(t.device, None)   # type: ignore[arg-type]
            self.flag("spb_device_death")
            return HostResult(t.kind)
        if t.kind == "DBIRTH":
            aliases = self._aliases(p)
            node.devices[t.device] = aliases    # type: ignore[index]
            self._keep(t.group, t.edge, t.device, node.bd_seq, aliases)
            return self._readings(t, p, aliases, now, birth=True)
        if t.kind == "DDATA":
            dev = node.devices.get(t.device)    # type: ignore[arg-type]
            if dev is None:
                self._rebirth(t, node, now, f"device {t.device} without DBIRTH")
                raise SparkplugError("no_birth", f"DDATA from device {t.group}/{t.edge}/{t.device} before its DBIRTH")
            return self._readings(t, p, dev, now, node=node)
        return self._readings(t, p, node.aliases, now, node=node)   # NDATA

    def _death(self, t: SpbTopic, p: Any, node: _Node | None) -> HostResult:
        bd = self._bd_seq(p)
        if node is None or node.bd_seq != bd:
            self.flag("spb_stale_death")
            return HostResult(t.kind)
        node.online = False
        node.devices.clear()
        self.flag("spb_node_death")
        return HostResult(t.kind)

    def _bd_seq(self, p: Any) -> int:
        for m in p.metrics:
            if m.name == "bdSeq":
                try:
                    v = metric_value(m)
                except ValueError as exc:
                    raise SparkplugError("invalid_field", f"bdSeq: {exc}") from None
                if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 255:
                    raise SparkplugError("invalid_field", f"bdSeq {v!r} is not an integer 0-255")
                return v
        raise SparkplugError("invalid_field", "no bdSeq metric")

    def _aliases(self, p: Any) -> Aliases:
        out: Aliases = {}
        for m in p.metrics:
            if m.name and m.HasField("alias"):
                out[m.alias] = (m.name, m.datatype)
        return out

    def _keep(self, group: str, edge: str, device: str | None, bd: int, aliases: Aliases) -> None:
        if self.on_birth is not None:
            self.on_birth(group, edge, device, bd, aliases)

    def _check_seq(self, t: SpbTopic, node: _Node, seq: int, now: float) -> None:
        expected = None if node.seq is None else (node.seq + 1) % 256
        node.seq = seq
        if expected is not None and seq != expected:
            self.flag("spb_seq_gap")
            self._rebirth(t, node, now, f"seq {seq}, expected {expected}")

    def _rebirth(self, t: SpbTopic, node: _Node | None, now: float, why: str) -> None:
        key = (t.group, t.edge)
        last = node.last_rebirth if node is not None else self._no_birth_rebirth.get(key, -1e18)
        if now - last < self.rebirth_interval_s:
            return
        if node is not None:
            node.last_rebirth = now
        else:
            self._no_birth_rebirth[key] = now
        self.rebirths_requested[key] = self.rebirths_requested.get(key, 0) + 1
        log.info("Sparkplug: asking %s/%s to rebirth (%s)", t.group, t.edge, why)
        if self.send is not None:
            try:
                self.send(f"{NAMESPACE}/{t.group}/NCMD/{t.edge}", rebirth_request(now))
            except Exception:
                log.exception("sending a rebirth request failed")

    def _readings(self, t: SpbTopic, p: Any, aliases: Aliases, now: float, *, birth: bool = False,
                  node: _Node | None = None) -> HostResult:
        res = HostResult(t.kind)
        source = f"spb:{t.edge}" + (f"/{t.device}" if t.device is not None else "")
        payload_ts = p.timestamp if p.HasField("timestamp") else None
        unknown = False
        for i, m in enumerate(p.metrics):
            if m.name:
                name = m.name
                datatype = m.datatype or next((d for n, d in aliases.values() if n == name), 0)
            elif m.HasField("alias") and m.alias in aliases:
                name, datatype = aliases[m.alias]
            else:
                unknown = True
                res.rejected.append((i, "unknown_alias", f"metrics[{i}]: alias {m.alias} not declared by the birth"
                                     if m.HasField("alias") else f"metrics[{i}]: neither name nor alias"))
                continue
            sensor = self.mapping.get((t.group, t.edge, t.device, name))
            if sensor is None:
                if name not in ("bdSeq", REBIRTH_METRIC):
                    self.flag("spb_unmapped")
                continue
            if birth and m.is_null:
                continue                      # a birth declaring a metric without a current value
            ts_ms = m.timestamp if m.HasField("timestamp") else payload_ts
            if ts_ms is None:
                res.rejected.append((i, "bad_timestamp", f"metrics[{i}] {name!r}: no timestamp (metric or payload)"))
                continue
            try:
                v = metric_value(m, datatype)
            except ValueError as exc:
                res.rejected.append((i, "invalid_field", f"metrics[{i}] {name!r}: {exc}"))
                continue
            if isinstance(v, str):
                res.rejected.append((i, "not_numeric", f"metrics[{i}] {name!r}: a {DataType(datatype).name} "
                                                       f"metric cannot be the value of sensor {sensor}"))
                continue
            quality = "bad" if v is None else _quality(m)
            res.readings.append(MetricReading(i, name, sensor, None if v is None else float(v), ts_ms / 1000.0,
                                              quality, bool(m.is_historical), source, metric_seq(t.group, name)))
        if unknown:
            self._rebirth(t, node, now, "unknown alias")
        return res


def _quality(m: Any) -> str:
    """The payload quality word of a metric's ``Quality`` property (good when absent)."""
    if not m.HasField("properties"):
        return "good"
    props = m.properties
    for k, pv in zip(props.keys, props.values):
        if k == "Quality":
            code = pv.int_value if pv.WhichOneof("value") == "int_value" else pv.long_value
            return QUALITY.get(code, "uncertain")
    return "good"
