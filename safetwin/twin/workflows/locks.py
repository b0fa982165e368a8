"""Striped locks: one re-entrant lock per record key, from a fixed pool (bounded memory).

>>> locks = StripedLocks(stripes=8)
>>> with locks.hold("hazard", "HZ-1"):
...     with locks.hold("hazard", "HZ-1"):   # re-entrant in the same thread
...         pass
"""
from __future__ import annotations

import threading
import zlib
from contextlib import contextmanager
from collections.abc import Iterator


class StripedLocks:
    """``hold(kind, id)`` serialises read-modify-write of one record; distinct records rarely share a stripe."""

    def __init__(self, stripes: int = 256) -> None:
        self._locks = [threading.RLock() for _ in range(stripes)]

    def lock_for(self, kind: str, record_id: str) -> threading.RLock:
        """The lock guarding ``(kind, record_id)`` (stable across calls: CRC-32 of the key)."""
        return self._locks[zlib.crc32(f"{kind}\x00{record_id}".encode()) % len(self._locks)]

    @contextmanager
    def hold(self, kind: str, record_id: str) -> Iterator[None]:
        """Hold the record's lock for the ``with`` block."""
        lock = self.lock_for(kind, record_id)
        with lock:
            yield
