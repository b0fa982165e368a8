"""The indexer: expands the durable ingest log into the store's ``sensor_readings`` table.

:class:`LogIndexer` reads the durable part of the log (:mod:`.durable_log`) and inserts it into
``sensor_readings`` in large chunks (one ``INSERT … SELECT FROM json_each`` per chunk, run by
SQLite with the GIL released). Its position is kept in ``indexed.json``; re-reading a record
after a crash is harmless because the insert skips rows whose key (site, plant, source, seq,
time) is stored (every log row has a ``seq``), so history ends up with every reading exactly once
(idempotent). On start it first catches up with the log a previous run left; fully indexed
segments are deleted; a torn tail of a closed segment is skipped (counted in ``torn``).

Example: indexing the same log twice stores each reading once::

    >>> import tempfile
    >>> from safetwin.twin.store import Store
    >>> d = tempfile.mkdtemp()
    >>> store = Store.open(f"sqlite:///{d}/h.db")
    >>> log = DurableLog(f"{d}/log")
    >>> log.put_record("demo", "gw-1", 1735689600.1, 7, ["GD-01", "GD-02"], [1735689600.0] * 2,
    ...                [1.5, 0.2], ["%LEL"] * 2, ["ok"] * 2, "site1")
    >>> log.sync()
    >>> LogIndexer(log.directory, store, log=log).run_once()
    1
    >>> (log.directory / "indexed.json").unlink()        # the position is lost: index again
    >>> again = LogIndexer(log.directory, store, log=log)
    >>> again.run_once(), again.duplicates, store.count_readings()
    (1, 2, 2)
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from safetwin.background import Worker

from .durable_log import DurableLog, _encode, expand_record, list_segments, read_frames, segment_name

log = logging.getLogger(__name__)


class LogIndexer:
    """Expands the durable log into the store's ``sensor_readings`` (see the module docstring).

    ``store`` needs ``insert_reading_rows_json(doc)``. ``log`` is the :class:`DurableLog` of
    this process (only its durable part is indexed); without it, ``follow=True`` treats the
    newest segment as still being written by another process (an incomplete record there is
    waited for, not skipped) and ``follow=False`` indexes what the directory holds (e.g. after
    a crash) and stops. ``nice`` lowers the thread's CPU priority (Linux) -- prefer the
    separate process of :class:`IndexerProcess`, which cannot hold the ingest's GIL. ``site``
    is the site of records written before records named theirs."""

    def __init__(self, directory: str | os.PathLike[str], store: Any, *, log: DurableLog | None = None,
                 follow: bool = False, chunk_bytes: int = 2 * 1024 * 1024, poll_s: float = 0.2,
                 nice: int = 0, site: str = "") -> None:
        self.directory = Path(directory)
        self.store = store
        self.site = site
        self.log = log
        #: without ``log``: another process may still append to the newest segment
        self.follow = follow
        #: segments above this number are left alone (a newer writer's, see ``main``)
        self.last_segment: int | None = None
        self.chunk_bytes = chunk_bytes
        self.poll_s = poll_s
        self.nice = nice
        self.records = 0        # records indexed by this instance
        self.rows = 0           # rows inserted (duplicates excluded)
        self.duplicates = 0
        self.errors = 0
        self.torn = 0
        self.last_error: str | None = None
        self._progress_path = self.directory / "indexed.json"
        self.segment, self.offset = self._load_progress()
        self._stop = threading.Event()
        self._drain = False
        self._idle = threading.Condition()
        self._caught_up = False
        self._worker = Worker("safetwin-log-indexer", self._run, wake=self._wake_to_stop)

    def start(self) -> LogIndexer:
        self._worker.start()
        return self

    def stop(self, *, drain: bool = True, timeout: float | None = 120.0) -> None:
        """Stop the thread; with ``drain`` first index everything durable in the log."""
        self._drain = drain
        self._worker.stop(timeout)

    def _wake_to_stop(self) -> None:
        self._stop.set()
        if self.log is not None:
            with self.log.cond:
                self.log.cond.notify_all()

    def run_once(self) -> int:
        """Index everything durable now (in the caller's thread); returns records indexed."""
        before = self.records
        while self._step():
            pass
        return self.records - before

    def wait_caught_up(self, timeout: float = 60.0) -> bool:
        """Block until everything durable when called is indexed."""
        target = self.log.durable_position() if self.log is not None else None
        deadline = time.monotonic() + timeout
        with self._idle:
            while True:
                if target is None:
                    if self._caught_up:
                        return True
                elif (self.segment, self.offset) >= target:
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or not self._worker.running:
                    return (self.segment, self.offset) >= target if target else self._caught_up
                self._idle.wait(min(left, 0.1))

    def lag_bytes(self) -> int:
        """Durable log bytes not yet indexed (approximate across segments)."""
        if self.log is None:
            return 0
        seg, size = self.log.durable_position()
        if seg == self.segment:
            return max(0, size - self.offset)
        total = size
        for n in range(self.segment, seg):
            try:
                total += (self.directory / segment_name(n)).stat().st_size
            except OSError:
                pass
        return max(0, total - self.offset)

    # ---- internals
    def _load_progress(self) -> tuple[int, int]:
        try:
            d = json.loads(self._progress_path.read_text())
            seg, off = int(d["segment"]), int(d["offset"])
        except (OSError, ValueError, KeyError, TypeError):
            seg, off = 0, 0
        segs = list_segments(self.directory)
        if segs and seg < segs[0]:
            seg, off = segs[0], 0                 # that segment was deleted after being indexed
        return seg, off

    def _save_progress(self) -> None:
        tmp = self._progress_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"segment": self.segment, "offset": self.offset, "records": self.records,
                                   "rows": self.rows, "duplicates": self.duplicates, "torn": self.torn,
                                   "errors": self.errors, "pid": os.getpid()}))
        os.replace(tmp, self._progress_path)

    def _step(self) -> bool:
        """Index one chunk; False when nothing durable is left."""
        segs = [n for n in list_segments(self.directory) if n >= self.segment]
        if self.last_segment is not None:
            segs = [n for n in segs if n <= self.last_segment]
        if not segs:
            return False
        if self.log is not None:
            live: tuple[int, int] | None = self.log.durable_position()
        elif self.follow:
            live = (segs[-1], (self.directory / segment_name(segs[-1])).stat().st_size)
        else:
            live = None
        n = segs[0]
        if n != self.segment:
            self.segment, self.offset = n, 0
        if live is not None and n > live[0]:
            return False
        is_live = live is not None and n == live[0]
        path = self.directory / segment_name(n)
        end = live[1] if is_live else path.stat().st_size
        if self.offset >= end:
            if is_live:
                return False
            self._finish_segment(n)                   # a closed segment, fully indexed
            return True
        with open(path, "rb") as f:
            f.seek(self.offset)
            data = f.read(min(self.chunk_bytes, end - self.offset))
            bodies, used, torn = read_frames(data)
            if not bodies and not torn and len(data) < end - self.offset:
                data += f.read(end - self.offset - len(data))   # one record larger than a chunk
                bodies, used, torn = read_frames(data)
        if bodies:
            self._insert(bodies)
            self.records += len(bodies)
        self.offset += used
        if torn or not bodies:
            if is_live:
                return False                          # synced data is whole; look again later
            self.torn += 1
            log.warning("ingest log %s: unreadable tail at byte %d skipped (it was never synced, "
                        "so never acknowledged)", path.name, self.offset)
            self._finish_segment(n)
            return True
        self._save_progress()
        return True

    def _finish_segment(self, n: int) -> None:
        try:
            (self.directory / segment_name(n)).unlink()
        except OSError:
            pass
        self.segment, self.offset = n + 1, 0
        self._save_progress()

    def _insert(self, bodies: list[bytes]) -> None:
        rows = [row for body in bodies for row in expand_record(body, self.site)]
        total = len(rows)
        doc = _encode(rows)
        delay = 0.1
        while True:
            try:
                inserted = self.store.insert_reading_rows_json(doc)
                break
            except Exception as exc:
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
                log.warning("log indexer: insert failed (%s); retrying in %.1f s", self.last_error, delay)
                if self._stop.is_set() and not self._drain:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.rows += inserted
        self.duplicates += max(0, total - inserted)

    def _run(self) -> None:
        if self.nice:
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.nice)
            except (AttributeError, OSError):
                pass
        while True:
            try:
                progressed = self._step()
            except Exception:
                log.exception("log indexer step failed")
                progressed = False
                time.sleep(self.poll_s)
            if progressed:
                continue
            with self._idle:
                self._caught_up = True
                self._idle.notify_all()
            if self._stop.is_set():
                return
            if self.log is None:
                return
            with self.log.cond:
                if self.log.durable_position() == (self.segment, self.offset):
                    self.log.cond.wait(self.poll_s)
            with self._idle:
                self._caught_up = False
