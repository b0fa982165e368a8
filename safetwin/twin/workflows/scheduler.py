"""A small periodic thread that runs the workflows' time-driven jobs.

:class:`DueJobScheduler` calls :meth:`WorkflowService.run_due_jobs` every ``interval_s`` seconds
(permit expiry, certificate reminders at 90/60/30 days, hazard overdue escalation), so these
happen without anyone calling an endpoint. The time the jobs judge by comes from ``clock`` —
the service clock by default, a fake clock in tests; :meth:`tick` runs one pass synchronously.
A failing pass is logged and counted; the thread keeps going.

Example (a pass at a given time, no thread)::

    >>> from datetime import datetime, timezone
    >>> class Svc:
    ...     def run_due_jobs(self, now): return now
    >>> DueJobScheduler(Svc(), clock=lambda: datetime(2025, 1, 1, tzinfo=timezone.utc)).tick().year
    2025
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

log = logging.getLogger("safetwin.workflows.scheduler")


class DueJobScheduler:
    """Run ``service.run_due_jobs(clock())`` every ``interval_s`` seconds on a daemon thread."""

    def __init__(self, service: Any, interval_s: float = 60.0,
                 clock: Callable[[], datetime] | None = None) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be > 0 (s)")
        self.service = service
        self.interval_s = interval_s
        self.clock = clock or service.clock
        self.passes = 0
        self.failures = 0
        self.last: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> Any:
        """One pass now (synchronously); returns the service's report."""
        self.last = self.service.run_due_jobs(self.clock())
        self.passes += 1
        return self.last

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.tick()
            except Exception:
                self.failures += 1
                log.exception("due-job pass failed")

    @property
    def running(self) -> bool:
        """True while the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> DueJobScheduler:
        """Start the thread (first pass after one interval); idempotent."""
        if not self.running:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="workflow-due-jobs", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread and wait up to ``timeout_s`` seconds for it to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
