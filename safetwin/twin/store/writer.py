"""BatchWriter: buffer history rows from any thread, write them in batches on one thread.

Rows are validated when handed in (bad rows raise at the caller, never vanish later). A batch is
written when ``batch_size`` rows are pending or ``flush_interval_s`` seconds after the oldest
pending row arrived, whichever comes first. :meth:`BatchWriter.flush` blocks until every row
handed in before it is committed, and raises :class:`WriteFailed` if any of them could not be.
"""
from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from sqlalchemy.exc import InterfaceError, OperationalError

from safetwin.background import Worker

from .records import RowLike, position_params, reading_params
from .store import ReadingRow, Store

log = logging.getLogger("safetwin.store.writer")

Kind = Literal["readings", "positions", "reading_rows"]
FailureHandler = Callable[[Kind, list[dict[str, Any]], BaseException], None]

#: how many failed row sequence numbers are remembered for flush() to report
_FAILED_SEQ_MEMORY = 1_000_000


class WriteFailed(RuntimeError):
    """Some rows handed in before a flush() could not be written after all retries."""

    def __init__(self, failed_rows: int, last_error: str) -> None:
        super().__init__(f"{failed_rows} row(s) could not be written; last error: {last_error}")
        self.failed_rows = failed_rows
        self.last_error = last_error


class WriterFull(RuntimeError):
    """The writer's buffer stayed full for longer than the put timeout (back-pressure)."""


@dataclass(frozen=True, slots=True)
class WriterStats:
    """Counters of a BatchWriter since it started (rows unless named otherwise)."""

    accepted: int
    written: int
    duplicates: int
    failed: int
    pending: int
    batches: int
    retries: int
    last_error: str | None


class BatchWriter:
    """Thread-safe batching writer of readings and positions into a :class:`Store`.

    >>> from datetime import datetime, timezone
    >>> store = Store.open("sqlite://")
    >>> with BatchWriter(store, batch_size=500, flush_interval_s=0.2) as writer:
    ...     writer.put_reading({"plant_id": "demo", "sensor_id": "GD-01", "unit": "mg/m3",
    ...                         "ts": datetime(2025, 1, 1, tzinfo=timezone.utc), "value": 1.5})
    ...     writer.flush()   # returns once the reading is committed
    >>> store.count_readings()
    1
    """

    def __init__(
        self,
        store: Store,
        *,
        batch_size: int = 2000,
        flush_interval_s: float = 0.5,
        max_pending: int = 200_000,
        put_timeout_s: float | None = 30.0,
        max_retries: int = 5,
        backoff_s: float = 0.1,
        max_backoff_s: float = 5.0,
        on_failure: FailureHandler | None = None,
    ) -> None:
        """``batch_size`` rows or ``flush_interval_s`` seconds trigger a write; puts block
        while ``max_pending`` rows wait (up to ``put_timeout_s`` s, then :class:`WriterFull`).
        A failing batch is retried ``max_retries`` times with exponential backoff from
        ``backoff_s`` up to ``max_backoff_s`` seconds, then written row by row; rows that still
        fail are counted, logged and passed to ``on_failure(kind, rows, error)``."""
        if batch_size < 1 or flush_interval_s <= 0 or max_pending < batch_size:
            raise ValueError("need batch_size >= 1, flush_interval_s > 0, max_pending >= batch_size")
        self.store = store
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.max_pending = max_pending
        self.put_timeout_s = put_timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.on_failure = on_failure

        self._cond = threading.Condition()
        self._pending: dict[Kind, list[tuple[int, Any]]] = {"readings": [], "positions": [], "reading_rows": []}
        self._pending_rows = 0
        self._oldest_pending = 0.0          # monotonic time the oldest pending row arrived
        self._next_seq = 1                  # sequence number of the next row handed in
        self._done_seq = 0                  # every row with seq <= this has been processed
        self._flush_waiters = 0
        self._failed_seqs: list[int] = []   # sorted seqs of rows that could not be written
        self._window_start = threading.local()
        self._closing = False
        self._accepted = self._written = self._duplicates = self._failed = 0
        self._batches = self._retries = 0
        self._last_error: str | None = None
        self._worker = Worker("safetwin-batch-writer", self._run, wake=self._wake_to_close, logger=log).start()

    # ---- producers ----------------------------------------------------------------------
    def put_reading(self, row: RowLike) -> None:
        """Hand in one sensor reading (validated now; ``ValueError`` names the bad field)."""
        self.put_readings([row])

    def put_readings(self, rows: Iterable[RowLike]) -> None:
        """Hand in sensor readings; all are validated before any is queued."""
        now = datetime.now(timezone.utc)
        self._enqueue("readings", [reading_params(r, now) for r in rows])

    def put_prepared_readings(self, rows: list[ReadingRow]) -> None:
        """Hand in readings already validated by the caller, as tuples in
        :data:`~safetwin.twin.store.store.READING_ROW_FIELDS` order (times as float seconds
        since the epoch, UTC). They are *not* validated again: this is the path of the live
        bridge, whose msgspec decoders and registry checks already guarantee every field.
        ``flush()`` covers them like any other row; ``on_failure`` receives them as tuples
        with kind ``"reading_rows"``."""
        self._enqueue("reading_rows", rows)

    def put_position(self, row: RowLike) -> None:
        """Hand in one position fix (metres, plant frame)."""
        self.put_positions([row])

    def put_positions(self, rows: Iterable[RowLike]) -> None:
        """Hand in position fixes; all are validated before any is queued."""
        self._enqueue("positions", [position_params(r) for r in rows])

    def _enqueue(self, kind: Kind, params: list[Any]) -> None:
        if not params:
            return
        deadline = None if self.put_timeout_s is None else time.monotonic() + self.put_timeout_s
        with self._cond:
            while True:
                if self._closing:
                    raise RuntimeError("BatchWriter is closed")
                if self._pending_rows == 0 or self._pending_rows + len(params) <= self.max_pending:
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise WriterFull(f"{self._pending_rows} rows pending for {self.put_timeout_s} s")
                self._cond.wait(remaining)
            was_empty = self._pending_rows == 0
            if was_empty:
                self._oldest_pending = time.monotonic()
            seq = self._next_seq
            self._pending[kind].extend(zip(range(seq, seq + len(params)), params))
            self._next_seq = seq + len(params)
            self._pending_rows += len(params)
            self._accepted += len(params)
            if was_empty or self._pending_rows >= self.batch_size:
                self._cond.notify_all()  # start the interval timer, or write a full batch

    # ---- flush / close ------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> None:
        """Block until every row handed in before this call is committed.

        Raises :class:`WriteFailed` if any row handed in (by any thread) before this call and
        after this thread's previous flush could not be written -- for a thread's first flush,
        since the writer started; so a thread that only flushes (an acker) sees every failure.
        ``TimeoutError`` after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._next_seq - 1
            if self._done_seq < target and not self._worker.running:
                raise RuntimeError("BatchWriter thread is not running; rows are pending")
            self._flush_waiters += 1
            self._cond.notify_all()
            try:
                while self._done_seq < target:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise TimeoutError(f"flush: {target - self._done_seq} rows still pending")
                    self._cond.wait(remaining)
            finally:
                self._flush_waiters -= 1
            start = getattr(self._window_start, "seq", 0)
            self._window_start.seq = target
            lo = bisect.bisect_right(self._failed_seqs, start)
            hi = bisect.bisect_right(self._failed_seqs, target)
            if hi > lo:
                raise WriteFailed(hi - lo, self._last_error or "unknown")

    def close(self, timeout: float | None = 60.0) -> None:
        """Write everything pending, stop the writer thread and refuse further rows.

        Raises :class:`WriteFailed` like :meth:`flush` if pending rows could not be written.
        """
        try:
            self.flush(timeout)
        finally:
            self._worker.stop(timeout)

    def _wake_to_close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stats(self) -> WriterStats:
        """A snapshot of the counters."""
        with self._cond:
            return WriterStats(self._accepted, self._written, self._duplicates, self._failed,
                               self._pending_rows, self._batches, self._retries, self._last_error)

    # ---- the writer thread --------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._should_write():
                    if self._closing and self._pending_rows == 0:
                        return
                    wait = None
                    if self._pending_rows:
                        wait = max(0.0, self._oldest_pending + self.flush_interval_s - time.monotonic())
                    self._cond.wait(wait)
                batches = {k: v for k, v in self._pending.items() if v}
                self._pending = {"readings": [], "positions": [], "reading_rows": []}
                self._pending_rows = 0
                upto = self._next_seq - 1
                self._cond.notify_all()  # producers blocked on max_pending may go on
            for kind, items in batches.items():
                for start in range(0, len(items), self.batch_size):
                    self._write_batch(kind, items[start:start + self.batch_size])
            with self._cond:
                self._done_seq = upto
                self._cond.notify_all()

    def _should_write(self) -> bool:
        if self._pending_rows == 0:
            return False
        return (self._pending_rows >= self.batch_size or self._flush_waiters > 0 or self._closing
                or time.monotonic() - self._oldest_pending >= self.flush_interval_s)

    def _insert(self, kind: Kind, params: list[dict[str, Any]]) -> int:
        if kind == "readings":
            return self.store.insert_prepared_readings(params)
        if kind == "reading_rows":
            return self.store.insert_reading_rows(params)
        return self.store.insert_prepared_positions(params)

    def _write_batch(self, kind: Kind, items: list[tuple[int, dict[str, Any]]]) -> None:
        params = [p for _, p in items]
        delay = self.backoff_s
        last_exc: BaseException | None = None
        for attempt in range(self.max_retries + 1):
            try:
                inserted = self._insert(kind, params)
            except Exception as exc:
                last_exc = exc
                error = f"{type(exc).__name__}: {exc}".splitlines()[0]
                with self._cond:
                    self._last_error = error
                    if attempt < self.max_retries:
                        self._retries += 1
                log.warning("store %s batch of %d failed (attempt %d/%d): %s",
                            kind, len(params), attempt + 1, self.max_retries + 1, error)
                if attempt < self.max_retries:
                    time.sleep(delay)
                    delay = min(delay * 2, self.max_backoff_s)
                continue
            with self._cond:
                self._written += inserted
                self._duplicates += len(params) - inserted
                self._batches += 1
            return
        assert last_exc is not None
        if isinstance(last_exc, (OperationalError, InterfaceError)):
            # The database is unreachable or locked: row by row would fail the same way.
            self._record_failure(kind, items, last_exc)
        else:
            self._write_rows_one_by_one(kind, items)

    def _write_rows_one_by_one(self, kind: Kind, items: list[tuple[int, dict[str, Any]]]) -> None:
        """Last resort after the retries: keep the good rows of a batch, isolate the bad ones."""
        failed: list[tuple[int, dict[str, Any]]] = []
        last_exc: BaseException | None = None
        for seq, param in items:
            try:
                inserted = self._insert(kind, [param])
            except Exception as exc:
                failed.append((seq, param))
                last_exc = exc
                continue
            with self._cond:
                self._written += inserted
                self._duplicates += 1 - inserted
        if failed:
            assert last_exc is not None
            self._record_failure(kind, failed, last_exc)

    def _record_failure(self, kind: Kind, failed: list[tuple[int, dict[str, Any]]],
                        last_exc: BaseException) -> None:
        error = f"{type(last_exc).__name__}: {last_exc}".splitlines()[0]
        with self._cond:
            self._failed += len(failed)
            self._last_error = error
            self._failed_seqs.extend(seq for seq, _ in failed)
            self._failed_seqs.sort()
            del self._failed_seqs[:-_FAILED_SEQ_MEMORY]
        log.error("store: %d %s row(s) could not be written and were dropped: %s",
                  len(failed), kind, error)
        if self.on_failure is not None:
            try:
                self.on_failure(kind, [p for _, p in failed], last_exc)
            except Exception:
                log.exception("store: on_failure handler raised")
