"""Permits to work: life cycle, validity, and suspension of the permits an alarm or incident touches.

:class:`PermitService` loads a permit, applies a rule of :mod:`safetwin.twin.workflows.permits`
(the life cycle as plain functions, GB 30871 / HSG250 by rule pack), saves a new audited version
and notifies the holder, guardian and applicant. Every permit change holds the one permit lock:
the guards (SIMOPS, a live gas alarm at the work area) look at the other permits and the twin.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from shapely.geometry import Point, Polygon

from .. import certificates, permits, simops
from ..domain import Certificate, Permit
from ..errors import GuardFailed
from ..notify import Notification
from ..roles import SYSTEM, Actor
from .context import GAS_SENSOR_TYPES, RecordService, WorkflowContext, check_local_polygon


class PermitService(RecordService):
    """Permits of one site (see the module docstring)."""

    def __init__(self, ctx: WorkflowContext) -> None:
        super().__init__(ctx)
        self.suspension_log: list[dict[str, Any]] = []

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
                self.save_permit(p, ver, "system", "auto_suspend", now)
                out.append(p.id)
                self.suspension_log.append({"permit": p.id, "at": now, "reason": reason})
                self._notify(p, "suspended", f"STOP WORK: permit {p.id} ({p.title}) suspended: {reason}")
        return out

    def report_incident(self, actor: Actor, x: float, y: float, radius_m: float, description: str) -> list[str]:
        """An incident at (x, y): suspend the active permits it touches."""
        actor.require("operator", "safety_engineer", "manager", "guardian", action="report an incident")
        area = self.ctx.plant_area_of(x, y)
        return self.suspend_touching(Point(x, y), radius_m, area, f"incident: {description}")

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

    def _ctx(self, p: Permit, with_others: bool = True) -> permits.PermitContext:
        """The rules' context for ``p``: certificates of its people only; the live permits for SIMOPS."""
        people = sorted({p.holder, *p.workers, *([p.guardian] if p.guardian else [])})
        certs = self.repo.list("certificate", Certificate, owner=people, limit=100000)
        others = [o for o in self.repo.list("permit", Permit, state=list(simops.LIVE_STATES), limit=100000)
                  if o.id != p.id] if with_others else []
        return permits.PermitContext(pack=self.pack, now=self.clock(),
                                     cert_check=lambda person, ct, at: certificates.check(certs, person, ct, at),
                                     others=others, area_alarm=self._area_alarm)

    def save_permit(self, p: Permit, ver: int | None, actor: str, action: str, now: datetime | None = None) -> int:
        """Save a new audited version of ``p`` (``ver``: the version it was read at, None when new)."""
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
        self.save_permit(p, None, actor.user_id, "create")
        return p

    def permit(self, permit_id: str) -> Permit:
        """One permit (validated model); :class:`NotFound` when missing."""
        return self.repo.get("permit", permit_id, Permit)[0]

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
            self.save_permit(p, ver, actor.user_id, action)
        self._notify(p, action, f"permit {p.id} ({p.type}): {action} by {actor.user_id} → {p.state}")
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
                    self.save_permit(p, ver, "system", "expire", now)
                    self._notify(p, "expired", f"permit {p.id} expired; re-issue to continue (GB 30871 4.16)")
                    out.append(p.id)
        return out

    def required_certificates(self) -> set[tuple[str, str]]:
        """(person, certificate type) pairs the live and planned permits require (holders, workers, guardians)."""
        need: set[tuple[str, str]] = set()
        for p in self.repo.list("permit", Permit, state=list(simops.LIVE_STATES), limit=100000):
            rule = self.pack.type_rule(p.type)
            need |= {(w, ct) for w in p.workers for ct in rule.worker_certs}
            if rule.guardian.required and rule.guardian.cert and p.guardian:
                need.add((p.guardian, rule.guardian.cert))
        return need
