"""A periodic background worker that runs the workflows' time-driven jobs.

:class:`DueJobScheduler` calls :meth:`WorkflowService.run_due_jobs` every ``interval_s`` seconds
(permit expiry, certificate reminders at 90/60/30 days, hazard overdue escalation), so these
happen without anyone calling an endpoint. The time the jobs judge by comes from ``clock`` —
the service clock by default, a fake clock in tests; :meth:`tick` runs one pass synchronously.
A failing pass is logged and counted; the worker keeps going (:class:`safetwin.background.Worker`).

Example (a pass at a given time, no thread)::

    >>> from datetime import datetime, timezone
    >>> class Svc:
    ...     def run_due_jobs(self, now): return now
    >>> DueJobScheduler(Svc(), clock=lambda: datetime(2025, 1, 1, tzinfo=timezone.utc)).tick().year
    2025
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from safetwin.background import Worker

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
        self.last: Any = None
        self._worker = Worker("workflow-due-jobs", self.tick, every_s=interval_s, logger=log)

    def tick(self) -> Any:
        """One pass now (synchronously); returns the service's report."""
        self.last = self.service.run_due_jobs(self.clock())
        self.passes += 1
        return self.last

    @property
    def failures(self) -> int:
        """Passes that raised (logged with their traceback)."""
        return self._worker.errors

    @property
    def running(self) -> bool:
        """True while the worker's thread is alive."""
        return self._worker.running

    def start(self) -> DueJobScheduler:
        """Start the worker (first pass after one interval); idempotent."""
        self._worker.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the worker and wait up to ``timeout_s`` seconds for it to end."""
        self._worker.stop(timeout_s)
