"""The durable ingest log and its indexer: records survive, the history table gets every reading
exactly once (re-indexing, torn tails, a bridge that starts on a log a crashed run left), a
failed group commit is never acknowledged (the broker redelivers), and the buffered paho client
delivers exactly what paho delivers."""
from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from safetwin.live_bridge.bridge import LiveBridge
from safetwin.live_bridge.fastclient import FastClient
from safetwin.live_bridge.ingest import Ingestor
from safetwin.live_bridge.ingestlog import (
    DurableLog, LogIndexer, expand_record, list_segments, segment_name, site_log_directory,
)
from safetwin.live_bridge.payloads import iso_ms
from safetwin.live_bridge.topics import Topics
from safetwin.twin.state import TwinState
from safetwin.twin.store import Store

from .conftest import wait_for

T0 = 1735689600.0   # 2025-01-01T00:00:00Z


def put(log: DurableLog, source: str, seq0: int, n: int, v: float = 1.0, site: str = "s1") -> None:
    log.put_record("demo", source, T0, seq0, [f"GD-{i % 3:02d}" for i in range(n)], [T0] * n,
                   [v + i for i in range(n)], ["%LEL"] * n, ["ok"] * n, site)


def test_log_roundtrip_and_reindex_is_idempotent(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'h.db'}")
    log = DurableLog(tmp_path / "log", segment_bytes=4096)      # small: several segments
    for k in range(40):
        put(log, "gw-1", k * 1000, 20)
        if k % 8 == 7:
            log.sync()                                           # rotates past 4 KiB
    assert len(list_segments(tmp_path / "log")) > 1
    ix = LogIndexer(tmp_path / "log", store, log=log)
    assert ix.run_once() == 40 and store.count_readings() == 800
    # closed segments are deleted once indexed; the live one stays
    assert list_segments(tmp_path / "log") == [log.segment]
    put(log, "gw-1", 40_000, 20)
    put(log, "gw-1", 41_000, 20)
    log.sync()
    assert ix.run_once() == 2 and store.count_readings() == 840
    (tmp_path / "log" / "indexed.json").unlink()                 # lose the position: index again
    again = LogIndexer(tmp_path / "log", store, log=log)
    again.run_once()
    assert store.count_readings() == 840 and again.records >= 2 and again.duplicates == again.records * 20
    log.close()
    store.close()


def test_torn_tail_is_skipped_and_a_restarted_log_continues(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'h.db'}")
    d = tmp_path / "log"
    log = DurableLog(d)
    for k in range(5):
        put(log, "gw-1", k * 1000, 10)
    log.sync()
    first = log.segment
    log.close()
    with open(d / segment_name(first), "ab") as f:               # a crash in the middle of a write
        f.write(b"\x40\x00\x00\x00\x12\x34\x56\x78[\"half a rec")
    log2 = DurableLog(d)                                          # the next run: a new segment
    assert log2.segment == first + 1
    put(log2, "gw-1", 5000, 10)
    log2.sync()
    ix = LogIndexer(d, store, log=log2)
    ix.run_once()
    assert store.count_readings() == 60 and ix.torn == 1
    log2.close()
    store.close()


def test_record_columns_equal_row_tuples(small_plant):
    """The bridge's two history paths (columns into the log, row tuples into a writer) give
    the same rows, also for batches that take the per-entry path."""
    class LogSink:
        def __init__(self):
            self.rows = []

        def put_rows(self, rows):
            self.rows.extend(rows)

        def put_record(self, *cols):
            from safetwin.live_bridge.ingestlog.durable_log import _encode
            self.rows.extend(expand_record(_encode(cols)))

        def put_positions(self, rows):
            pass

    class RowSink:
        def __init__(self):
            self.rows = []

        def put_prepared_readings(self, rows):
            self.rows.extend(rows)

        def put_positions(self, rows):
            pass

    now = time.time()
    t = Topics("s1")
    batches = []
    for k in range(30):
        r = [{"sid": ["GD-01", "GD-02", "CL-01"][i % 3], "ts": iso_ms(now - 1 + i * 1e-3), "v": float(i)} for i in range(20)]
        if k % 3 == 1:
            r[3] = {"sid": "GD-99", "ts": iso_ms(now), "v": 1.0}               # unknown sensor
            r[4] = {"sid": "GD-01", "ts": iso_ms(now + 600), "v": 2.0}         # clock skew
            r[5] = {"sid": "GD-01", "ts": iso_ms(now - 7200), "v": 3.0}        # late: history only
            r[6] = {"sid": "GD-02", "ts": iso_ms(now), "v": None, "q": "bad"}  # fault
            r[7] = {"sid": "GD-02", "ts": iso_ms(now), "v": 1.0, "u": "ppm"}   # unit mismatch
        batches.append(json.dumps({"gw": "gw-1", "seq": k, "ts": iso_ms(now), "r": r}).encode())
    a, b = LogSink(), RowSink()
    ia = Ingestor(TwinState(small_plant), "s1", history=a)
    ib = Ingestor(TwinState(small_plant), "s1", history=b)
    for p in batches:
        oa, ob = ia.handle(t.batch("gw-1"), p, received_ts=now), ib.handle(t.batch("gw-1"), p, received_ts=now)
        assert (oa.applied, oa.history, oa.rejected) == (ob.applied, ob.history, ob.rejected)
    assert a.rows == b.rows
    assert len(a.rows) == 30 * 20 - 10 * 2 and ia.rejects.counts == ib.rejects.counts
    # a hostile id or a zone-less time anywhere in a batch rejects it whole, as before
    bad_id = {"gw": "gw-1", "seq": 99, "ts": iso_ms(now), "r": [{"sid": "GD/01", "ts": iso_ms(now), "v": 1}]}
    bad_ts = {"gw": "gw-1", "seq": 98, "ts": iso_ms(now), "r": [{"sid": "GD-01", "ts": "2025-06-01T12:00:00", "v": 1}]}
    for doc in (bad_id, bad_ts):
        out = ia.handle(t.batch("gw-1"), json.dumps(doc).encode())
        assert out.rejected == 1 and out.reason == "invalid_field"


def test_bridge_catches_up_on_a_log_left_by_a_crashed_run(small_plant, bridge_config, tmp_path):
    db = bridge_config.db_url
    Store.open(db).close()
    log = DurableLog(site_log_directory(db.removeprefix("sqlite:///") + ".ingest-log", bridge_config.site))
    for k in range(30):
        put(log, "gw-crashed", k * 1000, 50, site=bridge_config.site)
    log.sync()                                 # durable (acknowledged), never indexed: then a crash
    log.abandon()
    with LiveBridge(small_plant, bridge_config) as b:
        assert b.wait_indexed(60)
        assert b.store.count_readings() == 1500


def test_failed_group_commit_is_not_acknowledged(small_plant, bridge_config, pub, monkeypatch):
    """fdatasync fails twice (after the write): those messages are not acked, the log moves to a
    new segment, the bridge reconnects, the broker redelivers and history holds every reading
    exactly once."""
    import safetwin.live_bridge.ingestlog.durable_log as il
    t = Topics(bridge_config.site)
    with LiveBridge(small_plant, bridge_config) as b:
        real, fails = il.os.fdatasync, [2]

        def flaky(fd):
            if fails[0] > 0:
                fails[0] -= 1
                raise OSError(5, "I/O error (test)")
            real(fd)
        monkeypatch.setattr(il.os, "fdatasync", flaky)
        seg0 = b.log.segment
        now = time.time()
        for m in range(20):
            r = [{"sid": "GD-01", "ts": iso_ms(now + m * 0.01 + i * 1e-4), "v": 1.0} for i in range(10)]
            pub.send(t.batch("gw-f"), json.dumps({"gw": "gw-f", "seq": m, "ts": iso_ms(now), "r": r}))
        assert wait_for(lambda: b.acker.acked >= 20, timeout=60)
        monkeypatch.undo()
        assert b.acker.flush_failures == 2 and b.inbound.disconnects >= 1 and b.log.segment == seg0 + 2
        assert b.wait_indexed(60)
        assert b.store.count_readings() == 200


def test_fast_client_delivers_what_paho_delivers(broker):
    """Large payloads across buffer refills, MQTT 5 properties (paho's own path) and QoS 0/1."""
    host, port = broker
    topic = "fc/" + uuid.uuid4().hex[:8]
    got: dict[str, list] = {"fast": [], "paho": []}
    clients = []
    for kind, cls in (("fast", FastClient), ("paho", mqtt.Client)):
        c = cls(mqtt.CallbackAPIVersion.VERSION2, client_id=f"fc-{kind}-" + uuid.uuid4().hex[:6], protocol=mqtt.MQTTv5)
        c.on_message = lambda cl, u, m, k=kind: got[k].append((m.topic, bytes(m.payload), m.qos, m.retain))
        subscribed = threading.Event()
        c.on_subscribe = lambda *args, done=subscribed: done.set()
        c.connect(host, port)
        c.loop_start()
        c.subscribe(topic + "/#", qos=1)
        assert subscribed.wait(30), f"{kind}: no SUBACK"
        clients.append(c)
    p = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="fc-pub-" + uuid.uuid4().hex[:6], protocol=mqtt.MQTTv5)
    p.connect(host, port)
    p.loop_start()
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = ("k", "v")
    sent = []
    for i in range(300):
        body = (b"%06d" % i) * (1 + (i * 7919) % 30000)          # 6 B .. 180 kB
        kw = {"properties": props} if i % 10 == 0 else {}
        sent.append((f"{topic}/{i % 7}", body, i % 2, False))
        p.publish(f"{topic}/{i % 7}", body, qos=i % 2, **kw).wait_for_publish(10)
    assert wait_for(lambda: len(got["fast"]) == len(got["paho"]) == 300, timeout=30)
    assert got["fast"] == got["paho"] == sent
    p.disconnect()
    p.loop_stop()
    for c in clients:
        c.disconnect()
        c.loop_stop()


def test_a_dead_indexer_process_is_restarted_and_history_completes(small_plant, bridge_config, pub):
    t = Topics(bridge_config.site)
    with LiveBridge(small_plant, bridge_config) as b:
        b.indexer.kill()                                  # e.g. killed by the OOM killer
        now = time.time()
        for m in range(10):
            r = [{"sid": "GD-02", "ts": iso_ms(now + m * 0.01 + i * 1e-4), "v": 2.0} for i in range(10)]
            pub.send(t.batch("gw-k"), json.dumps({"gw": "gw-k", "seq": m, "ts": iso_ms(now), "r": r}))
        assert wait_for(lambda: b.acker.acked >= 10, timeout=30)
        assert wait_for(b.indexer.alive, timeout=10)      # the periodic check restarted it
        assert b.wait_indexed(60)
        assert b.store.count_readings() == 100


def test_a_log_of_the_one_log_per_store_layout_is_indexed_under_the_first_site(small_plant, bridge_config):
    """Records written before sites were logged (times as SQLite text, no site), left in
    ``<db>.ingest-log/`` itself by a crashed bridge of that version: the bridge of a site moves
    them into its own log directory and indexes them with its site."""
    import struct
    import zlib
    db = bridge_config.db_url
    Store.open(db).close()
    base = db.removeprefix("sqlite:///") + ".ingest-log"
    frames = b""
    for k in range(5):
        body = json.dumps(["demo", "gw-old", "2025-01-01 00:00:01.000000", k * 1000, ["GD-01", "GD-02"],
                           ["2025-01-01 00:00:00.250000"] * 2, [1.0, -0.0], ["%LEL"] * 2, ["ok"] * 2]).encode()
        frames += struct.pack("<II", len(body), zlib.crc32(body)) + body
    import os
    os.makedirs(base)
    with open(f"{base}/{segment_name(1)}", "wb") as f:
        f.write(frames)
    with LiveBridge(small_plant, bridge_config) as b:
        assert b.wait_indexed(60)
        rows = b.store.readings("GD-02", site=bridge_config.site)
        assert len(rows) == 5 and str(rows[0].value) == "-0.0" and rows[0].ts.isoformat() == "2025-01-01T00:00:00.250000+00:00"
    assert list_segments(Path(base)) == []


def test_the_indexer_of_a_crashed_bridge_leaves_the_restarted_bridges_segments_alone(tmp_path):
    """A bridge dies; the restarted one already writes a new segment when the old indexer drains
    (a busy machine): the old indexer indexes only the crashed writer's segments, the new
    writer's records stay for the new indexer -- none deleted unindexed."""
    from safetwin.live_bridge.ingestlog.durable_log import last_closed_segment
    store = Store.open(f"sqlite:///{tmp_path / 'h.db'}")
    d = tmp_path / "log"
    old = DurableLog(d)
    put(old, "gw-old", 0, 10)
    old.sync()
    old.abandon()                                   # the crash: lock released, segment closed
    new = DurableLog(d)                             # the restarted bridge's writer
    put(new, "gw-new", 0, 10)
    new.sync()
    assert last_closed_segment(d) == old.segment < new.segment
    drain = LogIndexer(d, store)                    # the old indexer draining after its writer died
    drain.last_segment = last_closed_segment(d)
    drain.run_once()
    assert store.count_readings() == 10 and (d / segment_name(new.segment)).exists()
    LogIndexer(d, store, log=new).run_once()        # the new indexer takes the rest
    assert store.count_readings() == 20
    new.close()
    assert last_closed_segment(d) == new.segment    # no writer: every segment is closed
    store.close()


def test_group_commit_write_completes_short_writes(tmp_path, monkeypatch):
    """The group commit writes its frames with writev; a short write is completed."""
    import os

    from safetwin.live_bridge.ingestlog import durable_log

    real = os.writev
    calls: list[int] = []

    def short_writev(fd: int, buffers: list[bytes]) -> int:   # writes only part of the first buffer
        calls.append(len(buffers))
        return real(fd, [bytes(buffers[0][:3])])

    monkeypatch.setattr(durable_log, "_IOV_MAX", 4)
    monkeypatch.setattr(durable_log.os, "writev", short_writev)
    pieces = [bytes([65 + i]) * (i + 5) for i in range(10)]
    path = tmp_path / "f"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        durable_log._write_all(fd, pieces)
    finally:
        os.close(fd)
    assert path.read_bytes() == b"".join(pieces)
    assert calls == [4, 4, 2]
