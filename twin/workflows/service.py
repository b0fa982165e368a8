"""WorkflowService: the rules joined to persistence, the audit chain, notifications and the twin.

Every mutating method loads the record, applies a rule function, saves a new audited version
and notifies the people concerned. :meth:`attach` subscribes to the twin's event bus: a gas
alarm touching a permit's work area suspends it (GB 30871 4.8, 5.2.6, 6.5) and notifies the
holder and guardian; a worker thread does the work so the bus publisher is never blocked.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from shapely.geometry import Point, Polygon
from sqlalchemy import Engine

from safetwin.plant_models.loader import Plant

from . import alarm_cases, certificates, hazards, permits, risk
from . import gas as gasrules
from .domain import AlarmCase, Certificate, FiveFixes, GasTest, Hazard, Permit, RiskEvent, RiskUnit
from .errors import Forbidden, GuardFailed, NotFound
from .notify import Notification, Notifier
from .repository import Repository
from .roles import SYSTEM, Actor
from .rulepack import RulePack, load_pack
from .settings import WorkflowSettings
from .users import Users

log = logging.getLogger("safetwin.workflows")
GAS_SENSOR_TYPES = ("flammable_gas", "toxic_gas", "oxygen")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


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
        self._lock = threading.RLock()
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
        with self._lock:
            for p in self.repo.list("permit", Permit, state="active"):
                touched = Polygon(p.work_polygon).distance(where) <= radius_m or (area_id is not None and area_id in p.area_ids)
                if not touched:
                    continue
                _, ver = self.repo.get("permit", p.id, Permit)
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

    def _ctx(self, exclude: str | None = None) -> permits.PermitContext:
        certs = self.repo.list("certificate", Certificate, limit=100000)
        others = [o for o in self.repo.list("permit", Permit, state=("submitted", "approved", "active", "suspended"),
                                            limit=100000) if o.id != exclude]
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
        poly = Polygon(work_polygon)
        if not poly.is_valid or poly.area <= 0:
            raise GuardFailed("work_polygon must be a valid polygon with an area (local metres)", "bad_geometry")
        areas = [aid for aid, a in self.plant.areas.items() if a.geometry.intersects(poly)]
        p = permits.new_permit(self.pack, self.repo.new_id("PTW"), self.site_id, type, level, title, work_polygon,
                               applicant=actor.user_id, holder=holder, planned_start=planned_start,
                               planned_end=planned_end, now=self.clock(), area_ids=areas, **extra)
        with self._lock:
            self._save_permit(p, None, actor.user_id, "create")
        return p

    def permit(self, permit_id: str) -> Permit:
        return self.repo.get("permit", permit_id, Permit)[0]

    def list_permits(self, state: str | None = None, type: str | None = None, limit: int = 100,
                     offset: int = 0) -> list[Permit]:
        return self.repo.list("permit", Permit, state=state, subtype=type, limit=limit, offset=offset)

    def permit_action(self, actor: Actor, permit_id: str, action: str, *, reason: str = "", note: str = "") -> Permit:
        """Apply one life-cycle action: submit, approve, reject, start, suspend, resume, complete, close, cancel, expire."""
        with self._lock:
            p, ver = self.repo.get("permit", permit_id, Permit)
            ctx = self._ctx(exclude=p.id)
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
        with self._lock:
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
            ok, why, clause = gasrules.judge(self.pack, gas, float(value), unit)
            test = GasTest(sampled_at=sampled_at, gas=gas, value=float(value), unit=unit, source=source,
                           sensor_id=sensor_id, instrument_id=instrument_id, analyst=actor.user_id, passed=ok,
                           reason=why, limit_rule=clause)
            permits.add_gas_test(p, test)
            self._save_permit(p, ver, actor.user_id, "gas_test")
        return p

    def expire_due(self) -> list[str]:
        """Expire every permit past its validity (run periodically)."""
        now, out = self.clock(), []
        with self._lock:
            for p in self.repo.list("permit", Permit, state=list(permits.VALIDITY_STATES), limit=100000):
                if p.valid_until is not None and now > p.valid_until:
                    _, ver = self.repo.get("permit", p.id, Permit)
                    permits.expire(p, SYSTEM, now)
                    self._save_permit(p, ver, "system", "expire")
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
        return self.repo.list("certificate", Certificate, owner=person_id, limit=10000)

    def send_certificate_reminders(self) -> list[tuple[str, int]]:
        """Notify holders at 90/60/30 days before expiry (each threshold once); returns (cert, days)."""
        now, out = self.clock(), []
        with self._lock:
            for c in self.repo.list("certificate", Certificate, limit=100000):
                due = certificates.due_reminders(c, now)
                if not due:
                    continue
                _, ver = self.repo.get("certificate", c.id, Certificate)
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
        """Report a hazard at (x, y); flags repeats of the same category at the same place."""
        now = self.clock()
        h = Hazard(id=self.repo.new_id("HZ"), site_id=self.site_id, state="reported", created_at=now,
                   created_by=actor.user_id, title=title, description=description, category=category, level=level,
                   x=x, y=y, area_id=self.plant_area_of(x, y), photos=photos or [], reporter=actor.user_id)
        h.repeat_of = hazards.repeats(h, self.repo.list("hazard", Hazard, subtype=category, limit=500),
                                      within_days=self.settings.hazard_repeat_days)
        self.repo.save("hazard", h, actor=actor.user_id, action="report", expected_version=None, subtype=category,
                       level=level, now=now)
        return h

    def hazard(self, hazard_id: str) -> Hazard:
        return self.repo.get("hazard", hazard_id, Hazard)[0]

    def list_hazards(self, state: str | None = None, limit: int = 100, offset: int = 0) -> list[Hazard]:
        return self.repo.list("hazard", Hazard, state=state, limit=limit, offset=offset)

    def default_rectifier(self, h: Hazard) -> str | None:
        """Rule-based assignee: the area's owner for 一般 hazards (None when unknown)."""
        if h.area_id and h.area_id in self.plant.areas:
            owner = getattr(self.plant.areas[h.area_id], "owner", None)
            if owner and self.users.exists(owner):
                return owner
        return None

    def hazard_action(self, actor: Actor, hazard_id: str, action: str, **kw: Any) -> Hazard:
        """Apply one hazard action (confirm, invalidate, plan, assign, accept, extend, decide_extension,
        rectify, verify, close)."""
        with self._lock:
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

    def escalate_overdue(self) -> list[tuple[str, str]]:
        """Raise overdue hazards to the next management layer and notify it; returns (hazard, layer)."""
        now, out = self.clock(), []
        with self._lock:
            for h in self.repo.list("hazard", Hazard, state=list(hazards.OPEN_STATES), limit=100000):
                lvl = hazards.escalation_due(h, now)
                if lvl > h.escalation_level:
                    _, ver = self.repo.get("hazard", h.id, Hazard)
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
        return self.repo.get("alarm_case", case_id, AlarmCase)[0]

    def list_alarm_cases(self, state: str | None = None, limit: int = 100) -> list[AlarmCase]:
        return self.repo.list("alarm_case", AlarmCase, state=state, limit=limit)

    def alarm_action(self, actor: Actor, case_id: str, action: str, text: str = "") -> AlarmCase:
        """acknowledge | act (record an action) | close (review note)."""
        with self._lock:
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
        if polygon is not None and (len(polygon) < 3 or not Polygon(polygon).is_valid):
            raise GuardFailed("polygon must be a valid ring of ≥ 3 points", "bad_geometry")
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
        with self._lock:
            u, ver = self.repo.get("risk_unit", unit_id, RiskUnit)
            u.events.append(RiskEvent(description=description, method=method, factors=factors, score=score,
                                      level=level, measures=measures or []))
            u.level = risk.worst(e.level for e in u.events)
            u.layer, u.state = risk.LAYER[u.level], "assessed"
            self.repo.save("risk_unit", u, actor=actor.user_id, action="assess", expected_version=ver, level=u.level)
        return u

    def risk_map(self) -> dict:
        """The four-colour risk map: GeoJSON FeatureCollection in local plant metres."""
        feats = []
        for u in self.repo.list("risk_unit", RiskUnit, limit=100000):
            geom = self.plant.areas[u.area_id].geometry if u.area_id else Polygon(u.polygon)
            feats.append(risk.feature(u.id, u.name, geom, u.level))
        return {"type": "FeatureCollection", "crs_note": f"local metres of plant {self.plant.id}", "features": feats}

    # ================================================================ KPIs

    def kpis(self, start: datetime, end: datetime) -> dict[str, Any]:
        """Cockpit KPIs over [start, end): hazards, permits, gas tests, certificates, alarms."""
        from .kpi import compute

        return compute(self.repo.list("hazard", Hazard, limit=100000), self.repo.list("permit", Permit, limit=100000),
                       self.repo.list("certificate", Certificate, limit=100000),
                       self.repo.list("alarm_case", AlarmCase, limit=100000), start, end, self.clock(),
                       self.pack.gas_test.max_age_min)

    def require(self, actor: Actor, *roles: str) -> None:
        if not actor.has(*roles):
            raise Forbidden(f"needs one of {roles}", "wrong_role")
