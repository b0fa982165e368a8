"""WorkflowService: the rules joined to persistence, the audit chain, notifications and the twin.

Every mutating method loads the record, applies a rule function, saves a new audited version
and notifies the people concerned. The work is done by one service per record type in
:mod:`.services` — :class:`~.services.permits.PermitService`, :class:`~.services.gas_tests.GasTestService`,
:class:`~.services.certificates.CertificateService`, :class:`~.services.hazards.HazardService`,
:class:`~.services.alarm_cases.AlarmCaseService`, :class:`~.services.risk_register.RiskRegisterService`,
:class:`~.services.kpis.KpiService` — plus the twin link (:class:`~.services.twin_link.TwinLink`:
a gas alarm touching a permit's work area suspends it, GB 30871 4.8, 5.2.6, 6.5) and the due jobs
(:mod:`.services.due_jobs`). :class:`WorkflowService` is the one object the API routes, the UI and
the tests hold: it builds the parts on one shared context and hands each call to its part.

Concurrency: a read-modify-write of one record holds that record's lock (striped locks), so
unrelated records are changed in parallel and the audit chain is only serialised for the short
append itself (:meth:`Repository.save`). Permit transitions share one lock because their guards
(SIMOPS, live alarms) look at the other permits. :meth:`WorkflowService.run_due_jobs` runs the
time-driven jobs (permit expiry, certificate reminders, hazard escalation);
:class:`.scheduler.DueJobScheduler` calls it periodically.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from safetwin.plant_models.loader import Plant

from .audit import AuditKey
from .audit_anchor import AuditSetup
from .audit_chain import AuditChain
from .domain import AlarmCase, Certificate, Hazard, Permit, RiskUnit
from .errors import Forbidden
from .notify import Notifier
from .repository import Repository
from .roles import Actor
from .rulepack import load_pack
from .services.accounts import AccountService
from .services.alarm_cases import AlarmCaseService
from .services.audit_guard import AuditService
from .services.certificates import CertificateService
from .services.context import GAS_SENSOR_TYPES, MAX_LOCAL_M, WorkflowContext, check_local_polygon, utcnow
from .services.due_jobs import DueJobsReport, run_due_jobs
from .services.field import FieldWorkflows
from .services.gas_tests import GasTestService
from .services.hazards import HazardService
from .services.kpis import KpiService
from .services.permits import PermitService
from .services.risk_register import RiskRegisterService
from .services.tasks import TaskService
from .services.tracks import TrackSource
from .services.twin_link import TwinLink
from .settings import WorkflowSettings
from .users import Users

__all__ = ["GAS_SENSOR_TYPES", "MAX_LOCAL_M", "DueJobsReport", "WorkflowService", "check_local_polygon", "utcnow"]


class WorkflowService:
    """All workflows of one site (see the module docstring)."""

    def __init__(self, engine: Engine, plant: Plant, *, settings: WorkflowSettings | None = None,
                 notifier: Notifier | None = None, clock: Callable[[], datetime] = utcnow,
                 site_id: str | None = None, audit: AuditSetup | None = None,
                 acknowledge_alarm: Callable[[str, str], None] | None = None, photo_dir: str | Path | None = None,
                 tracks: TrackSource | None = None) -> None:
        """``audit``: the audit trail's key and checkpoint directory (the app reads them from the
        settings; without one, a fresh random key — the chain can then be verified only by this
        object — and no checkpoints). ``acknowledge_alarm(alarm_id, by)``: the alarm engine's
        acknowledgement (the live bridge's), called when an alarm case is acknowledged. ``photo_dir``:
        where the field photos are stored (None: uploads refused); ``tracks``: where inspectors' RTLS
        tracks come from (default: this store's position history)."""
        settings = settings or WorkflowSettings()
        site_id = site_id or plant.id
        audit = audit or AuditSetup(AuditKey.generate())
        chain = AuditChain(engine, audit.key)
        self.ctx = WorkflowContext(settings=settings, plant=plant, site_id=site_id,
                                   pack=load_pack(settings.pack_for(site_id)), repo=Repository(engine, chain),
                                   users=Users(engine, chain=chain, recheck_s=settings.auth_recheck_s),
                                   notifier=notifier or Notifier(), clock=clock, acknowledge_alarm=acknowledge_alarm)
        ctx = self.ctx
        self.settings, self.plant, self.site_id, self.pack = ctx.settings, ctx.plant, ctx.site_id, ctx.pack
        self.repo, self.users, self.notifier, self.clock = ctx.repo, ctx.users, ctx.notifier, ctx.clock
        self.permits = PermitService(ctx)
        self.gas_tests = GasTestService(ctx, self.permits)
        self.certificates = CertificateService(ctx)
        self.hazards = HazardService(ctx)
        self.alarm_cases = AlarmCaseService(ctx)
        self.risk_register = RiskRegisterService(ctx, self.hazards)
        self.kpi = KpiService(ctx, self.permits)
        self.twin_link = TwinLink(ctx, self.permits, self.alarm_cases)
        self.audit = AuditService(ctx, self.alarm_cases, audit)
        self.audit.seal_legacy()
        self.accounts = AccountService(ctx)
        self.tasks = TaskService(ctx)
        # field workflows: rounds, training, contractors, equipment due dates, photos (photo_dir), offline captures
        self.field = FieldWorkflows(ctx, self.hazards, photo_dir=photo_dir, tracks=tracks)
        self.suspension_log: list[dict[str, Any]] = self.permits.suspension_log

    @property
    def state(self) -> Any:
        """The live TwinState once :meth:`attach` ed (None before)."""
        return self.ctx.state

    # ================================================================ twin link
    def attach(self, state: Any) -> None:
        """Subscribe to ``state.bus``: alarms open alarm cases and suspend permits they touch."""
        self.twin_link.attach(state)
        self.field.attach(state)

    def close(self) -> None:
        """Unsubscribe and stop the event workers."""
        self.twin_link.close()
        self.field.close()

    def drain(self, timeout_s: float = 60.0) -> bool:
        """Wait until the twin events queued so far are handled (tests); False when ``timeout_s``
        (s) passed first."""
        return self.twin_link.drain(timeout_s)

    def on_alarm(self, ev: Any) -> list[str]:
        """Handle an ``AlarmRaised``: open/refresh its alarm case; suspend permits a gas alarm touches."""
        return self.twin_link.on_alarm(ev)

    def suspend_touching(self, where: Any, radius_m: float, area_id: str | None, reason: str,
                         now: datetime | None = None) -> list[str]:
        """Suspend every active permit whose work polygon is within ``radius_m`` of ``where`` or in ``area_id``."""
        return self.permits.suspend_touching(where, radius_m, area_id, reason, now)

    def report_incident(self, actor: Actor, x: float, y: float, radius_m: float, description: str) -> list[str]:
        """An incident at (x, y): suspend the active permits it touches."""
        return self.permits.report_incident(actor, x, y, radius_m, description)

    def plant_area_of(self, x: float, y: float) -> str | None:
        """The first plant area (in plant order) that covers the point (local m), or None."""
        return self.ctx.plant_area_of(x, y)

    # ================================================================ any record
    def record_json(self, kind: str, record_id: str) -> str:
        """The stored JSON text of one record (no re-validation); :class:`NotFound` when missing."""
        return self.repo.get_json(kind, record_id)

    def list_json(self, kind: str, *, state: str | None = None, subtype: str | None = None,
                  owner: str | None = None, limit: int = 100, offset: int = 0) -> str:
        """A JSON array of stored records of ``kind``, newest change first, filtered in SQL."""
        return self.repo.list_json(kind, state=state, subtype=subtype, owner=owner, limit=limit, offset=offset)

    def list_summary(self, kind: str, *, state: str | None = None, subtype: str | None = None,
                     owner: str | None = None, limit: int = 100, offset: int = 0) -> list[dict]:
        """Projection columns of records of ``kind`` (no document is read), newest change first."""
        return self.repo.list_summary(kind, state=state, subtype=subtype, owner=owner, limit=limit, offset=offset)

    # ================================================================ permits and gas tests
    def create_permit(self, actor: Actor, *, type: str, level: str | None, title: str,
                      work_polygon: list[tuple[float, float]], holder: str, planned_start: datetime,
                      planned_end: datetime, **extra: Any) -> Permit:
        """A new draft permit by an applicant; the work areas are found on the plant."""
        return self.permits.create_permit(actor, type=type, level=level, title=title, work_polygon=work_polygon,
                                          holder=holder, planned_start=planned_start, planned_end=planned_end,
                                          **extra)

    def permit(self, permit_id: str) -> Permit:
        """One permit (validated model); :class:`NotFound` when missing."""
        return self.permits.permit(permit_id)

    def list_permits(self, state: str | None = None, type: str | None = None, limit: int = 100,
                     offset: int = 0) -> list[Permit]:
        """Permits, newest change first, filtered by state and type."""
        return self.permits.list_permits(state, type, limit, offset)

    def permit_action(self, actor: Actor, permit_id: str, action: str, *, reason: str = "", note: str = "") -> Permit:
        """Apply one life-cycle action: submit, approve, reject, start, suspend, resume, complete, close, cancel, expire."""
        return self.permits.permit_action(actor, permit_id, action, reason=reason, note=note)

    def add_gas_test(self, actor: Actor, permit_id: str, *, gas: str | None = None, value: float | None = None,
                     unit: str | None = None, sampled_at: datetime | None = None, instrument_id: str | None = None,
                     sensor_id: str | None = None, readings: list[tuple[str, float, str]] | None = None,
                     point: str = "") -> Permit:
        """Record a gas test from a live sensor (``sensor_id``) or a portable instrument — one gas, or
        several ``readings`` (gas, value, unit) of a multi-gas instrument — judged by the pack."""
        return self.gas_tests.add_gas_test(actor, permit_id, gas=gas, value=value, unit=unit, sampled_at=sampled_at,
                                           instrument_id=instrument_id, sensor_id=sensor_id, readings=readings,
                                           point=point)

    def monitor_reading(self, actor: Actor, permit_id: str, *, instrument_id: str,
                        readings: list[tuple[str, float, str]], sampled_at: datetime) -> Permit:
        """One reading of the portable monitor watching a permit; a failing one suspends it."""
        return self.gas_tests.monitor_reading(actor, permit_id, instrument_id=instrument_id, readings=readings,
                                              sampled_at=sampled_at)

    def check_monitoring(self, now: datetime | None = None) -> list[str]:
        """Suspend active permits that need continuous gas monitoring and have lost it; their ids."""
        return self.permits.check_monitoring(now)

    def expire_due(self, now: datetime | None = None) -> list[str]:
        """Expire every permit past its validity at ``now`` (default: the clock); returns their ids."""
        return self.permits.expire_due(now)

    def required_certificates(self) -> set[tuple[str, str]]:
        """(person, certificate type) pairs the live and planned permits require (holders, workers, guardians)."""
        return self.permits.required_certificates()

    # ================================================================ certificates
    def add_certificate(self, actor: Actor, *, person_id: str, type: str, number: str, issued_at: datetime,
                        expires_at: datetime) -> Certificate:
        """Register a person's certificate (safety engineer or manager)."""
        return self.certificates.add_certificate(actor, person_id=person_id, type=type, number=number,
                                                 issued_at=issued_at, expires_at=expires_at)

    def list_certificates(self, person_id: str | None = None) -> list[Certificate]:
        """Certificates, optionally of one person."""
        return self.certificates.list_certificates(person_id)

    def certificate(self, certificate_id: str) -> dict[str, Any]:
        """One certificate with its ``status`` and ``days_left`` computed from its dates now."""
        return self.certificates.with_status(self.repo.get("certificate", certificate_id, Certificate)[0])

    def certificates_with_status(self, *, person_id: str | None = None, state: str | None = None, limit: int = 1000,
                                 offset: int = 0) -> list[dict[str, Any]]:
        """Certificates with their computed ``status`` and ``days_left``, newest change first."""
        now = self.clock()
        return [self.certificates.with_status(c, now)
                for c in self.repo.list("certificate", Certificate, owner=person_id, state=state, limit=limit,
                                        offset=offset)]

    def expire_certificates(self, now: datetime | None = None) -> list[str]:
        """Mark ``expired`` the certificates past their expiry; their ids."""
        return self.certificates.expire_due(now)

    def send_certificate_reminders(self, now: datetime | None = None) -> list[tuple[str, int]]:
        """Notify holders at 90/60/30 days before expiry (each threshold once); returns (cert, days)."""
        return self.certificates.send_certificate_reminders(now)

    # ================================================================ hazards
    def report_hazard(self, actor: Actor, *, title: str, category: str, level: str, x: float, y: float,
                      description: str = "", photos: list[str] | None = None,
                      equipment_id: str | None = None) -> Hazard:
        """Report a hazard at (x, y) (local m); flags repeats of the same kind at the same place."""
        return self.hazards.report_hazard(actor, title=title, category=category, level=level, x=x, y=y,
                                          description=description, photos=photos, equipment_id=equipment_id)

    def hazard(self, hazard_id: str) -> Hazard:
        """One hazard (validated model); :class:`NotFound` when missing."""
        return self.hazards.hazard(hazard_id)

    def list_hazards(self, state: str | None = None, limit: int = 100, offset: int = 0) -> list[Hazard]:
        """Hazards, newest change first, optionally in one state."""
        return self.hazards.list_hazards(state, limit, offset)

    def default_rectifier(self, h: Hazard) -> str | None:
        """Rule-based assignee by level (see :meth:`HazardService.default_rectifier`)."""
        return self.hazards.default_rectifier(h)

    def hazard_action(self, actor: Actor, hazard_id: str, action: str, **kw: Any) -> Hazard:
        """Apply one hazard action (confirm, invalidate, plan, assign, reassign, accept, extend,
        decide_extension, rectify, verify, close)."""
        return self.hazards.hazard_action(actor, hazard_id, action, **kw)

    def escalate_overdue(self, now: datetime | None = None) -> list[tuple[str, str]]:
        """Raise overdue hazards to the next management layer and notify it; returns (hazard, layer)."""
        return self.hazards.escalate_overdue(now)

    # ================================================================ alarm cases
    def alarm_case(self, case_id: str) -> AlarmCase:
        """One alarm case; :class:`NotFound` when missing."""
        return self.alarm_cases.alarm_case(case_id)

    def list_alarm_cases(self, state: str | None = None, limit: int = 100) -> list[AlarmCase]:
        """Alarm cases, newest change first, optionally in one state."""
        return self.alarm_cases.list_alarm_cases(state, limit)

    def alarm_action(self, actor: Actor, case_id: str, action: str, text: str = "") -> AlarmCase:
        """acknowledge | act (record an action) | close (review note)."""
        return self.alarm_cases.alarm_action(actor, case_id, action, text)

    # ================================================================ risk register
    def create_risk_unit(self, actor: Actor, *, name: str, area_id: str | None = None,
                         polygon: list[tuple[float, float]] | None = None, owner: str | None = None) -> RiskUnit:
        """A new risk unit: a plant area or a polygon (local m)."""
        return self.risk_register.create_risk_unit(actor, name=name, area_id=area_id, polygon=polygon, owner=owner)

    def risk_unit(self, unit_id: str) -> RiskUnit:
        """One risk unit; :class:`NotFound` when missing."""
        return self.risk_register.risk_unit(unit_id)

    def update_risk_unit(self, actor: Actor, unit_id: str, **changes: Any) -> RiskUnit:
        """Rename a unit, move it (area or polygon), or give it an owner."""
        return self.risk_register.update_risk_unit(actor, unit_id, **changes)

    def assess_risk(self, actor: Actor, unit_id: str, *, description: str, method: str, factors: dict[str, float],
                    measures: list[str] | None = None, residual_factors: dict[str, float] | None = None) -> RiskUnit:
        """Add a graded risk event (inherent, and residual with its controls); the unit's level is the
        worst current level of its active events."""
        return self.risk_register.assess_risk(actor, unit_id, description=description, method=method,
                                              factors=factors, measures=measures, residual_factors=residual_factors)

    def reassess_event(self, actor: Actor, unit_id: str, event_id: str, *, residual_factors: dict[str, float],
                       measures: list[str] | None = None) -> RiskUnit:
        """Grade an event's residual risk again."""
        return self.risk_register.reassess_event(actor, unit_id, event_id, residual_factors=residual_factors,
                                                 measures=measures)

    def retire_event(self, actor: Actor, unit_id: str, event_id: str) -> RiskUnit:
        """Retire an event that no longer exists."""
        return self.risk_register.retire_event(actor, unit_id, event_id)

    def add_control_task(self, actor: Actor, unit_id: str, **task: Any) -> RiskUnit:
        """A control task (管控任务) on a unit (see :meth:`RiskRegisterService.add_control_task`)."""
        return self.risk_register.add_control_task(actor, unit_id, **task)

    def check_control_task(self, actor: Actor, unit_id: str, task_id: str, **check: Any) -> RiskUnit:
        """Record a check of a control task; a failed one reports a hazard."""
        return self.risk_register.check_control_task(actor, unit_id, task_id, **check)

    def my_tasks(self, actor: Actor) -> list[dict[str, Any]]:
        """What waits on ``actor`` now across every record type (see :mod:`.services.tasks`)."""
        return self.tasks.my_tasks(actor)

    def risk_map(self, frame: str = "wgs84") -> dict:
        """The four-colour risk map as a GeoJSON FeatureCollection (``frame``: ``wgs84`` or ``local``)."""
        return self.risk_register.risk_map(frame)

    # ================================================================ KPIs and scheduled jobs
    def kpis(self, start: datetime, end: datetime, now: datetime | None = None) -> dict[str, Any]:
        """Cockpit KPIs over [start, end) with the cut-off ``now`` (default: the clock); see :mod:`.kpi`."""
        return self.kpi.kpis(start, end, now)

    def run_due_jobs(self, now: datetime | None = None) -> DueJobsReport:
        """Run the time-driven jobs once at ``now`` (default: the clock): expire permits past validity,
        send certificate reminders (90/60/30 d), escalate overdue hazards, suspend permits that lost
        their continuous gas monitoring, mark expired certificates, flag overdue control tasks, run the
        field jobs (inspection rounds, equipment overdue, restricted-area entries) and check
        the audit trail (:class:`~.services.audit_guard.AuditService`). Idempotent: a second
        pass at the same time changes nothing. Each job's failure is logged and does not stop the others."""
        return run_due_jobs(now or self.clock(), expire_permits=self.expire_due,
                            remind_certificates=self.send_certificate_reminders,
                            escalate_hazards=self.escalate_overdue, check_monitoring=self.check_monitoring,
                            expire_certificates=self.expire_certificates,
                            flag_control_tasks=self.risk_register.flag_overdue_tasks, check_audit=self.audit.scheduled,
                            field_jobs=self.field.run_due)

    # ================================================================ user accounts
    def create_user(self, actor: Actor, *, user_id: str, password: str, roles: list[str],
                    full_name: str = "") -> dict[str, Any]:
        """A new active user (administrators only; audited)."""
        return self.accounts.create_user(actor, user_id=user_id, password=password, roles=roles, full_name=full_name)

    def change_user(self, actor: Actor, user_id: str, *, roles: list[str] | None = None, active: bool | None = None,
                    full_name: str | None = None) -> dict[str, Any]:
        """Re-role, (de)activate or rename a user (administrators only; audited; acts on the next request)."""
        return self.accounts.change_user(actor, user_id, roles=roles, active=active, full_name=full_name)

    def reset_password(self, actor: Actor, user_id: str, password: str) -> dict[str, Any]:
        """Set a user's password (administrators only); the user's earlier tokens stop working."""
        return self.accounts.reset_password(actor, user_id, password)

    def delete_user(self, actor: Actor, user_id: str) -> None:
        """Delete a user who holds no open record (administrators only; audited)."""
        self.accounts.delete_user(actor, user_id)

    def record_login_lock(self, kind: str, key: str, seconds: float) -> None:
        """Record an account or address locked after failed logins in the audit trail."""
        self.accounts.record_login_lock(kind, key, seconds)

    def require(self, actor: Actor, *roles: str) -> None:
        """Raise :class:`Forbidden` unless ``actor`` has one of ``roles``."""
        if not actor.has(*roles):
            raise Forbidden(f"needs one of {roles}", "wrong_role")
