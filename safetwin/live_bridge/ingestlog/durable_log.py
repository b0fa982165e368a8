"""The framed append-only log of the live bridge: a message is durable once its record is on disk.

Layout of a log directory:

* ``seg-NNNNNN.log`` — segment files of framed records, numbered upwards (never reused: a new
  writer continues after the highest segment on disk or named by the indexer's progress). A
  frame is an 8-byte header (body length, CRC-32 of the body, little-endian uint32) and the
  body: the history rows of one message as JSON columns ``[plant, source, received, seq,
  sensor ids, times, values, units, qualities, site]`` (times as seconds since the epoch;
  ``seq`` the first of consecutive sequence numbers or one per row), see :func:`expand_record`
  (which also reads the records of earlier versions: times as SQLite text, no site). A segment
  is closed past :data:`SEGMENT_BYTES`, or after a failed write.
* ``writer.lock`` — one :class:`DurableLog` writer per directory.
* ``indexed.json`` — the indexer's position and counters (:func:`read_progress`).

:meth:`DurableLog.append` is cheap and thread-safe; :meth:`DurableLog.sync` writes everything
appended so far with one ``write`` and one ``fdatasync`` (group commit). The acker calls it
before acknowledging. A **torn tail** (a crash or a failed write mid-record) fails its CRC or is
cut short: :func:`read_frames` stops there and says so; it was never synced, so never
acknowledged, and the broker redelivers it.

Example (two records; the tail cut short, or failing its CRC)::

    >>> import tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp())
    >>> log = DurableLog(d)
    >>> log.put_record("demo", "gw-1", 1735689600.1, 7, ["GD-01"], [1735689600.0], [1.5], ["%LEL"], ["ok"], "s1")
    >>> log.put_record("demo", "gw-1", 1735689601.1, 8, ["GD-01"], [1735689601.0], [1.7], ["%LEL"], ["ok"], "s1")
    >>> log.close()
    >>> data = (d / segment_name(log.segment)).read_bytes()
    >>> len(data), read_frames(data)[1:]
    (180, (180, False))
    >>> bodies, used, torn = read_frames(data[:-3])                       # cut short
    >>> [expand_record(b)[0][4] for b in bodies], used, torn
    ([1.5], 90, False)
    >>> bodies, used, torn = read_frames(data[:-1] + b"X")                # last byte overwritten
    >>> [expand_record(b)[0][4] for b in bodies], used, torn
    ([1.5], 90, True)
"""
from __future__ import annotations

import json
import logging
import os
import struct
import threading
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from safetwin.twin.store.store import sqlite_text_to_epoch as _sqlite_text_to_epoch

log = logging.getLogger(__name__)

_HDR = struct.Struct("<II")          # body length, CRC-32 of the body
#: a segment is closed and a new one started past this many bytes
SEGMENT_BYTES = 64 * 1024 * 1024
_encode = msgspec.json.Encoder().encode
#: buffers per ``writev`` call (the system's limit, POSIX minimum 16)
try:
    _IOV_MAX = max(16, min(1024, os.sysconf("SC_IOV_MAX")))
except (AttributeError, ValueError, OSError):
    _IOV_MAX = 16


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


def expand_record(body: bytes, site: str = "") -> list[tuple[Any, ...]]:
    """The history rows of one log record, in READING_ROW_FIELDS order (times as seconds since
    the epoch). ``site`` is used for records written before the site was logged.

    >>> body = b'["p","gw",1735689601.0,7,["A","B"],[1735689600.5,1735689600.75],[1.5,null],["u","u"],["ok","fault"],"s1"]'
    >>> expand_record(body)[1]
    ('p', 'B', 1735689600.75, 1735689601.0, None, 'u', 'fault', 'gw', 8, 's1')
    >>> old = b'["p","gw","2025-01-01 00:00:01.000000",7,["A"],["2025-01-01 00:00:00.500000"],[1.5],["u"],["ok"]]'
    >>> expand_record(old, "old")
    [('p', 'A', 1735689600.5, 1735689601.0, 1.5, 'u', 'ok', 'gw', 7, 'old')]
    """
    fields = _decode_record(body)
    plant_id, source, received, seq, sids, ts, vals, units, quals = fields[:9]
    if len(fields) > 9:
        site = fields[9]
    if isinstance(received, str):               # a record of an earlier version: SQLite text times
        received = _sqlite_text_to_epoch(received)
        ts = [_sqlite_text_to_epoch(t) for t in ts]
    n = len(sids)
    seqs = range(seq, seq + n) if isinstance(seq, int) else seq
    return [(plant_id, sid, t, received, v, u, q, source, k, site)
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
        # where this writer starts, before its first segment exists: the indexer of a crashed
        # previous writer drains only the segments below it (last_closed_segment)
        tmp = self.directory / "writer.json.tmp"
        tmp.write_text(json.dumps({"first_segment": last + 1, "pid": os.getpid()}))
        os.replace(tmp, self.directory / "writer.json")
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

    def put_record(self, plant_id: str, source: str, received: float, seq: int | list[int], sensor_ids: list[str],
                   ts: list[float], values: list[float | None], units: list[str], qualities: list[str],
                   site: str) -> None:
        """Queue the history rows of one message as columns (one record): ``seq`` is the first
        sequence number of consecutive rows or one per row; times in seconds since the epoch."""
        if sensor_ids:
            self.append(_encode((plant_id, source, received, seq, sensor_ids, ts, values, units, qualities, site)))

    def put_rows(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Queue history rows (READING_ROW_FIELDS order, times as seconds since the epoch,
        ``seq`` set) as records, one per (plant, source, received time, site)."""
        groups: dict[tuple[str, str, float, str], list[tuple[Any, ...]]] = {}
        for r in rows:
            groups.setdefault((r[0], r[7], r[3], r[9]), []).append(r)
        for (plant_id, source, received, site), rs in groups.items():
            self.put_record(plant_id, source, received, [r[8] for r in rs], [r[1] for r in rs],
                            [r[2] for r in rs], [r[4] for r in rs], [r[5] for r in rs], [r[6] for r in rs], site)

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
            size = sum(map(len, frames))
            try:
                _write_all(self._fd, frames)
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
                self.size += size
                self.durable += len(bodies)
                self.syncs += 1
                self.bytes_written += size
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


def _write_all(fd: int, pieces: list[bytes]) -> None:
    """Write ``pieces`` in order with ``writev`` (no joined copy of a group commit's megabytes);
    a short write is completed one buffer at a time. Raises ``OSError``."""
    for i in range(0, len(pieces), _IOV_MAX):
        chunk = pieces[i:i + _IOV_MAX]
        k = os.writev(fd, chunk)
        want = sum(map(len, chunk))
        if k < want:
            view = memoryview(b"".join(chunk))[k:]
            while view:
                view = view[os.write(fd, view):]


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



def site_log_directory(base: str | os.PathLike[str], site: str) -> Path:
    """The ingest log directory of ``site`` under ``base`` (``<base>/<site>``): one log, one
    writer and one indexer per site, so several sites' bridges run side by side on one store.

    A log left directly in ``base`` by a version that had one log per store (segments and
    ``indexed.json`` at the top) is moved into the directory of the first site that starts
    (its records carry no site; the indexer gives them that site), so nothing acknowledged is
    left behind.

    >>> import tempfile
    >>> base = Path(tempfile.mkdtemp())
    >>> _ = (base / "seg-000001.log").write_bytes(b"")
    >>> site_log_directory(base, "north").relative_to(base), sorted(p.name for p in (base / "north").iterdir())
    (PosixPath('north'), ['seg-000001.log'])
    """
    import fcntl
    base = Path(base)
    target = base / site
    legacy = list_segments(base)
    if legacy or (base / "indexed.json").exists():
        with open(base / "writer.lock", "a+") as lock:          # no writer of the old layout meanwhile
            fcntl.flock(lock, fcntl.LOCK_EX)
            target.mkdir(parents=True, exist_ok=True)
            if not list_segments(target):
                for name in [segment_name(n) for n in list_segments(base)] + ["indexed.json"]:
                    if (base / name).exists():
                        os.replace(base / name, target / name)
                _fsync_dir(target)
                _fsync_dir(base)
                log.warning("ingest log %s: the log of the previous layout moved to %s", base, target)
    return target


def last_closed_segment(directory: str | os.PathLike[str]) -> int:
    """The highest segment no writer appends to any more: every segment when no
    :class:`DurableLog` holds the directory, else those below the running writer's first."""
    import fcntl
    directory = Path(directory)
    highest = max(list_segments(directory), default=0)
    with open(directory / "writer.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:                     # a writer runs: its segments are not ours to close
            try:
                first = int(json.loads((directory / "writer.json").read_text())["first_segment"])
            except (OSError, ValueError, KeyError, TypeError):
                return 0
            return min(highest, first - 1)
        fcntl.flock(lock, fcntl.LOCK_UN)
    return highest


def read_progress(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The indexer's progress file (``segment``, ``offset`` and its counters); {} if none."""
    try:
        return json.loads((Path(directory) / "indexed.json").read_text())
    except (OSError, ValueError):
        return {}
