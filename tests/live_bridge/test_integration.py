"""Integration tests against the real Mosquitto broker over TCP (they fail if it is down)."""
from __future__ import annotations

import json
import threading
import time
import uuid

import paho.mqtt.client as mqtt

from safetwin.live_bridge.bridge import LiveBridge
from safetwin.live_bridge.payloads import iso_ms
from safetwin.live_bridge.topics import Topics
from safetwin.twin.store import Store

from .conftest import clear_retained, wait_for


def reading(sid: str, seq: int, v: float | None, ts: float | None = None, **extra) -> str:
    d = {"sid": sid, "seq": seq, "ts": iso_ms(ts if ts is not None else time.time()), "v": v, **extra}
    return json.dumps(d)


class Sub:
    """Collects messages of a topic filter, retained flag included; returns once the broker has
    acknowledged the subscription (SUBACK)."""

    def __init__(self, host, port, flt):
        self.msgs: list[tuple[str, bytes, bool]] = []
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sub-" + uuid.uuid4().hex[:8],
                             protocol=mqtt.MQTTv5)
        self.c.on_message = lambda c, u, m: self.msgs.append((m.topic, m.payload, bool(m.retain)))
        subscribed = threading.Event()
        self.c.on_subscribe = lambda *args: subscribed.set()
        self.c.connect(host, port)
        self.c.loop_start()
        self.c.subscribe(flt, qos=1)
        assert subscribed.wait(30), f"no SUBACK for {flt}"

    def payloads(self, topic: str) -> list[bytes]:
        return [p for tp, p, _ in self.msgs if tp == topic]

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def delivered_all_retained(sub: Sub, pub, probe_topic: str) -> bool:
    """True once ``sub`` has received a fresh message published after it subscribed: the broker
    sends the retained messages of a subscription before any later publish to the same client."""
    pub.send(probe_topic, b"probe")
    return wait_for(lambda: any(tp == probe_topic for tp, _, _ in sub.msgs), timeout=30)


def test_readings_reach_twin_and_history(small_plant, bridge_config, pub):
    t = Topics(bridge_config.site)
    with LiveBridge(small_plant, bridge_config) as b:
        for seq in range(1, 21):
            pub.send(t.reading("a1", "u1", "CL-01"), reading("CL-01", seq, 0.01 * seq))
        batch = {"gw": "gw-1", "seq": 7, "ts": iso_ms(time.time()),
                 "r": [{"sid": "GD-02", "ts": iso_ms(time.time()), "v": 1.5},
                       {"sid": "GD-03", "ts": iso_ms(time.time()), "v": 2.5}]}
        pub.send(t.batch("gw-1"), json.dumps(batch))
        # Robust under load: wait on the condition itself with a generous deadline (the bridge
        # now also returns from start() only after its SUBACK, so no early message is missed).
        assert wait_for(lambda: b.acker.acked >= 21, timeout=60), b.stats()
        assert b.state.reading("CL-01").value == 0.2
        assert b.state.reading("GD-03").value == 2.5
        assert b.engine.wait_idle(30)
        # no process alarm; (a stale alarm could legitimately appear on a machine so loaded
        # that 15 s pass between the readings and this line, so STL is not asserted here)
        assert [a.alarm_id for a in b.state.active_alarms() if not a.alarm_id.endswith("_STL")] == []
    with Store.open(bridge_config.db_url) as store:
        assert store.count_readings() == 22
        assert [r.seq for r in store.readings("CL-01")] == list(range(1, 21))
        assert store.readings("GD-02")[0].source == "gw-1" and store.readings("GD-02")[0].seq == 7000


def test_gas_above_level_raises_alarm_and_publishes_it(small_plant, bridge_config, pub, broker):
    t = Topics(bridge_config.site)
    sub = Sub(*broker, f"pst/v1/{bridge_config.site}/twin/#")
    try:
        with LiveBridge(small_plant, bridge_config) as b:
            pub.send(t.reading("a1", "u1", "GD-01"), reading("GD-01", 1, 5.0))
            pub.send(t.reading("a1", "u1", "GD-01"), reading("GD-01", 2, 30.0))  # above H = 25 %LEL
            assert wait_for(lambda: any(a.alarm_id == "GD-01_LVL" for a in b.state.active_alarms()))
            (alarm,) = [a for a in b.state.active_alarms() if a.alarm_id == "GD-01_LVL"]
            assert alarm.level == "H"
            assert wait_for(lambda: any(tp == t.alarm("GD-01_LVL") for tp, _, _ in sub.msgs))
            body = json.loads([p for tp, p, _ in sub.msgs if tp == t.alarm("GD-01_LVL")][-1])
            assert body["state"] == "UNACK" and body["level"] == "H" and body["value"] == 30.0
            events = [json.loads(p) for tp, p, _ in sub.msgs if tp == t.alarm_events()]
            assert events and events[-1]["alarm_id"] == "GD-01_LVL"
            assert wait_for(lambda: b.events.written >= 1)
        with Store.open(bridge_config.db_url) as store:
            ev = store.alarm_events("GD-01_LVL")
            assert [(e.level, e.state) for e in ev] == [("H", "UNACK")]
    finally:
        sub.close()
        clear_retained(*broker, bridge_config.site)


def test_retained_alarm_state_survives_bridge_restart(small_plant, bridge_config, pub, broker):
    t = Topics(bridge_config.site)
    watch = Sub(*broker, t.alarm("CL-02_LVL"))

    def published_state() -> str | None:
        """The state in the last message on the alarm's topic ("" for a cleared retained alarm)."""
        last = watch.payloads(t.alarm("CL-02_LVL"))[-1:]
        if not last:
            return None
        return json.loads(last[0])["state"] if last[0] else ""

    try:
        with LiveBridge(small_plant, bridge_config) as b:
            # HH = 3 ppm; 20 s ago, so the clearing readings below (6 s apart) are newer than it
            pub.send(t.reading("a1", "u1", "CL-02"), reading("CL-02", 1, 3.5, ts=time.time() - 20))
            assert wait_for(lambda: b.rules.records.get("CL-02_LVL") is not None)
            b.acknowledge("CL-02_LVL", by="op:test")
            assert wait_for(lambda: b.rules.records["CL-02_LVL"].state.value == "ACKED")
            assert wait_for(lambda: published_state() == "ACKED", timeout=30)   # the retained state is out
        # a new bridge process (same client id) adopts the retained state
        with LiveBridge(small_plant, bridge_config) as b2:
            assert b2.restored_alarms == 1
            rec = b2.rules.records["CL-02_LVL"]
            assert (rec.state.value, rec.level, rec.acked_by) == ("ACKED", "HH", "op:test")
            assert [a.alarm_id for a in b2.state.active_alarms()] == ["CL-02_LVL"]
            assert b2.state.reading("CL-02").value == 3.5              # the latest value rebuilt from history
            # the condition goes away (off delay 5 s in source time): ACKED → NORMAL, retained cleared
            t0 = time.time()
            pub.send(t.reading("a1", "u1", "CL-02"), reading("CL-02", 2, 0.0, ts=t0 - 6))
            pub.send(t.reading("a1", "u1", "CL-02"), reading("CL-02", 3, 0.0, ts=t0))
            assert wait_for(lambda: b2.rules.records["CL-02_LVL"].state.value == "NORMAL")
            assert wait_for(lambda: published_state() == "", timeout=30)   # the retained alarm cleared
        sub = Sub(*broker, t.alarm("+"))
        assert delivered_all_retained(sub, pub, t.alarm("probe-" + uuid.uuid4().hex[:6]))
        sub.close()
        assert [m for m in sub.msgs if m[0] == t.alarm("CL-02_LVL")] == []  # no retained alarm left
    finally:
        watch.close()
        clear_retained(*broker, bridge_config.site)


def test_history_replay_does_not_fire_live_alarms(small_plant, bridge_config, pub):
    t = Topics(bridge_config.site)
    with LiveBridge(small_plant, bridge_config) as b:
        now = time.time()
        batch = {"gw": "gw-9", "seq": 1, "ts": iso_ms(now), "hist": True,
                 "r": [{"sid": "GD-01", "ts": iso_ms(now - 3600 + i), "v": 80.0} for i in range(10)]}
        pub.send(t.batch("gw-9"), json.dumps(batch))
        assert wait_for(lambda: b.acker.acked >= 1)
        assert b.engine.wait_idle()
        assert b.state.active_alarms() == [] and b.state.reading("GD-01") is None
    with Store.open(bridge_config.db_url) as store:
        assert store.count_readings("GD-01") == 10


def test_people_equipment_and_commands(small_plant, bridge_config, pub, broker):
    t = Topics(bridge_config.site)
    sub = Sub(*broker, f"pst/v1/{bridge_config.site}/#")
    eid = next(iter(small_plant.equipment))
    try:
        with LiveBridge(small_plant, bridge_config) as b:
            now = time.time()
            for i, (x, y) in enumerate([(50.0, 30.0), (120.0, 20.0)]):
                loc = {"provider_id": f"tag-{i}", "position": {"type": "Point", "coordinates": [x, y]},
                       "timestamp_generated": iso_ms(now), "trackables": [f"P-{i}"], "properties": {"seq": 1}}
                pub.send(t.location(f"tag-{i}"), json.dumps(loc))
            pub.send(t.equipment(eid), json.dumps({"eid": eid, "seq": 1, "ts": iso_ms(now), "state": "running"}),
                     retain=True)
            assert wait_for(lambda: b.state.head_count == 2 and eid in b.state.equipment_states())
            assert b.state.person("P-0").area_id == "A-STORE"
            status = b.publish_people()
            assert (status["pob"], status["mustered"], status["unaccounted"]) == (2, 1, 1)
            assert wait_for(lambda: any(tp == t.muster() and r for tp, _, r in sub.msgs) or
                            any(tp == t.muster() for tp, _, _ in sub.msgs))
            assert any(tp == t.occupancy("A-STORE") and json.loads(p)["count"] == 1 for tp, p, _ in sub.msgs)
            cmd_id = b.publisher.command(eid, "stop", by="op:test", reason="test", expiry_s=15)
            assert wait_for(lambda: any(tp == t.command(eid) for tp, _, _ in sub.msgs))
            assert json.loads([p for tp, p, _ in sub.msgs if tp == t.command(eid)][0])["cmd_id"] == cmd_id
        with Store.open(bridge_config.db_url) as store:
            assert store.count_positions() == 2
    finally:
        sub.close()
        clear_retained(*broker, bridge_config.site)
