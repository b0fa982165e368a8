"""Round-trips of every table, dedupe, time zones and migrations on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url

from safetwin.twin.store import (
    AlarmEvent, AuditEntry, Base, Position, Reading, Store, current_revision,
    head_revision, normalize_url, upgrade_to_head,
)
from safetwin.twin.store.pgcopy import COPY_MIN_ROWS
from safetwin.twin.store.sqlitefast import FAST_MIN_ROWS

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)
CST = timezone(timedelta(hours=8))  # China Standard Time, a non-UTC offset


def reading(sensor: str = "GD-CL2-01", i: int = 0, **kw) -> Reading:
    base = dict(plant_id="demo", sensor_id=sensor, ts=T0 + timedelta(seconds=i), value=0.1 * i,
                unit="mg/m3")
    base.update(kw)
    return Reading(**base)


def test_readings_round_trip(store: Store) -> None:
    rows = [reading(i=i, quality=q, source="mqtt", seq=i)
            for i, q in enumerate(["ok", "stale", "out_of_range", "fault"])]
    rows.append(reading("GD-NH3-02", 9))
    assert store.write_readings(rows) == 5
    got = store.readings("GD-CL2-01")
    assert [(r.ts, r.value, r.quality, r.unit, r.plant_id, r.source, r.seq) for r in got] == [
        (r.ts, r.value, r.quality, r.unit, r.plant_id, r.source, r.seq) for r in rows[:4]]
    assert all(r.id is not None and r.received_ts.tzinfo is not None for r in got)
    # half-open window: since <= ts < until
    window = store.readings("GD-CL2-01", since=T0 + timedelta(seconds=1), until=T0 + timedelta(seconds=3))
    assert [r.value for r in window] == [pytest.approx(0.1), pytest.approx(0.2)]
    assert store.readings("GD-CL2-01", limit=1)[0].value == 0.0
    assert store.count_readings() == 5 and store.count_readings("GD-NH3-02") == 1


def test_faulty_sensor_without_value(store: Store) -> None:
    store.write_readings([reading(value=float("nan"), quality="fault"), reading(i=1, value=None)])
    assert [r.value for r in store.readings("GD-CL2-01")] == [None, None]
    with pytest.raises(ValueError, match="value"):
        store.write_readings([reading(value=float("inf"))])


def test_positions_round_trip(store: Store) -> None:
    rows = [Position("demo", "P-0001", T0 + timedelta(seconds=i), 10.5 + i, -3.25, 1.5 * i,
                     "tank-farm" if i % 2 else None) for i in range(5)]
    rows.append(Position("demo", "P-0002", T0, 0.0, 0.0))
    assert store.write_positions(rows) == 6
    got = store.positions("P-0001", since=T0 + timedelta(seconds=1))
    assert [(p.ts, p.x_m, p.y_m, p.z_m, p.area_id) for p in got] == [
        (p.ts, p.x_m, p.y_m, p.z_m, p.area_id) for p in rows[1:5]]
    assert store.positions("P-0002")[0].z_m == 0.0
    assert store.count_positions() == 6


def test_alarm_events_round_trip(store: Store) -> None:
    events = [
        AlarmEvent("AL-7", "HIGH", "raised", T0, "GD-CL2-01", "Cl2 3.1 mg/m3 > 1.5"),
        AlarmEvent("AL-7", "HIGH", "acknowledged", T0 + timedelta(seconds=30), "GD-CL2-01", "operator 12"),
        AlarmEvent("AL-9", "HIGHHIGH", "raised", T0 + timedelta(seconds=5)),
    ]
    assert store.append_alarm_events(events) == 3
    got = store.alarm_events("AL-7")
    assert [(e.state, e.ts, e.message, e.sensor_id) for e in got] == [
        ("raised", T0, "Cl2 3.1 mg/m3 > 1.5", "GD-CL2-01"),
        ("acknowledged", T0 + timedelta(seconds=30), "operator 12", "GD-CL2-01")]
    assert [e.alarm_id for e in store.alarm_events()] == ["AL-7", "AL-9", "AL-7"]
    assert store.alarm_events(sensor_id="GD-CL2-01", since=T0 + timedelta(seconds=1))[0].state == "acknowledged"
    assert store.alarm_events("AL-9")[0].sensor_id is None


def test_audit_round_trip(store: Store) -> None:
    details = {"permit": "HW-2025-031", "gas_test_ppm": [0.0, 1.5], "nested": {"ok": True, "n": None},
               "note": "动火作业 hot work"}
    store.audit("engineer.li", "permit.approve", "permit/HW-2025-031", details, ts=T0)
    store.append_audit([AuditEntry("system", "store.open"), AuditEntry("op.wang", "alarm.ack", "AL-7")])
    got = store.audit_entries(subject="permit/HW-2025-031")
    assert len(got) == 1 and got[0].details == details and got[0].ts == T0
    assert got[0].actor == "engineer.li" and got[0].action == "permit.approve"
    assert [e.action for e in store.audit_entries(since=T0 + timedelta(seconds=1))] == ["store.open", "alarm.ack"]
    assert store.audit_entries(actor="system")[0].details == {}
    assert store.audit_entries(actor="system")[0].ts.tzinfo is timezone.utc


def test_timezone_round_trip(store: Store) -> None:
    local = datetime(2025, 3, 1, 16, 0, 0, 123456, tzinfo=CST)  # == 08:00:00.123456 UTC
    received = datetime(2025, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    store.write_readings([reading(ts=local, received_ts=received)])
    store.write_positions([Position("demo", "P-1", local, 1.0, 2.0)])
    store.append_alarm_events([AlarmEvent("AL-1", "HIGH", "raised", local)])
    store.audit("a", "b", ts=local)
    values = [store.readings("GD-CL2-01")[0].ts, store.readings("GD-CL2-01")[0].received_ts,
              store.positions("P-1")[0].ts, store.alarm_events("AL-1")[0].ts,
              store.audit_entries()[0].ts]
    for value in values:
        assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
    assert values[0] == local and values[0].hour == 8 and values[0].microsecond == 123456
    assert values[1] == received and values[1].hour == 8
    assert values[2:] == [local] * 3
    # windows given in another zone select the same instants
    assert len(store.readings("GD-CL2-01", since=local, until=local + timedelta(microseconds=1))) == 1


def test_naive_datetimes_are_rejected(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.write_readings([reading(ts=datetime(2025, 1, 1))])
    with pytest.raises(ValueError, match="naive"):
        store.readings("GD-CL2-01", since=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="naive"):
        store.write_positions([Position("demo", "P", datetime(2025, 1, 1), 0, 0)])
    assert store.count_readings() == 0


@pytest.mark.parametrize("bad, field", [
    ({"quality": "bad"}, "quality"), ({"sensor_id": ""}, "sensor_id"), ({"value": "1.0"}, "value"),
    ({"seq": 1.5}, "seq"),
])
def test_invalid_reading_names_the_field(store: Store, bad: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        store.write_readings([reading(i=1), reading(i=2, **bad)])
    assert store.count_readings() == 0  # nothing of a rejected batch is written


@pytest.mark.parametrize("n", [10, COPY_MIN_ROWS + 50], ids=["executemany", "bulk"])
def test_dedupe_on_source_and_seq(store: Store, n: int) -> None:
    batch = [reading(i=i, source="bridge-a", seq=i) for i in range(n)]
    batch.append(reading(i=0, source="bridge-a", seq=0, value=99.0))   # duplicate inside the batch
    assert store.write_readings(batch) == n
    again = batch[: n // 2] + [reading(i=i, source="bridge-b", seq=i) for i in range(3)]
    assert store.write_readings(again) == 3        # repeated messages are dropped, other source kept
    assert store.write_readings([reading(i=1), reading(i=1)]) == 2     # no seq: no dedupe
    assert store.count_readings() == n + 5
    assert 99.0 not in [r.value for r in store.readings("GD-CL2-01")]


def test_bulk_positions(store: Store) -> None:
    n = COPY_MIN_ROWS * 3
    rows = [{"plant_id": "demo", "person_id": f"P-{i % 7}", "ts": T0 + timedelta(milliseconds=i),
             "x_m": float(i), "y_m": 2.0, "area_id": None} for i in range(n)]
    assert store.write_positions(rows) == n
    got = store.positions("P-3")
    assert [p.x_m for p in got] == [float(i) for i in range(n) if i % 7 == 3]
    assert got[0].ts == T0 + timedelta(milliseconds=3)


def test_migration_upgrade_is_idempotent(db_url) -> None:
    assert current_revision(db_url) is None
    upgrade_to_head(db_url)
    upgrade_to_head(db_url)
    assert current_revision(db_url) == head_revision()
    with Store.open(db_url) as store:  # opening upgrades again: a no-op that keeps the data
        store.write_readings([reading()])
    with Store.open(db_url) as store:
        assert store.count_readings() == 1
        with store.engine.connect() as conn:
            # Other packages add their own tables and revisions to the chain; compare ours.
            ctx = MigrationContext.configure(conn, opts={
                "include_name": lambda name, type_, parent: type_ != "table" or name in STORE_TABLES,
                "include_object": _ours,
            })
            diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


STORE_TABLES = ("sensor_readings", "position_history", "alarm_events", "audit_log", "site_secrets")


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table is None or table in STORE_TABLES


def test_store_opens_a_sqlite_file_url_and_picks_psycopg_for_postgres(tmp_path) -> None:
    url = f"sqlite:///{(tmp_path / 'data' / 'safetwin.db').as_posix()}"
    with Store.open(url) as store:   # creates the parent folder
        store.audit("test", "open")
    assert (tmp_path / "data" / "safetwin.db").exists()
    assert normalize_url("postgresql://u@db:5432/twin").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite://").drivername == "sqlite"


def test_in_memory_sqlite_is_shared_between_threads() -> None:
    import threading

    with Store.open(make_url("sqlite://")) as store:
        t = threading.Thread(target=store.write_readings, args=([reading()],))
        t.start()
        t.join()
        assert store.count_readings() == 1


def test_bulk_and_single_row_paths_store_the_same_instants(store: Store) -> None:
    n = max(COPY_MIN_ROWS, FAST_MIN_ROWS) + 1
    ts = [T0, T0 + timedelta(microseconds=1), datetime(2025, 3, 1, 16, 0, 0, 500000, tzinfo=CST)]
    bulk = [reading(ts=ts[i % 3], value=1.0) for i in range(n)]
    store.write_readings(bulk)
    store.write_readings([reading(ts=t, value=2.0) for t in ts])  # one-by-one path
    for t in ts:
        got = store.readings("GD-CL2-01", since=t, until=t + timedelta(microseconds=1))
        assert {r.value for r in got} == {1.0, 2.0} and all(r.ts == t for r in got)
    bulk_fixes = [Position("demo", f"P{i}", ts[i % 3], 0, 0) for i in range(n)]
    assert store.write_positions(bulk_fixes) == n
    store.write_positions([Position("demo", "Q", t, 1, 1) for t in ts])  # one-by-one path
    for k, t in enumerate(ts):
        assert [p.ts for p in store.positions("Q", since=t, until=t + timedelta(microseconds=1))] == [t]
        assert [p.ts for p in store.positions(f"P{k}", since=t, until=t + timedelta(microseconds=1))] == [t]
    # one fix per person, site, plant and instant: a repeated batch adds nothing, on either path
    assert store.write_positions(bulk_fixes) == 0
    assert store.write_positions([Position("demo", "Q", ts[0], 5, 5)]) == 0
    assert store.positions("Q", limit=1)[0].x_m == 1.0


def test_concurrent_first_open_upgrades_once(db_url) -> None:
    import threading

    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            Store.open(db_url).close()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert current_revision(db_url) == head_revision()
