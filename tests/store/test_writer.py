"""BatchWriter: flush durability from several threads, triggers, retries and failure reporting."""
from __future__ import annotations

import queue
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from safetwin.twin.store import BatchWriter, Store, WriteFailed
from waiting import wait_until

T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)


def row(sensor: str, i: int, **kw: Any) -> dict[str, Any]:
    r = {"plant_id": "demo", "sensor_id": sensor, "ts": T0 + timedelta(milliseconds=i),
         "value": float(i), "unit": "mg/m3"}
    r.update(kw)
    return r


def test_flush_makes_rows_from_many_threads_durable(store: Store, db_url) -> None:
    threads_n, per_thread = 6, 1500
    errors: list[BaseException] = []
    with BatchWriter(store, batch_size=400, flush_interval_s=30.0) as writer:
        reader = Store.open(db_url, migrate=False)  # a separate engine sees only committed rows

        def produce(k: int) -> None:
            try:
                sensor = f"GD-{k}"
                for start in range(0, per_thread, 100):
                    writer.put_readings([row(sensor, i, source=f"t{k}", seq=i)
                                         for i in range(start, start + 100)])
                    writer.put_position({"plant_id": "demo", "person_id": f"P-{k}",
                                         "ts": T0 + timedelta(seconds=start), "x_m": 1.0, "y_m": 2.0})
                    if start % 500 == 0:
                        writer.flush()
                        # everything this thread handed in is committed now
                        assert reader.count_readings(sensor) == start + 100
                        assert reader.count_positions(f"P-{k}") == start // 100 + 1
                writer.flush()
                assert reader.count_readings(sensor) == per_thread
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=produce, args=(k,)) for k in range(threads_n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert reader.count_readings() == threads_n * per_thread
        assert reader.count_positions() == threads_n * per_thread // 100
        reader.close()
    stats = writer.stats()
    assert stats.written == stats.accepted == threads_n * per_thread * 101 // 100
    assert stats.failed == 0 and stats.pending == 0


def test_batch_size_triggers_a_write(store: Store) -> None:
    with BatchWriter(store, batch_size=50, flush_interval_s=60.0) as writer:
        writer.put_readings([row("GD-1", i) for i in range(49)])
        time.sleep(0.2)
        assert store.count_readings() == 0          # below batch size, interval far away
        writer.put_reading(row("GD-1", 49))
        assert wait_until(lambda: store.count_readings() == 50)


def test_interval_triggers_a_write(store: Store) -> None:
    with BatchWriter(store, batch_size=10_000, flush_interval_s=0.2) as writer:
        writer.put_reading(row("GD-1", 0))
        assert wait_until(lambda: store.count_readings() == 1)   # only the 0.2 s interval can write it
        assert writer.stats().batches == 1


def test_duplicates_are_counted_not_failed(store: Store) -> None:
    with BatchWriter(store, batch_size=100, flush_interval_s=0.1) as writer:
        writer.put_readings([row("GD-1", i, source="b", seq=i) for i in range(10)])
        writer.flush()
        writer.put_readings([row("GD-1", i, source="b", seq=i) for i in range(5, 15)])
        writer.flush()
    stats = writer.stats()
    assert (stats.written, stats.duplicates, stats.failed) == (15, 5, 0)
    assert store.count_readings() == 15


def test_bad_rows_are_rejected_at_the_caller(store: Store) -> None:
    with BatchWriter(store) as writer:
        with pytest.raises(ValueError, match="naive"):
            writer.put_reading(row("GD-1", 0, ts=datetime(2025, 1, 1)))
        with pytest.raises(ValueError, match="x_m"):
            writer.put_position({"plant_id": "d", "person_id": "p", "ts": T0, "x_m": float("nan"), "y_m": 0})
        writer.flush()
    assert writer.stats().accepted == 0
    with pytest.raises(RuntimeError, match="closed"):
        writer.put_reading(row("GD-1", 0))


class FlakyStore:
    """A Store stand-in whose inserts fail as told, recording what was written."""

    def __init__(self, fail_times: int = 0, exc: type[Exception] = OperationalError,
                 poison: str | None = None) -> None:
        self.fail_times, self.exc, self.poison = fail_times, exc, poison
        self.rows: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def insert_prepared_readings(self, params: list[dict[str, Any]]) -> int:
        with self.lock:
            if self.fail_times > 0:
                self.fail_times -= 1
                raise self.exc("INSERT", {}, Exception("database is down"))
            if self.poison and any(p["sensor_id"] == self.poison for p in params):
                raise IntegrityError("INSERT", {}, Exception("constraint failed"))
            self.rows.extend(params)
            return len(params)

    insert_prepared_positions = insert_prepared_readings


def test_transient_failures_are_retried() -> None:
    flaky = FlakyStore(fail_times=3)
    with BatchWriter(flaky, backoff_s=0.01, max_retries=5) as writer:  # type: ignore[arg-type]
        writer.put_readings([row("GD-1", i) for i in range(20)])
        writer.flush()
    assert len(flaky.rows) == 20
    stats = writer.stats()
    assert (stats.retries, stats.failed, stats.written) == (3, 0, 20)
    assert "database is down" in (stats.last_error or "")


def test_permanent_failure_is_reported_by_flush_and_counted() -> None:
    flaky = FlakyStore(fail_times=10**9)
    lost: list[tuple[str, int]] = []
    writer = BatchWriter(flaky, backoff_s=0.001, max_backoff_s=0.002, max_retries=2,  # type: ignore[arg-type]
                         on_failure=lambda kind, rows, exc: lost.append((kind, len(rows))))
    writer.put_readings([row("GD-1", i) for i in range(7)])
    with pytest.raises(WriteFailed) as info:
        writer.flush()
    assert info.value.failed_rows == 7 and "database is down" in str(info.value)
    assert lost == [("readings", 7)]
    assert writer.stats().failed == 7
    # the database recovers: later rows are written and the next flush succeeds
    flaky.fail_times = 0
    writer.put_readings([row("GD-1", i) for i in range(3)])
    writer.flush()
    assert len(flaky.rows) == 3
    writer.close()


def test_poison_row_does_not_sink_its_batch() -> None:
    flaky = FlakyStore(poison="BAD")
    writer = BatchWriter(flaky, backoff_s=0.001, max_retries=1)  # type: ignore[arg-type]
    writer.put_readings([row("GD-1", 0), row("BAD", 1), row("GD-1", 2)])
    with pytest.raises(WriteFailed) as info:
        writer.flush()
    assert info.value.failed_rows == 1
    assert [r["value"] for r in flaky.rows] == [0.0, 2.0]
    writer.close()


def test_flush_from_another_thread_reports_failures() -> None:
    """The bridge pattern: the ingest thread puts rows, an acker thread only flushes."""
    flaky = FlakyStore(poison="BAD")
    writer = BatchWriter(flaky, backoff_s=0.001, max_retries=0)  # type: ignore[arg-type]
    requests: queue.Queue[bool] = queue.Queue()
    outcomes: queue.Queue[str] = queue.Queue()

    def acker() -> None:  # one long-lived thread, like live_bridge's DurableAcker
        while requests.get():
            try:
                writer.flush()
                outcomes.put("ok")
            except WriteFailed as exc:
                outcomes.put(f"failed {exc.failed_rows}")

    thread = threading.Thread(target=acker)
    thread.start()

    def flush_in_thread() -> str:
        requests.put(True)
        return outcomes.get(timeout=10)

    writer.put_readings([row("GD-1", 0), row("BAD", 1)])
    assert flush_in_thread() == "failed 1"
    writer.put_reading(row("GD-2", 2))
    assert flush_in_thread() == "ok"        # each failure is reported once per flushing thread
    requests.put(False)
    thread.join()
    with pytest.raises(WriteFailed):        # this thread never flushed: it hears of it too
        writer.flush()
    writer.flush()                          # nothing new failed since
    writer.close()


def test_backpressure_blocks_producers_until_timeout() -> None:
    flaky = FlakyStore(fail_times=10**9)
    writer = BatchWriter(flaky, batch_size=5, max_pending=10, put_timeout_s=0.2,  # type: ignore[arg-type]
                         backoff_s=0.5, max_retries=1)
    writer.put_readings([row("GD-1", i) for i in range(5)])       # taken by the writer thread
    time.sleep(0.05)
    writer.put_readings([row("GD-1", i) for i in range(10)])      # fills the buffer
    from safetwin.twin.store import WriterFull
    with pytest.raises(WriterFull):
        writer.put_reading(row("GD-1", 99))
    with pytest.raises(WriteFailed):
        writer.close()
    assert writer.stats().failed == 15
