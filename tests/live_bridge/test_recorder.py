"""Recorder/replayer round trip through the real broker: what is recorded equals what was
published, and a replay recorded again equals the first recording (count and checksum, in
order); replay speed scales the recorded gaps."""
from __future__ import annotations

import json
import os
import random
import time
import uuid

import paho.mqtt.client as mqtt

from safetwin.live_bridge.recorder import FORMAT, Recorded, Recorder, checksum, read_recording, replay

from .conftest import wait_for


def _clear(host, port, topics):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="clr-" + uuid.uuid4().hex[:8])
    c.connect(host, port)
    c.loop_start()
    for t in topics:
        c.publish(t, b"", qos=1, retain=True).wait_for_publish(5)
    c.disconnect()
    c.loop_stop()


def test_record_replay_round_trip(broker, tmp_path):
    host, port = broker
    root_a, root_b = "rec-" + uuid.uuid4().hex[:8], "rec-" + uuid.uuid4().hex[:8]
    rng = random.Random(3)
    sent: list[Recorded] = []
    for k in range(400):
        topic = f"{root_a}/dev{k % 7}/{'state' if k % 50 == 0 else 'data'}"
        payload = os.urandom(rng.randint(1, 300)) if k % 3 else json.dumps({"k": k}).encode()
        sent.append(Recorded(0.0, topic, payload, 1, k % 50 == 0))
    sent.append(Recorded(0.0, f"{root_a}/dev0/qos2", b"exactly-once", 2, False))
    retained = sorted({m.topic for m in sent if m.retain})
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    try:
        rec = Recorder(host, port, f"{root_a}/#", a).start()
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="rp-" + uuid.uuid4().hex[:8], protocol=mqtt.MQTTv5)
        pub.max_inflight_messages_set(20)
        pub.connect(host, port)
        pub.loop_start()
        infos = [pub.publish(m.topic, m.payload, qos=m.qos, retain=m.retain) for m in sent]
        for i in infos:
            i.wait_for_publish(30)
        pub.disconnect()
        pub.loop_stop()
        assert wait_for(lambda: rec.count >= len(sent), timeout=60)
        rec.stop()
        first = list(read_recording(a))
        assert json.loads(a.read_text().splitlines()[0])["format"] == FORMAT
        # recorded at QoS <= 1 (see the recorder's docstring): the QoS 2 message comes as QoS 1
        expected = [Recorded(m.t, m.topic, m.payload, min(m.qos, 1), m.retain) for m in sent]
        assert checksum(first) == checksum(expected)             # count, order, bytes, QoS, retain
        assert all(f.t > 0 for f in first)

        rec2 = Recorder(host, port, f"{root_b}/#", b).start()
        to_b = lambda t: t.replace(root_a, root_b, 1)  # noqa: E731
        n = replay(a, host, port, speed=0, topic_map=to_b)
        assert n == len(sent)
        assert wait_for(lambda: rec2.count >= len(sent), timeout=60)
        time.sleep(0.2)
        rec2.stop()
        assert checksum(read_recording(b)) == checksum(first, to_b)
    finally:
        _clear(host, port, retained + [t.replace(root_a, root_b, 1) for t in retained])


def test_replay_speed_scales_gaps(broker, tmp_path):
    host, port = broker
    root = "rec-" + uuid.uuid4().hex[:8]
    src = tmp_path / "timed.jsonl"
    t0 = 1.75e9
    lines = [json.dumps({"format": FORMAT, "filter": f"{root}/#", "started": t0})]
    lines += [Recorded(t0 + 0.1 * k, f"{root}/x", str(k).encode(), 1, False).to_json() for k in range(11)]
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    with Recorder(host, port, f"{root}/#", out) as rec:
        t = time.monotonic()
        replay(src, host, port, speed=2.0)          # 1.0 s recorded -> 0.5 s
        took = time.monotonic() - t
        assert wait_for(lambda: rec.count >= 11, timeout=30)
    got = list(read_recording(out))
    assert [m.payload for m in got] == [str(k).encode() for k in range(11)]
    assert 0.45 <= took < 3.0
    span = got[-1].t - got[0].t
    assert 0.4 <= span < 3.0                         # the gaps were kept (scaled), not collapsed
