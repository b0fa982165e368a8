"""Record raw MQTT traffic to a JSON Lines file and replay it at any speed, in order.

File format (``safetwin-mqtt-recording/1``): the first line is a header
``{"format": "safetwin-mqtt-recording/1", "filter": …, "started": <epoch s>}``; every further
line is one message ``{"t": <receive time, epoch s>, "topic": …, "qos": 0|1|2, "retain": bool,
"b64": <payload, base64>}`` (``"hex"`` instead of ``"b64"`` is accepted on reading). The
recorder subscribes with QoS 1 and MQTT 5 *retain as published*, so the retain flag of each
message is the one its publisher used and the QoS is the publisher's, capped at 1. (QoS 2 is
deliberately not requested: a QoS 2 delivery completes only after the PUBREL round trip, so
later QoS 0/1 messages would overtake it and the recorded order would no longer be the
broker's order; the ``pst/v1`` schema uses QoS ≤ 1 anyway.)

:func:`replay` publishes the messages from one client in file order; ``speed`` scales the
recorded gaps (2 = twice as fast), ``speed=0`` sends as fast as possible. QoS 1/2 messages are
waited for (PUBACK/PUBCOMP) before it returns.

Example (needs a broker)::

    rec = Recorder("127.0.0.1", 1883, "pst/v1/site1/#", "session.jsonl").start()
    ...
    rec.stop()
    replay("session.jsonl", "127.0.0.1", 1883, speed=10)
"""
from __future__ import annotations

import base64
import hashlib
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from safetwin.background import Worker

from .mqtt_client import BrokerEndpoint, mqtt_client, unique_client_id

FORMAT = "safetwin-mqtt-recording/1"


@dataclass(frozen=True, slots=True)
class Recorded:
    """One recorded message (``t``: receive time, s since the epoch)."""

    t: float
    topic: str
    payload: bytes
    qos: int
    retain: bool

    def to_json(self) -> str:
        return json.dumps({"t": round(self.t, 6), "topic": self.topic, "qos": self.qos, "retain": self.retain,
                           "b64": base64.b64encode(self.payload).decode("ascii")}, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> Recorded:
        d = json.loads(line)
        if "b64" in d:
            payload = base64.b64decode(d["b64"], validate=True)
        elif "hex" in d:
            payload = bytes.fromhex(d["hex"])
        else:
            raise ValueError("recorded message without 'b64' or 'hex' payload")
        return cls(float(d["t"]), str(d["topic"]), payload, int(d.get("qos", 0)), bool(d.get("retain", False)))


def read_recording(path: str | Path) -> Iterator[Recorded]:
    """The messages of a recording, in file order (the header line is checked and skipped)."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f):
            line = line.strip()
            if not line:
                continue
            if n == 0 and line.startswith('{"format"'):
                head = json.loads(line)
                if head.get("format") != FORMAT:
                    raise ValueError(f"{path}: unknown recording format {head.get('format')!r}")
                continue
            yield Recorded.from_json(line)


def checksum(messages: Iterator[Recorded] | list[Recorded], topic_map: Callable[[str], str] | None = None) -> tuple[int, str]:
    """(count, SHA-256 over topic, QoS, retain flag and payload of every message in order)."""
    h = hashlib.sha256()
    n = 0
    for m in messages:
        topic = topic_map(m.topic) if topic_map else m.topic
        h.update(topic.encode() + b"\0" + bytes([m.qos, int(m.retain)]) + len(m.payload).to_bytes(4, "big") + m.payload)
        n += 1
    return n, h.hexdigest()


class Recorder:
    """Subscribe to ``topic_filter`` and append every message to ``path`` (JSONL, see above).

    A writer thread drains a queue, so the network thread never waits on the disk; the file
    is flushed at least every ``flush_s`` seconds and on :meth:`stop`.
    """

    def __init__(self, host: str, port: int, topic_filter: str, path: str | Path, *,
                 username: str | None = None, password: str | None = None, tls_ca_file: str | None = None,
                 flush_s: float = 0.5) -> None:
        self.host, self.port = host, port
        self.topic_filter = topic_filter
        self.path = Path(path)
        self.flush_s = flush_s
        self.count = 0
        self._q: queue.Queue[Recorded | None] = queue.Queue()
        self._subscribed = threading.Event()
        c = mqtt_client(unique_client_id("safetwin-rec"), BrokerEndpoint(host, port, username, password, tls_ca_file))
        c.on_connect = self._on_connect
        c.on_subscribe = lambda *a: self._subscribed.set()
        c.on_message = self._on_message
        self.client = c
        self._file: TextIO | None = None
        self._writer = Worker("safetwin-recorder", self._write_loop, wake=lambda: self._q.put(None))

    def start(self, timeout_s: float = 10.0) -> Recorder:
        """Open the file, connect, subscribe; returns once the subscription is acknowledged."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w", encoding="utf-8")
        self._file.write(json.dumps({"format": FORMAT, "filter": self.topic_filter, "started": time.time()}) + "\n")
        self._writer.start()
        self.client.connect(self.host, self.port)
        self.client.loop_start()
        if not self._subscribed.wait(timeout_s):
            self.stop()
            raise ConnectionError(f"recorder: no SUBACK from {self.host}:{self.port} within {timeout_s} s")
        return self

    def stop(self) -> int:
        """Disconnect, write what is queued and close the file; returns the message count."""
        self.client.disconnect()
        self.client.loop_stop()
        self._writer.stop(timeout_s=30)
        return self.count

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        client.subscribe(self.topic_filter, options=SubscribeOptions(qos=1, retainAsPublished=True))

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self._q.put(Recorded(time.time(), msg.topic, bytes(msg.payload), msg.qos, bool(msg.retain)))

    def _write_loop(self) -> None:
        assert self._file is not None
        last_flush = time.monotonic()
        while True:
            try:
                item = self._q.get(timeout=self.flush_s)
            except queue.Empty:
                item = False  # type: ignore[assignment]
            if item is None:
                break
            if item:
                self._file.write(item.to_json() + "\n")  # type: ignore[union-attr]
                self.count += 1
            if time.monotonic() - last_flush >= self.flush_s:
                self._file.flush()
                last_flush = time.monotonic()
        self._file.flush()
        self._file.close()


def replay(path: str | Path, host: str, port: int, *, speed: float = 1.0,
           topic_map: Callable[[str], str] | None = None, username: str | None = None,
           password: str | None = None, tls_ca_file: str | None = None, wait_timeout_s: float = 60.0) -> int:
    """Publish a recording in file order. ``speed`` > 0 scales the recorded gaps (1 = real
    time), 0 = as fast as possible; ``topic_map`` may rewrite topics (e.g. another site).
    Returns the number of messages published (QoS 1/2 ones acknowledged by the broker)."""
    if speed < 0:
        raise ValueError("speed must be >= 0")
    c = mqtt_client(unique_client_id("safetwin-replay"), BrokerEndpoint(host, port, username, password, tls_ca_file),
                    max_inflight=1000, unlimited_queue=True)
    c.connect(host, port)
    c.loop_start()
    n = 0
    pending: list[mqtt.MQTTMessageInfo] = []
    try:
        t_first: float | None = None
        wall0 = time.monotonic()
        for m in read_recording(path):
            if t_first is None:
                t_first = m.t
            if speed > 0:
                delay = wall0 + (m.t - t_first) / speed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            topic = topic_map(m.topic) if topic_map else m.topic
            info = c.publish(topic, m.payload, qos=m.qos, retain=m.retain)
            if m.qos:
                pending.append(info)
                if len(pending) >= 5000:
                    pending = [i for i in pending if not i.is_published()]
            n += 1
        deadline = time.monotonic() + wait_timeout_s
        for i in pending:
            i.wait_for_publish(max(0.1, deadline - time.monotonic()))
            if not i.is_published():
                raise TimeoutError(f"replay: broker did not acknowledge all messages within {wait_timeout_s} s")
    finally:
        c.disconnect()
        c.loop_stop()
    return n


def site_rewriter(new_site: str) -> Callable[[str], str]:
    """A ``topic_map`` moving ``pst/v1/{any site}/…`` to ``pst/v1/{new_site}/…``."""
    def f(topic: str) -> str:
        parts = topic.split("/", 3)
        if len(parts) >= 3 and parts[0] == "pst" and parts[1] == "v1":
            parts[2] = new_site
            return "/".join(parts)
        return topic
    return f
