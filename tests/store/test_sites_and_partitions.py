"""Several sites in one store, keys that end with the time, -0.0 kept, history partitioned by day
(PostgreSQL) with retention, and the migration that brings an existing store there with its data;
on SQLite and PostgreSQL."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import bindparam, text

from safetwin.twin.store import Position, Reading, Store, make_engine
from safetwin.twin.store.migrate import alembic_config
from safetwin.twin.store.partitions import ensure_partitions, partitions
from safetwin.twin.store.types import UTCDateTime

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)


def _reading(site: str, i: int, **kw) -> Reading:
    base = dict(plant_id="demo", sensor_id="GD-01", ts=T0 + timedelta(seconds=i), value=float(i), unit="%LEL",
                source="gw-1", seq=i, site=site)
    base.update(kw)
    return Reading(**base)


def test_two_sites_with_the_same_gateway_keep_their_own_readings(store: Store) -> None:
    assert store.write_readings([_reading("north", i) for i in range(50)]) == 50
    assert store.write_readings([_reading("south", i, value=-float(i)) for i in range(50)]) == 50
    assert store.write_readings([_reading("north", i) for i in range(50)]) == 0   # a redelivery
    assert store.count_readings(site="north") == 50 and store.count_readings(site="south") == 50
    assert [r.value for r in store.readings("GD-01", site="south")][:3] == [0.0, -1.0, -2.0]
    # bulk paths (COPY on PostgreSQL, executemany / json_each on SQLite) use the same key
    rows = [("demo", "GD-02", 1.7e9 + i, 1.7e9 + i, 1.0, "%LEL", "ok", "gw-1", i, site)
            for site in ("north", "south") for i in range(300)]
    assert store.insert_reading_rows(rows) == 600
    assert store.insert_reading_rows(rows) == 0
    latest = store.latest_readings("south", ["GD-01", "GD-02", "GD-99"])
    assert latest["GD-01"].value == -49.0 and latest["GD-02"].seq == 299 and "GD-99" not in latest


def test_a_restarted_counter_with_new_times_is_stored(store: Store) -> None:
    """The key ends with the source time: the same (source, seq) at a new time is a new reading."""
    assert store.write_readings([_reading("s", 1)]) == 1
    assert store.write_readings([_reading("s", 1, ts=T0 + timedelta(hours=1), value=60.0)]) == 1
    assert [r.value for r in store.readings("GD-01")] == [1.0, 60.0]


def test_negative_zero_is_kept(store: Store) -> None:
    store.write_readings([_reading("s", 0, value=-0.0)])
    store.insert_reading_rows([("demo", "GD-02", 1.7e9, 1.7e9, -0.0, "%LEL", "ok", "gw", i, "s") for i in range(60)])
    store.insert_reading_rows_json(
        b'[["demo","GD-03",1735689600.25,1735689600.5,-0.0,"u","ok","g",1,"s"]]')
    for sid in ("GD-01", "GD-02", "GD-03"):
        values = [r.value for r in store.readings(sid)]
        assert values and all(v == 0.0 and math.copysign(1.0, v) == -1.0 for v in values), (sid, values)


def test_positions_keep_their_site(store: Store) -> None:
    fixes = [Position("demo", "P1", T0 + timedelta(seconds=i), float(i), 1.0, site=site)
             for site in ("north", "south") for i in range(3)]
    assert store.write_positions(fixes) == 6
    latest = store.latest_positions("south", T0)
    assert [(p.person_id, p.x_m, p.site) for p in latest] == [("P1", 2.0, "south")]
    assert store.latest_positions("south", T0 + timedelta(hours=1)) == []


def test_retention_removes_old_history_only(store: Store) -> None:
    now = datetime.now(timezone.utc)
    old, recent = now - timedelta(days=40), now - timedelta(hours=1)
    store.write_readings([_reading("s", 1, ts=old), _reading("s", 2, ts=recent)])
    store.write_positions([Position("demo", "P", old, 0, 0, site="s"), Position("demo", "P", recent, 0, 0, site="s")])
    store.apply_retention(keep_days=30, now=now)
    assert [r.seq for r in store.readings("GD-01")] == [2]
    assert [p.ts for p in store.positions("P")] == [recent]


@pytest.mark.postgres
def test_postgres_history_is_partitioned_by_day(pg_schema_url) -> None:
    now = datetime.now(timezone.utc)
    with Store.open(pg_schema_url) as store:
        with store.engine.connect() as conn:
            days = partitions(conn, "sensor_readings")
        assert now.date() in days and now.date() + timedelta(days=7) in days
        # a day without a partition lands in the DEFAULT partition; making its partition moves it
        far = datetime(2030, 6, 1, 12, tzinfo=timezone.utc)
        store.write_readings([_reading("s", 1, ts=far)])
        assert ensure_partitions(store.engine, far.date(), far.date()) == [
            "sensor_readings_p20300601", "position_history_p20300601"]
        with store.engine.connect() as conn:
            where = conn.execute(text("SELECT tableoid::regclass::text FROM sensor_readings WHERE seq = 1")).scalar()
        assert where == "sensor_readings_p20300601"
        assert store.write_readings([_reading("s", 1, ts=far)]) == 0   # the key holds across partitions
        store.write_readings([_reading("s", 2, ts=now - timedelta(days=40))])
        store.apply_retention(keep_days=30, now=now)
        with store.engine.connect() as conn:
            days_after = partitions(conn, "sensor_readings")
        assert min(days_after) >= (now - timedelta(days=30)).date() - timedelta(days=1)
        assert [r.seq for r in store.readings("GD-01")] == [1]


def test_migration_keeps_existing_history(db_url) -> None:
    """A store at the revision before sites: its rows survive the upgrade (site '')."""
    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0004_drills")
    at = bindparam("t", type_=UTCDateTime())   # stored as the store stores times
    with engine.begin() as conn:
        for i in range(3):
            conn.execute(text(
                "INSERT INTO sensor_readings (plant_id, sensor_id, ts, received_ts, value, unit, quality, source, seq) "
                "VALUES ('demo', 'GD-01', :t, :t, :v, '%LEL', 'ok', 'gw-1', :s)").bindparams(at),
                {"t": T0 + timedelta(seconds=i), "v": 1.5 * i, "s": i})
            conn.execute(text("INSERT INTO position_history (plant_id, person_id, ts, x_m, y_m, z_m) "
                              "VALUES ('demo', 'P1', :t, 1, 2, 0)").bindparams(at), {"t": T0 + timedelta(seconds=i)})
        conn.execute(text("INSERT INTO alarm_events (alarm_id, level, state, ts, message) "
                          "VALUES ('GD-01_LVL', 'HH', 'unack', :t, '')").bindparams(at), {"t": T0})
    engine.dispose()
    with Store.open(db_url) as store:
        assert [(r.seq, r.value, r.site) for r in store.readings("GD-01")] == [(0, 0.0, ""), (1, 1.5, ""), (2, 3.0, "")]
        assert store.count_positions("P1") == 3 and store.alarm_events()[0].site == ""
        # the old rows are part of the new key: a redelivery of one of them is still a duplicate
        assert store.write_readings([Reading("demo", "GD-01", T0, 0.0, "%LEL", source="gw-1", seq=0)]) == 0
        assert store.write_readings([_reading("north", 0)]) == 1
