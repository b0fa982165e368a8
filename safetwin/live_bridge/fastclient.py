"""A paho-mqtt 2 client with a buffered receive path and batched acknowledgements.

paho reads every packet with three or four ``recv`` system calls (command byte, each length
byte, then the body) and runs one ``select`` per packet; a PUBACK is one queued packet and one
``send`` each. :class:`FastClient` keeps paho's protocol handling, session, reconnect and
callbacks unchanged and only

* wraps the TCP socket in :class:`BufferedSocket`, which fills a 256 KiB user-space buffer with
  one ``recv`` and serves paho's small reads from it (``pending()`` tells paho's loop that bytes
  are buffered, as it already does for TLS sockets); :meth:`FastClient.loop_read` keeps reading
  packets while whole ones are buffered;
* sends many PUBACKs as one write (:meth:`FastClient.ack_many`);
* decodes the common PUBLISH (MQTT 5, QoS 0/1, no properties) itself into a slim
  :class:`RawMessage` (same attribute names as paho's ``MQTTMessage``) and hands it straight to
  ``on_message``; anything else (QoS 2, properties, MQTT 3, filtered callbacks) goes through
  paho's own handler;
* optionally hands messages over per **burst** (:attr:`FastClient.on_burst`): the messages
  decoded from one socket read are collected and passed as one list after the read, so the
  consumer can decode, apply and acknowledge them as a group. Arrival order is kept: a message
  that needs paho's handler first flushes the burst collected before it.

These overrides use paho's private methods (``_handle_publish``, ``_packet_read``,
``_create_socket``, ``_packet_queue``). paho is pinned to its major version (``>=2.0,<3``) and the
fast path is on only for the paho releases it was tested with (:data:`TESTED_PAHO_VERSIONS`;
``tools/check_paho_versions.sh`` runs the bridge's client tests against each); with any other
release FastClient behaves exactly as paho's client (and says so once in the log).

Example (needs a broker)::

    c = FastClient(mqtt.CallbackAPIVersion.VERSION2, client_id="x", protocol=mqtt.MQTTv5,
                   manual_ack=True)
    c.on_message = lambda cl, u, m: pending.append(m.mid)
    ...
    c.ack_many(pending)   # one write for all of them
    c.on_burst = lambda msgs: handle_all(msgs)   # or: one call per socket read
"""
from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from typing import Any

import logging

import paho.mqtt
import paho.mqtt.client as mqtt
from paho.mqtt.properties import MalformedPacket   # paho 2.0 defines it there; later releases re-export it

log = logging.getLogger(__name__)

#: paho releases the fast path was tested with (tools/check_paho_versions.sh)
TESTED_PAHO_VERSIONS = frozenset({"2.0.0", "2.1.0", "2.2.0"})
#: the fast path is used (paho's private methods are overridden) only on a tested release
FAST_PATH = paho.mqtt.__version__ in TESTED_PAHO_VERSIONS
if not FAST_PATH:
    log.warning("paho-mqtt %s is not among the releases the bridge's fast MQTT path was tested with (%s): "
                "using paho's own receive path", paho.mqtt.__version__, ", ".join(sorted(TESTED_PAHO_VERSIONS)))

#: bytes read from the kernel per ``recv`` call
RECV_BUFFER = 256 * 1024
#: kernel socket receive buffer requested for the bridge's inbound connection
SO_RCVBUF = 4 * 1024 * 1024
_PUBACK = 0x40
_puback = struct.Struct("!BBH")


class BufferedSocket:
    """A TCP socket whose ``recv`` serves from a user-space buffer (everything else is passed
    through to the socket)."""

    __slots__ = ("_buf", "_pos", "_sock")

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = b""
        self._pos = 0

    def recv(self, n: int) -> bytes:
        pos, buf = self._pos, self._buf
        if pos < len(buf):
            chunk = buf[pos:pos + n]
            self._pos = pos + len(chunk)
            return chunk
        data = self._sock.recv(max(n, RECV_BUFFER))   # BlockingIOError / b"" pass through
        if len(data) <= n:
            self._buf, self._pos = b"", 0
            return data
        self._buf, self._pos = data, n
        return data[:n]

    def pending(self) -> int:
        """Bytes received from the kernel but not yet consumed."""
        return len(self._buf) - self._pos

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class RawMessage:
    """An inbound PUBLISH as handed to ``on_message`` by :class:`FastClient` (the attributes of
    paho's ``MQTTMessage`` that the bridge uses; ``topic`` is already text)."""

    __slots__ = ("dup", "mid", "payload", "properties", "qos", "retain", "timestamp", "topic")

    def __init__(self, topic: str, payload: bytes, qos: int, mid: int, retain: bool, dup: bool) -> None:
        self.topic, self.payload, self.qos, self.mid, self.retain, self.dup = topic, payload, qos, mid, retain, dup
        self.properties = None
        self.timestamp = 0.0


class FastClient(mqtt.Client):
    """``paho.mqtt.client.Client`` with :class:`BufferedSocket` reads, a slim PUBLISH path and
    :meth:`ack_many`."""

    _filtered = False
    #: ``on_burst(messages)``: when set, fast-path messages are collected per socket read and
    #: handed over as one list (in arrival order) instead of one ``on_message`` call each
    on_burst: Any = None
    _burst: list[RawMessage] | None = None

    def message_callback_add(self, sub: str, callback: Any) -> None:
        self._filtered = True                         # paho's matcher must see every message
        super().message_callback_add(sub, callback)

    def _handle_publish(self) -> mqtt.MQTTErrorCode:
        header = self._in_packet["command"]
        packet = self._in_packet["packet"]
        qos = (header & 0x06) >> 1
        on_message = self.on_message
        burst = self.on_burst
        if not FAST_PATH or (burst is None and on_message is None):
            return super()._handle_publish()
        if qos == 2 or self._filtered or self._protocol != mqtt.MQTTv5:
            self._flush_burst()                       # keep arrival order
            return super()._handle_publish()
        pos = 2 + ((packet[0] << 8) | packet[1])
        mid = 0
        if qos:
            mid = (packet[pos] << 8) | packet[pos + 1]
            pos += 2
        if pos >= len(packet) or packet[pos] != 0:    # PUBLISH properties present: paho decodes them
            self._flush_burst()
            return super()._handle_publish()
        try:
            topic = packet[2:2 + ((packet[0] << 8) | packet[1])].decode("utf-8")
        except UnicodeDecodeError:
            self._flush_burst()
            return super()._handle_publish()
        msg = RawMessage(topic, bytes(packet[pos + 1:]), qos, mid, bool(header & 0x01), bool(header & 0x08))
        if burst is not None:
            if self._burst is None:
                self._burst = [msg]
            else:
                self._burst.append(msg)
            if qos == 1 and not self._manual_ack:
                return self._send_puback(mid)
            return mqtt.MQTT_ERR_SUCCESS
        try:
            on_message(self, self._userdata, msg)
        except Exception as err:
            self._easy_log(mqtt.MQTT_LOG_ERR, "Caught exception in on_message: %s", err)
            if not self.suppress_exceptions:
                raise
        if qos == 1 and not self._manual_ack:
            return self._send_puback(mid)
        return mqtt.MQTT_ERR_SUCCESS

    def _create_socket(self) -> Any:  # paho 2.x hook that opens the transport
        sock = super()._create_socket()
        if FAST_PATH and isinstance(sock, socket.socket) and not self._ssl and self._transport == "tcp":
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SO_RCVBUF)
            except OSError:
                pass
            return BufferedSocket(sock)
        return sock

    def _packet_read(self) -> mqtt.MQTTErrorCode:
        """A whole packet already in the buffer is taken in one slice (paho reads the command
        byte, each length byte and the body with separate calls); otherwise paho's reader.
        With :attr:`on_burst` and manual acks, the plain PUBLISH packets waiting in the buffer
        are decoded in one loop (:meth:`_drain_publishes`)."""
        sock = self._sock
        if self._in_packet["command"] != 0 or not isinstance(sock, BufferedSocket):
            return super()._packet_read()
        if self._drain_publishes(sock):
            return mqtt.MQTT_ERR_SUCCESS
        buf, start = sock._buf, sock._pos
        n = len(buf)
        i, mult, length = start + 1, 1, 0
        while True:
            if i >= n or i - start > 4:             # incomplete, or malformed: paho's reader decides
                return super()._packet_read()
            b = buf[i]
            length += (b & 127) * mult
            mult <<= 7
            i += 1
            if not b & 128:
                break
        end = i + length
        if end > n:
            return super()._packet_read()
        sock._pos = end
        ip = self._in_packet
        ip["command"] = buf[start]
        ip["packet"] = buf[i:end]
        ip["remaining_length"] = ip["to_process"] = length
        ip["have_remaining"] = 1
        ip["to_process"] = 0
        ip["pos"] = 0
        try:
            rc = self._packet_handle()
        except MalformedPacket as exc:
            self._easy_log(mqtt.MQTT_LOG_DEBUG, "Received malformed packet: %s", exc)
            rc = mqtt.MQTT_ERR_PROTOCOL
        self._in_packet = {"command": 0, "have_remaining": 0, "remaining_count": [], "remaining_mult": 1,
                           "remaining_length": 0, "packet": bytearray(b""), "to_process": 0, "pos": 0}
        with self._msgtime_mutex:
            self._last_bytes_received = mqtt.time_func()
        return rc

    def _drain_publishes(self, sock: BufferedSocket) -> bool:
        """Decode the whole PUBLISH packets (MQTT 5, QoS 0/1, no properties) at the head of the
        buffer straight into the burst, in order, stopping at anything else (paho's handler takes
        that). Only for a burst consumer acknowledging by itself (manual acks): nothing is sent
        per packet. Returns whether any packet was taken. Same result as :meth:`_handle_publish`
        per packet, without paho's per-packet bookkeeping."""
        if (self.on_burst is None or not FAST_PATH or not self._manual_ack or self._filtered
                or self._protocol != mqtt.MQTTv5):
            return False
        buf, pos = sock._buf, sock._pos
        n = len(buf)
        msgs: list[RawMessage] = []
        while pos < n:
            header = buf[pos]
            q = (header & 0x06) >> 1
            if (header & 0xF0) != 0x30 or q > 1:
                break                                  # not a PUBLISH, or QoS 2 (or the invalid 3)
            i, mult, length = pos + 1, 1, 0
            while i < n and i - pos <= 4:              # remaining length: at most 4 bytes
                b = buf[i]
                length += (b & 127) * mult
                mult <<= 7
                i += 1
                if not b & 128:
                    break
            else:
                break                                  # incomplete or malformed: paho's reader decides
            end = i + length
            if end > n or length < 3:
                break
            tlen = (buf[i] << 8) | buf[i + 1]
            p = i + 2 + tlen
            mid = 0
            if q:
                if p + 2 > end:
                    break
                mid = (buf[p] << 8) | buf[p + 1]
                p += 2
            if p >= end or buf[p] != 0:                # PUBLISH properties present (or malformed)
                break
            try:
                topic = buf[i + 2:i + 2 + tlen].decode("utf-8")
            except UnicodeDecodeError:
                break
            msgs.append(RawMessage(topic, buf[p + 1:end], q, mid, bool(header & 0x01), bool(header & 0x08)))
            pos = end
        if not msgs:
            return False
        sock._pos = pos
        if self._burst is None:
            self._burst = msgs
        else:
            self._burst.extend(msgs)
        with self._msgtime_mutex:
            self._last_bytes_received = mqtt.time_func()
        return True

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        """paho's loop_read, repeated while whole packets wait in the buffer (bounded)."""
        try:
            rc = super().loop_read(max_packets)
            n = 0
            while rc == mqtt.MQTT_ERR_SUCCESS and n < 4096:
                sock = self._sock
                if not isinstance(sock, BufferedSocket) or sock.pending() == 0:
                    break
                rc = super().loop_read(max_packets)
                n += 1
        finally:
            self._flush_burst()
        return rc

    def _flush_burst(self) -> None:
        """Hand the messages collected so far to ``on_burst`` (dropped, hence redelivered
        unacknowledged, if the callback was removed meanwhile)."""
        msgs = self._burst
        if not msgs:
            return
        self._burst = None
        cb = self.on_burst
        if cb is None:
            return
        try:
            cb(msgs)
        except Exception as err:  # like paho's on_message: log, re-raise unless suppressed
            self._easy_log(mqtt.MQTT_LOG_ERR, "Caught exception in on_burst: %s", err)
            if not self.suppress_exceptions:
                raise

    def ack_many(self, mids: Iterable[int]) -> None:
        """Acknowledge QoS 1 messages (manual-ack mode) with one queued write of PUBACKs
        (MQTT 5 §3.4.2.1: reason code and properties omitted means Success)."""
        if not FAST_PATH:
            for mid in mids:
                self.ack(mid, 1)
            return
        packet = b"".join([_puback.pack(_PUBACK, 2, mid) for mid in mids])
        if packet:
            self._packet_queue(_PUBACK, packet, 0, 0)
