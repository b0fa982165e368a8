"""The field workflows of one site, built on the shared context: people, training, contractors,
inspection rounds, the equipment register, photos, the capture journal and the entry watch.

:class:`FieldWorkflows` is what ``WorkflowService.field`` holds. It adds one gate to the permit
rules (:meth:`FieldWorkflows.permit_gate`, registered in the context's ``people_gates``): a
person named on a permit must hold the courses the field pack requires for the role, and a
contractor's person must also belong to a company in good standing with its required
qualifications and hold the three-level induction — else the permit is refused (403) with the
reasons.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .. import field_kpi, training
from ..domain import AlarmCase
from ..field_domain import InspectionRound
from ..fieldpack import FieldPack, load_field_pack
from ..photos import PhotoStore
from .captures import CaptureJournal
from .context import WorkflowContext
from .contractors import ContractorService
from .entry_watch import EntryWatch
from .equipment import EquipmentService
from .hazards import HazardService
from .inspections import InspectionService
from .people import PersonService
from .tracks import TrackSource
from .training import TrainingService


class FieldWorkflows:
    """The field workflows of one site (see the module docstring)."""

    def __init__(self, ctx: WorkflowContext, hazards: HazardService, *, field_pack: FieldPack | str = "field_cn",
                 photo_dir: str | Path | None = None, tracks: TrackSource | None = None) -> None:
        self.ctx = ctx
        self.pack = load_field_pack(field_pack) if isinstance(field_pack, str) else field_pack
        self.people = PersonService(ctx)
        self.training = TrainingService(ctx, self.pack)
        self.contractors = ContractorService(ctx, self.pack, self.training)
        self.inspections = InspectionService(ctx, self.pack, hazards, self.people, tracks)
        self.equipment = EquipmentService(ctx, self.pack, hazards)
        self.captures = CaptureJournal(ctx)
        self.entry = EntryWatch(ctx, self.pack, self.people, self.contractors)
        self.photos = PhotoStore(photo_dir) if photo_dir is not None else None
        ctx.people_gates.append(self.permit_gate)

    # ------------------------------------------------------------------ twin

    def attach(self, state: Any) -> None:
        """Push detector calibration dates to the twin and watch restricted-area entries."""
        self.equipment.push_all()
        self.entry.attach(state)

    def close(self) -> None:
        """Stop the entry watch."""
        self.entry.close()

    # ------------------------------------------------------------------ permit gate

    def permit_gate(self, person_id: str, role: str, at: datetime) -> list[str]:
        """Why ``person_id`` may not be named on a permit as ``role`` at ``at`` (empty: they may)."""
        p = self.people.find(person_id)
        if p is None and self.pack.training.permit_gate == "registered":
            return []
        courses = list(self.pack.training.required_for(role))
        if p is not None and p.employer != "own":
            courses += [c for c in self.pack.training.induction if c not in courses]
        problems = [f"{person_id}: training {why}" for why in self.training.missing(person_id, courses, at)]
        if p is not None and p.employer != "own":
            problems += [f"{person_id}: {why}" for why in self.contractors.problems(p, at)
                         if not why.startswith("induction ")]
        return problems

    # ------------------------------------------------------------------ due jobs and KPIs

    def run_due(self, now: datetime) -> dict[str, list[str]]:
        """Rounds (generate, missed / late, evidence), equipment overdue → hazards, entry sweep."""
        out = self.inspections.run_due(now)
        out |= self.equipment.run_due(now)
        out["entry_alarms"] = self.entry.sweep(now)
        return out

    def kpis(self, start: datetime, end: datetime, now: datetime | None = None) -> dict[str, Any]:
        """The field KPI blocks over [start, end) with the cut-off ``now`` (see :mod:`..field_kpi`)."""
        now = now or self.ctx.clock()
        repo = self.ctx.repo
        rounds = repo.list("inspection_round", InspectionRound, limit=100000)
        people = self.people.list_people()
        records = self.training.records()
        companies = []
        by_company: dict[str, list] = {}
        for p in people:
            by_company.setdefault(p.employer, []).append(p)
        for c in self.contractors.list_contractors():
            mine = by_company.get(c.id, [])
            blocked = [{"person": p.id, "name": p.name, "problems": probs} for p in mine
                       if (probs := self.contractors.problems(p, now))]
            from ..contractors import company_problems, evaluation_score

            companies.append({"id": c.id, "name": c.name, "blacklisted": c.blacklisted,
                              "problems": company_problems(c, self.pack.contractors.required_qualifications, now),
                              "score": evaluation_score(c), "people": len(mine), "cleared": len(mine) - len(blocked),
                              "not_cleared": blocked})
        cases = [c for c in repo.list("alarm_case", AlarmCase, limit=100000) if c.alarm_id.startswith("ENTRY-")]
        state = self.ctx.state
        suspect = []
        if state is not None:
            suspect = sorted(sid for sid in self.ctx.plant.sensors
                             if (due := state.calibration_due(sid)) is not None and now.timestamp() > due)
        return {"inspections": field_kpi.inspection_kpis(rounds, start, end, now),
                "training": field_kpi.training_kpis(people, records, self.pack.training.induction, start, end, now,
                                                    training.missing_courses),
                "contractors": field_kpi.contractor_kpis(companies, cases, start, end),
                "equipment": field_kpi.equipment_kpis(self.equipment.items(), now, suspect),
                "period": {"start": start.isoformat(), "end": end.isoformat(), "now": now.isoformat(),
                           "soon_days": field_kpi.SOON / timedelta(days=1)}}
