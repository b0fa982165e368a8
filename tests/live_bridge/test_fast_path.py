"""The throughput paths keep their semantics: prepared reading rows land in the store exactly
like validated dicts (SQLite and PostgreSQL), the alarm fast path gives the same transitions as
the per-reading rules, TwinState.apply_readings equals apply_reading, and a bridge that returned
from start() receives a message published at once (its SUBACK came first)."""
from __future__ import annotations

import json
import os
import random
import time
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from safetwin.live_bridge.bridge import LiveBridge
from safetwin.live_bridge.payloads import iso_ms
from safetwin.live_bridge.topics import Topics
from safetwin.twin.alarms import AlarmRules
from safetwin.twin.state import TwinState
from safetwin.twin.store import BatchWriter, Store
from safetwin.twin.store.store import epoch_to_sqlite_text

from .conftest import wait_for

PG_URL = os.environ.get("SAFETWIN_TEST_PG_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def test_epoch_text_matches_sqlalchemy_storage():
    from safetwin.twin.store.sqlitefast import sqlite_datetime
    rng = random.Random(1)
    for _ in range(20000):
        dt = datetime.fromtimestamp(rng.uniform(9.5e8, 4e9), timezone.utc).replace(microsecond=rng.randrange(10**6))
        assert epoch_to_sqlite_text(dt.timestamp()) == sqlite_datetime(dt)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = Store.open(f"sqlite:///{tmp_path / 'r.db'}")
        yield s
        s.close()
        return
    schema = "lb_" + uuid.uuid4().hex[:10]
    admin = Store.open(PG_URL, migrate=False)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    s = Store.open(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield s
    finally:
        s.close()
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.close()


@pytest.mark.parametrize("n", [3, 500])          # below and above the bulk thresholds
def test_prepared_rows_equal_validated_dicts(store, n):
    t0 = 1.75e9 + 0.123
    rows = [("demo", f"GD-{i % 4}", t0 + i * 0.001, t0 + 1.5, None if i % 97 == 0 else i / 8, "%LEL",
             "fault" if i % 97 == 0 else "ok", "gw-1", i, "s1") for i in range(n)]
    with BatchWriter(store, batch_size=200, flush_interval_s=0.05) as w:
        w.put_prepared_readings(rows)
        w.put_prepared_readings(rows[: n // 2])         # redelivery: deduped on its key
        w.flush()
        st = w.stats()
    assert st.written == n and st.duplicates == n // 2
    got = sorted(store.readings("GD-1"), key=lambda r: r.seq)
    exp = [r for r in rows if r[1] == "GD-1"]
    assert [(g.ts, g.received_ts, g.value, g.quality, g.source, g.seq) for g in got] == [
        (datetime.fromtimestamp(round(r[2], 6), timezone.utc), datetime.fromtimestamp(r[3], timezone.utc),
         r[4], r[6], r[7], r[8]) for r in exp]


def test_alarm_fast_path_equals_full_rules(small_plant):
    rng = random.Random(7)
    sids = [s for s in small_plant.sensors]
    st_a, st_b = TwinState(small_plant), TwinState(small_plant)
    ra, rb = AlarmRules(st_a), AlarmRules(st_b)
    t = 1.75e9
    trans_a, trans_b = [], []
    for step in range(3000):
        batch = []
        for _ in range(10):
            sid = rng.choice(sids)
            t += rng.uniform(0.0, 0.5)
            s = small_plant.sensors[sid]
            span = s.range_max - s.range_min
            mode = rng.random()
            if mode < 0.8:
                v = s.range_min + rng.uniform(0, 0.05) * span       # quiet
            elif mode < 0.95:
                v = s.range_min + rng.uniform(0, 0.7) * span         # sometimes above levels
            else:
                v = None if rng.random() < 0.5 else s.range_max * 1.5
            q = "fault" if v is None else ("ok" if s.range_min <= v <= s.range_max else "out_of_range")
            batch.append((sid, v, t - rng.uniform(0, 1.0), q))      # a little out of order too
        for r in batch:
            trans_a.extend((x.alarm_id, x.state.value, x.level, x.seq) for x in ra.evaluate(*r))
        cols = [list(c) for c in zip(*batch)]
        trans_b.extend((x.alarm_id, x.state.value, x.level, x.seq) for x in rb.evaluate_many(*cols))
    assert trans_a == trans_b and len(trans_a) > 50
    assert rb.fast_path > 5000                        # the fast path took a good share (alarms are frequent here)


def test_apply_readings_equals_apply_reading(small_plant):
    a, b = TwinState(small_plant), TwinState(small_plant)
    rows = [("GD-01", 1.0, 10.0, "ok"), ("GD-01", 2.0, 9.0, "ok"), ("CL-01", None, 11.0, "fault"),
            ("GD-01", 3.0, 10.0, "ok"), ("CL-01", 25.0, 12.0, "out_of_range")]
    res_a = [a.apply_reading(s, float("nan") if v is None else v, t, q, 20.0) for s, v, t, q in rows]
    skipped = b.apply_readings(*[list(c) for c in zip(*rows)], 20.0)
    assert [i for i, ok in enumerate(res_a) if not ok] == skipped == [1]
    ra, rb = a.readings(), b.readings()
    assert {k: (r.value, r.ts, r.quality) for k, r in ra.items() if k != "CL-01"} == \
        {k: (r.value, r.ts, r.quality) for k, r in rb.items() if k != "CL-01"}
    assert (rb["CL-01"].value, rb["CL-01"].quality) == (25.0, "out_of_range")


def test_message_right_after_start_is_not_lost(small_plant, bridge_config, pub):
    t = Topics(bridge_config.site)
    for _ in range(3):                                 # fresh site: no session existed before
        cfg = bridge_config
        cfg.site = "t" + uuid.uuid4().hex[:10]
        cfg.client_id = None
        t = Topics(cfg.site)
        with LiveBridge(small_plant, cfg) as b:
            assert b.inbound.subscribed.is_set()
            pub.send(t.reading("a", "u", "GD-01"), json.dumps({"sid": "GD-01", "seq": 1, "ts": iso_ms(time.time()),
                                                               "v": 1.0}))
            assert wait_for(lambda: b.acker.acked >= 1, timeout=30)


def test_the_installed_paho_is_a_release_the_fast_path_was_tested_with():
    """Otherwise FastClient falls back to paho's own (slower) receive path: run
    tools/check_paho_versions.sh with the new release and add it to TESTED_PAHO_VERSIONS."""
    import paho.mqtt

    from safetwin.live_bridge.fastclient import FAST_PATH, TESTED_PAHO_VERSIONS
    assert FAST_PATH, f"paho-mqtt {paho.mqtt.__version__} not in {sorted(TESTED_PAHO_VERSIONS)}"
