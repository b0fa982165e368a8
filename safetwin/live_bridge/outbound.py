"""What the bridge publishes: alarms (retained state + transition stream), occupancy, muster
status, evacuation instructions and equipment commands (MQTT 5 message expiry), plus the
alarm-event history writer. Runs on its own MQTT connection so inbound floods do not delay it.

Retained alarm records are the state a restarted bridge continues from, so they carry ``sig``,
an HMAC-SHA256 (RFC 2104) of the record's other fields under a key only the site's bridges hold
(:meth:`~safetwin.twin.store.Store.site_secret`): a record written by any other client -- e.g.
an anonymous "SHELVED" on an open broker -- fails :func:`verify_alarm` and is ignored. The
broker's ACL (only the bridge writes ``twin/#``) is the first line; the signature holds where
the broker is open.

>>> from safetwin.twin.alarms import AlarmRecord, AlarmState
>>> doc = sign_alarm(alarm_payload(AlarmRecord("GD-01_LVL", "GD-01", "LVL", AlarmState.UNACK, ts=1.7e9)), b"k" * 32)
>>> verify_alarm(doc, b"k" * 32), verify_alarm(dict(doc, state="shelved"), b"k" * 32), verify_alarm(doc, b"x" * 32)
(True, False, False)
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import queue
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from safetwin.background import Worker
from safetwin.twin.alarms import AlarmRecord, AlarmState

from .connection import MqttConnection
from .payloads import encode, iso_ms
from .topics import Topics

log = logging.getLogger(__name__)


def alarm_payload(rec: AlarmRecord) -> dict[str, Any]:
    """The retained/transition payload of an alarm record (times RFC 3339 UTC)."""
    return {"alarm_id": rec.alarm_id, "seq": rec.seq, "ts": iso_ms(rec.ts),
            "raised": iso_ms(rec.raised_ts) if rec.raised_ts else None, "state": rec.state.value,
            "active": rec.active, "priority": rec.priority, "level": rec.level, "kind": rec.kind,
            "source": rec.source_id, "value": rec.value, "limit": rec.limit, "msg": rec.message,
            "acked_by": rec.acked_by, "shelved": rec.state is AlarmState.SHELVED,
            "shelved_until": iso_ms(rec.shelved_until) if rec.shelved_until else None}


def _alarm_mac(doc: dict[str, Any], key: bytes) -> str:
    return hmac.new(key, encode({k: v for k, v in doc.items() if k != "sig"}), hashlib.sha256).hexdigest()


def sign_alarm(doc: dict[str, Any], key: bytes) -> dict[str, Any]:
    """``doc`` (an :func:`alarm_payload`) with its signature ``sig`` added."""
    return {**doc, "sig": _alarm_mac(doc, key)}


def verify_alarm(doc: Any, key: bytes) -> bool:
    """True when ``doc`` is an alarm record signed with ``key`` (the fields re-encoded in their
    order, as :func:`sign_alarm` encoded them)."""
    sig = doc.get("sig") if isinstance(doc, dict) else None
    return isinstance(sig, str) and hmac.compare_digest(sig, _alarm_mac(doc, key))


def parse_alarm_payload(d: dict[str, Any]) -> AlarmRecord:
    """Inverse of :func:`alarm_payload` (for restoring retained alarm state)."""
    def t(s: str | None) -> float | None:
        return None if not s else datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
    return AlarmRecord(alarm_id=d["alarm_id"], source_id=d["source"], kind=d["kind"], state=AlarmState(d["state"]),
                       level=d.get("level", ""), priority=int(d.get("priority", 4)), value=d.get("value"),
                       limit=d.get("limit"), ts=t(d["ts"]) or 0.0, raised_ts=t(d.get("raised")),
                       active=bool(d.get("active")), acked_by=d.get("acked_by"),
                       shelved_until=t(d.get("shelved_until")), message=d.get("msg", ""), seq=int(d.get("seq", 0)))


def seq_ranges(seqs: set[int]) -> list[list[int]]:
    """Sorted sequence numbers as inclusive ranges.

    >>> seq_ranges({1, 2, 3, 7, 9, 10})
    [[1, 3], [7, 7], [9, 10]]
    """
    out: list[list[int]] = []
    for s in sorted(seqs):
        if out and s == out[-1][1] + 1:
            out[-1][1] = s
        else:
            out.append([s, s])
    return out


class AlarmEventWriter:
    """Appends alarm transitions to the store on its own thread (the alarm path never waits on SQL)."""

    def __init__(self, store: Any, site: str = "") -> None:
        self.store = store
        self.site = site
        self.q: queue.Queue[AlarmRecord | None] = queue.Queue()
        self.written = 0
        self.failed = 0
        self._worker = Worker("safetwin-alarm-events", self._run, wake=lambda: self.q.put(None), logger=log).start()

    def put(self, recs: list[AlarmRecord]) -> None:
        for r in recs:
            self.q.put(r)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop (waiting up to ``timeout`` s)."""
        self._worker.stop(timeout)

    def _run(self) -> None:
        stop = False
        while not stop:
            batch = [self.q.get()]
            while True:
                try:
                    batch.append(self.q.get_nowait())
                except queue.Empty:
                    break
            stop = None in batch
            rows = [{"site": self.site, "alarm_id": r.alarm_id, "sensor_id": r.source_id, "level": r.level or r.kind,
                     "state": r.state.value, "ts": datetime.fromtimestamp(r.ts, timezone.utc),
                     "message": r.message} for r in batch if r is not None]
            if not rows:
                continue
            try:
                self.written += self.store.append_alarm_events(rows)
            except Exception:
                self.failed += len(rows)
                log.exception("could not store %d alarm events", len(rows))


class Publisher:
    """Outbound messages of one site over ``conn`` (QoS 1)."""

    def __init__(self, conn: MqttConnection, topics: Topics, *, signing_key: bytes | None = None) -> None:
        self.conn = conn
        self.topics = topics
        self.signing_key = signing_key
        #: the bridge's live lane (clusters): alarm transitions also go out on it at QoS 0
        self.live: MqttConnection | None = None
        #: the second live lane (used while the first is away)
        self.live_backup: MqttConnection | None = None
        #: with a live lane, also send each alarm record on its topic at QoS 0, not retained
        self.live_records = True
        self._last: dict[str, bytes] = {}
        self.published = 0
        #: the last retained alarm record sent per topic (b"": cleared), for :meth:`republish_alarms`
        self._alarm_records: dict[str, bytes] = {}
        #: alarm records published again by :meth:`republish_alarms`
        self.republished = 0
        self._alarm_lock = threading.Lock()
        #: the retained muster status found at start (a previous run's); an empty status (pob 0)
        #: never replaces one that counted people
        self.retained_muster: dict[str, Any] | None = None
        self.muster_held = 0

    def alarms(self, recs: list[AlarmRecord]) -> None:
        """Publish transitions: the event stream, and the retained state (cleared when NORMAL),
        signed when the publisher has a key."""
        with self._alarm_lock:
            for rec in recs:
                doc = alarm_payload(rec)
                body = encode(sign_alarm(doc, self.signing_key) if self.signing_key else doc)
                topic = self.topics.alarm(rec.alarm_id)
                retained = b"" if rec.state is AlarmState.NORMAL else body
                if self.live is not None:       # first: nothing of the broker's storage on its way
                    # through the lane, or through this connection while the lane reconnects: the
                    # live feed, and a live (QoS 0, not retained) copy of the record on its own
                    # topic, which a cluster node passes on to the subscribers at once (QoS 1
                    # delivery and the retained store wait for JetStream, docs/cluster.md)
                    live = next((c for c in (self.live, self.live_backup) if c is not None and c.connected.is_set()),
                                self.conn)
                    live.publish(self.topics.live_alarm(), body, qos=0)
                    if self.live_records:
                        live.publish(topic, retained, qos=0)
                self.conn.publish(self.topics.alarm_events(), body, qos=1)
                self.conn.publish(topic, retained, qos=1, retain=True)
                self._alarm_records[topic] = retained
                self.published += 2

    def republish_alarms(self) -> int:
        """Publish the last retained record of every alarm sent so far again (QoS 1, retained);
        returns how many. After a cluster node loss: NATS 2.9 acknowledges a retained QoS 1
        PUBLISH even when storing it as retained failed (its retained stream had no leader for
        4 s), so the bridge writes its alarm state again once the cluster has elected new
        leaders."""
        with self._alarm_lock:
            for topic, body in self._alarm_records.items():
                self.conn.publish(topic, body, qos=1, retain=True)
            n = len(self._alarm_records)
            self.republished += n
            self.published += n
        return n

    def receipts(self, receipts: list[tuple[str, int, int]]) -> None:
        """Tell each gateway which of its batches (boot, seq) are durable in history: one QoS 1
        message per gateway on ``twin/receipts/{gw}`` with the sequence numbers as inclusive
        ranges (see :mod:`.gateway`)."""
        by_gw: dict[tuple[str, int], set[int]] = {}
        for gw, boot, seq in receipts:
            by_gw.setdefault((gw, boot), set()).add(seq)
        for (gw, boot), seqs in by_gw.items():
            self.conn.publish(self.topics.receipts(gw), encode({"gw": gw, "boot": boot, "seqs": seq_ranges(seqs)}),
                              qos=1)
            self.published += 1

    def retained_if_changed(self, topic: str, doc: dict[str, Any], ignore: tuple[str, ...] = ("ts",)) -> bool:
        """Publish ``doc`` retained unless it equals the last one sent (ignoring ``ignore`` keys)."""
        key = encode({k: v for k, v in doc.items() if k not in ignore})
        if self._last.get(topic) == key:
            return False
        self._last[topic] = key
        self.conn.publish(topic, encode(doc), qos=1, retain=True)
        self.published += 1
        return True

    def occupancy(self, occ: dict[str, dict[str, Any]], now: float) -> None:
        for area, d in occ.items():
            self.retained_if_changed(self.topics.occupancy(area), {"ts": iso_ms(now), "area": area, **d})

    def muster(self, status: dict[str, Any]) -> None:
        """Publish the muster status (retained, when changed). While the twin counts nobody and
        the retained status of a previous run counted people, it is kept (not replaced by an
        empty one): a restart must not make people disappear."""
        held = self.retained_muster
        if held is not None:
            if status["pob"] == 0 and int(held.get("pob") or 0) > 0:
                self.muster_held += 1
                return
            self.retained_muster = None
        doc = dict(status)
        doc["ts"] = iso_ms(status["ts"])
        doc["missing"] = [dict(m, last_seen=iso_ms(m["last_seen"])) for m in status["missing"]]
        self.retained_if_changed(self.topics.muster(), doc, ignore=("ts", "missing"))

    def evacuation(self, area_id: str, action: str, route: list[str] | None = None,
                   muster_point: str | None = None, reason: str = "", ts: float | None = None, **extra: Any) -> None:
        """Retained instruction for everyone in ``area_id`` (``action``: evacuate, shelter, all_clear);
        ``extra`` fields (the evaluation id, ASET and RSET …) travel as given."""
        doc = {"ts": iso_ms(ts or time.time()), "area": area_id, "action": action, "route": route or [],
               "muster_point": muster_point, "reason": reason, **extra}
        self.conn.publish(self.topics.evacuation(area_id), encode(doc), qos=1, retain=True)
        self.published += 1

    def evacuation_instructions(self, instructions: Any, ts: float | None = None) -> int:
        """One retained instruction per area: ``instructions`` is the list of per-area dicts of a
        live evaluation (what the API serves, ``area_id``, ``action``, ``route``, ``muster_point``,
        ``reason`` and any further fields) or a planner's
        :class:`~safetwin.emergency_planner.recommend.records.Recommendations` (its
        ``area_instructions()``); returns the number published."""
        items = instructions.area_instructions() if hasattr(instructions, "area_instructions") else instructions
        sent = 0
        for instruction in items:
            fields = dict(instruction)
            self.evacuation(fields.pop("area_id"), fields.pop("action"), route=fields.pop("route", None),
                            muster_point=fields.pop("muster_point", None), reason=fields.pop("reason", ""), ts=ts,
                            **fields)
            sent += 1
        return sent

    def command(self, eid: str, action: str, by: str, reason: str = "", expiry_s: int = 15) -> str:
        """Send a command to equipment ``eid`` with MQTT 5 message expiry ``expiry_s`` seconds,
        a response topic and correlation data; never retained. Returns the command id."""
        cmd_id = "c-" + uuid.uuid4().hex[:10]
        now = time.time()
        props = Properties(PacketTypes.PUBLISH)
        props.MessageExpiryInterval = int(expiry_s)
        props.ResponseTopic = self.topics.cmd_response(eid)
        props.CorrelationData = cmd_id.encode()
        doc = {"cmd_id": cmd_id, "ts": iso_ms(now), "eid": eid, "action": action, "by": by,
               "reason": reason, "expires": iso_ms(now + expiry_s)}
        self.conn.publish(self.topics.command(eid), encode(doc), qos=1, retain=False, properties=props)
        self.published += 1
        return cmd_id

    def status(self, online: bool, **extra: Any) -> None:
        self.conn.publish(self.topics.twin_status(), encode({"online": online, "ts": iso_ms(time.time()), **extra}),
                          qos=1, retain=True)

    def reject_sample(self, sample: dict[str, Any]) -> None:
        sample = dict(sample, ts=iso_ms(sample["ts"]))
        self.conn.publish(self.topics.rejects(), encode(sample), qos=0)
