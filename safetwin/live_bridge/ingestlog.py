"""The durable ingest log of the live bridge and its indexer into the history table.

Writing every reading into the indexed ``sensor_readings`` table before acknowledging its MQTT
message capped the bridge at the table's insert rate (two B-tree indexes, ~100 k rows/s on the
reference machine). Instead the bridge makes a message durable by appending its validated
history rows to an **append-only log** and acknowledges it once the log is on disk; an
**indexer** thread expands the log into ``sensor_readings`` behind it:

* :class:`DurableLog` — segment files ``seg-NNNNNN.log`` of framed records (length, CRC-32,
  body = the history rows of one message as JSON columns, see :func:`expand_record`; times as
  SQLite DateTime text). ``append`` is cheap and thread-safe; :meth:`DurableLog.sync` writes everything appended so far with one
  ``write`` and one ``fdatasync`` (group commit). The acker calls it before acknowledging.
* :class:`LogIndexer` — a thread that reads the durable part of the log and inserts it into
  ``sensor_readings`` in large chunks (one ``INSERT … SELECT FROM json_each`` per chunk, run by
  SQLite with the GIL released). Its position is kept in ``indexed.json``; re-reading a record
  after a crash is harmless because the insert skips rows whose ``(source, seq)`` is stored
  (every log row has a ``seq``), so history ends up with every reading exactly once. On start it
  first catches up with the log a previous run left; fully indexed segments are deleted.

History therefore lags the acknowledgement by the indexer's backlog (``LogIndexer.lag_records``;
``LiveBridge.wait_indexed()`` blocks until it is empty). A torn record at the end of a segment
(a crash mid-write) was never synced, so never acknowledged: the broker redelivers it.

Example::

    >>> import tempfile
    >>> from safetwin.twin.store import Store
    >>> d = tempfile.mkdtemp()
    >>> store = Store.open(f"sqlite:///{d}/h.db")
    >>> log = DurableLog(f"{d}/log")
    >>> log.put_record("demo", "gw-1", "2025-01-01 00:00:00.100000", 7, ["GD-01"],
    ...                ["2025-01-01 00:00:00.000000"], [1.5], ["%LEL"], ["ok"])
    >>> log.sync()
    >>> ix = LogIndexer(log.directory, store, log=log).start()
    >>> ix.wait_caught_up(10)
    True
    >>> ix.stop(); store.count_readings()
    1
"""
from __future__ import annotations

import json
import logging
import math
import os
import struct
import threading
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

log = logging.getLogger(__name__)

_HDR = struct.Struct("<II")          # body length, CRC-32 of the body
#: a segment is closed and a new one started past this many bytes
SEGMENT_BYTES = 64 * 1024 * 1024
_encode = msgspec.json.Encoder().encode


def segment_name(n: int) -> str:
    return f"seg-{n:06d}.log"


def list_segments(directory: Path) -> list[int]:
    """Numbers of the segment files in ``directory``, ascending."""
    out = []
    for p in directory.glob("seg-*.log"):
        try:
            out.append(int(p.stem[4:]))
        except ValueError:
            continue
    return sorted(out)


_decode_record = msgspec.json.Decoder().decode


def expand_record(body: bytes) -> list[tuple[Any, ...]]:
    """The history rows of one log record, in READING_ROW_FIELDS order.

    >>> expand_record(b'["p","gw","2025-01-01 00:00:01.000000",7,["A","B"],["t1","t2"],[1.5,null],["u","u"],["ok","fault"]]')[1]
    ('p', 'B', 't2', '2025-01-01 00:00:01.000000', None, 'u', 'fault', 'gw', 8)
    """
    plant_id, source, received, seq, sids, ts, vals, units, quals = _decode_record(body)
    n = len(sids)
    seqs = range(seq, seq + n) if isinstance(seq, int) else seq
    return [(plant_id, sid, t, received, v, u, q, source, k)
            for sid, t, v, u, q, k in zip(sids, ts, vals, units, quals, seqs)]


def read_frames(data: bytes) -> tuple[list[bytes], int, bool]:
    """Parse framed records from ``data``: (bodies, bytes consumed, torn) where ``torn`` says
    a record failed its CRC (parsing stops there)."""
    bodies: list[bytes] = []
    pos, n = 0, len(data)
    unpack, crc32 = _HDR.unpack_from, zlib.crc32
    while pos + 8 <= n:
        length, crc = unpack(data, pos)
        end = pos + 8 + length
        if end > n:
            break
        body = data[pos + 8:end]
        if crc32(body) != crc:
            return bodies, pos, True
        bodies.append(body)
        pos = end
    return bodies, pos, False


class DurableLog:
    """Append-only group-committed log of history rows (see the module docstring).

    Each run writes new segments (numbers continue after any left by a previous run). One
    writer per directory: a second one raises ``RuntimeError`` (``writer.lock``)."""

    def __init__(self, directory: str | os.PathLike[str], *, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        import fcntl
        self._lockfile = open(self.directory / "writer.lock", "a+")
        try:
            fcntl.flock(self._lockfile, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lockfile.close()
            raise RuntimeError(f"another process writes the ingest log {self.directory}") from None
        existing = list_segments(self.directory)
        # numbers never go back: the indexer's position may name a segment past the files left
        last = max(existing + [int(read_progress(self.directory).get("segment", 0))])
        self._lock = threading.Lock()             # guards _pending
        self._sync_lock = threading.Lock()        # one writer at a time
        self.cond = threading.Condition()         # durable position changes
        self._pending: list[bytes] = []
        self.appended = 0                         # records handed in
        self.durable = 0                          # records written and fdatasync'ed
        self.syncs = 0
        self.bytes_written = 0
        self._closed = False
        self._open_segment(last + 1)

    def _open_segment(self, n: int) -> None:
        self.segment = n
        self._fd = os.open(self.directory / segment_name(n), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.size = os.fstat(self._fd).st_size
        _fsync_dir(self.directory)

    # ---- producers
    def append(self, body: bytes) -> None:
        """Queue one record (durable after the next :meth:`sync`). Framing and CRC happen in
        :meth:`sync`, on the acker's thread: ``zlib.crc32`` releases the GIL, and re-acquiring
        it would stall the MQTT network thread behind the other threads."""
        with self._lock:
            self._pending.append(body)
            self.appended += 1

    def put_record(self, plant_id: str, source: str, received: str, seq: int | list[int], sensor_ids: list[str],
                   ts: list[str], values: list[float | None], units: list[str], qualities: list[str]) -> None:
        """Queue the history rows of one message as columns (one record): ``seq`` is the first
        sequence number of consecutive rows or one per row; times as SQLite DateTime text."""
        if sensor_ids:
            self.append(_encode((plant_id, source, received, seq, sensor_ids, ts, values, units, qualities)))

    def put_text_rows(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Queue history rows (READING_ROW_FIELDS order, times as SQLite DateTime text, ``seq``
        set) as records, one per (plant, source, received time)."""
        groups: dict[tuple[str, str, str], list[tuple[Any, ...]]] = {}
        for r in rows:
            groups.setdefault((r[0], r[7], r[3]), []).append(r)
        for (plant_id, source, received), rs in groups.items():
            self.put_record(plant_id, source, received, [r[8] for r in rs], [r[1] for r in rs],
                            [r[2] for r in rs], [r[4] for r in rs], [r[5] for r in rs], [r[6] for r in rs])

    # ---- group commit
    def sync(self) -> None:
        """Write every record appended before this call and ``fdatasync`` the segment.
        Raises ``OSError`` (nothing acknowledged then) when the disk refuses."""
        with self._sync_lock:
            if self._closed:
                raise OSError(9, f"ingest log {self.directory} is closed")
            with self._lock:
                bodies, self._pending = self._pending, []
            if not bodies:
                return
            pack, crc32 = _HDR.pack, zlib.crc32
            frames = [b for body in bodies for b in (pack(len(body), crc32(body)), body)]
            data = b"".join(frames)
            try:
                view = memoryview(data)
                while view:
                    k = os.write(self._fd, view)
                    view = view[k:]
                os.fdatasync(self._fd)
            except OSError:
                # Part of the data may be on disk: end this segment there (the indexer skips a
                # torn tail of a closed segment) and continue in a new one. The records are
                # not acknowledged, so the broker redelivers them.
                try:
                    os.close(self._fd)
                    with self.cond:
                        self._open_segment(self.segment + 1)
                        self.cond.notify_all()
                except OSError:
                    log.exception("ingest log: cannot open a new segment")
                raise
            with self.cond:
                self.size += len(data)
                self.durable += len(bodies)
                self.syncs += 1
                self.bytes_written += len(data)
                self.cond.notify_all()
            if self.size >= self.segment_bytes:
                os.close(self._fd)
                with self.cond:
                    self._open_segment(self.segment + 1)
                    self.cond.notify_all()

    def durable_position(self) -> tuple[int, int]:
        """(segment, bytes) up to which the log is durable."""
        with self.cond:
            return self.segment, self.size

    def close(self) -> None:
        """Sync what is pending and close the segment."""
        if not self._closed:
            self.sync()
        self.abandon()

    def abandon(self) -> None:
        """Close without syncing (a crash, for tests): records not yet synced are dropped."""
        with self._sync_lock:
            if self._closed:
                return
            self._closed = True
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._lockfile.close()


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class LogIndexer:
    """Expands the durable log into the store's ``sensor_readings`` (see the module docstring).

    ``store`` needs ``insert_reading_rows_json(doc)``. ``log`` is the :class:`DurableLog` of
    this process (only its durable part is indexed); without it, ``follow=True`` treats the
    newest segment as still being written by another process (an incomplete record there is
    waited for, not skipped) and ``follow=False`` indexes what the directory holds (e.g. after
    a crash) and stops. ``nice`` lowers the thread's CPU priority (Linux) -- prefer the
    separate process of :class:`IndexerProcess`, which cannot hold the ingest's GIL."""

    def __init__(self, directory: str | os.PathLike[str], store: Any, *, log: DurableLog | None = None,
                 follow: bool = False, chunk_bytes: int = 2 * 1024 * 1024, poll_s: float = 0.2,
                 nice: int = 0) -> None:
        self.directory = Path(directory)
        self.store = store
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
        self._thread = threading.Thread(target=self._run, name="safetwin-log-indexer", daemon=True)

    def start(self) -> LogIndexer:
        self._thread.start()
        return self

    def stop(self, *, drain: bool = True, timeout: float | None = 120.0) -> None:
        """Stop the thread; with ``drain`` first index everything durable in the log."""
        self._drain = drain
        self._stop.set()
        if self.log is not None:
            with self.log.cond:
                self.log.cond.notify_all()
        self._thread.join(timeout)

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
                if left <= 0 or not self._thread.is_alive():
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
        rows = [row for body in bodies for row in expand_record(body)]
        total = len(rows)
        doc = _encode(rows)
        delay = 0.1
        while True:
            try:
                inserted = self.store.insert_reading_rows_json(doc)
                break
            except Exception as exc:  # noqa: BLE001 - keep the log; retry with backoff
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
            except Exception:  # noqa: BLE001 - never die; the log keeps everything
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


def read_progress(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The indexer's progress file (``segment``, ``offset`` and its counters); {} if none."""
    try:
        return json.loads((Path(directory) / "indexed.json").read_text())
    except (OSError, ValueError):
        return {}


class IndexerProcess:
    """Runs a :class:`LogIndexer` in a child process (``python -m
    safetwin.live_bridge.ingestlog``) at a lower CPU priority, so indexing never competes with
    ingest for the GIL and only uses CPU that ingest leaves. The child takes an exclusive lock on
    the log directory (a second indexer, e.g. of a restarted bridge, waits for the first to
    finish), follows the newest segment and, when its stdin closes (``stop()``, or the bridge
    died), indexes what is left and exits."""

    def __init__(self, directory: str | os.PathLike[str], db_url: str, *, nice: int = 10) -> None:
        self.directory = Path(directory)
        self.db_url = db_url
        self.nice = nice
        self.proc: Any = None

    def start(self) -> IndexerProcess:
        import subprocess
        import sys
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "safetwin.live_bridge.ingestlog", "--dir", str(self.directory),
             "--db", self.db_url, "--nice", str(self.nice)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, start_new_session=False)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def position(self) -> tuple[int, int]:
        p = read_progress(self.directory)
        return int(p.get("segment", 0)), int(p.get("offset", 0))

    def wait_caught_up(self, target: tuple[int, int], timeout: float = 60.0) -> bool:
        """Block until the indexed position reaches ``target`` (a durable log position)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.position() >= target:
                return True
            if time.monotonic() >= deadline or not self.alive():
                return self.position() >= target
            time.sleep(0.02)

    def stop(self, timeout: float | None = 300.0) -> None:
        """Close the child's stdin (it drains the log and exits) and wait for it."""
        if self.proc is None:
            return
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout)
        except Exception:  # noqa: BLE001 - a child that does not finish is killed; the log stays
            log.warning("log indexer process did not finish in time; killed (it resumes on next start)")
            self.proc.kill()
            self.proc.wait(5)

    def kill(self) -> None:
        """Crash simulation: kill the child at once (the log stays; the next indexer resumes)."""
        if self.alive():
            self.proc.kill()
            self.proc.wait(5)


class WriterActivity:
    """Tells the indexer process to stay out of the way while the bridge is appending a burst:
    :meth:`busy` is True while the newest segment grew within the last ``idle_s`` seconds,
    but never for longer than ``max_lag_s`` after unindexed data was first seen (so history
    keeps up under steady traffic: it is indexed at least every ``max_lag_s``). On a 2-core
    machine this keeps the indexer's SQLite inserts and fsyncs from competing with ingest, the
    broker and the group commit during a flood. One ``listdir``/``stat`` per call."""

    def __init__(self, directory: Path, idle_s: float = 0.3, max_lag_s: float = 3.0) -> None:
        self.directory, self.idle_s, self.max_lag_s = directory, idle_s, max_lag_s
        self._seen: tuple[int, int] | None = None
        self._changed = -math.inf
        self._since: float | None = None

    def busy(self) -> bool:
        if self.idle_s <= 0:
            return False
        segs = list_segments(self.directory)
        if not segs:
            return False
        try:
            now_size = (segs[-1], (self.directory / segment_name(segs[-1])).stat().st_size)
        except OSError:
            return False
        now = time.monotonic()
        if self._seen is not None and now_size != self._seen:
            self._changed = now
            if self._since is None:
                self._since = now
        self._seen = now_size
        return now - self._changed < self.idle_s and self._since is not None and now - self._since < self.max_lag_s

    def caught_up(self) -> None:
        """The indexer has indexed everything durable: the lag clock restarts."""
        self._since = None


def main(argv: list[str] | None = None) -> int:
    """Child-process entry of :class:`IndexerProcess`."""
    import argparse
    import fcntl
    import sys
    ap = argparse.ArgumentParser(description="index the live bridge's ingest log into history")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--nice", type=int, default=10)
    ap.add_argument("--poll", type=float, default=0.2)
    ap.add_argument("--defer-idle", type=float, default=0.3,
                    help="wait until the log has not grown for this long (s) before indexing (0: never wait)")
    ap.add_argument("--max-lag", type=float, default=3.0, help="but index at least this often (s) under traffic")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s indexer %(levelname)s %(message)s")
    if args.nice:
        try:
            os.nice(args.nice)
        except OSError:
            pass
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    lock = open(directory / "indexer.lock", "a+")
    fcntl.flock(lock, fcntl.LOCK_EX)                  # one indexer per log at a time
    from safetwin.twin.store import Store
    store = Store.open(args.db, migrate=False)
    done = threading.Event()

    def watch_stdin() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            done.set()
    threading.Thread(target=watch_stdin, daemon=True).start()
    ix = LogIndexer(directory, store, follow=True, poll_s=args.poll)
    gate = WriterActivity(directory, args.defer_idle, args.max_lag)
    while not done.is_set():
        if gate.busy():                               # a burst is being appended: index after it
            done.wait(min(args.poll, 0.05))
            continue
        try:
            progressed = ix._step()
        except Exception:  # noqa: BLE001 - keep going; the log keeps everything
            log.exception("log indexer step failed")
            progressed = False
        if not progressed:
            gate.caught_up()
            done.wait(args.poll)
    # The writer is gone: every segment it wrote is closed now. A restarted bridge may already
    # write a newer segment: drain only what exists at this moment, the next indexer does the rest.
    ix.follow = False
    ix.last_segment = max(list_segments(directory), default=0)
    try:
        ix.run_once()
    finally:
        ix._save_progress()
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
