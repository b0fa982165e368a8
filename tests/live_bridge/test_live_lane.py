"""The bridge's live lane (docs/cluster.md): a second, QoS 0 connection that keeps the live state
and the alarms going while the durable session delivers nothing (a cluster node lost), and the
live alarm feed ``twin/live/alarm``. On the suite's Mosquitto, with the broker named twice as the
"cluster"; the durable session is made silent by detaching its message callbacks."""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace

from safetwin.live_bridge.bridge import LiveBridge
from safetwin.live_bridge.connection import MqttConnection
from safetwin.live_bridge.payloads import iso_ms

from .conftest import wait_for


def _reading(sid: str, seq: int, value: float) -> str:
    return json.dumps({"sid": sid, "seq": seq, "ts": iso_ms(time.time()), "v": value})


def test_live_lane_feeds_alarms_while_the_durable_session_is_silent(small_plant, bridge_config, broker, pub):
    cfg = replace(bridge_config, fallbacks=(broker,))
    got: list[dict] = []
    with LiveBridge(small_plant, cfg) as bridge:
        feed = MqttConnection("feed-" + uuid.uuid4().hex[:6], *broker, persistent=False, subscribe_qos=0,
                              subscriptions=[bridge.topics.live_alarm()],
                              on_message=lambda c, m: got.append(json.loads(m.payload))).start()
        try:
            assert bridge.lane is not None and bridge.lane.subscribe_qos == 0
            topic = bridge.topics.reading("a", "u", "GD-01")
            # healthy: the durable session has each message first, the lane drops its copy
            pub.send(topic, _reading("GD-01", 1, 5.0))
            assert wait_for(lambda: bridge.state.reading("GD-01") is not None)
            assert wait_for(lambda: not bridge._lane_held, 10)
            assert bridge.lane_used == 0
            # the durable session delivers nothing (as during a JetStream election): the lane's
            # copy is used after live_lane_after_s and the alarm goes out on the live feed
            bridge.inbound.on_message_cb = bridge.inbound.on_burst_cb = None
            pub.send(bridge.topics.reading("a", "u", "CL-01"), _reading("CL-01", 1, 5.0))
            assert wait_for(lambda: bridge.lane_used == 1, 10), bridge.stats()
            assert bridge.state.reading("CL-01").value == 5.0
            assert wait_for(lambda: any(d.get("source") == "CL-01" and d.get("active") for d in got), 10)
            assert bridge.stats()["live_lane_used"] == 1
        finally:
            feed.stop(0)


def test_alarm_record_goes_out_live_then_retained_and_is_healed(small_plant, bridge_config, broker, pub):
    """With a live lane each alarm record is sent twice on its own topic: a live copy at QoS 0
    (not retained: a cluster node passes it on before JetStream is involved) and the retained
    record at QoS 1; after a lost connection the retained records are published again."""
    cfg = replace(bridge_config, fallbacks=(broker,), alarm_heal_s=0.0)
    got: list[tuple[int, bytes]] = []
    with LiveBridge(small_plant, cfg) as bridge:
        bridge._periodic.stop()        # the heal pass is driven by hand below
        watcher = MqttConnection("rec-" + uuid.uuid4().hex[:6], *broker, persistent=False,
                                 subscriptions=[bridge.topics.alarm("+")],
                                 on_message=lambda c, m: got.append((m.qos, m.payload))).start()
        try:
            assert wait_for(lambda: watcher.subscribed.is_set())
            pub.send(bridge.topics.reading("a", "u", "CL-01"), _reading("CL-01", 1, 5.0))

            def records() -> list[tuple[int, bytes]]:
                return [(q, p) for q, p in got if p and json.loads(p).get("source") == "CL-01"
                        and json.loads(p).get("active")]

            assert wait_for(lambda: {q for q, _p in records()} == {0, 1}, 10), got
            live_copy, retained = (next(p for q, p in records() if q == k) for k in (0, 1))
            assert live_copy == retained                          # the same signed record
            n = len(records())
            bridge._heal_alarms()                                  # nothing lost: nothing sent again
            assert bridge.publisher.republished == 0
            bridge.out.disconnects += 1                            # as after a lost broker node
            bridge._heal_alarms()                                  # the loss is noted ...
            bridge._heal_alarms()                                  # ... and alarm_heal_s (0) later:
            assert bridge.publisher.republished >= 1
            assert wait_for(lambda: len(records()) > n, 10)
            assert records()[-1] == (1, retained)                  # the retained record, at QoS 1
            bridge._heal_alarms()                                  # once per loss
            assert bridge.publisher.republished == 1
        finally:
            watcher.stop(0)


def test_two_lanes_use_each_message_once(small_plant, bridge_config, broker, pub):
    """With three nodes named the bridge keeps a lane on each node but the durable session's;
    a message both lanes got is used once."""
    cfg = replace(bridge_config, fallbacks=(broker, broker))
    with LiveBridge(small_plant, cfg) as bridge:
        assert bridge.lane is not None and bridge.lane2 is not None
        assert bridge.lane.client_id != bridge.lane2.client_id
        assert wait_for(lambda: bridge.lane.subscribed.is_set() and bridge.lane2.subscribed.is_set())
        bridge.inbound.on_message_cb = bridge.inbound.on_burst_cb = None      # the durable session is silent
        pub.send(bridge.topics.reading("a", "u", "CL-01"), _reading("CL-01", 1, 5.0))
        assert wait_for(lambda: bridge.lane_used == 1, 10), bridge.stats()
        assert wait_for(lambda: not bridge._lane_held, 10)                    # the second copy was looked at ...
        assert bridge.lane_used == 1                                          # ... and not used
        assert bridge.lane_ingestor.rejects.snapshot()["rejected"] == {}      # (not even as a duplicate)
        assert bridge.state.reading("CL-01").value == 5.0
