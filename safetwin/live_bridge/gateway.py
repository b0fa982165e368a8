"""Store and forward for gateways: keep a batch until the twin says it is durable.

A broker's PUBACK means "received", not "saved": Mosquitto saves its database every
``autosave_interval`` seconds, and what it acknowledged since the last save is gone when it
crashes (measured in BENCHMARKS.md, "Broker crash"). The end-to-end answer (as Sparkplug's store
and forward, and Kafka's consumer offsets) is a receipt from the consumer itself: the bridge
publishes, after each group commit, which batches of a gateway are durable in the twin's history
(``pst/v1/{site}/twin/receipts/{gw}``, QoS 1: ``{"gw", "boot", "seqs": [[from, to], …]}``,
inclusive ranges; :meth:`~safetwin.live_bridge.outbound.Publisher.receipts`). A gateway holds
each batch until a receipt names it and sends it again -- same ``seq``, same payload -- when
none came within ``resend_after_s``; the bridge's dedupe and the history key make the repeat
harmless, and the repeat gets its own receipt.

:class:`StoreAndForward` is that bookkeeping, without I/O (times in seconds from any monotonic
clock). :class:`GatewayClient` runs it on a paho client (the simulated plant's gateways use it).

Example::

    >>> saf = StoreAndForward("gw-1", resend_after_s=5.0)
    >>> for seq in (1, 2, 3):
    ...     saf.hold(seq, "pst/v1/s/gw/gw-1/readings", b"...", now=0.0)
    >>> saf.confirm({"gw": "gw-1", "boot": 0, "seqs": [[1, 2]]}), saf.held
    (2, 1)
    >>> [topic for topic, _ in saf.due(now=6.0)], saf.resent
    (['pst/v1/s/gw/gw-1/readings'], 1)
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from typing import Any

from .mqtt_client import BrokerEndpoint, mqtt_client
from .topics import Topics

log = logging.getLogger(__name__)


class StoreAndForward:
    """The batches of gateway ``gw`` (boot counter ``boot``) not yet confirmed by the twin."""

    def __init__(self, gw: str, boot: int = 0, *, resend_after_s: float = 10.0) -> None:
        self.gw, self.boot = gw, boot
        self.resend_after_s = resend_after_s
        self._held: OrderedDict[int, list[Any]] = OrderedDict()   # seq -> [topic, payload, last sent]
        self._lock = threading.Lock()
        self.confirmed = 0
        self.resent = 0

    @property
    def held(self) -> int:
        """Batches sent and not yet confirmed."""
        return len(self._held)

    def hold(self, seq: int, topic: str, payload: bytes, now: float) -> None:
        """Keep batch ``seq`` (just sent at ``now``) until a receipt names it."""
        with self._lock:
            self._held[seq] = [topic, payload, now]

    def confirm(self, receipt: dict[str, Any]) -> int:
        """Drop the batches a receipt names (receipts of another gateway or boot are ignored);
        returns how many were held."""
        if receipt.get("gw") != self.gw or receipt.get("boot", 0) != self.boot:
            return 0
        n = 0
        with self._lock:
            for lo, hi in receipt.get("seqs", []):
                if hi - lo < len(self._held):
                    n += sum(self._held.pop(seq, None) is not None for seq in range(lo, hi + 1))
                else:
                    for seq in [s for s in self._held if lo <= s <= hi]:
                        del self._held[seq]
                        n += 1
        self.confirmed += n
        return n

    def due(self, now: float) -> list[tuple[str, bytes]]:
        """The batches to send again at ``now`` (none confirmed ``resend_after_s`` after their last
        sending), oldest first; they count as sent now."""
        out = []
        with self._lock:
            for entry in self._held.values():
                if now - entry[2] >= self.resend_after_s:
                    entry[2] = now
                    out.append((entry[0], entry[1]))
        self.resent += len(out)
        return out


class GatewayClient:
    """A gateway on a broker: publishes its batches with QoS 1 and store and forward
    (:class:`StoreAndForward`), reading its receipts on ``twin/receipts/{gw}`` of ``site``.

    ``publish_batch(seq, payload)`` sends one; ``pump()`` (call it regularly, e.g. every
    second) sends again what was not confirmed in time. ``wait_confirmed(timeout_s)`` waits
    until nothing is held."""

    def __init__(self, endpoint: BrokerEndpoint, site: str, gw: str, *, boot: int = 0, client_id: str | None = None,
                 resend_after_s: float = 10.0) -> None:
        self.topics = Topics(site)
        self.store = StoreAndForward(gw, boot, resend_after_s=resend_after_s)
        self.topic = self.topics.batch(gw)
        self.client = mqtt_client(client_id or f"gateway-{site}-{gw}", endpoint, max_inflight=1000,
                                  unlimited_queue=True)
        self.client.on_message = self._on_receipt
        self.client.on_connect = self._on_connect
        self.client.reconnect_delay_set(0.2, 2)
        self._subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.endpoint = endpoint
        self._infos: list[Any] = []

    def start(self, timeout_s: float = 10.0) -> GatewayClient:
        self.client.connect(self.endpoint.host, self.endpoint.port)
        self.client.loop_start()
        if not self._subscribed.wait(timeout_s):
            raise ConnectionError(f"gateway {self.store.gw}: no SUBACK for its receipts")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish_batch(self, seq: int, payload: bytes) -> None:
        self.store.hold(seq, self.topic, payload, time.monotonic())
        self._infos.append(self.client.publish(self.topic, payload, qos=1))
        if len(self._infos) > 10_000:
            self._infos = [i for i in self._infos if not i.is_published()]

    def wait_acknowledged(self, timeout_s: float) -> None:
        """Wait until the broker acknowledged (PUBACK) every batch sent so far."""
        deadline = time.monotonic() + timeout_s
        for info in self._infos:
            info.wait_for_publish(max(0.0, deadline - time.monotonic()))
        self._infos = []

    def pump(self) -> int:
        """Send again what is due; returns how many."""
        due = self.store.due(time.monotonic())
        for topic, payload in due:
            self.client.publish(topic, payload, qos=1)
        return len(due)

    def wait_confirmed(self, timeout_s: float, pump_every_s: float = 1.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while self.store.held and time.monotonic() < deadline:
            time.sleep(min(pump_every_s, max(0.0, deadline - time.monotonic())))
            self.pump()
        return self.store.held == 0

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any = None) -> None:
        if not reason.is_failure:
            client.subscribe(self.topics.receipts(self.store.gw), qos=1)

    def _on_receipt(self, client: Any, userdata: Any, msg: Any) -> None:
        try:
            self.store.confirm(json.loads(msg.payload))
        except (ValueError, TypeError, AttributeError):
            log.warning("gateway %s: unreadable receipt on %s", self.store.gw, msg.topic)
