"""The 21 bad-input cases the bridge must survive (rejected, counted and sampled as docs/mqtt-topics.md
says), one test each, plus a fuzzed stream through the real broker. Rule: never crash, every message applied or counted as rejected."""
from __future__ import annotations

import json
import random
import time

import pytest

from safetwin.live_bridge.bridge import LiveBridge
from safetwin.live_bridge.ingest import Ingestor
from safetwin.live_bridge.payloads import iso_ms
from safetwin.live_bridge.topics import Topics
from safetwin.twin.alarms import AlarmRules
from safetwin.twin.state import TwinState

from .conftest import wait_for

SITE = "s1"
T = Topics(SITE)
RT = T.reading("a", "u", "GD-01")


class FakeHistory:
    def __init__(self):
        self.readings, self.positions = [], []

    def put_readings(self, rows):
        self.readings.extend(rows)

    def put_positions(self, rows):
        self.positions.extend(rows)


class FakeAlarms:
    def __init__(self, state):
        self.rules = AlarmRules(state)

    def submit_readings(self, rs):
        for r in rs:
            self.rules.evaluate(*r)

    submit_conflated = submit_readings

    def command(self, *a, **k):
        pass


@pytest.fixture
def ing(small_plant):
    st = TwinState(small_plant)
    return Ingestor(st, SITE, history=FakeHistory(), alarms=FakeAlarms(st))


def rd(sid="GD-01", seq=1, v=5.0, ts=None, **kw) -> bytes:
    return json.dumps({"sid": sid, "seq": seq, "ts": iso_ms(ts or time.time()), "v": v, **kw}).encode()


def reason(ing, payload, topic=RT):
    out = ing.handle(topic, payload)
    return out.reason if out.rejected else "applied"


def test_01_not_json_truncated_not_utf8_empty(ing):
    assert reason(ing, b'{"sid":"GD-1') == "malformed_json"
    assert reason(ing, b"\xff\xfe") == "not_utf8"
    assert reason(ing, b"") == "empty"
    # an empty payload on a retained topic deletes retained state: not a reading, not a reject
    assert ing.handle(T.equipment("TK-1"), b"").rejected == 0
    assert reason(ing, b"\xef\xbb\xbf" + rd()) == "applied"          # UTF-8 BOM accepted


def test_02_wrong_top_level_type(ing):
    for p in (b"[1,2]", b'"12.3"', b"null"):
        assert reason(ing, p) == "not_object"


def test_03_wrong_field_types(ing):
    assert reason(ing, rd(v="12.3")) == "invalid_field"
    assert reason(ing, rd(v=True)) == "invalid_field"
    assert reason(ing, rd(v=None)) == "missing_value"           # null with quality good
    assert reason(ing, rd(seq=2, v=None, q="bad")) == "applied"  # null + bad = fault reading
    assert ing.rejects.counts["invalid_field"] == 2


def test_04_nan_infinity(ing):
    base = rd().decode()
    assert reason(ing, base.replace('"v": 5.0', '"v": NaN').encode()) == "malformed_json"
    assert reason(ing, base.replace('"v": 5.0', '"v": Infinity').encode()) == "malformed_json"
    assert reason(ing, base.replace('"v": 5.0', '"v": 1e400').encode()) == "invalid_field"


def test_05_absurd_numbers_and_nesting(ing):
    assert reason(ing, rd(seq=int("9" * 5000) if False else 1, v=5).replace(b'"seq": 1', b'"seq": ' + b"9" * 5000)) \
        in ("invalid_field", "too_large")
    assert reason(ing, b"[" * 100_000 + b"]" * 100_000) == "too_large"
    deep = b'{"sid":' + b"[" * 1000 + b"]" * 1000 + b"}"
    assert reason(ing, deep) == "too_deep"


def test_05b_nesting_limit_before_decoding_every_kind(ing, caplog):
    """Deep nesting in an unknown field, in a Location's free-form properties, or in a batch
    entry is refused as too_deep and counted -- no internal_error, no traceback in the log."""
    now = iso_ms(time.time())
    deep = b"[" * 1500 + b"]" * 1500
    shallow = b"[" * 40 + b"]" * 40          # over the 32-level limit, far from the recursion limit
    loc = (b'{"provider_id":"t1","position":{"type":"Point","coordinates":[10,10]},"timestamp_generated":"'
           + now.encode() + b'","properties":{"a":%s}}')
    batch = (b'{"gw":"gw-1","seq":1,"ts":"' + now.encode() + b'","r":[{"sid":"GD-01","ts":"' + now.encode()
             + b'","v":1,"z":%s}]}')
    cases = [(RT, rd()[:-1] + b', "x": %s}'), (T.location("t1"), loc), (T.batch("gw-1"), batch)]
    for topic, template in cases:
        assert reason(ing, template % deep, topic) == "too_deep", topic
    for topic, template in cases[:2]:
        assert reason(ing, template % shallow, topic) == "too_deep", topic
    assert "internal_error" not in ing.rejects.counts and "Traceback" not in caplog.text
    assert ing.rejects.counts["too_deep"] == 5


def test_06_duplicate_keys_last_wins(ing):
    p = rd().decode().replace('"v": 5.0', '"v": 1.0, "v": 2.0').encode()
    assert reason(ing, p) == "applied"
    assert ing.state.reading("GD-01").value == 2.0   # documented: last value wins, deterministically


def test_07_out_of_physical_range_raises_fault_not_suppressing_level(ing):
    assert reason(ing, rd(v=140.0)) == "applied"        # %LEL 140 > range_max 100
    assert ing.state.reading("GD-01").quality == "out_of_range"
    ids = {a.alarm_id for a in ing.state.active_alarms()}
    assert {"GD-01_FLT", "GD-01_LVL"} <= ids
    assert reason(ing, rd(sid="CL-01", seq=1, v=-3.0), T.reading("a", "u", "CL-01")) == "applied"
    assert "CL-01_FLT" in {a.alarm_id for a in ing.state.active_alarms()}


def test_08_unknown_sensor(ing):
    assert reason(ing, rd(sid="GD-99"), T.reading("a", "u", "GD-99")) == "unknown_sensor"
    assert "GD-99" not in ing.state.sensors


def test_09_topic_payload_mismatch(ing):
    assert reason(ing, rd(sid="GD-02")) == "topic_mismatch"


def test_10_clock_skew_and_units(ing):
    now = time.time()
    assert reason(ing, rd(ts=now + 600)) == "applied"
    r = ing.state.reading("GD-01")
    assert abs(r.ts - now) < 5 and ing.rejects.flags["clock_skew"] == 1   # ingest time kept, flagged
    ms = rd(seq=2).decode().replace(f'"{iso_ms(now)}"', str(int(now * 1000)))
    assert reason(ing, json.dumps({"sid": "GD-01", "seq": 3, "ts": int(now * 1000), "v": 1}).encode()) == "invalid_field"
    assert reason(ing, json.dumps({"sid": "GD-01", "seq": 4, "ts": "2025-06-01T12:00:00", "v": 1}).encode()) \
        == "invalid_field"  # no time zone
    assert reason(ing, json.dumps({"sid": "GD-01", "seq": 5, "ts": "1970-01-01T00:00:01Z", "v": 1}).encode()) \
        == "bad_timestamp"
    del ms


def test_11_old_timestamps_history_only(ing):
    old = time.time() - 7200
    assert reason(ing, rd(v=90.0, ts=old)) == "applied"
    assert ing.state.reading("GD-01") is None and ing.state.active_alarms() == []
    assert len(ing.history.readings) == 1 and ing.rejects.flags["late_history"] == 1


def test_12_out_of_order(ing):
    now = time.time()
    assert reason(ing, rd(seq=6, v=6.0, ts=now)) == "applied"
    assert reason(ing, rd(seq=5, v=5.0, ts=now - 1)) == "applied"
    assert ing.state.reading("GD-01").value == 6.0                 # latest source time wins live
    assert [r["seq"] for r in ing.history.readings] == [6, 5]      # history keeps both


def test_13_duplicates(ing):
    once = rd(seq=1)                                # a redelivery repeats seq and source time
    assert reason(ing, once) == "applied"
    assert reason(ing, once) == "duplicate"
    assert len(ing.history.readings) == 1


def test_14_seq_reset_with_and_without_boot_counter(ing):
    now = time.time()
    assert reason(ing, rd(seq=50_000, ts=now - 10)) == "applied"
    assert reason(ing, rd(seq=0, ts=now - 5, boot=1)) == "applied"   # new boot counter: new source
    assert ing.history.readings[-1]["source"] == "GD-01#1"
    assert reason(ing, rd(seq=1, ts=now)) == "applied"                # same boot, big drop, newer ts
    assert ing.rejects.flags["reset"] == 1


def test_14b_counter_restart_without_boot_keeps_new_readings_and_alarms(ing):
    """A detector reboots and counts from 1 again without a boot counter: its newer readings
    (time and seq judged together) are applied, stored and raise the alarm; a true redelivery of
    an old reading (same seq, same time) is still a duplicate."""
    now = time.time()
    for s in range(1, 11):
        assert reason(ing, rd(seq=s, v=1.0, ts=now - 60 + s)) == "applied"
    assert reason(ing, rd(seq=5, v=1.0, ts=now - 55)) == "duplicate"              # redelivered
    assert reason(ing, rd(seq=1, v=60.0, ts=now - 5)) == "applied"                # rebooted: seq 1, 60 %LEL
    assert reason(ing, rd(seq=2, v=62.0, ts=now - 4)) == "applied"
    assert ing.state.reading("GD-01").value == 62.0 and ing.rejects.flags["reset"] == 1
    alarm = next(a for a in ing.state.active_alarms() if a.alarm_id == "GD-01_LVL")
    assert alarm.level == "HH"
    assert [(r["seq"], r["value"]) for r in ing.history.readings[-2:]] == [(1, 60.0), (2, 62.0)]
    # a gateway that restarts its batch counter without a boot counter: the same rule
    gw = T.batch("gw-r")

    def batch(seq, v, t):
        return json.dumps({"gw": "gw-r", "seq": seq, "ts": iso_ms(t),
                           "r": [{"sid": "GD-02", "ts": iso_ms(t), "v": v}]}).encode()
    for seq in range(1, 4):
        assert ing.handle(gw, batch(seq, 1.0, now - 30 + seq)).applied == 1
    assert ing.handle(gw, batch(1, 70.0, now - 2)).applied == 1
    assert "GD-02_LVL" in {a.alarm_id for a in ing.state.active_alarms()}


def test_15_gaps_and_silence(ing):
    now = time.time()
    reason(ing, rd(seq=1, ts=now - 100))
    reason(ing, rd(seq=5, ts=now - 99))
    assert ing.tracker.gaps("GD-01") == 3 and ing.rejects.flags["gap"] == 1
    out = ing.alarms.rules.check_stale(now)                        # 99 s > 3 × 5 s period
    assert any(r.alarm_id == "GD-01_STL" for r in out)


def test_16_flood_is_conflated_for_alarms_but_stored(ing):
    now = time.time()
    for s in range(1, 501):
        ing.handle(RT, rd(seq=s, v=1.0, ts=now - 1 + s * 1e-4))
    assert ing.rejects.flags["flood"] > 0
    assert len(ing.history.readings) == 500


def test_17_oversized(ing):
    assert reason(ing, b'{"sid":"GD-01","x":"' + b"a" * 10_000_000 + b'"}') == "too_large"
    big = {"gw": "g", "seq": 1, "ts": iso_ms(time.time()), "r": [{"sid": "GD-01", "ts": iso_ms(time.time()), "v": 1}] * 1001}
    assert reason(ing, json.dumps(big, separators=(",", ":")).encode(), T.batch("g")) == "invalid_field"


def test_implausible_positions_are_rejected_and_counted(ing):
    """Fixes far outside the site boundary (plus its margin) are refused with the fix's index and
    coordinates; the plausible ones of the same batch go on."""
    now = iso_ms(time.time())

    def fix(x, y, z=1.0):
        return {"provider_id": "t1", "position": {"type": "Point", "coordinates": [x, y, z]},
                "timestamp_generated": now, "trackables": ["P-1"]}
    batch = {"engine": "rtls-1", "seq": 1, "locations": [fix(1e6, -1e6), fix(1e308, 1e308), fix(50.0, 30.0),
                                                          fix(50.0, 30.0, 1e5)]}
    out = ing.handle(T.locations("rtls-1"), json.dumps(batch).encode())
    assert (out.applied, out.rejected) == (1, 3)
    assert ing.rejects.counts["implausible_position"] == 3
    assert ing.state.person("P-1").x == 50.0 and len(ing.history.positions) == 1
    one = fix(-5e5, 10.0)
    assert reason(ing, json.dumps(one).encode(), T.location("t1")) == "implausible_position"


def test_18_hostile_ids_and_strings(ing):
    for sid in ("GD/01", "GD#", "x\x00y", "a" * 10_000, "'; DROP TABLE sensor_readings;--", "<script>"):
        assert reason(ing, rd(sid=sid)) in ("invalid_field", "too_large")
    assert reason(ing, b"{}", "pst/v1/s1/a/u/sensor/+/reading") == "invalid_field"


def test_19_units_and_quality(ing):
    assert reason(ing, rd(u="ppm")) == "unit_mismatch"               # registry says %LEL
    assert reason(ing, rd(seq=2, u="%LEL", q="bad")) == "applied"
    assert ing.state.reading("GD-01").quality == "fault"
    assert "GD-01_FLT" in {a.alarm_id for a in ing.state.active_alarms()}


def test_20_retained_telemetry_judged_by_timestamp(ing):
    # an hours-old reading that arrives as retained looks fresh on arrival; its ts says otherwise
    assert reason(ing, rd(v=99.0, ts=time.time() - 3 * 3600)) == "applied"
    assert ing.state.reading("GD-01") is None and ing.state.active_alarms() == []


def test_21_spoofing_other_site_or_gateway(ing):
    assert reason(ing, rd(), "pst/v1/other-site/a/u/sensor/GD-01/reading") == "unknown_topic"
    batch = {"gw": "gw-A", "seq": 1, "ts": iso_ms(time.time()), "r": []}
    assert reason(ing, json.dumps(batch).encode(), T.batch("gw-B")) == "topic_mismatch"


def test_rejects_are_sampled_at_a_limited_rate(small_plant):
    samples = []
    from safetwin.live_bridge.rejects import RejectCounter
    rc = RejectCounter(sink=samples.append, samples_per_s=5)
    ing = Ingestor(TwinState(small_plant), SITE, rejects=rc)
    for _ in range(1000):
        ing.handle(RT, b"garbage")
    assert rc.counts["malformed_json"] == 1000 and 1 <= len(samples) <= 10


def _fuzz_payloads(rng: random.Random, n: int) -> list[tuple[str, bytes]]:
    good = rd().decode()
    out = []
    for i in range(n):
        k = rng.random()
        if k < 0.3:
            p = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))
        elif k < 0.8:
            s = list(good)
            for _ in range(rng.randint(1, 6)):
                j = rng.randrange(len(s))
                s[j] = rng.choice('{}[]",:0123456789.eE-+ntfalsuNIaxyz\\\x00')
            p = "".join(s).encode("utf-8", "surrogatepass")
        else:
            p = rd(seq=10_000 + i, v=rng.uniform(-50, 150)) if rng.random() < 0.5 else \
                json.dumps({"sid": rng.choice(["GD-01", "GD-02", "ZZ", 5, None]), "seq": rng.randint(-5, 10**6),
                            "ts": rng.choice([iso_ms(time.time()), "x", 0]), "v": rng.choice([1, "1", None, []])}).encode()
        out.append((RT, p))
    return out


def test_fuzzed_stream_through_the_broker(small_plant, bridge_config, pub):
    """Random bytes and mutated payloads for a fixed time (4 s) + the 21-case corpus: the bridge
    stays up and every message is applied or counted as rejected."""
    rng = random.Random(1234)
    with LiveBridge(small_plant, bridge_config) as b:
        t = Topics(bridge_config.site)
        sent = 0
        t_end = time.monotonic() + 4.0
        while time.monotonic() < t_end:
            for _, p in _fuzz_payloads(rng, 200):
                pub.send(t.reading("a", "u", "GD-01"), p, wait=False)
                sent += 1
            time.sleep(0.01)
        pub.send(t.reading("a", "u", "GD-01"), rd(seq=999_999_999, v=1.0))
        sent += 1
        assert wait_for(lambda: b.ingestor.messages >= sent, timeout=30)
        ing = b.ingestor
        rejected = sum(ing.rejects.counts.values())
        accepted_messages = ing.messages - rejected
        assert accepted_messages + rejected == sent
        assert accepted_messages >= 1 and rejected > sent * 0.3
        assert ing.rejects.counts.get("internal_error", 0) == 0
        assert b.inbound.connected.is_set() and b.engine.stats.errors == 0
        assert wait_for(lambda: b.acker.acked == sent, timeout=20)


def test_a_fix_at_an_off_site_assembly_point_is_plausible_and_counted_as_mustered():
    """The demo plant's assembly point OA-N is 200 m beyond the north gate, twice the 100 m margin:
    a fix there is accepted (the plausible area holds the approaches and discs) and the person
    counts as mustered; a fix as far out elsewhere is still refused."""
    from safetwin.live_bridge.ingest import IngestConfig
    from safetwin.live_bridge.people import muster_status
    from safetwin.plant_models.loader import bundled_plant_path, load_plant

    demo = load_plant(bundled_plant_path("demo_plant"))
    oa = demo.assembly_points["OA-N"]
    assert oa.position[1] - oa.radius_m - demo.boundary.bounds[3] > IngestConfig().position_margin_m
    st = TwinState(demo)
    ing = Ingestor(st, SITE, history=FakeHistory(), alarms=FakeAlarms(st))
    now = time.time()

    def fix(pid, x, y):
        return {"provider_id": "t1", "position": {"type": "Point", "coordinates": [x, y, 1.0]},
                "timestamp_generated": iso_ms(now), "trackables": [pid]}
    x, y = oa.position
    batch = {"engine": "rtls-1", "seq": 1, "locations": [fix("P-1", x + 5.0, y - 5.0), fix("P-2", 610.0, 700.0),
                                                          fix("P-3", 300.0, 800.0)]}
    out = ing.handle(T.locations("rtls-1"), json.dumps(batch).encode())
    assert (out.applied, out.rejected) == (2, 1)             # P-3: 200 m out, far from every approach
    assert ing.rejects.counts["implausible_position"] == 1
    status = muster_status(st, now=now + 1.0)
    assert status["per_muster_point"]["OA-N"] == 1
    assert status["mustered"] == 1                          # P-1 at OA-N; P-2 on the approach, not yet there
    assert [m["id"] for m in status["missing"]] == ["P-2"]
