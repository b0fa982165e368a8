"""A paho-mqtt 2 connection configured for safety data, and ack-after-durable-write.

:class:`MqttConnection` wraps one ``paho.mqtt.client.Client``: MQTT 5, fixed client id,
persistent session (``clean_start=False``, session expiry), TCP_NODELAY on its socket, a
retained last will, automatic reconnect with exponential backoff (paho's, 0.5 s → 30 s), and a
large Receive Maximum so manual acks do not throttle the broker's in-flight window. The client
is :class:`~safetwin.live_bridge.fastclient.FastClient` (paho with buffered reads and batched
PUBACKs).

Brokers that speak only MQTT 3.1.1 (the clustered brokers of docs/cluster.md: NATS, RabbitMQ
3.x) are served by ``protocol="auto"``: a CONNACK "unsupported protocol version" to the MQTT 5
CONNECT makes the connection retry with 3.1.1 and a persistent session (``clean_session=False``;
the session lasts until the broker's own expiry, there is no Session Expiry or Receive Maximum
in 3.1.1). ``fallbacks`` lists further broker nodes ``(host, port)``: after a lost connection or
a failed connect the next node is tried, round robin, so a client follows a cluster through the
loss of the node it was on (paho's public ``connect_async`` re-targets its reconnect loop).
A node can also hold a connection open while it cannot store what it is sent (NATS JetStream
while its stream has no leader: each QoS 1 PUBLISH waits up to 4 s, then the node closes the
connection). With ``publish_timeout_s`` (the default with fallbacks: 1 s) a QoS 1 publish left
unacknowledged that long on one connection makes the client drop it and resend through the next
node, so the first node able to store it again gets it (a resend may be stored twice: the twin's
history dedupes).

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
from collections.abc import Callable, Sequence
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
#: accepted ``protocol`` values: MQTT 5, MQTT 3.1.1, or MQTT 5 falling back to 3.1.1
PROTOCOLS = {"5": mqtt.MQTTv5, "3.1.1": mqtt.MQTTv311}


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
                 session_expiry_s: int = SESSION_EXPIRY_S, keepalive_s: int = 30,
                 protocol: str = "auto", fallbacks: Sequence[tuple[str, int]] = (),
                 publish_timeout_s: float | None = -1.0, subscribe_qos: int = 1) -> None:
        if protocol not in (*PROTOCOLS, "auto"):
            raise ValueError(f"protocol {protocol!r}: one of {', '.join(PROTOCOLS)}, auto")
        self.client_id = client_id
        self.host, self.port = host, port
        #: broker nodes tried in turn; the current one is ``endpoints[self._node]``
        self.endpoints: list[tuple[str, int]] = [(host, port), *[(h, int(p)) for h, p in fallbacks]]
        self._node = 0
        self.protocol = protocol
        self._auto = protocol == "auto"
        self._credentials = BrokerEndpoint(host, port, username, password, tls_ca_file)
        self._manual_ack = manual_ack
        self._will = will
        self._stopping = False           # stop()/kill() called: no more reconnects
        self._refusal = ""               # reason of the last refused CONNACK of start()
        self._refused_protocol = False
        self.persistent = persistent
        self.subscriptions = subscriptions or []
        self.subscribe_qos = subscribe_qos
        self.session_expiry_s = session_expiry_s if persistent else 0
        self.keepalive_s = keepalive_s
        self.on_message_cb = on_message
        self.on_burst_cb = on_burst
        self.on_connected_cb = on_connected
        self.generation = 0           # incremented on every successful connect
        self.connected = threading.Event()
        # mids of our QoS >= 1 publishes not yet acknowledged (PUBACK), and acknowledgements that
        # arrived before publish() recorded their mid; paho resends unacknowledged ones after a
        # reconnect, also those queued while disconnected
        self._unacked: dict[int, float] = {}      # mid -> when sent (monotonic s) on this connection
        self._acked_early: set[int] = set()
        #: seconds a QoS 1 publish may wait for its PUBACK before the connection moves to the next
        #: node (None: never; -1: the default, 1 s with fallbacks, else never)
        self.publish_timeout_s = (1.0 if fallbacks else None) if publish_timeout_s == -1.0 else publish_timeout_s
        #: connections dropped because a publish waited longer than ``publish_timeout_s``
        self.publish_stalls = 0
        self._connected_at = 0.0
        self._watchdog = (Worker(f"safetwin-mqtt-watch-{client_id}", self._check_stall, every_s=0.25, logger=log)
                          if self.publish_timeout_s is not None else None)
        self._sent_lock = threading.Lock()
        #: QoS >= 1 publishes the broker acknowledged
        self.published = 0
        #: set once the broker acknowledged (SUBACK) the subscriptions of the current connection
        self.subscribed = threading.Event()
        self._sub_mid: int | None = None
        #: topic filters the broker refused in its last SUBACK
        self.refused_subscriptions: list[str] = []
        self.session_present: bool | None = None
        self.disconnects = 0
        self.client = self._make_client("5" if self._auto else protocol)

    def _make_client(self, protocol: str) -> FastClient:
        """A paho client speaking ``protocol`` ("5" or "3.1.1") with this connection's
        callbacks, credentials, will and flow settings."""
        self.protocol = protocol
        v5 = protocol == "5"
        extra: dict[str, Any] = {} if v5 else {"clean_session": not self.persistent}
        c = mqtt_client(self.client_id, self._credentials, client_class=FastClient, protocol=PROTOCOLS[protocol],
                        max_inflight=1000, unlimited_queue=True, manual_ack=self._manual_ack, **extra)
        # a cluster has other nodes ready: retry soon (paho doubles the delay per failure)
        c.reconnect_delay_set(min_delay=0.25 if len(self.endpoints) > 1 else 1, max_delay=30)
        if self._will is not None:
            wp = None
            if v5:
                wp = Properties(PacketTypes.WILLMESSAGE)
                wp.WillDelayInterval = 2
            c.will_set(self._will[0], self._will[1], qos=1, retain=True, properties=wp)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_connect_fail = self._on_connect_fail
        c.on_message = self._on_message
        if self.on_burst_cb is not None:
            c.on_burst = self._on_burst
        c.on_subscribe = self._on_subscribe
        c.on_publish = self._on_publish
        c.on_socket_open = self._on_socket_open
        return c

    # ---- lifecycle
    def start(self, timeout_s: float = 10.0) -> MqttConnection:
        """Connect (raising ``ConnectionError`` if the broker cannot be reached within
        ``timeout_s``) and start the network thread, which reconnects on its own afterwards.

        Returns only once the broker has acknowledged the subscriptions (SUBACK): before that,
        a message published by someone else could reach the broker before the subscription
        and, on a first connection (no session yet), would never be delivered to us."""
        deadline = time.monotonic() + timeout_s
        errors: list[str] = []
        for attempt in range(2 * len(self.endpoints)):
            host, port = self.endpoints[self._node]
            try:
                self._connect(host, port)
            except OSError as exc:
                errors.append(f"{host}:{port}: {exc}")
                self._node = (self._node + 1) % len(self.endpoints)
                if attempt + 1 >= len(self.endpoints):
                    break
                continue
            if self._handshake(deadline):
                self.client.loop_start()
                if self._watchdog is not None and not self._watchdog.running:
                    self._watchdog.start()
                break
            self._close_socket()
            if self._refused_protocol and self._auto and self.protocol == "5":
                log.info("MQTT %s: %s:%s does not speak MQTT 5; using 3.1.1", self.client_id, host, port)
                self.client = self._make_client("3.1.1")
                continue
            errors.append(f"{host}:{port}: no CONNACK" + (f" ({self._refusal})" if self._refusal else ""))
            self._node = (self._node + 1) % len(self.endpoints)
            if time.monotonic() >= deadline or attempt + 1 >= 2 * len(self.endpoints):
                break
        if not self.connected.is_set():
            raise ConnectionError(f"MQTT broker unreachable: {'; '.join(errors) or 'no answer'}")
        if self.subscriptions and not self.subscribed.wait(max(0.0, deadline - time.monotonic())):
            self.stop()
            raise ConnectionError(f"MQTT broker {self.host}:{self.port}: no SUBACK within {timeout_s} s")
        return self

    def _connect(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._refused_protocol = False
        self._refusal = ""
        if self.protocol == "5":
            self.client.connect(host, port, keepalive=self.keepalive_s, clean_start=not self.persistent,
                                properties=connect_properties(self.session_expiry_s))
        else:
            self.client.connect(host, port, keepalive=self.keepalive_s)

    def _handshake(self, deadline: float) -> bool:
        """Run paho's loop in this thread until the CONNACK of the connect in progress (True:
        connected; False: refused, lost or ``deadline`` passed). The network thread starts only
        once connected, so a refusal costs no reconnect back-off."""
        while time.monotonic() < deadline and not self.connected.is_set() and not self._refusal:
            if self.client.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
                return False
        return self.connected.is_set()

    def _close_socket(self) -> None:
        sock = self.client.socket()
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def stop(self, drain_s: float = 5.0) -> None:
        """Wait up to ``drain_s`` for our QoS ≥ 1 publishes to be acknowledged by the broker,
        disconnect cleanly (the persistent session stays on the broker) and stop the thread."""
        deadline = time.monotonic() + drain_s
        while self.connected.is_set() and self.unacknowledged() and time.monotonic() < deadline:
            time.sleep(0.02)
        self._stopping = True
        if self._watchdog is not None:
            self._watchdog.stop()
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()
            self.connected.clear()

    def kill(self) -> None:
        """Drop the TCP connection without DISCONNECT (tests: behave like a crash)."""
        self._stopping = True
        if self._watchdog is not None:
            self._watchdog.stop()
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
    def _check_stall(self) -> None:
        """The watchdog's pass: drop the connection when its oldest QoS 1 publish has waited
        longer than ``publish_timeout_s`` for its PUBACK (paho then reconnects to the next node
        and resends)."""
        timeout = self.publish_timeout_s
        if timeout is None or self._stopping or not self.connected.is_set():
            return
        now = time.monotonic()
        with self._sent_lock:
            oldest = min(self._unacked.values(), default=now)
        if now - oldest <= timeout or now - self._connected_at <= timeout:
            return
        self.publish_stalls += 1
        log.warning("MQTT %s: no PUBACK from %s:%s for %.1f s; moving to the next node", self.client_id,
                    self.host, self.port, now - oldest)
        sock = self.client.socket()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            self._refusal = str(reason_code)
            # MQTT 5 "Unsupported Protocol Version" (0x84) or the 3.1.1 code 1 it maps to
            self._refused_protocol = reason_code.value in (0x84, 1)
            if not (self._refused_protocol and self._auto):
                log.error("MQTT %s: connect refused by %s:%s: %s", self.client_id, self.host, self.port, reason_code)
            return
        self.generation += 1
        self.session_present = bool(flags.session_present)
        now = time.monotonic()
        self._connected_at = now
        with self._sent_lock:          # paho sends the unacknowledged ones again on this connection
            for mid in self._unacked:
                self._unacked[mid] = now
        if self.persistent and not self.session_present:
            log.warning("MQTT %s: no session on the broker (first start or session lost)", self.client_id)
        if self.on_connected_cb is not None:
            try:
                self.on_connected_cb(self, self.session_present)
            except Exception:
                log.exception("on_connected failed")
        self.subscribed.clear()
        if self.subscriptions:
            _rc, self._sub_mid = client.subscribe([(t, self.subscribe_qos) for t in self.subscriptions])
        self.connected.set()

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any, properties: Any) -> None:
        if mid == self._sub_mid:
            failed = [(t, rc) for t, rc in zip(self.subscriptions, reason_codes) if getattr(rc, "is_failure", False)]
            self.refused_subscriptions = [t for t, _rc in failed]
            if failed:
                log.error("MQTT %s: subscriptions refused: %s", self.client_id, failed)
            self.subscribed.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        was_connected = self.connected.is_set()
        self.connected.clear()
        self.subscribed.clear()
        if was_connected and not self._stopping:
            self.disconnects += 1
            log.warning("MQTT %s disconnected from %s:%s: %s (reconnecting with backoff)", self.client_id,
                        self.host, self.port, reason_code)
            self._next_node(client)     # (during start() the attempts choose their node)

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        if not self._stopping:
            self._next_node(client)

    def _next_node(self, client: mqtt.Client) -> None:
        """Point the client's next reconnect at the next broker node: ``connect_async`` only
        records host, port and connect options (paho's loop reconnects after its back-off)."""
        if len(self.endpoints) < 2:
            return
        self._node = (self._node + 1) % len(self.endpoints)
        self.host, self.port = self.endpoints[self._node]
        if self.protocol == "5":
            client.connect_async(self.host, self.port, keepalive=self.keepalive_s, clean_start=not self.persistent,
                                 properties=connect_properties(self.session_expiry_s))
        else:
            client.connect_async(self.host, self.port, keepalive=self.keepalive_s)

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
                if info.mid in self._acked_early:
                    self._acked_early.discard(info.mid)
                else:
                    self._unacked[info.mid] = time.monotonic()
        return info

    def unacknowledged(self) -> int:
        """Our QoS >= 1 publishes the broker has not acknowledged yet."""
        with self._sent_lock:
            return len(self._unacked)

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:
        with self._sent_lock:
            self.published += 1
            if mid in self._unacked:
                del self._unacked[mid]
            else:
                self._acked_early.add(mid)


class DurableAcker:
    """Acknowledge QoS 1 messages after their history rows are durable.

    ``add(conn, mid)`` is called on the network thread once a message was processed; the acker
    thread collects them, calls ``flush()`` (blocking until rows handed in so far are committed)
    and then acks them (one write of PUBACKs per group), as long as the connection they arrived
    on is still the current one. ``receipts`` handed in with messages (what the messages were:
    gateway, boot, seq) go to ``on_durable(receipts)`` after the flush that made them durable.
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
        self.on_durable: Callable[[list[Any]], None] | None = None
        self._receipts: list[Any] = []
        self._worker = Worker("safetwin-acker", self._run, wake=self._wake_to_stop, logger=log)

    def start(self) -> DurableAcker:
        self._worker.start()
        return self

    def add(self, conn: MqttConnection, mid: int) -> None:
        with self._cond:
            self._pending.append((conn, conn.generation, mid))
            if len(self._pending) == 1:
                self._cond.notify()

    def add_many(self, conn: MqttConnection, mids: list[int], receipts: list[Any] | None = None) -> None:
        """``add`` for a group of processed messages of one connection (one lock round), with
        their receipts."""
        if not mids:
            return
        with self._cond:
            self._pending.append((conn, conn.generation, mids))   # one entry for the group
            if receipts:
                self._receipts.extend(receipts)
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
                receipts, self._receipts = self._receipts, []
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
            if receipts and self.on_durable is not None:
                try:
                    self.on_durable(receipts)
                except Exception:
                    log.exception("publishing %d receipts failed", len(receipts))
