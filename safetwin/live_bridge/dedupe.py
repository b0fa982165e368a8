"""Per-source sequence tracking: duplicates, out-of-order, gaps, restarts and floods.

A source is a publisher identity (sensor, gateway, tag, equipment) plus its boot counter.
For each source a sliding window of the last :data:`WINDOW` sequence numbers is kept as one
Python int bit mask (bit k set = ``high - k`` seen), so memory stays at ~0.5 KiB per source.

Sequence number and source time are judged together. A redelivered message (QoS 1 after a
reconnect, a gateway's replay) repeats its seq *and* its time, so it is never newer than what
was seen. A sequence number at or below the highest seen that comes with a source time newer
than any seen before can only come from a source whose counter restarted (a reboot without a
boot counter): it is accepted as ``reset`` and the window starts again there -- a fresh reading,
possibly an alarm, is never dropped as a duplicate (reference: the reset rule of the bad-input
table in docs/mqtt-topics.md, "ts newer and seq back").

Example::

    >>> t = SeqTracker()
    >>> [t.check("GD-01", s, 1.0 + s) for s in (1, 2, 2, 4, 3)]
    ['new', 'new', 'duplicate', 'gap', 'late']
    >>> [t.check("GD-01", s, 100.0 + s) for s in (1, 2)]       # rebooted: seq 1 again, later time
    ['reset', 'new']
"""
from __future__ import annotations

from dataclasses import dataclass

#: how many sequence numbers behind the highest are remembered per source
WINDOW = 4096


@dataclass(slots=True)
class _Src:
    high: int
    mask: int
    last_ts: float
    gaps: int = 0
    resets: int = 0
    tokens: float = 0.0
    refill_ts: float = 0.0


class SeqTracker:
    """Classify ``(source, seq)`` arrivals: new, gap (new after missing seqs), late (fills a
    gap), duplicate (seq seen, time not newer), reset (seq at or below the highest seen with a
    source time newer than any seen: the counter restarted; accepted) or unknown (older than the
    window: accept, the store's unique key still dedupes history)."""

    def __init__(self, window: int = WINDOW) -> None:
        self.window = window
        self._full = (1 << window) - 1
        self._src: dict[str, _Src] = {}

    def __len__(self) -> int:
        return len(self._src)

    def check(self, source: str, seq: int, ts: float) -> str:
        """Record ``seq`` of ``source`` (source time ``ts`` in s) and classify it."""
        st = self._src.get(source)
        if st is None:
            self._src[source] = _Src(seq, 1, ts)
            return "new"
        high = st.high
        if seq > high:
            shift = seq - high
            st.mask = ((st.mask << shift) | 1) & self._full if shift < self.window else 1
            st.high = seq
            if ts > st.last_ts:
                st.last_ts = ts
            if shift > 1:
                st.gaps += shift - 1
                return "gap"
            return "new"
        if ts > st.last_ts:       # back in seq, forward in time: the source's counter restarted
            st.resets += 1
            self._src[source] = _Src(seq, 1, ts, st.gaps, st.resets)
            return "reset"
        k = high - seq
        if k >= self.window:
            return "unknown"
        bit = 1 << k
        if st.mask & bit:
            return "duplicate"
        st.mask |= bit
        return "late"

    def allow(self, source: str, now: float, rate_per_s: float, burst: float) -> bool:
        """Token bucket per source (call after :meth:`check`); False when over budget (a flood)."""
        st = self._src.get(source)
        if st is None:
            return True
        if st.refill_ts == 0.0:
            st.tokens, st.refill_ts = burst, now
        st.tokens = min(burst, st.tokens + (now - st.refill_ts) * rate_per_s)
        st.refill_ts = now
        if st.tokens >= 1.0:
            st.tokens -= 1.0
            return True
        return False

    def gaps(self, source: str) -> int:
        """Missing sequence numbers seen so far for ``source`` (some may have arrived late)."""
        st = self._src.get(source)
        return 0 if st is None else st.gaps
