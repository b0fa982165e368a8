"""The notification outbox and delivery log: nothing said is lost, every attempt is on record.

A notification for a channel that talks to the outside becomes one ``wf_deliveries`` row per
channel (state ``queued``) in the store; one worker thread per channel hands the due rows to its
channel, oldest first. An attempt that raises is retried after an exponential back-off —
``base_s · 2^(attempt−1)``, at most ``max_delay_s``, ±``jitter`` — and after ``max_attempts`` the
row becomes a dead letter (``dead``, with the last error) that an administrator can re-queue. A
row is claimed by pushing its next attempt ``lease_s`` ahead before the channel is called, so a
process that dies mid-attempt leaves it queued: it is tried again once the lease ran out, by this
process after a restart or by another one (at-least-once delivery; receivers see the
notification's ``id`` to drop a repeat). A slow or dead receiver holds up its own channel only.

Example (a channel that fails once, then delivers)::

    >>> from safetwin.twin.store import Store
    >>> from safetwin.twin.workflows.notify import Notification
    >>> class Flaky:
    ...     name, calls = "flaky", 0
    ...     def send(self, n):
    ...         Flaky.calls += 1
    ...         if Flaky.calls == 1:
    ...             raise ConnectionError("receiver down")
    >>> store = Store.open("sqlite://")
    >>> log = DeliveryLog(store.engine, [Flaky()], policy=RetryPolicy(base_s=0.0, jitter=0.0))
    >>> _ = log.enqueue(Notification(("gus",), "permits/PTW-1", "suspended", "STOP WORK"))
    >>> log.run_due("flaky"), log.run_due("flaky")
    (1, 1)
    >>> [(d["state"], d["attempts"], d["last_error"]) for d in log.list()]
    [('delivered', 2, 'ConnectionError: receiver down')]
    >>> store.close()
"""
from __future__ import annotations

import functools
import logging
import random
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, select, update

from safetwin.background import Worker

from .models import DeliveryRow
from .notify import Channel, Delivery, Notification, channel_name

log = logging.getLogger("safetwin.workflows.notify")
DELIVERIES = DeliveryRow.__table__
STATES = ("queued", "delivered", "dead")
_C = DELIVERIES.c
_DUE = (select(_C.id, _C.attempts, _C.notification).where(
    _C.channel == bindparam("b_channel"), _C.state == "queued", _C.next_attempt_at <= bindparam("b_now"))
    .order_by(_C.next_attempt_at, _C.id).limit(bindparam("b_limit")))
_CLAIM = (update(DELIVERIES).where(_C.id == bindparam("b_id"), _C.state == "queued",
                                   _C.attempts == bindparam("b_attempts"))
          .values(attempts=bindparam("b_attempts") + 1, next_attempt_at=bindparam("b_lease"),
                  last_attempt_at=bindparam("b_now")))
_NEXT_DUE = select(func.min(_C.next_attempt_at)).where(_C.channel == bindparam("b_channel"), _C.state == "queued")


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again (s) and when to give up (see the module docstring)."""

    max_attempts: int = 8
    base_s: float = 2.0
    max_delay_s: float = 600.0
    jitter: float = 0.2
    lease_s: float = 120.0

    def delay_s(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        >>> [RetryPolicy(jitter=0).delay_s(a) for a in (1, 2, 3, 10)]
        [2.0, 4.0, 8.0, 600.0]
        """
        delay = min(self.max_delay_s, self.base_s * 2 ** (attempt - 1))
        return delay * (1 + self.jitter * (2 * random.random() - 1)) if self.jitter else delay


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


class DeliveryLog:
    """The outbox of ``channels`` in ``engine``'s store (see the module docstring).

    ``clock`` gives UTC epoch seconds; ``on_delivery`` receives every attempt as a :class:`Delivery`."""

    def __init__(self, engine: Engine, channels: Sequence[Channel], *, policy: RetryPolicy | None = None,
                 clock: Callable[[], float] | None = None,
                 on_delivery: Callable[[Delivery], object] | None = None) -> None:
        import time

        self.engine = engine
        self.channels: dict[str, Channel] = {channel_name(c): c for c in channels}
        self.policy = policy or RetryPolicy()
        self.clock = clock or time.time
        self.on_delivery = on_delivery
        self._wake = {name: threading.Event() for name in self.channels}
        self._stop = threading.Event()
        self._workers: dict[str, Worker] = {}

    # ------------------------------------------------------------------ queueing
    def enqueue(self, n: Notification, channels: Iterable[str] | None = None) -> list[int]:
        """One queued row per channel (default: all of them), in one transaction; wakes their workers."""
        names = [c for c in (channels if channels is not None else self.channels) if c in self.channels]
        if not names:
            return []
        now = _utc(self.clock())
        doc = n.to_dict()
        rows = [{"created_at": now, "site_id": n.site_id, "channel": name, "subject": n.subject[:200],
                 "event": n.event[:64], "recipients": list(n.recipients), "notification": doc, "state": "queued",
                 "attempts": 0, "next_attempt_at": now, "last_error": ""} for name in names]
        with self.engine.begin() as conn:
            ids = [int(conn.execute(insert(DELIVERIES).returning(_C.id), row).scalar_one()) for row in rows]
        for name in names:
            self._wake[name].set()
        return ids

    # ------------------------------------------------------------------ delivering
    def run_due(self, channel: str, limit: int = 100) -> int:
        """Attempt the due rows of ``channel`` once each now (oldest first); how many were attempted."""
        now = self.clock()
        with self.engine.connect() as conn:
            due = conn.execute(_DUE, {"b_channel": channel, "b_now": _utc(now), "b_limit": limit}).all()
        tried = 0
        for row in due:
            with self.engine.begin() as conn:
                claimed = conn.execute(_CLAIM, {"b_id": row.id, "b_attempts": row.attempts, "b_now": _utc(now),
                                                "b_lease": _utc(now + self.policy.lease_s)}).rowcount
            if claimed:
                self._attempt(channel, row.id, row.attempts + 1, Notification.from_dict(row.notification))
                tried += 1
        return tried

    def _attempt(self, channel: str, delivery_id: int, attempt: int, n: Notification) -> None:
        error = ""
        try:
            self.channels[channel].send(n)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        now = self.clock()
        if not error:
            values: dict[str, Any] = {"state": "delivered", "delivered_at": _utc(now)}
        elif attempt >= self.policy.max_attempts:
            values = {"state": "dead", "last_error": error}
            log.error("notification %s to %s: dead letter after %d attempts (%s)", n.subject, channel, attempt, error)
        else:
            values = {"next_attempt_at": _utc(now + self.policy.delay_s(attempt)), "last_error": error}
            log.warning("notification %s to %s: attempt %d failed (%s); retrying", n.subject, channel, attempt, error)
        with self.engine.begin() as conn:
            conn.execute(update(DELIVERIES).where(_C.id == delivery_id).values(**values))
        if self.on_delivery is not None:
            try:
                self.on_delivery(Delivery(channel, n.subject, n.event, n.recipients, n.site_id, not error, error,
                                          now, attempt=attempt, delivery_id=delivery_id,
                                          state=values.get("state", "queued")))
            except Exception:
                log.exception("delivery hook failed for %s via %s", n.subject, channel)

    def _wait_s(self, channel: str, cap_s: float) -> float:
        """Seconds until the channel's next queued row is due (at most ``cap_s``)."""
        with self.engine.connect() as conn:
            nxt = conn.execute(_NEXT_DUE, {"b_channel": channel}).scalar()
        if nxt is None:
            return cap_s
        return max(0.0, min(cap_s, nxt.timestamp() - self.clock()))

    def _loop(self, channel: str) -> None:
        wake = self._wake[channel]
        while not self._stop.is_set():
            wake.clear()
            try:
                busy = self.run_due(channel)
                wait_s = 0.0 if busy else self._wait_s(channel, 30.0)
            except Exception:   # the store is down: say so, try again later
                log.exception("delivery worker %s: pass failed", channel)
                wait_s = 5.0
            if wait_s > 0:
                wake.wait(wait_s)

    def start(self) -> DeliveryLog:
        """One worker thread per channel; queued rows left by an earlier run are picked up at once."""
        self._stop.clear()
        for name in self.channels:
            if name not in self._workers or not self._workers[name].running:
                self._workers[name] = Worker(f"notify-{name}", functools.partial(self._loop, name),
                                             wake=self._wake[name].set, logger=log).start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the workers (rows not yet delivered stay queued for the next start)."""
        self._stop.set()
        for worker in self._workers.values():
            worker.stop(timeout_s)

    # ------------------------------------------------------------------ reading and re-queueing
    def list(self, *, state: str | None = None, channel: str | None = None, subject: str | None = None,
             limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Delivery rows, newest first (times as ISO text)."""
        q = select(DELIVERIES)
        if state is not None:
            q = q.where(_C.state == state)
        if channel is not None:
            q = q.where(_C.channel == channel)
        if subject is not None:
            q = q.where(_C.subject == subject)
        q = q.order_by(_C.id.desc()).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()} for r in rows]

    def counts(self) -> dict[str, dict[str, int]]:
        """Rows per channel and state."""
        out: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for channel, state, count in conn.execute(
                    select(_C.channel, _C.state, func.count()).group_by(_C.channel, _C.state)):
                out.setdefault(channel, {})[state] = int(count)
        return out

    def requeue(self, delivery_id: int) -> bool:
        """Put a dead letter back in the queue with fresh attempts; False when it is not dead."""
        with self.engine.begin() as conn:
            done = conn.execute(update(DELIVERIES).where(_C.id == delivery_id, _C.state == "dead").values(
                state="queued", attempts=0, next_attempt_at=_utc(self.clock()))).rowcount
            channel = conn.execute(select(_C.channel).where(_C.id == delivery_id)).scalar()
        if done and channel in self._wake:
            self._wake[channel].set()
        return bool(done)
