"""Background work on a named daemon thread with a stop event (a leaf: imports nothing of SafeTwin).

A :class:`Worker` runs ``target`` on its own thread in one of two forms:

* **periodic** (``every_s`` given): ``target()`` every ``every_s`` seconds, the first call one
  period after :meth:`Worker.start`, until :meth:`Worker.stop`. An exception in one call is logged
  with its traceback and counted (:attr:`Worker.errors`); the next period runs as usual, so one bad
  pass never stops a scheduler.
* **once** (no ``every_s``): ``target()`` runs once — typically a loop that consumes a queue or
  watches :attr:`Worker.stop_event`. An exception ends it, logged and counted.

:meth:`Worker.stop` sets the stop event, calls ``wake`` (e.g. puts a sentinel on the queue the
target blocks on), joins with a timeout and says whether the thread ended. Threads are daemons, so
a worker that does not end in time never blocks the interpreter's exit.

Example::

    >>> import threading
    >>> ticks = threading.Semaphore(0)
    >>> worker = Worker("example-ticker", ticks.release, every_s=0.01).start()
    >>> ticks.acquire(timeout=10) and ticks.acquire(timeout=10)     # two periods passed
    True
    >>> worker.stop(timeout_s=10), worker.running, worker.errors
    (True, False, 0)
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Worker", "EventQueue"]

log = logging.getLogger(__name__)


class Worker:
    """A named daemon thread with a stop event, periodic or once (see the module docstring)."""

    def __init__(self, name: str, target: Callable[[], object], *, every_s: float | None = None,
                 wake: Callable[[], object] | None = None, logger: logging.Logger | None = None) -> None:
        if every_s is not None and not every_s > 0:
            raise ValueError(f"worker {name}: every_s must be > 0 s, got {every_s!r}")
        self.name = name
        self.target = target
        self.every_s = every_s
        self.wake = wake
        self.log = logger or log
        #: set by :meth:`stop`; a long-running target may wait on it
        self.stop_event = threading.Event()
        #: calls of ``target`` that raised
        self.errors = 0
        #: calls of ``target`` that returned
        self.runs = 0
        self.last_error: BaseException | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """True while the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called (until the next :meth:`start`)."""
        return self.stop_event.is_set()

    def start(self) -> Worker:
        """Start the thread; a worker already running is left as it is. Returns the worker."""
        if not self.running:
            self.stop_event.clear()
            self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float | None = 5.0) -> bool:
        """Set the stop event, call ``wake``, wait up to ``timeout_s`` seconds (None: as long as it
        takes) for the thread to end; True when it has ended (or never ran). A worker may stop
        itself from its own thread."""
        self.stop_event.set()
        if self.wake is not None:
            self.wake()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout_s)
        if thread.is_alive():
            self.log.warning("worker %s did not stop within %s s", self.name, timeout_s)
            return False
        return True

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the thread to end by itself (a once-worker whose target returned); True when it has."""
        if self._thread is not None:
            self._thread.join(timeout_s)
        return not self.running

    def _call(self) -> None:
        try:
            self.target()
        except Exception as exc:
            self.errors += 1
            self.last_error = exc
            self.log.exception("worker %s: %s failed", self.name, getattr(self.target, "__name__", "target"))
        else:
            self.runs += 1

    def _main(self) -> None:
        if self.every_s is None:
            self._call()
            return
        while not self.stop_event.wait(self.every_s):
            self._call()


class EventQueue:
    """Events handled one at a time on a :class:`Worker` thread, in the order they were put, so
    the thread that puts them (an event bus's publisher) is never blocked.

    ``handle(event)`` runs for each event; an exception is logged with the event and the next one
    is handled as usual. :meth:`drain` waits until everything put so far is handled.

    Example::

        >>> seen = []
        >>> events = EventQueue("example-events", seen.append).start()
        >>> events.put("a"); events.put("b")
        >>> events.drain(timeout_s=10), seen
        (True, ['a', 'b'])
        >>> events.stop(timeout_s=10)
        True
    """

    _STOP = object()

    def __init__(self, name: str, handle: Callable[[Any], object], *,
                 logger: logging.Logger | None = None) -> None:
        self.handle = handle
        self.log = logger or log
        self._queue: queue.Queue[Any] = queue.Queue()
        self.worker = Worker(name, self._run, wake=lambda: self._queue.put(self._STOP), logger=self.log)

    def start(self) -> EventQueue:
        """Start handling events. Returns the queue."""
        self.worker.start()
        return self

    def put(self, event: Any) -> None:
        """Queue ``event`` (any thread)."""
        self._queue.put(event)

    def drain(self, timeout_s: float = 60.0) -> bool:
        """Wait until the events put so far are handled; False when ``timeout_s`` (s) passed first."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout_s)

    def stop(self, timeout_s: float | None = 5.0) -> bool:
        """Stop after the events put so far; True when the thread ended within ``timeout_s`` (s)."""
        return self.worker.stop(timeout_s)

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            if event is self._STOP:
                return
            if isinstance(event, threading.Event):
                event.set()
                continue
            try:
                self.handle(event)
            except Exception:
                self.log.exception("%s: handling of %r failed", self.worker.name, event)
