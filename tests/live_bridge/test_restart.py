"""A restarted bridge remembers: latest values, people and the muster state come back from history
(the store and the un-indexed ingest log) before anything is published; the retained muster
status never drops to zero while people are on site; a retained alarm record the bridge did not
sign is not adopted. Over the real broker."""
from __future__ import annotations

import json
import time

from safetwin.live_bridge.bridge import LiveBridge
from safetwin.live_bridge.payloads import iso_ms
from safetwin.live_bridge.topics import Topics

from .conftest import clear_retained, wait_for
from .test_integration import Sub

PEOPLE = {"P-1": (120.0, 20.0), "P-2": (121.0, 21.0), "P-3": (50.0, 30.0), "P-4": (60.0, 35.0)}  # two at MP-1


def _fix(pid: str, x: float, y: float, ts: float) -> dict:
    return {"provider_id": "tag-" + pid, "position": {"type": "Point", "coordinates": [x, y, 1.0]},
            "timestamp_generated": iso_ms(ts), "trackables": [pid]}


def test_restart_rebuilds_values_people_and_muster_and_never_publishes_an_empty_muster(
        small_plant, bridge_config, pub, broker):
    t = Topics(bridge_config.site)
    muster = Sub(*broker, t.muster())
    try:
        now = time.time()
        with_values = {"GD-01": 12.5, "GD-02": -0.0, "CL-01": 0.25}
        b1 = LiveBridge(small_plant, bridge_config).start()
        r = [{"sid": sid, "ts": iso_ms(now - 5 + i), "v": v} for i, (sid, v) in enumerate(with_values.items())]
        pub.send(t.batch("gw-1"), json.dumps({"gw": "gw-1", "seq": 1, "ts": iso_ms(now), "r": r}))
        pub.send(t.locations("rtls-1"), json.dumps({"engine": "rtls-1", "seq": 1, "locations": [
            _fix(pid, x, y, now - 2) for pid, (x, y) in PEOPLE.items()]}))
        assert wait_for(lambda: b1.acker.acked >= 2 and b1.state.head_count == 4, timeout=30)
        b1.writer.flush()                                  # positions committed (the batch writer)
        assert wait_for(lambda: any(json.loads(p)["pob"] == 4 for p in muster.payloads(t.muster()) if p), timeout=30)
        b1.kill()                                          # a crash: the log may be un-indexed
        seen_before = len(muster.payloads(t.muster()))

        b2 = LiveBridge(small_plant, bridge_config).start()
        try:
            # back as soon as start() returned (rebuilt before the inbound connection opened)
            assert {sid: b2.state.reading(sid).value for sid in with_values} == with_values
            assert str(b2.state.reading("GD-02").value) == "-0.0"
            assert {pid: (p.x, p.y) for pid in PEOPLE if (p := b2.state.person(pid))} == PEOPLE
            status = b2.publish_people()
            assert (status["pob"], status["mustered"], status["unaccounted"]) == (4, 2, 2)
            assert {m["id"] for m in status["missing"]} == {"P-3", "P-4"}
            print(f"\nrebuild: {b2.rebuild_report}")
            # the periodic pass publishes again; every muster status after the restart counts 4
            assert wait_for(lambda: len(muster.payloads(t.muster())) > seen_before, timeout=30)
            after = [json.loads(p) for p in muster.payloads(t.muster())[seen_before:] if p]
            assert after and all(d["pob"] == 4 and len(d["missing"]) == 2 for d in after)
        finally:
            b2.stop()
    finally:
        muster.close()
        clear_retained(*broker, bridge_config.site)


def test_an_empty_twin_never_replaces_a_retained_muster_status(small_plant, bridge_config, pub, broker):
    """History lost (a new database) but the broker still holds the last muster status: the
    bridge keeps it until it counts people again."""
    t = Topics(bridge_config.site)
    old = {"ts": iso_ms(time.time() - 30), "pob": 7, "mustered": 3, "unaccounted": 4, "missing": [{"id": "P-9"}]}
    pub.send(t.muster(), json.dumps(old), retain=True)
    muster = Sub(*broker, t.muster())
    try:
        assert wait_for(lambda: muster.payloads(t.muster()), timeout=10)
        with LiveBridge(small_plant, bridge_config) as b:
            assert wait_for(lambda: b.publisher.muster_held >= 2, timeout=30)   # two periodic passes held it
            assert [json.loads(p)["pob"] for p in muster.payloads(t.muster()) if p] == [7]
            pub.send(t.location("tag-P-1"), json.dumps(_fix("P-1", 120.0, 20.0, time.time())))
            assert wait_for(lambda: any(json.loads(p)["pob"] == 1 for p in muster.payloads(t.muster()) if p),
                            timeout=30)
    finally:
        muster.close()
        clear_retained(*broker, bridge_config.site)


def test_a_forged_retained_alarm_is_not_adopted(small_plant, bridge_config, pub, broker):
    """An anonymous client writes a retained "SHELVED" record for GD-01's level alarm: the next
    bridge ignores it (not signed with the site's key) and a 60 %LEL reading raises the alarm."""
    t = Topics(bridge_config.site)
    forged = {"alarm_id": "GD-01_LVL", "seq": 9, "ts": iso_ms(time.time()), "raised": None, "state": "SHELVED",
              "active": False, "priority": 1, "level": "HH", "kind": "LVL", "source": "GD-01", "value": 0.0,
              "limit": 50.0, "msg": "", "acked_by": None, "shelved": True,
              "shelved_until": iso_ms(time.time() + 86400), "sig": "0" * 64}
    pub.send(t.alarm("GD-01_LVL"), json.dumps(forged), retain=True)
    try:
        with LiveBridge(small_plant, bridge_config) as b:
            assert b.restored_alarms == 0 and b.rejects.counts["forged_alarm"] == 1
            pub.send(t.reading("a1", "u1", "GD-01"), json.dumps({"sid": "GD-01", "seq": 1, "ts": iso_ms(time.time()),
                                                                  "v": 60.0}))
            assert wait_for(lambda: any(a.alarm_id == "GD-01_LVL" for a in b.state.active_alarms()), timeout=30)
            assert b.rules.records["GD-01_LVL"].state.value == "UNACK"
    finally:
        clear_retained(*broker, bridge_config.site)


def test_rebuild_takes_acknowledged_readings_the_indexer_had_not_reached(small_plant, tmp_path):
    """Readings durable in the ingest log but not yet in the store are rebuilt too; the store's
    older value of the same sensor loses to the log's newer one, other sites' records are skipped."""
    from safetwin.live_bridge.ingestlog import DurableLog
    from safetwin.live_bridge.rebuild import rebuild_twin
    from safetwin.twin.state import TwinState
    from safetwin.twin.store import Reading, Store
    from datetime import datetime, timezone
    now = time.time()
    store = Store.open(f"sqlite:///{tmp_path / 'h.db'}")
    store.write_readings([Reading(small_plant.id, "GD-01", datetime.fromtimestamp(now - 60, timezone.utc), 1.0, "%LEL",
                                  source="gw-1", seq=1, site="s1")])
    log = DurableLog(tmp_path / "log")
    log.put_record(small_plant.id, "gw-1", now - 9, 2000, ["GD-01", "GD-02"], [now - 10, now - 10], [33.0, 4.0],
                   ["%LEL"] * 2, ["ok"] * 2, "s1")
    log.put_record(small_plant.id, "gw-1", now - 9, 3000, ["GD-03"], [now - 10], [7.0], ["%LEL"], ["ok"], "other")
    log.close()
    state = TwinState(small_plant)
    report = rebuild_twin(state, store, "s1", log_dir=tmp_path / "log", now=now)
    assert (report.readings, report.from_log) == (2, 2)
    assert (state.reading("GD-01").value, state.reading("GD-02").value, state.reading("GD-03")) == (33.0, 4.0, None)
    store.close()
