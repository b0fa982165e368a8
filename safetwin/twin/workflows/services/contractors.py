"""Contractors (承包商): companies with qualifications, evaluations and the blacklist, and the
clearance of their people for permits and restricted areas (rules: :mod:`..contractors`).

An evaluation scoring below the field pack's ``blacklist_below_score`` blacklists the company; a
blacklisted company's people are refused on permits and raise an alarm entering restricted areas.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .. import contractors as rules
from ..errors import GuardFailed
from ..field_domain import Contractor, Evaluation, Person, Qualification
from ..fieldpack import FieldPack
from ..notify import Notification
from ..roles import Actor
from .context import RecordService, WorkflowContext
from .training import TrainingService

MANAGERS = ("safety_engineer", "manager")


class ContractorService(RecordService):
    """Contractor companies of one site (see the module docstring)."""

    def __init__(self, ctx: WorkflowContext, field_pack: FieldPack, training: TrainingService) -> None:
        super().__init__(ctx)
        self.field_pack = field_pack
        self.training = training

    def _save(self, c: Contractor, ver: int | None, actor: str, action: str) -> None:
        self.repo.save("contractor", c, actor=actor, action=action, expected_version=ver, owner=c.contact or None)

    def register_contractor(self, actor: Actor, *, name: str, license_no: str = "", contact: str = "",
                            qualifications: list[dict] | None = None) -> Contractor:
        """A new contractor company (safety engineer or manager)."""
        actor.require(*MANAGERS, action="register a contractor")
        now = self.clock()
        quals = [Qualification(verified_by=actor.user_id, **q) for q in qualifications or []]
        c = Contractor(id=self.repo.new_id("CO"), site_id=self.site_id, state="active", created_at=now,
                       created_by=actor.user_id, name=name, license_no=license_no, contact=contact, qualifications=quals)
        self._save(c, None, actor.user_id, "register")
        return c

    def contractor(self, contractor_id: str) -> Contractor:
        """One company; :class:`NotFound` when missing."""
        return self.repo.get("contractor", contractor_id, Contractor)[0]

    def list_contractors(self) -> list[Contractor]:
        """Every company, newest change first."""
        return self.repo.list("contractor", Contractor, limit=100000)

    def add_qualification(self, actor: Actor, contractor_id: str, *, type: str, number: str,
                          expires_at: datetime) -> Contractor:
        """File a company document (licence …) with its expiry, checked by ``actor``."""
        actor.require(*MANAGERS, action="file a contractor qualification")
        with self._locks.hold("contractor", contractor_id):
            c, ver = self.repo.get("contractor", contractor_id, Contractor)
            c.qualifications.append(Qualification(type=type, number=number, expires_at=expires_at,
                                                  verified_by=actor.user_id))
            self._save(c, ver, actor.user_id, "qualification")
        return c

    def evaluate(self, actor: Actor, contractor_id: str, *, score: float, note: str = "") -> Contractor:
        """Record a performance evaluation (0-100); below the pack's threshold the company is blacklisted."""
        actor.require(*MANAGERS, action="evaluate a contractor")
        limit = self.field_pack.contractors.blacklist_below_score
        with self._locks.hold("contractor", contractor_id):
            c, ver = self.repo.get("contractor", contractor_id, Contractor)
            c.evaluations.append(Evaluation(at=self.clock(), by=actor.user_id, score=score, note=note))
            action = "evaluate"
            if score < limit and not c.blacklisted:
                c.blacklisted, c.state, action = True, "blacklisted", "evaluate+blacklist"
                c.blacklist_reason = f"evaluation {score:g} < {limit:g} on {self.clock().date()}" + (f": {note}" if note else "")
            self._save(c, ver, actor.user_id, action)
        if action.endswith("blacklist"):
            self._tell(c, "blacklisted", f"contractor {c.name} blacklisted: {c.blacklist_reason}")
        return c

    def set_blacklist(self, actor: Actor, contractor_id: str, *, blacklisted: bool, reason: str) -> Contractor:
        """Blacklist or reinstate a company (manager or safety engineer); a reason is required."""
        actor.require(*MANAGERS, action="change a contractor's blacklist status")
        if not reason.strip():
            raise GuardFailed("a blacklist change needs a reason", "no_reason")
        with self._locks.hold("contractor", contractor_id):
            c, ver = self.repo.get("contractor", contractor_id, Contractor)
            c.blacklisted, c.blacklist_reason = blacklisted, reason if blacklisted else ""
            c.state = "blacklisted" if blacklisted else "active"
            self._save(c, ver, actor.user_id, "blacklist" if blacklisted else "reinstate")
        self._tell(c, c.state, f"contractor {c.name}: {c.state} ({reason})")
        return c

    def _tell(self, c: Contractor, event: str, text: str) -> None:
        who = ("role:safety_engineer", *((c.contact,) if c.contact else ()))
        self.notifier.send(Notification(who, f"contractors/{c.id}", event, text, self.site_id))

    # ------------------------------------------------------------------ clearance

    def problems(self, person: Person, at: datetime, *, area_id: str | None = None,
                 permit_areas: Iterable[str] = ()) -> list[str]:
        """Why a contractor's ``person`` may not work (or enter ``area_id``) at ``at``; empty when cleared.

        The company's standing, the person's three-level induction, and for an area an entry
        permission or a live permit naming them that covers it (:mod:`..contractors`).
        """
        if person.employer == "own":
            return []
        try:
            company = self.contractor(person.employer)
            out = rules.company_problems(company, self.field_pack.contractors.required_qualifications, at)
        except Exception as exc:
            out = [f"company {person.employer}: {exc}"]
        out += [f"induction {why}" for why in self.training.missing(person.id, self.field_pack.training.induction, at)]
        if area_id is not None and not rules.entry_permitted(person, area_id, at, permit_areas):
            out.append(f"no entry permission or live permit for area {area_id}")
        return out
