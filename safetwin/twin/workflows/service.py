"""WorkflowService: the rules joined to persistence, the audit chain, notifications and the twin.

Every mutating method loads the record, applies a rule function, saves a new audited version
and notifies the people concerned. :meth:`attach` subscribes to the twin's event bus: a gas
alarm touching a permit's work area suspends it (GB 30871 4.8, 5.2.6, 6.5) and notifies the
holder and guardian; a worker thread does the work so the bus publisher is never blocked.

Concurrency: a read-modify-write of one record holds that record's lock (striped locks), so
unrelated records are changed in parallel and the audit chain is only serialised for the short
append itself (:meth:`Repository.save`). Permit transitions share one lock because their guards
(SIMOPS, live alarms) look at the other permits. :meth:`run_due_jobs` runs the time-driven jobs
(permit expiry, certificate reminders, hazard escalation); :class:`.scheduler.DueJobScheduler`
calls it periodically.
"""
from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
from shapely.geometry import Point, Polygon
from sqlalchemy import Engine

from safetwin.plant_models.loader import Plant

from . import alarm_cases, certificates, hazards, permits, risk, simops
from . import gas as gasrules
from .domain import AlarmCase, Certificate, FiveFixes, GasTest, Hazard, Permit, RiskEvent, RiskUnit
from .errors import Forbidden, GuardFailed, NotFound
from .notify import Notification, Notifier
from .locks import StripedLocks
from .repository import Repository
from .roles import SYSTEM, Actor
from .rulepack import RulePack, load_pack
from .settings import WorkflowSettings
from .users import Users

log = logging.getLogger("safetwin.workflows")
GAS_SENSOR_TYPES = ("flammable_gas", "toxic_gas", "oxygen")
#: largest |coordinate| (m) accepted in the plant's local frame
MAX_LOCAL_M = 1e5


def check_local_polygon(points: list[tuple[float, float]], what: str) -> Polygon:
    """A valid polygon of ≥ 3 finite points within ±:data:`MAX_LOCAL_M` m, or :class:`GuardFailed`."""
    if len(points) < 3 or not all(math.isfinite(v) and abs(v) <= MAX_LOCAL_M for xy in points for v in xy):
        raise GuardFailed(f"{what} must have ≥ 3 finite points within ±{MAX_LOCAL_M:g} m of the plant origin",
                          "bad_geometry")
    poly = Polygon(points)
    if not poly.is_valid or poly.area <= 0:
        raise GuardFailed(f"{what} must be a valid polygon with an area (local metres)", "bad_geometry")
    return poly


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


@dataclass
class DueJobsReport:
    """What one :meth:`WorkflowService.run_due_jobs` pass did (record ids; reminder days; layers)."""

    at: datetime
    expired_permits: list[str] = field(default_factory=list)
    certificate_reminders: list[tuple[str, int]] = field(default_factory=list)
    escalated_hazards: list[tuple[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> int:
        """How many records the pass changed."""
        return len(self.expired_permits) + len(self.certificate_reminders) + len(self.escalated_hazards)


class WorkflowService:
    """All workflows of one site (see the module docstring)."""

    def __init__(self, engine: Engine, plant: Plant, *, settings: WorkflowSettings | None = None,
                 notifier: Notifier | None = None, clock: Callable[[], datetime] = utcnow,
                 site_id: str | None = None) -> None:
        self.settings = settings or WorkflowSettings()
        self.plant = plant
        self.site_id = site_id or plant.id
        self.pack: RulePack = load_pack(self.settings.pack_for(self.site_id))
        self.repo = Repository(engine)
        self.users = Users(engine)
        self.notifier = notifier or Notifier()
        self.clock = clock
        self.state = None  # TwinState once attached
        self._permit_lock = threading.RLock()   # permit guards look at other permits (SIMOPS)
        self._locks = StripedLocks()             # one lock per record (striped) for other kinds
        self._to_wgs84 = None                    # pyproj transformer, built on first use
        self._events: queue.Queue = queue.Queue()
        self._worker: threading.Thread | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self.suspension_log: list[dict[str, Any]] = []

    # ================================================================ twin link

    def attach(self, state: Any) -> None:
        """Subscribe to ``state.bus``: alarms open alarm cases and suspend permits they touch."""
        from safetwin.twin.events import AlarmRaised

        self.state = state
        self._unsubscribe.append(state.bus.subscribe(AlarmRaised, self._events.put))
        self._worker = threading.Thread(target=self._run, name="workflow-events", daemon=True)
        self._worker.start()

    def close(self) -> None:
        """Unsubscribe and stop the event worker."""
        for u in self._unsubscribe:
            u()
        self._unsubscribe.clear()
        if self._worker is not None:
            self._events.put(None)
            self._worker.join(timeout=5)
            self._worker = None

    def drain(self, timeout_s: float = 5.0) -> None:
        """Wait until queued twin events are handled (tests)."""
        done = threading.Event()
        self._events.put(done)
        done.wait(timeout_s)

    def _run(self) -> None:
        while True:
            ev = self._events.get()
            if ev is None:
                return
            if isinstance(ev, threading.Event):
                ev.set()
                continue
            try:
                self.on_alarm(ev)
            except Exception:
                log.exception("workflow handling of %r failed", ev)

    def on_alarm(self, ev: Any) -> list[str]:
        """Handle an ``AlarmRaised``: open/refresh its alarm case; suspend permits a gas alarm touches."""
        now = datetime.fromtimestamp(ev.ts, timezone.utc)
        suspended: list[str] = []
        sensor = self.plant.sensors.get(ev.source_id)
        stops = ev.level not in self.pack.suspension.alarm_levels_ignored
        if sensor is not None and sensor.type.value in GAS_SENSOR_TYPES and stops:
            where = Point(sensor.position)
            area = sensor.area_id or (self.state.area_of(*sensor.position) if self.state else None)
            suspended = self.suspend_touching(where, self.pack.suspension.radius_m, area,
                                              f"gas alarm {ev.alarm_id} ({ev.level}) at {ev.source_id}: {ev.message}",
                                              now)
        self._alarm_case(ev, now, suspended)
        return suspended

    def _alarm_case(self, ev: Any, now: datetime, suspended: list[str]) -> None:
        cid = f"AC-{ev.alarm_id}"
        with self._locks.hold("alarm_case", cid):
            self._alarm_case_locked(cid, ev, now, suspended)

    def _alarm_case_locked(self, cid: str, ev: Any, now: datetime, suspended: list[str]) -> None:
        try:
            case, ver = self.repo.get("alarm_case", cid, AlarmCase)
            if case.state != "closed":
                case.level = ev.level
                case.suspended_permits = sorted(set(case.suspended_permits) | set(suspended))
                self.repo.save("alarm_case", case, actor="system", action="re-raised", expected_version=ver,
                               subtype=case.source_id, level=case.level, now=now)
                return
            cid = f"AC-{ev.alarm_id}-{int(ev.ts)}"
        except NotFound:
            pass
        case = AlarmCase(id=cid, site_id=self.site_id, state="raised", created_at=now, created_by="system",
                         alarm_id=ev.alarm_id, source_id=ev.source_id, level=ev.level, raised_at=now,
                         message=ev.message, suspended_permits=suspended)
        self.repo.save("alarm_case", case, actor="system", action="raise", expected_version=None,
                       subtype=case.source_id, level=case.level, now=now)

    def suspend_touching(self, where: Any, radius_m: float, area_id: str | None, reason: str,
                         now: datetime | None = None) -> list[str]:
        """Suspend every active permit whose work polygon is within ``radius_m`` of ``where`` or in ``area_id``."""
        now = now or self.clock()
        out = []
        with self._permit_lock:
            for p in self.repo.list("permit", Permit, state="active", limit=100000):
                touched = Polygon(p.work_polygon).distance(where) <= radius_m or (area_id is not None and area_id in p.area_ids)
                if not touched:
                    continue
                ver = self.repo.version("permit", p.id)
                permits.suspend(p, SYSTEM, now, reason)
                self._save_permit(p, ver, "system", "auto_suspend", now)
                out.append(p.id)
                self.suspension_log.append({"permit": p.id, "at": now, "reason": reason})
                self._notify(p, "suspended", f"STOP WORK: permit {p.id} ({p.title}) suspended: {reason}")
        return out

    def report_incident(self, actor: Actor, x: float, y: float, radius_m: float, description: str) -> list[str]:
        """An incident at (x, y): suspend the active permits it touches."""
        actor.require("operator", "safety_engineer", "manager", "guardian", action="report an incident")
        area = self.plant_area_of(x, y)
        return self.suspend_touching(Point(x, y), radius_m, area, f"incident: {description}")

    def plant_area_of(self, x: float, y: float) -> str | None:
        pt = Point(x, y)
        for aid, a in self.plant.areas.items():
            if a.geometry.covers(pt):
                return aid
        return None

    def _area_alarm(self, p: Permit) -> str | None:
        if self.state is None:
            return None
        poly = Polygon(p.work_polygon)
        for a in self.state.active_alarms():
            s = self.plant.sensors.get(a.source_id)
            if s is None or s.type.value not in GAS_SENSOR_TYPES or a.level in self.pack.suspension.alarm_levels_ignored:
                continue
            if poly.distance(Point(s.position)) <= self.pack.suspension.radius_m or s.area_id in p.area_ids:
                return f"{a.alarm_id} ({a.level}) at {a.source_id}"
        return None

    # ================================================================ permits

    def _ctx(self, p: Permit, with_others: bool = True) -> permits.PermitContext:
        """The rules' context for ``p``: certificates of its people only; the live permits for SIMOPS."""
        people = sorted({p.holder, *p.workers, *([p.guardian] if p.guardian else [])})
        certs = self.repo.list("certificate", Certificate, owner=people, limit=100000)
        others = [o for o in self.repo.list("permit", Permit, state=list(simops.LIVE_STATES), limit=100000)
                  if o.id != p.id] if with_others else []
        return permits.PermitContext(pack=self.pack, now=self.clock(),
                                     cert_check=lambda person, ct, at: certificates.check(certs, person, ct, at),
                                     others=others, area_alarm=self._area_alarm)

    def _save_permit(self, p: Permit, ver: int | None, actor: str, action: str, now: datetime | None = None) -> int:
        return self.repo.save("permit", p, actor=actor, action=action, expected_version=ver, subtype=p.type,
                              level=p.level, owner=p.holder, now=now or self.clock())

    def _notify(self, p: Permit, event: str, text: str, extra: tuple[str, ...] = ()) -> None:
        who = tuple(dict.fromkeys([p.holder, *([p.guardian] if p.guardian else []), p.applicant, *extra]))
        self.notifier.send(Notification(who, f"permits/{p.id}", event, text, self.site_id,
                                        {"permit": p.id, "type": p.type, "state": p.state}))

    def create_permit(self, actor: Actor, *, type: str, level: str | None, title: str,
                      work_polygon: list[tuple[float, float]], holder: str, planned_start: datetime,
                      planned_end: datetime, **extra: Any) -> Permit:
        """A new draft permit by an applicant; the work areas are found on the plant."""
        actor.require("applicant", action="apply for a permit")
        poly = check_local_polygon(work_polygon, "work_polygon")
        areas = [aid for aid, a in self.plant.areas.items() if a.geometry.intersects(poly)]
        p = permits.new_permit(self.pack, self.repo.new_id("PTW"), self.site_id, type, level, title, work_polygon,
                               applicant=actor.user_id, holder=holder, planned_start=planned_start,
                               planned_end=planned_end, now=self.clock(), area_ids=areas, **extra)
        self._save_permit(p, None, actor.user_id, "create")
        return p

    def permit(self, permit_id: str) -> Permit:
        """One permit (validated model); :class:`NotFound` when missing."""
        return self.repo.get("permit", permit_id, Permit)[0]

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

    def list_permits(self, state: str | None = None, type: str | None = None, limit: int = 100,
                     offset: int = 0) -> list[Permit]:
        """Permits, newest change first, filtered by state and type."""
        return self.repo.list("permit", Permit, state=state, subtype=type, limit=limit, offset=offset)

    def permit_action(self, actor: Actor, permit_id: str, action: str, *, reason: str = "", note: str = "") -> Permit:
        """Apply one life-cycle action: submit, approve, reject, start, suspend, resume, complete, close, cancel, expire."""
        with self._permit_lock:
            p, ver = self.repo.get("permit", permit_id, Permit)
            ctx = self._ctx(p, with_others=action in ("submit", "approve", "start"))
            now = ctx.now
            if action == "submit":
                permits.submit(p, actor, ctx)
            elif action == "approve":
                permits.approve(p, actor, ctx, note)
            elif action == "reject":
                permits.reject(p, actor, ctx, reason)
            elif action == "start":
                permits.start(p, actor, ctx)
            elif action == "suspend":
                permits.suspend(p, actor, now, reason or "manual")
            elif action == "resume":
                permits.resume(p, actor, ctx)
            elif action == "complete":
                permits.complete(p, actor, now)
            elif action == "close":
                permits.close(p, actor, ctx, note)
            elif action == "cancel":
                permits.cancel(p, actor, now, reason)
            elif action == "expire":
                permits.expire(p, actor, now)
            else:
                raise GuardFailed(f"unknown permit action {action!r}", "unknown_action")
            self._save_permit(p, ver, actor.user_id, action)
        self._notify(p, action, f"permit {p.id} ({p.type}): {action} by {actor.user_id} → {p.state}")
        return p

    def add_gas_test(self, actor: Actor, permit_id: str, *, gas: str | None = None, value: float | None = None,
                     unit: str | None = None, sampled_at: datetime | None = None, instrument_id: str | None = None,
                     sensor_id: str | None = None) -> Permit:
        """Record a gas test from a live sensor (``sensor_id``) or a portable instrument entry, judged by the pack."""
        actor.require("guardian", "safety_engineer", "operator", "applicant", action="record a gas test")
        with self._permit_lock:
            p, ver = self.repo.get("permit", permit_id, Permit)
            if sensor_id is not None:
                if self.state is None:
                    raise GuardFailed("no live twin attached; enter a portable reading", "no_twin")
                s = self.plant.sensors.get(sensor_id)
                r = self.state.reading(sensor_id)
                if s is None or s.type.value not in GAS_SENSOR_TYPES or not s.gas:
                    raise GuardFailed(f"{sensor_id!r} is not a gas sensor of this plant", "bad_sensor")
                if r is None or r.quality != "ok":
                    raise GuardFailed(f"sensor {sensor_id} has no good reading ({r.quality if r else 'none'})",
                                      "bad_reading")
                dist = Polygon(p.work_polygon).distance(Point(s.position))
                limit = max(self.pack.suspension.radius_m, 10.0)
                if dist > limit:
                    raise GuardFailed(f"sensor {sensor_id} is {dist:.0f} m from the work (> {limit:g} m); not representative",
                                      "sensor_too_far")
                gas, value, unit = s.gas, r.value, s.unit
                sampled_at = datetime.fromtimestamp(r.ts, timezone.utc)
                source = "sensor"
            else:
                if gas is None or value is None or unit is None or sampled_at is None:
                    raise GuardFailed("a portable gas test needs gas, value, unit and sampled_at", "incomplete")
                source = "portable"
            if unit not in ("%LEL", "%vol", "ppm", "mg/m3"):
                raise GuardFailed(f"unit {unit!r} is not a concentration", "bad_unit")
            if sampled_at > self.clock() + timedelta(minutes=1):
                raise GuardFailed("sampled_at is in the future", "bad_time")
            ok, why, clause = gasrules.judge(self.pack, gas, float(value), unit, p.type)
            test = GasTest(sampled_at=sampled_at, gas=gas, value=float(value), unit=unit, source=source,
                           sensor_id=sensor_id, instrument_id=instrument_id, analyst=actor.user_id, passed=ok,
                           reason=why, limit_rule=clause)
            permits.add_gas_test(p, test)
            self._save_permit(p, ver, actor.user_id, "gas_test")
        return p

    def expire_due(self, now: datetime | None = None) -> list[str]:
        """Expire every permit past its validity at ``now`` (default: the clock); returns their ids."""
        now, out = now or self.clock(), []
        with self._permit_lock:
            for p in self.repo.list("permit", Permit, state=list(permits.VALIDITY_STATES), due_before=now,
                                    limit=100000):
                if p.valid_until is not None and now > p.valid_until:
                    ver = self.repo.version("permit", p.id)
                    permits.expire(p, SYSTEM, now)
                    self._save_permit(p, ver, "system", "expire", now)
                    self._notify(p, "expired", f"permit {p.id} expired; re-issue to continue (GB 30871 4.16)")
                    out.append(p.id)
        return out

    # ================================================================ certificates

    def add_certificate(self, actor: Actor, *, person_id: str, type: str, number: str, issued_at: datetime,
                        expires_at: datetime) -> Certificate:
        actor.require("safety_engineer", "manager", action="register a certificate")
        if expires_at <= issued_at:
            raise GuardFailed("a certificate must expire after it is issued", "bad_dates")
        c = Certificate(id=self.repo.new_id("CERT"), site_id=self.site_id, state="valid", created_at=self.clock(),
                        created_by=actor.user_id, person_id=person_id, type=type, number=number, issued_at=issued_at,
                        expires_at=expires_at)
        self.repo.save("certificate", c, actor=actor.user_id, action="create", expected_version=None, subtype=type,
                       owner=person_id, now=self.clock())
        return c

    def list_certificates(self, person_id: str | None = None) -> list[Certificate]:
        """Certificates, optionally of one person."""
        return self.repo.list("certificate", Certificate, owner=person_id, limit=10000)

    def send_certificate_reminders(self, now: datetime | None = None) -> list[tuple[str, int]]:
        """Notify holders at 90/60/30 days before expiry (each threshold once); returns (cert, days)."""
        now, out = now or self.clock(), []
        window = timedelta(days=max(certificates.REMINDER_DAYS))
        for c0 in self.repo.list("certificate", Certificate, state="valid", due_after=now,
                                 due_before=now + window + timedelta(seconds=1), limit=100000):
            with self._locks.hold("certificate", c0.id):
                c, ver = self.repo.get("certificate", c0.id, Certificate)
                due = certificates.due_reminders(c, now)
                if not due:
                    continue
                c.reminders_sent = sorted(set(c.reminders_sent) | set(due), reverse=True)
                self.repo.save("certificate", c, actor="system", action="reminder", expected_version=ver,
                               subtype=c.type, owner=c.person_id, now=now)
                d = min(due)
                self.notifier.send(Notification((c.person_id,), f"certificates/{c.id}", "expiring",
                                                f"{c.type} certificate {c.number} expires in ≤ {d} days", self.site_id))
                out.append((c.id, d))
        return out

    # ================================================================ hazards

    def report_hazard(self, actor: Actor, *, title: str, category: str, level: str, x: float, y: float,
                      description: str = "", photos: list[str] | None = None) -> Hazard:
        """Report a hazard at (x, y) (local m); flags repeats of the same category at the same place.

        The repeat candidates are found in SQL on the projection columns (category, creation
        time within ``hazard_repeat_days``, same area or near); :func:`hazards.repeats` decides.
        """
        now = self.clock()
        h = Hazard(id=self.repo.new_id("HZ"), site_id=self.site_id, state="reported", created_at=now,
                   created_by=actor.user_id, title=title, description=description, category=category, level=level,
                   x=x, y=y, area_id=self.plant_area_of(x, y), photos=photos or [], reporter=actor.user_id)
        days, radius = self.settings.hazard_repeat_days, self.settings.hazard_repeat_radius_m
        window = timedelta(days=days)
        spots, total = self.repo.spots("hazard", subtype=category, since=now - window, until=now,
                                       area_id=h.area_id, x=x, y=y, radius_m=radius, limit=hazards.MAX_REPEAT_IDS)
        h.repeat_of = hazards.repeats(h, spots, within_days=days, radius_m=radius)
        h.repeat_count = max(total, len(h.repeat_of))
        self.repo.save("hazard", h, actor=actor.user_id, action="report", expected_version=None, subtype=category,
                       level=level, now=now)
        return h

    def hazard(self, hazard_id: str) -> Hazard:
        """One hazard (validated model); :class:`NotFound` when missing."""
        return self.repo.get("hazard", hazard_id, Hazard)[0]

    def list_hazards(self, state: str | None = None, limit: int = 100, offset: int = 0) -> list[Hazard]:
        """Hazards, newest change first, optionally in one state."""
        return self.repo.list("hazard", Hazard, state=state, limit=limit, offset=offset)

    def default_rectifier(self, h: Hazard) -> str | None:
        """Rule-based assignee by level: a 重大 hazard goes to the responsible person of its 五定 plan,
        any hazard otherwise to its area's owner — each only when that person is a user (else None)."""
        candidates = [h.plan.responsible] if h.level == "major" and h.plan is not None else []
        if h.area_id and h.area_id in self.plant.areas:
            candidates.append(getattr(self.plant.areas[h.area_id], "owner", None))
        return next((c for c in candidates if c and self.users.exists(c)), None)

    def hazard_action(self, actor: Actor, hazard_id: str, action: str, **kw: Any) -> Hazard:
        """Apply one hazard action (confirm, invalidate, plan, assign, accept, extend, decide_extension,
        rectify, verify, close)."""
        with self._locks.hold("hazard", hazard_id):
            h, ver = self.repo.get("hazard", hazard_id, Hazard)
            now = self.clock()
            if action == "confirm":
                hazards.confirm(h, actor, now, kw.get("level"))
            elif action == "invalidate":
                hazards.invalidate(h, actor, now, kw.get("reason", ""))
            elif action == "plan":
                hazards.submit_plan(h, actor, now, FiveFixes.model_validate(kw["plan"]))
            elif action == "assign":
                rect = kw.get("rectifier") or self.default_rectifier(h)
                if not rect:
                    raise GuardFailed("no rectifier given and the area has no owner", "no_rectifier")
                hazards.assign(h, actor, now, rect, kw.get("deadline"))
            elif action == "accept":
                hazards.accept(h, actor, now)
            elif action == "extend":
                hazards.request_extension(h, actor, now, kw["new_deadline"], kw.get("reason", ""))
            elif action == "decide_extension":
                hazards.decide_extension(h, actor, now, bool(kw.get("approve")))
            elif action == "rectify":
                hazards.submit_rectification(h, actor, now, kw.get("measures", ""), kw.get("evidence", []))
            elif action == "verify":
                hazards.verify(h, actor, now, bool(kw.get("ok")), kw.get("note", ""))
            elif action == "close":
                hazards.close(h, actor, now)
            else:
                raise GuardFailed(f"unknown hazard action {action!r}", "unknown_action")
            self.repo.save("hazard", h, actor=actor.user_id, action=action, expected_version=ver, subtype=h.category,
                           level=h.level, owner=h.rectifier, now=now)
        if h.rectifier:
            self.notifier.send(Notification((h.rectifier, h.reporter), f"hazards/{h.id}", action,
                                            f"hazard {h.id}: {action} → {h.state}", self.site_id))
        return h

    def escalate_overdue(self, now: datetime | None = None) -> list[tuple[str, str]]:
        """Raise overdue hazards to the next management layer and notify it; returns (hazard, layer)."""
        now, out = now or self.clock(), []
        for h0 in self.repo.list("hazard", Hazard, state=list(hazards.OPEN_STATES), due_before=now, limit=100000):
            with self._locks.hold("hazard", h0.id):
                h, ver = self.repo.get("hazard", h0.id, Hazard)
                lvl = hazards.escalation_due(h, now, self.settings.hazard_escalate_every)
                if lvl > h.escalation_level:
                    h.escalation_level = lvl
                    layer = hazards.LAYERS[lvl - 1]
                    self.repo.save("hazard", h, actor="system", action=f"escalate:{layer}", expected_version=ver,
                                   subtype=h.category, level=h.level, owner=h.rectifier, now=now)
                    self.notifier.send(Notification((f"layer:{layer}",) + ((h.rectifier,) if h.rectifier else ()),
                                                    f"hazards/{h.id}", "overdue",
                                                    f"hazard {h.id} '{h.title}' overdue; escalated to {layer}",
                                                    self.site_id))
                    out.append((h.id, layer))
        return out

    # ================================================================ alarm cases

    def alarm_case(self, case_id: str) -> AlarmCase:
        """One alarm case; :class:`NotFound` when missing."""
        return self.repo.get("alarm_case", case_id, AlarmCase)[0]

    def list_alarm_cases(self, state: str | None = None, limit: int = 100) -> list[AlarmCase]:
        """Alarm cases, newest change first, optionally in one state."""
        return self.repo.list("alarm_case", AlarmCase, state=state, limit=limit)

    def alarm_action(self, actor: Actor, case_id: str, action: str, text: str = "") -> AlarmCase:
        """acknowledge | act (record an action) | close (review note)."""
        with self._locks.hold("alarm_case", case_id):
            c, ver = self.repo.get("alarm_case", case_id, AlarmCase)
            now = self.clock()
            if action == "acknowledge":
                alarm_cases.acknowledge(c, actor, now)
            elif action == "act":
                alarm_cases.record_action(c, actor, now, text)
            elif action == "close":
                alarm_cases.close(c, actor, now, text)
            else:
                raise GuardFailed(f"unknown alarm action {action!r}", "unknown_action")
            self.repo.save("alarm_case", c, actor=actor.user_id, action=action, expected_version=ver,
                           subtype=c.source_id, level=c.level, now=now)
        return c

    # ================================================================ risk register

    def create_risk_unit(self, actor: Actor, *, name: str, area_id: str | None = None,
                         polygon: list[tuple[float, float]] | None = None) -> RiskUnit:
        actor.require("safety_engineer", action="edit the risk register")
        if (area_id is None) == (polygon is None):
            raise GuardFailed("give exactly one of area_id or polygon", "bad_geometry")
        if area_id is not None and area_id not in self.plant.areas:
            raise GuardFailed(f"unknown area {area_id!r}", "bad_area")
        if polygon is not None:
            check_local_polygon(polygon, "polygon")
        u = RiskUnit(id=self.repo.new_id("RU"), site_id=self.site_id, state="draft", created_at=self.clock(),
                     created_by=actor.user_id, name=name, area_id=area_id, polygon=polygon, layer=risk.LAYER["BLUE"])
        self.repo.save("risk_unit", u, actor=actor.user_id, action="create", expected_version=None, level=u.level)
        return u

    def assess_risk(self, actor: Actor, unit_id: str, *, description: str, method: str, factors: dict[str, float],
                    measures: list[str] | None = None) -> RiskUnit:
        """Add a graded risk event; the unit's level is the worst of its events."""
        actor.require("safety_engineer", action="assess risk")
        if method == "LEC":
            score, level = risk.grade_lec(factors.get("L", -1), factors.get("E", -1), factors.get("C", -1))
        elif method == "LS":
            score, level = risk.grade_ls(factors.get("L", -1), factors.get("S", -1))
        else:
            raise GuardFailed("method must be LEC or LS", "bad_method")
        with self._locks.hold("risk_unit", unit_id):
            u, ver = self.repo.get("risk_unit", unit_id, RiskUnit)
            u.events.append(RiskEvent(description=description, method=method, factors=factors, score=score,
                                      level=level, measures=measures or []))
            u.level = risk.worst(e.level for e in u.events)
            u.layer, u.state = risk.LAYER[u.level], "assessed"
            self.repo.save("risk_unit", u, actor=actor.user_id, action="assess", expected_version=ver, level=u.level)
        return u

    def risk_map(self, frame: str = "wgs84") -> dict:
        """The four-colour risk map as a GeoJSON FeatureCollection.

        ``frame="wgs84"`` (default): RFC 7946 lon/lat degrees — the local polygons are shifted into
        the plant's projected CRS (:func:`~safetwin.plant_models.export.to_projected`) and
        transformed with pyproj. ``frame="local"``: the plant's local metres (x east, y north).
        """
        if frame not in ("wgs84", "local"):
            raise GuardFailed(f"frame must be 'wgs84' or 'local', not {frame!r}", "bad_frame")
        feats = []
        for u in self.repo.list("risk_unit", RiskUnit, limit=100000):
            geom = self.plant.areas[u.area_id].geometry if u.area_id else Polygon(u.polygon)
            if frame == "wgs84":
                geom = self._wgs84(geom)
            feats.append(risk.feature(u.id, u.name, geom, u.level))
        out: dict[str, Any] = {"type": "FeatureCollection", "features": feats}
        if frame == "local":
            out["crs_note"] = f"local metres of plant {self.plant.id} (x east, y north from its origin)"
        return out

    def _wgs84(self, geom: Any) -> Any:
        """A local-frame geometry (m) in WGS84 lon/lat (degrees)."""
        import shapely
        from pyproj import Transformer

        from safetwin.plant_models.export import to_projected

        if self._to_wgs84 is None:
            self._to_wgs84 = Transformer.from_crs(self.plant.crs, "EPSG:4326", always_xy=True)
        t = self._to_wgs84
        return shapely.transform(to_projected(self.plant, geom),
                                 lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))

    # ================================================================ KPIs

    def kpis(self, start: datetime, end: datetime, now: datetime | None = None) -> dict[str, Any]:
        """Cockpit KPIs over [start, end) with the cut-off ``now`` (default: the clock); see :mod:`.kpi`."""
        from .drill_store import drill_kpis

        from .kpi import compute

        now = now or self.clock()
        return compute(self.repo.list("hazard", Hazard, limit=100000), self.repo.list("permit", Permit, limit=100000),
                       self.repo.list("certificate", Certificate, limit=100000),
                       self.repo.list("alarm_case", AlarmCase, limit=100000), start, end, now,
                       self.pack.gas_test.max_age_min, required_certs=self.required_certificates(),
                       gas_types=[t for t, r in self.pack.permit_types.items() if r.gas_test.required],
                       drills=drill_kpis(self.repo.engine, start, end, now, site_id=self.site_id))

    def required_certificates(self) -> set[tuple[str, str]]:
        """(person, certificate type) pairs the live and planned permits require (holders, workers, guardians)."""
        need: set[tuple[str, str]] = set()
        for p in self.repo.list("permit", Permit, state=list(simops.LIVE_STATES), limit=100000):
            rule = self.pack.type_rule(p.type)
            need |= {(w, ct) for w in p.workers for ct in rule.worker_certs}
            if rule.guardian.required and rule.guardian.cert and p.guardian:
                need.add((p.guardian, rule.guardian.cert))
        return need

    # ================================================================ scheduled jobs

    def run_due_jobs(self, now: datetime | None = None) -> DueJobsReport:
        """Run the time-driven jobs once at ``now`` (default: the clock): expire permits past validity,
        send certificate reminders (90/60/30 d) and escalate overdue hazards. Idempotent: a second
        pass at the same time changes nothing. Each job's failure is logged and does not stop the others."""
        now = now or self.clock()
        rep = DueJobsReport(at=now)
        for name, job in (("expire permits", lambda: rep.expired_permits.extend(self.expire_due(now))),
                          ("certificate reminders",
                           lambda: rep.certificate_reminders.extend(self.send_certificate_reminders(now))),
                          ("hazard escalation", lambda: rep.escalated_hazards.extend(self.escalate_overdue(now)))):
            try:
                job()
            except Exception:
                log.exception("scheduled job %s failed at %s", name, now.isoformat())
        return rep

    def require(self, actor: Actor, *roles: str) -> None:
        if not actor.has(*roles):
            raise Forbidden(f"needs one of {roles}", "wrong_role")
