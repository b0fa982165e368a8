"""Sparkplug B input: the wire format, the host rules (births, aliases, seq, bdSeq, rebirth
requests, bad payloads) on the ingest pipeline, and no loss across a bridge kill and an edge-node
rebirth over the real Mosquitto broker (short form; 100 000 metrics: benchmarks/bench_sparkplug.py)."""
from __future__ import annotations

import itertools
import time
import uuid

import pytest

from safetwin.live_bridge.bridge import LiveBridge
from safetwin.live_bridge.ingest import Ingestor
from safetwin.live_bridge.mqtt_client import BrokerEndpoint
from safetwin.live_bridge.sparkplug.drill import SparkplugStream, account
from safetwin.live_bridge.sparkplug.edge import EdgeNode, map_sensors, metric_name
from safetwin.live_bridge.sparkplug.host import SparkplugHost, metric_seq, rebirth_request
from safetwin.live_bridge.sparkplug.proto import DataType, Payload, metric_value
from safetwin.plant_models.loader import bundled_plant_path, load_plant
from safetwin.twin.state import TwinState

from .conftest import wait_for

DEVICES = {"plc-1": ["GD-01", "GD-02"], "plc-2": ["GD-03", "CL-01"]}


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, wire: int, body: bytes) -> bytes:
    return _varint(number << 3 | wire) + body


def test_wire_format_is_sparkplug_b():
    """Bytes written by hand from the Sparkplug B field numbers decode as expected (so the
    message classes follow the schema, not only themselves), signed values in two's complement."""
    name = b"Sensors/GD-01/value"
    metric = (_field(1, 2, _varint(len(name)) + name) + _field(2, 0, _varint(7)) + _field(3, 0, _varint(1_700_000_000_123))
              + _field(4, 0, _varint(DataType.Int16)) + _field(10, 0, _varint((-5) & 0xFFFFFFFF)))
    wire = _field(1, 0, _varint(1_700_000_000_000)) + _field(2, 2, _varint(len(metric)) + metric) + _field(3, 0, _varint(42))
    p = Payload.FromString(wire)
    assert (p.timestamp, p.seq, len(p.metrics)) == (1_700_000_000_000, 42, 1)
    m = p.metrics[0]
    assert (m.name, m.alias, m.timestamp, m.datatype) == ("Sensors/GD-01/value", 7, 1_700_000_000_123, DataType.Int16)
    assert metric_value(m) == -5
    assert Payload.FromString(p.SerializeToString()) == p


@pytest.fixture(scope="module")
def mapped_plant(tmp_path_factory):
    return load_plant(map_sensors(bundled_plant_path("small_plant"), tmp_path_factory.mktemp("plant"),
                                  group="plant1", edge="edge-1", devices=DEVICES))


def _host_and_ingestor(plant, sent):
    mapping = {(t.group, t.edge, t.device, t.metric): s.id for s in plant.meta.sensors if (t := s.sparkplug)}
    rows: list = []

    class Sink:
        def put_readings(self, r):
            rows.extend(r)

        def put_positions(self, r):
            pass

    ing = Ingestor(TwinState(plant), "site1", history=Sink())
    host = SparkplugHost(mapping, host_id="twin", send=lambda t, p: sent.append((t, p)), flag=ing.rejects.flag)
    ing.sparkplug = host
    return ing, host, rows


_TICK = itertools.count(100)


def _payload(seq: int | None, metrics: list[dict], ts_ms: int | None = None) -> bytes:
    """A payload stamped later than every earlier one of the test (unless ``ts_ms``)."""
    p = Payload(timestamp=ts_ms if ts_ms is not None else int(time.time() * 1000) + 10 * next(_TICK))
    if seq is not None:
        p.seq = seq
    for m in metrics:
        p.metrics.add(**m)
    return p.SerializeToString()


def test_host_rules_on_the_ingest_pipeline(mapped_plant):
    sent: list = []
    ing, host, rows = _host_and_ingestor(mapped_plant, sent)
    g, e = "spBv1.0/plant1", "edge-1"
    now = time.time()
    gd1, gd2 = metric_name("GD-01"), metric_name("GD-02")
    # data before any birth: refused, a rebirth asked
    out = ing.handle(f"{g}/DDATA/{e}/plc-1", _payload(5, [{"alias": 1, "double_value": 1.0}]), now)
    assert out.reason == "no_birth" and len(sent) == 1 and sent[0][0] == f"{g}/NCMD/{e}"
    assert Payload.FromString(sent[0][1]).metrics[0].name == "Node Control/Rebirth"
    ing.handle(f"{g}/NBIRTH/{e}", _payload(0, [{"name": "bdSeq", "datatype": DataType.Int64, "long_value": 3}]), now)
    out = ing.handle(f"{g}/DBIRTH/{e}/plc-1", _payload(1, [
        {"name": gd1, "alias": 11, "datatype": DataType.Double, "double_value": 4.0},
        {"name": gd2, "alias": 12, "datatype": DataType.Float, "is_null": True}]), now)
    assert out.applied == 1 and ing.state.reading("GD-01").value == 4.0
    # DATA by alias, several times of one metric, a quality property, a historical value
    t0 = int(now * 1000) + 10 * next(_TICK)
    bad = {"keys": ["Quality"], "values": [{"type": DataType.Int32, "int_value": 0}]}
    out = ing.handle(f"{g}/DDATA/{e}/plc-1", _payload(2, [
        {"alias": 11, "timestamp": t0 + 1, "double_value": 5.0},
        {"alias": 11, "timestamp": t0 + 2, "double_value": 6.0},
        {"alias": 12, "timestamp": t0 + 3, "float_value": 2.0, "properties": bad},
        {"alias": 11, "timestamp": t0 - 3_600_000, "double_value": 1.5, "is_historical": True}]), now)
    assert out.history == 4 and ing.state.reading("GD-01").value == 6.0
    assert ing.state.reading("GD-02").quality == "fault"
    assert {r["seq"] for r in rows} == {metric_seq("plant1", gd1), metric_seq("plant1", gd2)}
    assert {r["source"] for r in rows} == {"spb:edge-1/plc-1"}
    # seq 2 -> 4: a gap, still used, one rebirth (then rate-limited)
    n = len(sent)
    out = ing.handle(f"{g}/DDATA/{e}/plc-1", _payload(4, [{"alias": 11, "double_value": 7.0}]), now)
    assert out.applied == 1 and ing.rejects.flags["spb_seq_gap"] == 1 and len(sent) == n + 1
    # an alias the birth did not declare: that metric refused (located), the others used
    out = ing.handle(f"{g}/DDATA/{e}/plc-1", _payload(5, [{"alias": 99, "double_value": 1.0},
                                                          {"alias": 11, "double_value": 8.0}]), now + 0.001)
    assert out.rejected == 1 and out.applied == 1 and ing.rejects.counts["unknown_alias"] == 1
    # seq wraps 255 -> 0 without a gap
    host.node("plant1", "edge-1").seq = 254
    for s in (255, 0, 1):
        ing.handle(f"{g}/DDATA/{e}/plc-1", _payload(s, [{"alias": 11, "double_value": 1.0}]), now)
    assert ing.rejects.flags["spb_seq_gap"] == 1
    # NDEATH of an older session is ignored; of the current one takes the node offline
    ing.handle(f"{g}/NDEATH/{e}", _payload(None, [{"name": "bdSeq", "datatype": DataType.Int64, "long_value": 2}]), now)
    assert host.node("plant1", "edge-1").online and ing.rejects.flags["spb_stale_death"] == 1
    ing.handle(f"{g}/NDEATH/{e}", _payload(None, [{"name": "bdSeq", "datatype": DataType.Int64, "long_value": 3}]), now)
    assert not host.node("plant1", "edge-1").online
    out = ing.handle(f"{g}/DDATA/{e}/plc-1", _payload(2, [{"alias": 11, "double_value": 1.0}]), now)
    assert out.reason == "no_birth"            # data of a dead session: refused, a rebirth asked
    # bad input: rejected with a located reason, counted, never raised
    cases = {
        f"{g}/DDATA/{e}/plc-1": (b"\xff\xff\xff\xff", "malformed_protobuf"),
        f"{g}/NBIRTH/{e}/plc-1": (_payload(0, []), "unknown_topic"),
        f"{g}/NBIRTH/{e}": (_payload(0, []), "invalid_field"),          # no bdSeq
        f"{g}/NDATA/{e}": (_payload(None, []), "invalid_field"),         # no seq
    }
    for topic, (payload, reason) in cases.items():
        before = ing.rejects.counts[reason]
        ing.handle(topic, payload, now)
        assert ing.rejects.counts[reason] == before + 1, (topic, reason, ing.rejects.snapshot())
    ing.handle(f"{g}/NBIRTH/{e}", _payload(0, [{"name": "bdSeq", "datatype": DataType.Int64, "long_value": 4}]), now)
    ing.handle(f"{g}/DBIRTH/{e}/plc-2", _payload(1, [
        {"name": metric_name("GD-03"), "alias": 1, "datatype": DataType.String, "string_value": "high"}]), now)
    assert ing.rejects.counts["not_numeric"] == 1
    assert ing.handle(f"{g}/NCMD/{e}", rebirth_request(now), now).rejected == 0   # our own command


def test_no_loss_across_bridge_kill_and_edge_rebirth(broker, bridge_config, mapped_plant):
    """Sparkplug metrics from an edge node over Mosquitto while the bridge is SIGKILL-like dropped
    and restarted (the broker keeps what it did not acknowledge; the new bridge decodes it with the
    births kept in the store) and while the edge node starts a new session (bdSeq + 1, new
    aliases): every metric stored exactly once, values bit-exact."""
    group = "g" + uuid.uuid4().hex[:8]
    plant = load_plant(map_sensors(bundled_plant_path("small_plant"), f"/tmp/spb-{group}", group=group,
                                   edge="edge-1", devices=DEVICES))
    metrics = {dev: [metric_name(s) for s in sids if s.startswith("GD")] for dev, sids in DEVICES.items()}
    node = EdgeNode(BrokerEndpoint(*broker), group, "edge-1", metrics)
    first = LiveBridge(plant, bridge_config).start()
    second = None
    stream = SparkplugStream(node, total=12_000, per_message=60)
    try:
        node.start()
        stream.send(until=4_000)
        first.kill()
        stream.send(until=7_000)                  # queued by the broker for the dead bridge
        second = LiveBridge(plant, bridge_config).start()
        node.restart()                            # new session: NDEATH, bdSeq + 1, new aliases, births
        stream.send(until=9_000)
        node.seq = (node.seq + 3) % 256           # three messages "lost": the bridge asks for a rebirth
        stream.send(until=10_000)
        assert wait_for(lambda: node.rebirths == 1, 30), "no rebirth request reached the edge node"
        stream.send(until=12_000)
        assert wait_for(lambda: node.unacknowledged() == 0, 30)
        assert wait_for(lambda: second.acker.pending() == 0 and second.stats()["messages"] > 0, 30)
        assert second.wait_indexed(60)
        acc = account(second.store, stream, wait_s=60)
        print(f"\nsparkplug: {acc}; sessions {node.sessions}, rebirths answered {node.rebirths}, "
              f"flags {second.rejects.flags}, rejected {dict(second.rejects.counts)}")
        assert acc.exact, acc
        assert node.sessions == 2 and second.sparkplug.node(group, "edge-1").bd_seq == node.bd_seq
        assert not second.rejects.counts.get("unknown_alias") and not second.rejects.counts.get("no_birth")
        assert second.rejects.flags["spb_seq_gap"] == 1 and second.rejects.flags["late_history"] == 0
    finally:
        node.stop()
        if second is not None:
            second.stop()


def test_simulated_plant_publishes_mapped_sensors_over_sparkplug(broker, bridge_config, tmp_path):
    """The simulated plant sends the sensors its plant maps to Sparkplug through an edge node
    (births, aliases); the bridge takes them into the live state and the history."""
    from safetwin.live_bridge.simulator import PlantSimulator, SimConfig
    group = "g" + uuid.uuid4().hex[:8]
    plant = load_plant(map_sensors(bundled_plant_path("small_plant"), tmp_path / "plant", group=group,
                                   edge="edge-sim", devices={"plc-1": ["GD-01", "CL-01"]}))
    with LiveBridge(plant, bridge_config) as bridge:
        sim = PlantSimulator(plant, bridge_config.site, SimConfig(seed=3, rate=5.0, fault_rate_per_h=0.0))
        sim.run(*broker, seconds=2.5)
        assert wait_for(lambda: bridge.state.reading("GD-01") is not None and bridge.state.reading("CL-01") is not None)
        assert bridge.wait_indexed(60)
        rows = bridge.store.readings("GD-01")
        assert rows and {r.source for r in rows} == {"spb:edge-sim/plc-1"}
        assert bridge.store.readings("GD-02")[0].source.startswith("gw-")   # unmapped: its gateway as before
        assert not bridge.rejects.counts, bridge.rejects.snapshot()
