"""Failover drills: a known stream of readings through a broker cluster and the bridge while a
broker node or the active bridge is killed, then every reading accounted for in the history.

Used by the cluster tests (short) and ``benchmarks/bench_cluster.py`` (the acceptance sizes);
an operator can run the same drill against a site's own cluster before going live.

* :class:`GatewayStream` publishes ``batches`` gateway batches of ``per_batch`` readings (QoS 1,
  persistent session, following the cluster through node loss) with values that identify them,
  below every alarm level of the sensors used.
* :func:`account` counts the stream's rows in the history: stored, distinct ``(source, seq)``
  keys, and checksums of values and sequence numbers against what was published.
* :class:`AlarmProbe` publishes one reading above a sensor's high-high level and times until the
  bridge's retained alarm for it arrives at an observer on another node.
* :class:`BridgeProcess` runs ``safetwin bridge run --ha`` as a child process (active or standby).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from sqlalchemy import func, select

from safetwin.twin.store import Store
from safetwin.twin.store.store import READINGS

from ..connection import MqttConnection
from ..payloads import MAX_BATCH, iso_ms
from ..topics import Topics

Endpoint = tuple[str, int]


def drill_value(k: int) -> float:
    """The value of the stream's ``k``-th reading: exact in binary floating point, 0–9.75
    (below the 10 %LEL warning level of the small plant's gas detectors)."""
    return (k % 40) / 4.0


class GatewayStream(threading.Thread):
    """Publishes the drill's readings from gateway ``gw`` (see the module docstring) at up to
    ``rate_batches_s`` batches per second over the nodes ``endpoints`` (first one first)."""

    def __init__(self, site: str, endpoints: list[Endpoint], *, sensors: tuple[str, ...], batches: int,
                 per_batch: int = 50, rate_batches_s: float = 500.0, gw: str | None = None) -> None:
        super().__init__(daemon=True, name="drill-gateway")
        if per_batch > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} readings per batch")
        self.site, self.sensors, self.batches, self.per_batch = site, sensors, batches, per_batch
        self.rate_batches_s = rate_batches_s
        self.gw = gw or "gw-drill-" + uuid.uuid4().hex[:6]
        self.topic = Topics(site).batch(self.gw)
        self.conn = MqttConnection(self.gw, *endpoints[0], fallbacks=endpoints[1:], keepalive_s=5)
        self.sent = 0
        self.t0 = time.time()

    def run(self) -> None:
        start = time.monotonic()
        for m in range(self.batches):
            ts = iso_ms(self.t0 + m * 0.001)
            base = m * self.per_batch
            r = [{"sid": self.sensors[(base + i) % len(self.sensors)], "ts": ts, "v": drill_value(base + i)}
                 for i in range(self.per_batch)]
            body = json.dumps({"gw": self.gw, "seq": m, "ts": ts, "r": r}).encode()
            self.conn.publish(self.topic, body, qos=1)
            self.sent = m + 1
            ahead = (m + 1) / self.rate_batches_s - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)

    def start_stream(self) -> GatewayStream:
        self.conn.start()
        self.start()
        return self

    def acked(self) -> int:
        """Batches whose PUBACK arrived (the broker took responsibility for them)."""
        return self.sent - self.conn.unacknowledged()

    def wait_acked(self, timeout_s: float) -> bool:
        """Block until every batch was sent and acknowledged by the broker."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.sent == self.batches and self.acked() == self.batches:
                return True
            time.sleep(0.1)
        return False

    def close(self) -> None:
        self.conn.stop(drain_s=1.0)

    def expected(self) -> tuple[int, float, int]:
        """(readings, sum of values, sum of history seq numbers) of the whole stream."""
        n = self.batches * self.per_batch
        return (n, sum(drill_value(k) for k in range(n)),
                sum(m * MAX_BATCH + i for m in range(self.batches) for i in range(self.per_batch)))


@dataclass(frozen=True)
class Accounting:
    """The stream's rows in the history."""

    expected: int
    stored: int
    distinct: int
    value_sum: float
    seq_sum: int
    expected_value_sum: float
    expected_seq_sum: int

    @property
    def lost(self) -> int:
        return self.expected - self.distinct

    @property
    def duplicated(self) -> int:
        return self.stored - self.distinct

    @property
    def exact(self) -> bool:
        """Every reading stored once, values and sequence numbers bit-exact."""
        return (self.stored == self.distinct == self.expected and self.value_sum == self.expected_value_sum
                and self.seq_sum == self.expected_seq_sum)


def account(store: Store, stream: GatewayStream, *, wait_s: float = 0.0) -> Accounting:
    """Count the stream's readings in ``store`` (waiting up to ``wait_s`` for all of them)."""
    c = READINGS.c
    where = c.source.like(f"%{stream.gw}%")
    stmt = select(func.count(), func.count(func.distinct(c.seq)), func.sum(c.value), func.sum(c.seq)).where(where)
    n_exp, v_exp, s_exp = stream.expected()
    deadline = time.monotonic() + wait_s
    while True:
        with store.engine.connect() as conn:
            stored, distinct, vsum, ssum = conn.execute(stmt).one()
        if distinct >= n_exp or time.monotonic() >= deadline:
            return Accounting(n_exp, int(stored), int(distinct), float(vsum or 0.0), int(ssum or 0), v_exp, s_exp)
        time.sleep(0.25)


class AlarmProbe:
    """Times reading → alarm through the cluster: an observer on ``observer`` (a node)
    subscribes to the site's retained alarm records (QoS 1) and to the bridge's live alarm feed
    (``twin/live/alarm``, QoS 0); :meth:`fire` publishes a reading of ``sensor`` at ``value``
    (above its high-high level) through ``publish_via``; :meth:`wait` (:meth:`wait_live`) returns
    the seconds until an active alarm record of that sensor arrived on the retained topic (on the
    live feed); None: timeout."""

    def __init__(self, site: str, observer: list[Endpoint], publish_via: list[Endpoint], *, sensor: str,
                 value: float) -> None:
        self.topics = Topics(site)
        self.sensor, self.value = sensor, value
        self._raised = threading.Event()
        self._live = threading.Event()
        self._record0 = threading.Event()
        self.fired_at = 0.0
        self.raised_at = 0.0
        self.live_at = 0.0
        self.record0_at = 0.0
        suffix = uuid.uuid4().hex[:6]
        self.observer = MqttConnection(f"drill-observer-{suffix}", *observer[0], fallbacks=observer[1:],
                                       persistent=False, subscriptions=[self.topics.alarm("+")],
                                       on_message=self._on_alarm, keepalive_s=5)
        self.live_observer = MqttConnection(f"drill-live-{suffix}", *observer[0], fallbacks=observer[1:],
                                            persistent=False, subscriptions=[self.topics.live_alarm()],
                                            subscribe_qos=0, on_message=self._on_alarm, keepalive_s=5)
        self.record_observer0 = MqttConnection(f"drill-record0-{suffix}", *observer[0], fallbacks=observer[1:],
                                               persistent=False, subscriptions=[self.topics.alarm("+")],
                                               subscribe_qos=0, on_message=self._on_alarm, keepalive_s=5)
        self.publisher = MqttConnection(f"drill-probe-{suffix}", *publish_via[0], fallbacks=publish_via[1:],
                                        keepalive_s=5)

    def start(self) -> AlarmProbe:
        self.observer.start()
        self.live_observer.start()
        self.record_observer0.start()
        self.publisher.start()
        return self

    def _on_alarm(self, conn: MqttConnection, msg: mqtt.MQTTMessage) -> None:
        if not msg.payload or self.fired_at == 0.0:
            return
        try:
            doc = json.loads(msg.payload)
        except ValueError:
            return
        if doc.get("source") == self.sensor and doc.get("active") is True:
            done, attr = ((self._live, "live_at") if conn is self.live_observer else
                          (self._record0, "record0_at") if conn is self.record_observer0 else (self._raised, "raised_at"))
            if not done.is_set():
                setattr(self, attr, time.monotonic())
                done.set()

    def fire(self, seq: int = 1) -> None:
        now = time.time()
        body = json.dumps({"sid": self.sensor, "seq": seq, "ts": iso_ms(now), "v": self.value}).encode()
        self.fired_at = time.monotonic()
        self.publisher.publish(self.topics.reading("drill", "drill", self.sensor), body, qos=1)

    def wait(self, timeout_s: float) -> float | None:
        if not self._raised.wait(timeout_s):
            return None
        return self.raised_at - self.fired_at

    def wait_live(self, timeout_s: float) -> float | None:
        if not self._live.wait(timeout_s):
            return None
        return self.live_at - self.fired_at

    def wait_record_qos0(self, timeout_s: float) -> float | None:
        """Seconds until the alarm record arrived on the retained topic at the observer
        subscribed at QoS 0 (None: timeout)."""
        if not self._record0.wait(timeout_s):
            return None
        return self.record0_at - self.fired_at

    def close(self) -> None:
        self.publisher.stop(drain_s=1.0)
        self.observer.stop(drain_s=0.0)
        self.live_observer.stop(drain_s=0.0)
        self.record_observer0.stop(drain_s=0.0)


class BridgeProcess:
    """``safetwin bridge run --ha`` as a child process (a real SIGKILL can end it); its stderr
    goes to ``log_path``. :meth:`wait_role` blocks until it printed ``READY`` (active) or
    ``STANDBY``."""

    def __init__(self, *, plant: str, site: str, endpoints: list[Endpoint], db_url: str, log_path: str | Path,
                 lease_ttl_s: float = 2.5, extra_env: dict[str, str] | None = None) -> None:
        self.log_path = Path(log_path)
        argv = [sys.executable, "-m", "safetwin", "bridge", "run", "--ha", "--plant", plant, "--site", site,
                "--host", endpoints[0][0], "--port", str(endpoints[0][1]), "--db", db_url,
                "--lease-ttl", str(lease_ttl_s)]
        for host, port in endpoints[1:]:
            argv += ["--fallback", f"{host}:{port}"]
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self._log,
                                     env={**os.environ, **(extra_env or {})})

    def _lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    def count(self, word: str) -> int:
        """How many times the process printed a line starting with ``word``."""
        return sum(1 for line in self._lines() if line.startswith(word))

    def wait_role(self, word: str, *, times: int = 1, timeout_s: float = 60.0) -> float:
        """Block until the ``times``-th line starting with ``word`` (``READY``/``STANDBY``);
        returns the monotonic time it was seen. Raises when the process exits or times out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.count(word) >= times:
                return time.monotonic()
            if self.proc.poll() is not None:
                raise RuntimeError(f"bridge exited with {self.proc.returncode}: {self._lines()[-20:]}")
            time.sleep(0.02)
        raise TimeoutError(f"no {word} from the bridge within {timeout_s} s: {self._lines()[-20:]}")

    def kill(self) -> None:
        """SIGKILL (a crashed machine: no clean disconnect, no lease release)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()
