"""A paho-mqtt 2 connection configured for safety data, and ack-after-durable-write.

:class:`MqttConnection` wraps one ``paho.mqtt.client.Client``: MQTT 5, fixed client id,
persistent session (``clean_start=False``, session expiry), TCP_NODELAY on its socket, a
retained last will, automatic reconnect with exponential backoff (paho's, 0.5 s → 30 s), and a
large Receive Maximum so manual acks do not throttle the broker's in-flight window. The client
is :class:`~safetwin.live_bridge.fastclient.FastClient` (paho with buffered reads and batched
PUBACKs).

:class:`DurableAcker` runs the acknowledgement thread: messages handed to it (after their
readings were applied and handed to the history writer) are acknowledged only once
``flush()`` returned, i.e. once their rows are committed. Acks of a previous connection are
dropped (the broker redelivers those messages on the new session).
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from safetwin.background import Worker

from .fastclient import FastClient
from .mqtt_client import BrokerEndpoint, mqtt_client

log = logging.getLogger(__name__)

#: seconds the broker keeps the bridge's session (and queues QoS 1 for it) while it is away
SESSION_EXPIRY_S = 24 * 3600
#: unacknowledged QoS 1 messages the broker may have in flight towards the bridge
RECEIVE_MAXIMUM = 20_000


def connect_properties(session_expiry_s: int = SESSION_EXPIRY_S, receive_maximum: int = RECEIVE_MAXIMUM) -> Properties:
    p = Properties(PacketTypes.CONNECT)
    p.SessionExpiryInterval = session_expiry_s
    p.ReceiveMaximum = receive_maximum
    return p


class MqttConnection:
    """One MQTT 5 client with a network thread (``start``/``stop``).

    ``on_message(conn, msg)`` runs on the network thread; ``on_connected(conn, session_present)``
    after each (re)connect, before subscriptions are sent. With ``on_burst(conn, msgs)`` (meant
    for ``manual_ack`` connections) the messages of one socket read arrive as one list instead
    (see :attr:`FastClient.on_burst`); messages paho itself decodes still go to ``on_message``.
    """

    def __init__(self, client_id: str, host: str, port: int, *, username: str | None = None,
                 password: str | None = None, tls_ca_file: str | None = None, manual_ack: bool = False,
                 persistent: bool = True,
                 subscriptions: list[str] | None = None, will: tuple[str, bytes] | None = None,
                 on_message: Callable[[MqttConnection, mqtt.MQTTMessage], None] | None = None,
                 on_connected: Callable[[MqttConnection, bool], None] | None = None,
                 on_burst: Callable[[MqttConnection, list[Any]], None] | None = None,
                 session_expiry_s: int = SESSION_EXPIRY_S, keepalive_s: int = 30) -> None:
        self.client_id = client_id
        self.host, self.port = host, port
        self.persistent = persistent
        self.subscriptions = subscriptions or []
        self.session_expiry_s = session_expiry_s if persistent else 0
        self.keepalive_s = keepalive_s
        self.on_message_cb = on_message
        self.on_burst_cb = on_burst
        self.on_connected_cb = on_connected
        self.generation = 0           # incremented on every successful connect
        self.connected = threading.Event()
        self._sent: deque[mqtt.MQTTMessageInfo] = deque()   # our QoS >= 1 publishes not yet known acked
        self._sent_lock = threading.Lock()
        #: set once the broker acknowledged (SUBACK) the subscriptions of the current connection
        self.subscribed = threading.Event()
        self._sub_mid: int | None = None
        self.session_present: bool | None = None
        self.disconnects = 0
        c = mqtt_client(client_id, BrokerEndpoint(host, port, username, password, tls_ca_file), client_class=FastClient,
                        max_inflight=1000, unlimited_queue=True, manual_ack=manual_ack)
        c.reconnect_delay_set(min_delay=1, max_delay=30)
        if will is not None:
            wp = Properties(PacketTypes.WILLMESSAGE)
            wp.WillDelayInterval = 2
            c.will_set(will[0], will[1], qos=1, retain=True, properties=wp)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        if on_burst is not None:
            c.on_burst = self._on_burst
        c.on_subscribe = self._on_subscribe
        c.on_socket_open = self._on_socket_open
        self.client = c

    # ---- lifecycle
    def start(self, timeout_s: float = 10.0) -> MqttConnection:
        """Connect (raising ``ConnectionError`` if the broker cannot be reached within
        ``timeout_s``) and start the network thread, which reconnects on its own afterwards.

        Returns only once the broker has acknowledged the subscriptions (SUBACK): before that,
        a message published by someone else could reach the broker before the subscription
        and, on a first connection (no session yet), would never be delivered to us."""
        props = connect_properties(self.session_expiry_s)
        try:
            self.client.connect(self.host, self.port, keepalive=self.keepalive_s,
                                clean_start=not self.persistent, properties=props)
        except OSError as exc:
            raise ConnectionError(f"MQTT broker {self.host}:{self.port} unreachable: {exc}") from exc
        self.client.loop_start()
        deadline = time.monotonic() + timeout_s
        if not self.connected.wait(timeout_s):
            self.stop()
            raise ConnectionError(f"MQTT broker {self.host}:{self.port}: no CONNACK within {timeout_s} s")
        if self.subscriptions and not self.subscribed.wait(max(0.0, deadline - time.monotonic())):
            self.stop()
            raise ConnectionError(f"MQTT broker {self.host}:{self.port}: no SUBACK within {timeout_s} s")
        return self

    def stop(self, drain_s: float = 5.0) -> None:
        """Wait up to ``drain_s`` for our QoS ≥ 1 publishes to be acknowledged by the broker,
        disconnect cleanly (the persistent session stays on the broker) and stop the thread."""
        deadline = time.monotonic() + drain_s
        while self.connected.is_set():
            with self._sent_lock:
                while self._sent and (self._sent[0].is_published() or self._sent[0].rc != mqtt.MQTT_ERR_SUCCESS):
                    self._sent.popleft()
                info = self._sent[0] if self._sent else None
            if info is None or time.monotonic() >= deadline:
                break
            try:
                info.wait_for_publish(max(0.0, min(0.2, deadline - time.monotonic())))
            except (RuntimeError, ValueError):   # the message can no longer be sent (queue full, disconnected)
                with self._sent_lock:
                    if self._sent and self._sent[0] is info:
                        self._sent.popleft()
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()
            self.connected.clear()

    def kill(self) -> None:
        """Drop the TCP connection without DISCONNECT (tests: behave like a crash)."""
        sock = self.client.socket()
        self.client.reconnect_delay_set(3600, 3600)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.client.loop_stop()
        self.connected.clear()

    # ---- paho callbacks
    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            log.error("MQTT %s: connect refused: %s", self.client_id, reason_code)
            return
        self.generation += 1
        self.session_present = bool(flags.session_present)
        if self.persistent and not self.session_present:
            log.warning("MQTT %s: no session on the broker (first start or session lost)", self.client_id)
        if self.on_connected_cb is not None:
            try:
                self.on_connected_cb(self, self.session_present)
            except Exception:
                log.exception("on_connected failed")
        self.subscribed.clear()
        if self.subscriptions:
            _rc, self._sub_mid = client.subscribe([(t, 1) for t in self.subscriptions])
        self.connected.set()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any, properties: Any) -> None:
        if mid == self._sub_mid:
            failed = [rc for rc in reason_codes if getattr(rc, "is_failure", False)]
            if failed:
                log.error("MQTT %s: subscriptions refused: %s", self.client_id, failed)
            self.subscribed.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        self.connected.clear()
        self.subscribed.clear()
        self.disconnects += 1
        log.warning("MQTT %s disconnected: %s (paho reconnects with backoff)", self.client_id, reason_code)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if self.on_message_cb is not None:
            self.on_message_cb(self, msg)

    def _on_burst(self, msgs: list[Any]) -> None:
        cb = self.on_burst_cb
        if cb is not None:
            cb(self, msgs)

    # ---- publishing
    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False,
                properties: Properties | None = None) -> mqtt.MQTTMessageInfo:
        """Queue a message (thread-safe); paho resends QoS 1 after reconnects; :meth:`stop` waits
        for the outstanding ones."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        if qos > 0:
            with self._sent_lock:
                sent = self._sent
                while sent and sent[0].is_published():   # acknowledged in order: keep the deque short
                    sent.popleft()
                sent.append(info)
        return info


class DurableAcker:
    """Acknowledge QoS 1 messages after their history rows are durable.

    ``add(conn, mid)`` is called on the network thread once a message was processed; the acker
    thread collects them, calls ``flush()`` (blocking until rows handed in so far are committed)
    and then acks them (one write of PUBACKs per group), as long as the connection they arrived
    on is still the current one.
    """

    def __init__(self, flush: Callable[[], None] | None, *, max_delay_s: float = 0.05) -> None:
        self.flush = flush
        self.max_delay_s = max_delay_s
        self._cond = threading.Condition()
        self._pending: list[tuple[MqttConnection, int, int | list[int]]] = []  # mid or group of mids
        self._stop = False
        self.acked = 0
        self.dropped_stale = 0
        self.flush_failures = 0
        self.on_failure: Callable[[], None] | None = None
        self._worker = Worker("safetwin-acker", self._run, wake=self._wake_to_stop, logger=log)

    def start(self) -> DurableAcker:
        self._worker.start()
        return self

    def add(self, conn: MqttConnection, mid: int) -> None:
        with self._cond:
            self._pending.append((conn, conn.generation, mid))
            if len(self._pending) == 1:
                self._cond.notify()

    def add_many(self, conn: MqttConnection, mids: list[int]) -> None:
        """``add`` for a group of processed messages of one connection (one lock round)."""
        if not mids:
            return
        with self._cond:
            self._pending.append((conn, conn.generation, mids))   # one entry for the group
            if len(self._pending) == 1:
                self._cond.notify()

    def pending(self) -> int:
        """Messages handed in and not yet acknowledged."""
        with self._cond:
            return sum(1 if isinstance(m, int) else len(m) for _c, _g, m in self._pending)

    def stop(self, timeout: float = 10.0) -> None:
        """Ack what is pending (after a last flush) and stop."""
        self._worker.stop(timeout)

    def _wake_to_stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stop:
                    self._cond.wait()
                if self._stop and not self._pending:
                    return
            time.sleep(0.002)  # let a burst accumulate: one commit covers many messages
            with self._cond:
                batch, self._pending = self._pending, []
            if self.flush is not None:
                try:
                    self.flush()
                except Exception:
                    self.flush_failures += 1
                    log.exception("history flush failed; %d messages left unacknowledged", len(batch))
                    if self.on_failure is not None:
                        self.on_failure()
                    continue
            by_conn: dict[int, tuple[MqttConnection, list[int]]] = {}
            for conn, gen, mid in batch:
                if gen != conn.generation:
                    self.dropped_stale += 1 if isinstance(mid, int) else len(mid)
                    continue
                group = by_conn.setdefault(id(conn), (conn, []))[1]
                if isinstance(mid, int):
                    group.append(mid)
                else:
                    group.extend(mid)
            for conn, mids in by_conn.values():
                ack_many = getattr(conn.client, "ack_many", None)
                if ack_many is not None:
                    ack_many(mids)            # one write for the whole group
                else:
                    for mid in mids:
                        conn.client.ack(mid, 1)
                self.acked += len(mids)
