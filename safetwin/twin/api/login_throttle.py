"""Login throttling: failed logins lock the account and the client address; password checks queue.

Two rules, both applied *before* any password is checked, so a locked account or address costs
no argon2 hash (the hash is what makes a login flood expensive for everyone else):

* **lockout** — ``max_failures_account`` failed logins of one account, or ``max_failures_address``
  from one client address, within ``window_s`` lock that account or address for ``lockout_s``.
  A refused attempt during a lock counts as a failure of the address (so hammering one locked
  account still locks the address that does it). OWASP Authentication Cheat Sheet ("Account
  Lockout": threshold, observation window, lockout duration); NIST SP 800-63B 5.2.2 (rate
  limiting, at most 100 consecutive failures per account).
* **one at a time** — at most ``concurrency`` password checks run at once; the others wait up
  to ``queue_wait_s`` and are then refused, so the hashes never take both cores from the API.

Counters live in the process (each server process counts its own attempts); the lock events
are handed to ``on_lock`` (the API records them in the audit trail). Times are seconds.

>>> t = LoginThrottle(max_failures_account=2, max_failures_address=3, window_s=60, lockout_s=60)
>>> t.refusal("ann", "10.0.0.9", now=0.0) is None
True
>>> [t.failed("ann", "10.0.0.9", now=float(k)) for k in range(3)]
[[], [('account', 'ann')], [('address', '10.0.0.9')]]
>>> t.refusal("ann", "10.0.0.9", now=5.0)[0], t.refusal("bob", "10.0.0.7", now=5.0)
('account ann is locked', None)
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Counter:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class LoginThrottle:
    """Lockout of accounts and addresses after failed logins (see the module docstring)."""

    def __init__(self, *, max_failures_account: int = 10, max_failures_address: int = 30, window_s: float = 900.0,
                 lockout_s: float = 900.0, concurrency: int = 1, queue_wait_s: float = 5.0,
                 on_lock: Callable[[str, str, float], None] | None = None) -> None:
        self.max_failures = {"account": max_failures_account, "address": max_failures_address}
        self.window_s, self.lockout_s, self.queue_wait_s = window_s, lockout_s, queue_wait_s
        self.on_lock = on_lock
        self._counters: dict[tuple[str, str], _Counter] = {}
        self._lock = threading.Lock()
        self._checks = threading.BoundedSemaphore(concurrency)
        self.refused = 0          # attempts refused without a password check

    def _counter(self, kind: str, key: str) -> _Counter:
        found = self._counters.get((kind, key))
        if found is None:
            if len(self._counters) > 100_000:   # bounded under a spray of addresses and names
                self._counters = {k: c for k, c in self._counters.items() if c.locked_until or c.failures}
            found = self._counters[(kind, key)] = _Counter()
        return found

    def refusal(self, account: str, address: str, *, now: float) -> tuple[str, float] | None:
        """Why a login of ``account`` from ``address`` is refused now, and for how many seconds
        more; None when it may go on. A refusal counts as a failure of the address."""
        found = None
        with self._lock:
            for kind, key in (("account", account), ("address", address)):
                c = self._counters.get((kind, key))
                if c is not None and c.locked_until > now:
                    self.refused += 1
                    found = (f"{kind} {key} is locked", c.locked_until - now)
                    new = [lk for lk in (self._fail_locked("address", address, now),) if lk is not None]
                    break
        if found is not None:
            self._tell(new)
        return found

    def failed(self, account: str, address: str, *, now: float) -> list[tuple[str, str]]:
        """Count a failed login; returns the (kind, key) pairs it newly locked."""
        with self._lock:
            new = [lk for lk in (self._fail_locked("account", account, now), self._fail_locked("address", address, now))
                   if lk is not None]
        self._tell(new)
        return new

    def _tell(self, locked: list[tuple[str, str]]) -> None:
        if self.on_lock is not None:
            for kind, key in locked:
                self.on_lock(kind, key, self.lockout_s)

    def _fail_locked(self, kind: str, key: str, now: float) -> tuple[str, str] | None:
        c = self._counter(kind, key)
        c.failures.append(now)
        while c.failures and c.failures[0] < now - self.window_s:
            c.failures.popleft()
        if c.locked_until <= now and len(c.failures) >= self.max_failures[kind]:
            c.locked_until = now + self.lockout_s
            c.failures.clear()
            return kind, key
        return None

    def succeeded(self, account: str) -> None:
        """A good password: the account's failures are forgotten (the address keeps its count)."""
        with self._lock:
            self._counters.pop(("account", account), None)

    def unlock(self, kind: str, key: str) -> bool:
        """Lift a lock (an administrator's decision); True when there was one."""
        with self._lock:
            c = self._counters.pop((kind, key), None)
        return c is not None and c.locked_until > 0

    def locks(self, *, now: float) -> list[dict]:
        """The locks in force: kind, key and seconds left."""
        with self._lock:
            return [{"kind": kind, "key": key, "seconds_left": round(c.locked_until - now, 1)}
                    for (kind, key), c in self._counters.items() if c.locked_until > now]

    def checking(self) -> _Slot:
        """A context manager holding one of the ``concurrency`` password-check slots (see :class:`_Slot`)."""
        return _Slot(self._checks, self.queue_wait_s)


class _Slot:
    """``with throttle.checking() as ok:`` — ``ok`` is False when no slot came free in time."""

    def __init__(self, sem: threading.BoundedSemaphore, wait_s: float) -> None:
        self.sem, self.wait_s, self.held = sem, wait_s, False

    def __enter__(self) -> bool:
        self.held = self.sem.acquire(timeout=self.wait_s)
        return self.held

    def __exit__(self, *exc: object) -> None:
        if self.held:
            self.sem.release()
