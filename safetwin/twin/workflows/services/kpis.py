"""Cockpit KPIs of one site over a period: hazards, permits, certificates, alarm cases and drills.

The figures and their definitions are :func:`safetwin.twin.workflows.kpi.compute`; this service
gathers its inputs (every stored record of those kinds, the certificates the live permits
require, the drill block).
"""
from __future__ import annotations

from datetime import datetime
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

    def kpis(self, start: datetime, end: datetime, now: datetime | None = None) -> dict[str, Any]:
        """Cockpit KPIs over [start, end) with the cut-off ``now`` (default: the clock); see :mod:`..kpi`."""
        now = now or self.clock()
        return compute(self.repo.list("hazard", Hazard, limit=100000), self.repo.list("permit", Permit, limit=100000),
                       self.repo.list("certificate", Certificate, limit=100000),
                       self.repo.list("alarm_case", AlarmCase, limit=100000), start, end, now,
                       self.pack.gas_test.max_age_min, required_certs=self.permits.required_certificates(),
                       gas_types=[t for t, r in self.pack.permit_types.items() if r.gas_test.required],
                       drills=drill_kpis(self.repo.engine, start, end, now, site_id=self.site_id))
