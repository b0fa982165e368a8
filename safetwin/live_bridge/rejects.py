"""Rejected-input accounting: counters by reason and a rate-limited sample stream.

Nothing the bridge refuses disappears silently: each rejection increments ``counts[reason]``
and, at most ``samples_per_s`` times per second, a sample (topic, reason, detail, the first
bytes of the payload) is handed to ``sink`` — the bridge publishes it to
``pst/v1/{site}/twin/rejects``.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

#: the reasons the bridge uses (documented in docs/mqtt-topics.md)
REASONS = (
    "empty", "too_large", "not_utf8", "malformed_json", "not_object", "invalid_field",
    "missing_value", "unknown_topic", "unknown_sensor", "unknown_equipment", "topic_mismatch",
    "unit_mismatch", "bad_timestamp", "duplicate", "internal_error", "not_a_met_station", "undeclared_quantity",
    "malformed_protobuf", "no_birth", "unknown_alias", "not_numeric",
)


class RejectCounter:
    """Thread-safe counters of rejected messages (and of readings inside batches) by reason."""

    def __init__(self, sink: Callable[[dict[str, Any]], None] | None = None,
                 samples_per_s: float = 5.0, sample_bytes: int = 200) -> None:
        self.counts: Counter[str] = Counter()
        self.flags: Counter[str] = Counter()   # accepted-but-noteworthy: clock_skew, late, gap, reset, flood
        self.sink = sink
        self.samples_per_s = samples_per_s
        self.sample_bytes = sample_bytes
        self._lock = threading.Lock()
        self._tokens = samples_per_s
        self._refill = time.monotonic()
        self.samples_dropped = 0
        self._logged: dict[str, float] = {}

    def reject(self, reason: str, topic: str, payload: bytes | None, detail: str = "", n: int = 1) -> None:
        """Count ``n`` rejections for ``reason`` and maybe emit a sample."""
        with self._lock:
            self.counts[reason] += n
            now = time.monotonic()
            self._tokens = min(self.samples_per_s, self._tokens + (now - self._refill) * self.samples_per_s)
            self._refill = now
            emit = self._tokens >= 1.0 and self.sink is not None
            if emit:
                self._tokens -= 1.0
            else:
                self.samples_dropped += 1
        if emit:
            head = (payload or b"")[: self.sample_bytes]
            sample = {"ts": time.time(), "topic": topic[:256], "reason": reason, "detail": detail[:300],
                      "payload_head": head.decode("utf-8", "backslashreplace"), "count": self.counts[reason]}
            try:
                self.sink(sample)  # type: ignore[misc]
            except Exception:
                log.exception("reject sink failed")

    def flag(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.flags[name] += n

    def log_once(self, key: str, msg: str, interval_s: float = 60.0) -> None:
        """Log ``msg`` at most once per ``interval_s`` for ``key`` (e.g. an unknown sensor id)."""
        now = time.monotonic()
        if now - self._logged.get(key, -1e18) >= interval_s:
            self._logged[key] = now
            if len(self._logged) > 10_000:
                self._logged.clear()
            log.warning(msg)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {"rejected": dict(self.counts), "flags": dict(self.flags)}
