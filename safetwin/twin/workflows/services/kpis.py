"""Cockpit KPIs of one site over a period: hazards, permits, certificates, alarm cases and drills.

The figures and their definitions are :func:`safetwin.twin.workflows.kpi.compute`; this service
gathers its inputs (every stored record of those kinds, the certificates the live permits
require, the drill block). :meth:`KpiService.recent` is the cockpit's read: the last ``days`` days
as computed at most ``kpi_max_age_s`` ago (one computation at a time; the answer says when).
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

from ..domain import AlarmCase, Certificate, Hazard, Permit
from ..drill_store import drill_kpis
from ..kpi import compute
from .context import RecordService, WorkflowContext
from .permits import PermitService


class KpiService(RecordService):
    """KPIs of one site (see the module docstring)."""

    def __init__(self, ctx: WorkflowContext, permits: PermitService) -> None:
        super().__init__(ctx)
        self.permits = permits
        self._recent: dict[int, tuple[float, dict[str, Any]]] = {}    # days -> (monotonic s, figures)
        self._recent_lock = threading.Lock()

    def recent(self, days: int) -> dict[str, Any]:
        """The KPIs of the last ``days`` days up to now, computed at most ``kpi_max_age_s`` seconds ago
        (``as_of``: the instant they were computed for)."""
        max_age = self.settings.kpi_max_age_s
        with self._recent_lock:               # one computation at a time; the others take its result
            hit = self._recent.get(days)
            if hit is not None and time.monotonic() - hit[0] <= max_age:
                return hit[1]
            now = self.clock()
            end = now + timedelta(microseconds=1)   # the half-open period [start, end) includes the present
            figures = {**self.kpis(end - timedelta(days=days), end, now), "as_of": now.isoformat()}
            if len(self._recent) > 64:
                self._recent.clear()
            self._recent[days] = (time.monotonic(), figures)
            return figures

    def kpis(self, start: datetime, end: datetime, now: datetime | None = None) -> dict[str, Any]:
        """Cockpit KPIs over [start, end) with the cut-off ``now`` (default: the clock); see :mod:`..kpi`."""
        now = now or self.clock()
        read = self.repo.list_shared
        return compute(read("hazard", Hazard), read("permit", Permit), read("certificate", Certificate),
                       read("alarm_case", AlarmCase), start, end, now,
                       self.pack.gas_test.max_age_min, required_certs=self.permits.required_certificates(),
                       gas_types=[t for t, r in self.pack.permit_types.items() if r.gas_test.required],
                       drills=drill_kpis(self.repo.engine, start, end, now, site_id=self.site_id))
