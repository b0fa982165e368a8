"""The indexer as a separate process, and when it should stay out of the way.

:class:`IndexerProcess` runs a :class:`.indexer.LogIndexer` in a child process (``python -m
safetwin.live_bridge.ingestlog``, whose entry is :func:`main`) at a lower CPU priority, so
indexing never competes with ingest for the GIL. :class:`WriterActivity` tells the child to
wait while the bridge is appending a burst.
"""
from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .durable_log import last_closed_segment, list_segments, read_progress, segment_name
from .indexer import LogIndexer

log = logging.getLogger(__name__)


class IndexerProcess:
    """Runs a :class:`LogIndexer` in a child process (``python -m
    safetwin.live_bridge.ingestlog``) at a lower CPU priority, so indexing never competes with
    ingest for the GIL and only uses CPU that ingest leaves. The child takes an exclusive lock on
    the log directory (a second indexer, e.g. of a restarted bridge, waits for the first to
    finish), follows the newest segment and, when its stdin closes (``stop()``, or the bridge
    died), indexes what is left and exits."""

    def __init__(self, directory: str | os.PathLike[str], db_url: str, *, nice: int = 10, site: str = "") -> None:
        self.directory = Path(directory)
        self.db_url = db_url
        self.nice = nice
        self.site = site
        self.proc: Any = None

    def start(self) -> IndexerProcess:
        import subprocess
        import sys
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "safetwin.live_bridge.ingestlog", "--dir", str(self.directory),
             "--db", self.db_url, "--nice", str(self.nice), "--site", self.site],
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
        except Exception:
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
    broker and the group commit during a flood. One ``listdir``/``stat`` per call. ``clock`` gives
    seconds (monotonic)."""

    def __init__(self, directory: Path, idle_s: float = 0.3, max_lag_s: float = 3.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.directory, self.idle_s, self.max_lag_s = directory, idle_s, max_lag_s
        self._clock = clock
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
        now = self._clock()
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
    ap = argparse.ArgumentParser(prog="python -m safetwin.live_bridge.ingestlog",
                                 description="index the live bridge's ingest log into history")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--nice", type=int, default=10)
    ap.add_argument("--site", default="", help="site of log records written before records named theirs")
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
    ix = LogIndexer(directory, store, follow=True, poll_s=args.poll, site=args.site)
    gate = WriterActivity(directory, args.defer_idle, args.max_lag)
    while not done.is_set():
        if gate.busy():                               # a burst is being appended: index after it
            done.wait(min(args.poll, 0.05))
            continue
        try:
            progressed = ix._step()
        except Exception:
            log.exception("log indexer step failed")
            progressed = False
        if not progressed:
            gate.caught_up()
            done.wait(args.poll)
    # The writer is gone: every segment it wrote is closed now. A restarted bridge may already
    # write newer segments: drain only those below its first (the next indexer does the rest).
    ix.follow = False
    ix.last_segment = last_closed_segment(directory)
    try:
        ix.run_once()
    finally:
        ix._save_progress()
        store.close()
    return 0

