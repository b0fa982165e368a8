"""Per-burst processing: a burst of messages gives exactly the result of processing them one
by one -- TwinState, alarm records (ISA-18.2 states, ROC), history rows, counters, rejects --
and the MQTT client hands the messages of one socket read over in order, as one group."""
from __future__ import annotations

import dataclasses
import json
import random
import threading
import time
import uuid

from safetwin.live_bridge.connection import MqttConnection
from safetwin.live_bridge.ingest import Ingestor
from safetwin.live_bridge.payloads import iso_ms
from safetwin.live_bridge.topics import Topics
from safetwin.twin.alarms import rules as alarms_mod
from safetwin.twin.alarms import AlarmRules, RuleConfig, rule_for_sensor
from safetwin.twin.state import TwinState

from .conftest import Pub


def _tracks(rules: AlarmRules) -> dict:
    return {sid: dataclasses.astuple(tr) for sid, tr in rules._tracks.items()}


def test_grouped_alarm_evaluation_equals_the_loop(small_plant):
    # GD-03 gets a sensitive rate-of-change rule (0.5 %LEL/s over 1 s) so ROC references fall
    # due inside bursts and some bursts carry a ROC alarm; GD-01 sometimes crosses W/H levels.
    over = {"GD-03": RuleConfig((("W", 10.0), ("H", 25.0), ("HH", 50.0)), deadband=2.0, off_delay_s=5.0,
                                roc_per_s=0.5, period_s=1.0, range_min=0.0, range_max=100.0)}
    a, b = AlarmRules(TwinState(small_plant), over), AlarmRules(TwinState(small_plant), over)
    sids = sorted(s for s in small_plant.sensors if s != "MET-1")
    quiet_hi = {s: 0.4 * rule_for_sensor(small_plant.sensors[s]).levels[0][1] for s in sids}
    rng = random.Random(11)
    taken = {True: 0, False: 0}
    grouped = a._evaluate_grouped

    def spy(*args):
        r = grouped(*args)
        taken[r] += 1
        return r

    a._evaluate_grouped = spy
    t = 1.7e9
    step = alarms_mod._VECTOR_MIN // 2
    for k in range(80):
        n = rng.randint(64, 400)
        ids = [rng.choice(sids) for _ in range(n)]
        vals, ts = [], []
        for sid in ids:
            t += rng.uniform(0.0, 0.02)
            vals.append(round(1.0 + rng.uniform(-0.05, 0.05), 3) if sid == "GD-03"     # smooth: no ROC
                        else round(rng.uniform(0.0, quiet_hi[sid]), 3))
            ts.append(t)
        if k % 5 == 1:                                  # a level crossing mid-burst
            vals[n // 2], ids[n // 2] = 30.0, "GD-01"
        if k % 7 == 3:                                  # a steep rise on GD-03 (ROC, below every level)
            for i in range(n // 2, n):
                if ids[i] == "GD-03":
                    vals[i] = 3.9
        qs = ["ok"] * n
        if k % 11 == 5:
            qs[3] = "fault"
        ra = a.evaluate_many(ids, vals, ts, qs)
        rb = []
        for s in range(0, n, step):
            rb += b.evaluate_many(ids[s:s + step], vals[s:s + step], ts[s:s + step], qs[s:s + step])
        assert [dataclasses.astuple(r) for r in ra] == [dataclasses.astuple(r) for r in rb], f"burst {k}"
        assert _tracks(a) == _tracks(b), f"burst {k}"
        assert {r.alarm_id: r.state for r in a.current()} == {r.alarm_id: r.state for r in b.current()}
        t += 2.0
    assert a.fast_path == b.fast_path
    assert taken[True] >= 30 and taken[False] >= 10
    assert any(r.kind == "ROC" for r in b.current())      # the ROC case was really exercised


class _Sink:
    """History and alarm sinks that record what they are handed."""

    def __init__(self) -> None:
        self.records: list = []
        self.alarm_rows: list = []

    def put_record(self, *cols) -> None:
        self.records.append(json.dumps(cols))

    def put_rows(self, rows) -> None:
        self.records.extend(json.dumps(r) for r in rows)

    def put_readings(self, rows) -> None:
        raise AssertionError("not used with put_record")

    def put_positions(self, rows) -> None:
        pass

    def submit_readings(self, readings) -> None:
        self.alarm_rows += [tuple(r) for r in readings]

    def submit_columns(self, sids, vals, ts, qs) -> None:
        self.alarm_rows += list(zip(sids, vals, ts, qs))

    def command(self, *a, **k) -> None:
        pass


def _messages(site: str, now: float) -> list[tuple[str, bytes]]:
    t = Topics(site)
    rng = random.Random(3)
    sids = ["GD-01", "GD-02", "CL-01", "CL-02"]
    out = []
    for m in range(40):
        ts = now - 3.0 + m * 0.05
        r = [{"sid": sids[(m + i) % 4], "ts": iso_ms(ts), "v": round(rng.uniform(0, 4), 2)} for i in range(50)]
        gw = "gw-a" if m % 3 else "gw-b"
        out.append((t.batch(gw), json.dumps({"gw": gw, "seq": m, "ts": iso_ms(ts), "r": r}).encode()))
        if m == 10:      # a single reading newer than the batches around it: later batch rows are out of order
            body = {"sid": "GD-02", "seq": 1, "ts": iso_ms(now - 0.5), "v": 2.0}
            out.append((t.reading("a", "u", "GD-02"), json.dumps(body).encode()))
        if m == 20:
            out.append((t.batch("gw-a"), out[-1][1]))                      # duplicate (wrong gw too)
            out.append((t.batch("gw-b"), b'{"gw":"gw-b","seq":'))          # malformed
            bad = {"gw": "gw-b", "seq": 999, "ts": iso_ms(ts), "r": [{"sid": "NOPE-1", "ts": iso_ms(ts), "v": 1},
                                                                  {"sid": "GD-03", "ts": iso_ms(ts), "v": None}]}
            out.append((t.batch("gw-b"), json.dumps(bad).encode()))        # per-entry rejects
    return out


def test_ingest_burst_equals_one_by_one(small_plant):
    now = time.time()
    msgs = _messages("s1", now)
    sa, sb = _Sink(), _Sink()
    a = Ingestor(TwinState(small_plant), "s1", history=sa, alarms=sa)
    b = Ingestor(TwinState(small_plant), "s1", history=sb, alarms=sb)
    a.handle_burst(msgs[:17], received_ts=now)
    a.handle_burst(msgs[17:], received_ts=now)
    for topic, payload in msgs:
        b.handle(topic, payload, now)
    assert sa.records == sb.records and len(sa.records) > 40
    assert sa.alarm_rows == sb.alarm_rows and len(sa.alarm_rows) > 1000
    assert (a.messages, a.readings_applied, a.readings_history) == (b.messages, b.readings_applied, b.readings_history)
    assert a.rejects.snapshot() == b.rejects.snapshot()
    assert a.rejects.snapshot()["flags"].get("out_of_order", 0) > 0          # the late rows were counted
    assert {k: (repr(r.value), r.ts) for k, r in a.state.readings().items()} == \
           {k: (repr(r.value), r.ts) for k, r in b.state.readings().items()}


def test_fastclient_hands_over_bursts_in_order(broker):
    host, port = broker
    topic = f"tburst/{uuid.uuid4().hex[:8]}/x"
    got: list[int] = []
    sizes: list[int] = []
    done = threading.Event()
    n = 3000

    def on_burst(conn, msgs):
        sizes.append(len(msgs))
        got.extend(int(m.payload) for m in msgs)
        conn.client.ack_many([m.mid for m in msgs if m.qos])
        if len(got) >= n:
            done.set()

    sub = MqttConnection("tburst-" + uuid.uuid4().hex[:6], host, port, manual_ack=True, persistent=False,
                         subscriptions=[topic], on_burst=on_burst).start()
    p = Pub(host, port)
    try:
        for k in range(n):
            p.send(topic, str(k).encode(), qos=1, wait=False)
        assert done.wait(30), f"{len(got)} of {n} received"
        assert got == list(range(n))            # every message, once, in publish order
        assert max(sizes) > 1                   # messages of one read arrived as one group
    finally:
        p.close()
        sub.stop()


def test_indexer_waits_for_the_end_of_a_burst_but_not_longer_than_max_lag(tmp_path):
    """Driven by a test clock: the rule is about elapsed time, not about how fast this machine runs."""
    from safetwin.live_bridge.ingestlog import WriterActivity, segment_name

    class Clock:
        now_s = 1000.0

        def __call__(self) -> float:
            return self.now_s

    clock = Clock()
    seg = tmp_path / segment_name(1)
    seg.write_bytes(b"x")
    gate = WriterActivity(tmp_path, idle_s=0.2, max_lag_s=1.0, clock=clock)
    assert not gate.busy()                         # an old log is indexed at once
    with open(seg, "ab") as f:
        f.write(b"y")
    assert gate.busy()                             # the writer is appending: wait
    clock.now_s += 0.19
    assert gate.busy()                             # still within idle_s of the last append
    clock.now_s += 0.02
    assert not gate.busy()                         # quiet for idle_s: index now
    gate.caught_up()
    start_s = clock.now_s
    states = []
    for _ in range(80):                            # steady appends every 20 ms: waits at most max_lag_s
        with open(seg, "ab") as f:
            f.write(b"z")
        states.append((clock.now_s - start_s, gate.busy()))
        clock.now_s += 0.02
    assert all(busy for t, busy in states if t < 0.99)
    assert not any(busy for t, busy in states if t > 1.01)

def _publish_packet(topic: str, payload: bytes, qos: int, mid: int, *, retain: bool = False, dup: bool = False,
                    properties: bytes = b"\x00") -> bytes:
    """An MQTT 5 PUBLISH packet (``properties``: the encoded property length and properties)."""
    t = topic.encode()
    body = len(t).to_bytes(2, "big") + t + (mid.to_bytes(2, "big") if qos else b"") + properties + payload
    n, length = len(body), b""
    while True:
        n, byte = n >> 7, n & 127
        length += bytes([byte | (128 if n else 0)])
        if not n:
            break
    return bytes([0x30 | (qos << 1) | (1 if retain else 0) | (8 if dup else 0)]) + length + body


def test_fastclient_drain_keeps_every_field_and_the_order():
    """The burst path that decodes every plain PUBLISH of a socket read in one loop gives what
    paho's own handler gives, in arrival order, also around packets it leaves to paho (PUBLISH
    with properties, a packet cut at the end of a read); checked without a broker, over a
    socket pair."""
    import socket

    import paho.mqtt.client as mqtt

    from safetwin.live_bridge.fastclient import FAST_PATH, BufferedSocket, FastClient

    rng = random.Random(7)
    packets, expected = [], []
    for k in range(400):
        qos, retain, dup = rng.choice((0, 1)), rng.random() < 0.2, rng.random() < 0.1
        topic = f"t/{k % 7}/ü"
        payload = bytes(rng.getrandbits(8) for _ in range(rng.choice((0, 1, 50, 200, 20000))))
        props = b"\x00" if k % 37 else b"\x02\x01\x01"      # every 37th: payload format indicator
        mid = 1 + k if qos else 0
        packets.append(_publish_packet(topic, payload, qos, mid, retain=retain, dup=dup, properties=props))
        expected.append((topic, payload, qos, mid, retain, dup))
    data = b"".join(packets)
    a, b = socket.socketpair()
    got: list[tuple] = []
    client = FastClient(mqtt.CallbackAPIVersion.VERSION2, client_id="drain", protocol=mqtt.MQTTv5, manual_ack=True)
    client.on_burst = lambda msgs: got.extend((m.topic, bytes(m.payload), m.qos, m.mid, m.retain, m.dup) for m in msgs)
    client.on_message = lambda c, u, m: got.append((m.topic, bytes(m.payload), m.qos, m.mid, bool(m.retain),
                                                    bool(m.dup)))
    client._sock = BufferedSocket(a)
    drains: list[bool] = []
    drain = client._drain_publishes
    client._drain_publishes = lambda sock: drains.append(drain(sock)) or drains[-1]   # type: ignore[method-assign]
    writer = threading.Thread(target=lambda: [b.sendall(data[i:i + 7001]) for i in range(0, len(data), 7001)])
    writer.start()
    try:
        deadline = time.monotonic() + 30
        while len(got) < len(expected) and time.monotonic() < deadline:
            client.loop_read()
    finally:
        writer.join()
        a.close()
        b.close()
    assert got == expected
    assert FAST_PATH and drains.count(True) > 10      # the drain loop took most packets
