"""A Sparkplug B no-loss drill: a known stream of metric values from an :class:`~.edge.EdgeNode`,
then every value accounted for in the history (tests, ``benchmarks/bench_sparkplug.py``).

Metric ``k`` of the stream has the value :func:`~safetwin.live_bridge.cluster.drills.drill_value`
``(k)`` (below every alarm level of the small plant's gas detectors) and the time ``t0 + k`` ms;
the edge node's metrics take turns (round robin over its devices and their metrics).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select

from safetwin.twin.store import Store
from safetwin.twin.store.store import READINGS

from ..cluster.drills import Accounting, drill_value
from .edge import EdgeNode
from .host import metric_seq


@dataclass
class SparkplugStream:
    """``total`` metric values from ``node`` in DATA messages of ``per_message`` values."""

    node: EdgeNode
    total: int
    per_message: int = 60

    def __post_init__(self) -> None:
        # value k at t0 + k ms, the last one 10 s ago: all in the past, recent enough to be live
        self.t0 = float(int(time.time() - self.total / 1000.0 - 10.0))
        self.sent = 0
        self._slots = [(dev, name) for dev, names in self.node.metrics.items() for name in names]

    def slot(self, k: int) -> tuple[str | None, str]:
        """(device, metric name) of value ``k``."""
        return self._slots[k % len(self._slots)]

    def send(self, until: int) -> None:
        """Publish values ``sent`` … ``until - 1``: each message takes consecutive values of one
        device (values of the other devices wait for their device's next message)."""
        until = min(until, self.total)
        while self.sent < until:
            k0 = self.sent
            k1 = min(until, k0 + self.per_message)
            by_device: dict[str | None, list[tuple[str, float, float]]] = {}
            for k in range(k0, k1):
                dev, name = self.slot(k)
                by_device.setdefault(dev, []).append((name, drill_value(k), self.t0 + k / 1000.0))
            for dev, values in by_device.items():
                self.node.publish(dev, values)
            self.sent = k1

    def expected(self) -> tuple[int, float, int]:
        """(values, sum of values, sum of history seq numbers) of the whole stream."""
        seqs = {(dev, name): metric_seq(self.node.group, name) for dev, name in self._slots}
        return (self.total, sum(drill_value(k) for k in range(self.total)),
                sum(seqs[self.slot(k)] for k in range(self.total)))


def account(store: Store, stream: SparkplugStream, *, wait_s: float = 0.0) -> Accounting:
    """Count the stream's values in the history of ``store`` (waiting up to ``wait_s``)."""
    c = READINGS.c
    where = (c.source.like(f"spb:{stream.node.edge}%")) & (c.ts >= _dt(stream.t0)) & (
        c.ts < _dt(stream.t0 + stream.total / 1000.0 + 0.5))
    stmt = select(func.count(), func.sum(c.value), func.sum(c.seq)).where(where)
    keys = select(func.count()).select_from(select(c.seq, c.ts).where(where).distinct().subquery())
    n_exp, v_exp, s_exp = stream.expected()
    deadline = time.monotonic() + wait_s
    while True:
        with store.engine.connect() as conn:
            stored, vsum, ssum = conn.execute(stmt).one()
            distinct = conn.execute(keys).scalar_one()
        if distinct >= n_exp or time.monotonic() >= deadline:
            return Accounting(n_exp, int(stored), int(distinct), float(vsum or 0.0), int(ssum or 0), v_exp, s_exp)
        time.sleep(0.25)


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)
