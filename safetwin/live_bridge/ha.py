"""Bridge high availability: an active/standby pair (or more) for one site, arbitrated by a
lease in the store (:class:`~safetwin.twin.store.lease.Lease`, SQLite or PostgreSQL).

Every candidate runs :meth:`HaBridge.run`. The one that holds the lease ``bridge:{site}`` runs
a :class:`~safetwin.live_bridge.bridge.LiveBridge`; the others poll the lease every ``poll_s``.
All use the same MQTT client id, i.e. the same persistent broker session, so the broker keeps
what the active bridge had not acknowledged and hands it to whoever takes over; the history
is idempotent (a reading's ``(source, seq)`` is stored once), so what both saw is stored once.

Failover: the active renews every ``ttl_s / 3``. When it dies, its lease expires after at most
``ttl_s``; a standby acquires it within ``poll_s`` and starts its bridge (prepared while it
waited: plant, twin state, store), which restores the retained alarm states and resumes the
session. So the takeover needs about ``ttl_s + poll_s`` plus one bridge start (~1 s).

Fencing: an active that cannot renew (its lease was taken, or the store has been unreachable
for ``0.8 × ttl_s``) stops its bridge at once and goes back to standby, so two bridges never
process one site for longer than that; the broker also refuses two live connections of one
client id (the later one wins).

Example (the CLI: ``safetwin bridge run --ha``)::

    ha = HaBridge(lambda: LiveBridge(plant, config, store=store), Lease(store.engine,
                  f"bridge:{site}", holder_id(), ttl_s=2.5))
    threading.Thread(target=ha.run, args=(stop,)).start()
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from safetwin.twin.store.lease import Lease

from .bridge import LiveBridge

log = logging.getLogger(__name__)


def holder_id() -> str:
    """A unique id of this process: host, pid and a random part."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_name(site: str) -> str:
    """The store lease that arbitrates the bridges of ``site``."""
    return f"bridge:{site}"


class HaBridge:
    """Runs a bridge while holding the lease; see the module docstring.

    ``make_bridge`` builds a new, unstarted bridge on a store the caller owns (called while
    standing by, so the takeover only has to start it; an unused one is simply dropped).
    ``on_active(bridge)`` / ``on_standby()`` are called at each change of role.
    :attr:`role` is ``"standby"``, ``"active"`` or ``"stopped"``."""

    def __init__(self, make_bridge: Callable[[], LiveBridge], lease: Lease, *, poll_s: float = 0.2,
                 on_active: Callable[[LiveBridge], None] | None = None,
                 on_standby: Callable[[], None] | None = None) -> None:
        self.make_bridge = make_bridge
        self.lease = lease
        self.poll_s = poll_s
        self.renew_s = lease.ttl_s / 3.0
        self.on_active = on_active
        self.on_standby = on_standby
        self.role = "standby"
        self.bridge: LiveBridge | None = None
        self.takeovers = 0
        #: seconds from acquiring the lease to the bridge processing, per takeover
        self.start_times_s: list[float] = []

    def run(self, stop: threading.Event) -> None:
        """Stand by / be active until ``stop`` is set (then stop the bridge, release the lease)."""
        prepared: LiveBridge | None = None
        try:
            while not stop.is_set():
                if prepared is None:
                    prepared = self.make_bridge()
                if not self._try_acquire():
                    stop.wait(self.poll_s)
                    continue
                bridge, prepared = prepared, None
                lost = threading.Event()
                renewer = threading.Thread(target=self._renew, args=(stop, lost), name="safetwin-lease", daemon=True)
                renewer.start()             # renewing from the acquisition on: a slow start keeps the lease
                t0 = time.monotonic()
                try:
                    bridge.start()
                except ConnectionError as exc:
                    log.error("holding the lease but the broker is unreachable (%s); releasing it", exc)
                    lost.set()
                    renewer.join()
                    self._release()
                    stop.wait(1.0)
                    continue
                self.start_times_s.append(time.monotonic() - t0)
                self.takeovers += 1
                self.bridge, self.role = bridge, "active"
                log.warning("active for lease %s (epoch %d; bridge started in %.2f s)", self.lease.name,
                            self.lease.epoch, self.start_times_s[-1])
                if self.on_active is not None and not lost.is_set():
                    self.on_active(bridge)
                while not (stop.is_set() or lost.is_set()):
                    stop.wait(self.poll_s)
                lost.set()
                renewer.join()
                self.bridge, self.role = None, "standby"
                bridge.stop()
                if not stop.is_set():
                    log.warning("lease %s lost: bridge stopped, standing by", self.lease.name)
                    if self.on_standby is not None:
                        self.on_standby()
        finally:
            self.role = "stopped"
            self._release()

    def _try_acquire(self) -> bool:
        try:
            return self.lease.acquire()
        except Exception as exc:        # the store is unreachable: stay standby
            log.warning("lease %s: cannot reach the store (%s)", self.lease.name, type(exc).__name__)
            return False

    def _renew(self, stop: threading.Event, lost: threading.Event) -> None:
        """Renew every ``ttl_s / 3`` until ``stop`` or ``lost``; set ``lost`` when the lease was
        taken or the store has been unreachable for 0.8 × ttl."""
        last_ok = time.monotonic()
        while not (stop.wait(self.renew_s) or lost.is_set()):
            try:
                if not self.lease.renew():
                    lost.set()
                    return
                last_ok = time.monotonic()
            except Exception as exc:
                log.warning("lease %s: renewal failed (%s)", self.lease.name, type(exc).__name__)
                if time.monotonic() - last_ok > 0.8 * self.lease.ttl_s:
                    lost.set()
                    return

    def _release(self) -> None:
        try:
            self.lease.release()
        except Exception as exc:
            log.warning("lease %s: release failed (%s); it expires on its own", self.lease.name, exc)
