"""Permits to work: life cycle, validity, and what the twin's alarms do to the permits they touch.

:class:`PermitService` loads a permit, applies a rule of :mod:`safetwin.twin.workflows.permits`
(the life cycle as plain functions, GB 30871 / HSG250 by rule pack), saves a new audited version
and notifies the holder, guardian and applicant. Every permit change holds the one permit lock:
the guards (SIMOPS, a live alarm at the work area, gas monitoring) look at the other permits and
the twin.

A detector *touches* a permit when it is within the pack's ``suspension.radius_m`` of the work
polygon or in one of its plant areas. What one of its alarms does is the pack's
``suspension.alarm_levels`` (:class:`~safetwin.twin.workflows.rulepack.SuspensionRules`), by the
alarm engine's level codes: ``stop``, ``judge`` (the reading judged like a gas test of the
permit), ``warn``, ``monitoring_lost``; an alarm of a fire detector (flame, smoke, heat) stops.
People and roles are checked when the permit is drafted: the holder and workers, the guardian,
the fire watch must be active users holding the role (nobody can act on a job whose holder does
not exist).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from shapely.geometry import Point, Polygon

from safetwin.twin.sensor_health import assess_sensors

from .. import certificates, permits, simops
from .. import gas as gasrules
from ..domain import Certificate, Permit
from ..errors import Forbidden, GuardFailed
from ..notify import Notification
from ..roles import SYSTEM, Actor
from .context import GAS_SENSOR_TYPES, RecordService, WorkflowContext, check_local_polygon

#: the roles the people named on a permit must hold
WORKER_ROLES = ("worker", "applicant")
GUARDIAN_ROLES = ("guardian",)
#: gas detectors that can serve as the continuous monitoring of a job (a fixed detector near it)
MONITOR_SENSOR_TYPES = ("flammable_gas", "toxic_gas")
#: alarm levels that are the detector itself failing, not the process
DETECTOR_FAILURE_LEVELS = ("FAULT", "STALE")
#: transitions at which the people named on a permit are checked again (training may lapse meanwhile)
NAMED_CHECKED_ON = frozenset({"submit", "approve", "start", "resume"})


class PermitService(RecordService):
    """Permits of one site (see the module docstring)."""

    def __init__(self, ctx: WorkflowContext) -> None:
        super().__init__(ctx)
        self.suspension_log: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ what the twin touches
    def touching(self, where: Any, radius_m: float, area_id: str | None) -> list[Permit]:
        """Active permits whose work polygon is within ``radius_m`` of ``where`` or in ``area_id``."""
        return [p for p in self.repo.list("permit", Permit, state="active", limit=100000)
                if Polygon(p.work_polygon).distance(where) <= radius_m or (area_id is not None and area_id in p.area_ids)]

    def representative_m(self) -> float:
        """How near the work (m) a detector must be to stand for it — a live gas test or continuous
        monitoring: the suspension radius, at least 10 m (GB 30871 5.3.1 b: within 10 m of the hot point)."""
        return max(self.pack.suspension.radius_m, 10.0)

    def _touches(self, p: Permit, sensor: Any) -> bool:
        return (Polygon(p.work_polygon).distance(Point(sensor.position)) <= self.pack.suspension.radius_m
                or (sensor.area_id is not None and sensor.area_id in p.area_ids))

    def suspend_touching(self, where: Any, radius_m: float, area_id: str | None, reason: str,
                         now: datetime | None = None, kind: permits.SuspensionKind = "gas_alarm") -> list[str]:
        """Suspend every active permit whose work polygon is within ``radius_m`` of ``where`` or in ``area_id``."""
        now = now or self.clock()
        with self._permit_lock:
            return [p.id for p in self.touching(where, radius_m, area_id) if self.suspend_one(p.id, reason, kind, now)]

    def suspend_one(self, permit_id: str, reason: str, kind: permits.SuspensionKind, now: datetime) -> bool:
        """Suspend one permit as the system (False when it is no longer active); notifies its people."""
        with self._permit_lock:
            p, ver = self.repo.get("permit", permit_id, Permit)
            if p.state != "active":
                return False
            permits.suspend(p, SYSTEM, now, reason, kind)
            self.save_permit(p, ver, "system", "auto_suspend", now)
            self.suspension_log.append({"permit": p.id, "at": now, "reason": reason, "kind": kind})
        self._notify(p, "suspended", f"STOP WORK: permit {p.id} ({p.title}) suspended: {reason}")
        return True

    def warn(self, p: Permit, event: str, text: str) -> None:
        """Tell the people of a permit about a condition that does not stop the work."""
        self._notify(p, event, f"permit {p.id} ({p.title}): {text}")

    def judge_live_reading(self, p: Permit, sensor: Any) -> tuple[bool, str] | None:
        """The detector's latest reading judged for ``p`` ((passed, why); None when it has no usable
        reading): as a gas test of the permit where its type needs gas tests (GB 30871 5.3.2, 6.4);
        otherwise against the occupational limit of a toxic gas only (no ignition source in the job)."""
        r = self.state.reading(sensor.id) if self.state is not None else None
        if r is None or r.quality != "ok" or not sensor.gas:
            return None
        value = max(float(r.value), 0.0)
        try:
            if self.pack.type_rule(p.type).gas_test.required:
                ok, why, _ = gasrules.judge(self.pack, sensor.gas, value, sensor.unit, p.type)
                return ok, why
            name = gasrules.resolve_gas(sensor.gas)
            limit = gasrules.toxic_limit(self.pack, name, p.type) if name != "O2" else None
            if limit is None:
                return True, f"{name} is judged for ignition only in jobs that need gas tests"
            mg = gasrules.to_mg_m3(name, value, sensor.unit)
        except GuardFailed as e:
            return False, f"reading of {sensor.id} cannot be judged: {e}"
        ok = mg <= limit[0]
        return ok, f"{name} {mg:.3g} mg/m3 {'≤' if ok else '>'} {limit[0]:g} mg/m3 ({limit[1]})"

    def _area_alarm(self, p: Permit) -> str | None:
        """Why a live alarm at the work area refuses start/resume (None when none does)."""
        if self.state is None:
            return None
        rules = self.pack.suspension
        for a in self.state.active_alarms():
            s = self.plant.sensors.get(a.source_id)
            if s is None or not self._touches(p, s):
                continue
            stype = s.type.value
            if stype in rules.fire_detector_types:
                stops = a.level not in DETECTOR_FAILURE_LEVELS
            elif stype in GAS_SENSOR_TYPES:
                action = rules.action(a.level)
                if action == "judge" and not a.returned:
                    verdict = self.judge_live_reading(p, s)
                    stops = verdict is None or not verdict[0]
                else:
                    stops = action == "stop"
            else:
                continue
            if not stops:
                continue
            if a.returned:
                return (f"{a.alarm_id} ({a.level}) at {a.source_id} returned to normal but is not acknowledged: "
                        f"acknowledge its alarm case first")
            return f"{a.alarm_id} ({a.level}) at {a.source_id}"
        return None

    def monitoring_status(self, p: Permit, now: datetime | None = None) -> str | None:
        """None when a working continuous gas monitor covers ``p`` (a fresh, passing portable feed,
        or — where the pack allows fixed detectors — a gas detector within :meth:`representative_m`
        of the work with a good, fresh reading and no fault or stale alarm); else why not."""
        cm = self.pack.type_rule(p.type).gas_test.continuous
        now = now or self.clock()
        if cm is None:
            return None
        reasons = []
        if "portable" in cm.sources:
            m = p.monitor
            if m is None or m.last_at is None:
                reasons.append("no portable monitor feeding the permit (POST /permits/{id}/monitor)")
            elif (now - m.last_at).total_seconds() > cm.stale_after_s:
                reasons.append(f"portable monitor {m.instrument_id} silent since {m.last_at.isoformat()} "
                               f"(> {cm.stale_after_s:g} s)")
            elif not m.last_passed:
                reasons.append(f"portable monitor {m.instrument_id} reads over the limit: {m.last_reason}")
            else:
                return None
        if "fixed" in cm.sources:
            work, reach = Polygon(p.work_polygon), self.representative_m()
            near = [s.id for s in self.plant.sensors.values()
                    if s.type.value in MONITOR_SENSOR_TYPES and work.distance(Point(s.position)) <= reach]
            if self.state is not None and near:
                failing = {a.source_id for a in self.state.active_alarms() if a.level in DETECTOR_FAILURE_LEVELS}
                health = assess_sensors(self.state, now.timestamp(), near)
                if any(h.votes and sid not in failing for sid, h in health.items()):
                    return None
                reasons.append("no fixed gas detector near the work reads: "
                               + "; ".join(f"{sid} {h.status}" for sid, h in sorted(health.items())))
            else:
                reasons.append("no fixed gas detector near the work" + ("" if near else f" (none within {reach:g} m)"))
        return "; ".join(reasons)

    def check_monitoring(self, now: datetime | None = None) -> list[str]:
        """The periodic live checks of active permits (a due job): suspend those that need continuous
        gas monitoring and have lost it (GB 30871 5.3.1 d, 6.5: a silent portable feed, detectors
        that failed), and those whose detector in a ``judge`` alarm (W) now reads over the permit's
        limit — the alarm engine raises W once, the reading may keep rising within it. Returns the
        ids suspended."""
        now = now or self.clock()
        out = []
        judged = [a for a in self.state.active_alarms() if not a.returned
                  and self.pack.suspension.action(a.level) == "judge"] if self.state is not None else []
        for p in self.repo.list("permit", Permit, state="active", limit=100000):
            why = None
            if self.pack.type_rule(p.type).needs_continuous_monitoring(p.level):
                lost = self.monitoring_status(p, now)
                why = f"gas monitoring lost: {lost}" if lost else None
            kind: permits.SuspensionKind = "monitoring_lost"
            for a in judged if why is None else ():
                s = self.plant.sensors.get(a.source_id)
                if s is None or s.type.value not in GAS_SENSOR_TYPES or not self._touches(p, s):
                    continue
                verdict = self.judge_live_reading(p, s)
                if verdict is not None and not verdict[0]:
                    why, kind = f"gas alarm {a.alarm_id} ({a.level}) at {a.source_id}: {verdict[1]}", "gas_alarm"
                    break
            if why and self.suspend_one(p.id, why, kind, now):
                out.append(p.id)
        return out

    def suspend_for_wind(self, wind_m_s: float, source: str, now: datetime | None = None) -> list[str]:
        """Suspend every active permit whose type's wind limit (rule pack ``wind_limit``) the
        measured wind ``wind_m_s`` (m/s) reaches."""
        now = now or self.clock()
        out = []
        with self._permit_lock:
            for p in self.repo.list("permit", Permit, state="active", limit=100000):
                refusal, _ = permits.wind_check(p, self.pack, wind_m_s, source)
                if refusal is not None and self.suspend_one(p.id, refusal, "weather", now):
                    out.append(p.id)
        return out

    def site_wind(self) -> tuple[float | None, str]:
        """The wind speed (m/s) of the plant's weather station now, or None with the reason when it
        has no current record (see :func:`safetwin.twin.weather.station_status`)."""
        from safetwin.twin.weather import station_status

        sid = self.plant.meta.weather_station
        if self.state is None or not sid or sid not in self.plant.sensors:
            return None, "no weather station"
        obs = self.state.met_observation(sid)
        status, age, reason = station_status(obs, now_ts=self.clock().timestamp(),
                                             report_period_s=self.plant.sensors[sid].period_s)
        if status != "ok" or obs is None or obs.wind_speed_m_s is None:
            return None, f"{sid} {status}: {reason}"
        return float(obs.wind_speed_m_s), f"{sid}, record {age:.0f} s old"

    def report_incident(self, actor: Actor, x: float, y: float, radius_m: float, description: str) -> list[str]:
        """An incident at (x, y): suspend the active permits it touches."""
        actor.require("operator", "safety_engineer", "manager", "guardian", action="report an incident")
        area = self.ctx.plant_area_of(x, y)
        return self.suspend_touching(Point(x, y), radius_m, area, f"incident: {description}", kind="incident")

    # ------------------------------------------------------------------ records
    def _ctx(self, p: Permit, with_others: bool = True) -> permits.PermitContext:
        """The rules' context for ``p``: certificates of its people only; the live permits for SIMOPS."""
        people = sorted({p.holder, *p.workers, *([p.guardian] if p.guardian else [])})
        certs = self.repo.list("certificate", Certificate, owner=people, limit=100000)
        others = [o for o in self.repo.list("permit", Permit, state=list(simops.LIVE_STATES), limit=100000)
                  if o.id != p.id] if with_others else []
        return permits.PermitContext(pack=self.pack, now=self.clock(),
                                     cert_check=lambda person, ct, at: certificates.check(certs, person, ct, at),
                                     others=others, area_alarm=self._area_alarm, monitoring=self.monitoring_status,
                                     site_wind=self.site_wind)

    def save_permit(self, p: Permit, ver: int | None, actor: str, action: str, now: datetime | None = None) -> int:
        """Save a new audited version of ``p`` (``ver``: the version it was read at, None when new)."""
        return self.repo.save("permit", p, actor=actor, action=action, expected_version=ver, subtype=p.type,
                              level=p.level, owner=p.holder, now=now or self.clock())

    def _notify(self, p: Permit, event: str, text: str, extra: tuple[str, ...] = ()) -> None:
        who = tuple(dict.fromkeys([p.holder, *(w for w in (p.guardian, p.fire_watch) if w), p.applicant, *extra]))
        self.notifier.send(Notification(who, f"permits/{p.id}", event, text, self.site_id,
                                        {"permit": p.id, "type": p.type, "state": p.state}))

    def _check_people(self, holder: str, extra: dict[str, Any]) -> None:
        self.users.assignable(holder, WORKER_ROLES, "holder")
        for w in extra.get("workers") or ():
            self.users.assignable(w, WORKER_ROLES, "worker")
        for role in ("guardian", "fire_watch"):
            if extra.get(role):
                self.users.assignable(extra[role], GUARDIAN_ROLES, role.replace("_", " "))
        if extra.get("simops_coordinator"):
            self.users.assignable(extra["simops_coordinator"], ("safety_engineer", "operator", "manager", "approver"),
                                  "SIMOPS coordinator")

    def create_permit(self, actor: Actor, *, type: str, level: str | None, title: str,
                      work_polygon: list[tuple[float, float]], holder: str, planned_start: datetime,
                      planned_end: datetime, **extra: Any) -> Permit:
        """A new draft permit by an applicant; the work areas are found on the plant; its people must
        be active users holding their roles."""
        actor.require("applicant", action="apply for a permit")
        self._check_named(holder, extra.get("workers") or [], extra.get("guardian"), self.clock())
        poly = check_local_polygon(work_polygon, "work_polygon")
        self.pack.level_rule(type, level)
        self._check_people(holder, extra)
        areas = [aid for aid, a in self.plant.areas.items() if a.geometry.intersects(poly)]
        p = permits.new_permit(self.pack, self.repo.new_id("PTW"), self.site_id, type, level, title, work_polygon,
                               applicant=actor.user_id, holder=holder, planned_start=planned_start,
                               planned_end=planned_end, now=self.clock(), area_ids=areas, **extra)
        self.save_permit(p, None, actor.user_id, "create")
        return p

    def _check_named(self, holder: str, workers: list[str], guardian: str | None, at: datetime,
                     permit_id: str = "new permit") -> None:
        """Forbidden (403, ``person_not_cleared``) with the reasons when a named person fails a people gate
        (training, contractor standing: :class:`~.field.FieldWorkflows`)."""
        named = dict.fromkeys(workers, "worker")
        named[holder] = "holder"
        if guardian:
            named[guardian] = "guardian"
        problems = self.ctx.named_problems(named, at)
        if problems:
            raise Forbidden(f"{permit_id}: people named on the permit are not cleared: " + "; ".join(problems),
                            "person_not_cleared")

    def permit(self, permit_id: str) -> Permit:
        """One permit (validated model); :class:`NotFound` when missing."""
        return self.repo.get("permit", permit_id, Permit)[0]

    def list_permits(self, state: str | None = None, type: str | None = None, limit: int = 100,
                     offset: int = 0) -> list[Permit]:
        """Permits, newest change first, filtered by state and type."""
        return self.repo.list("permit", Permit, state=state, subtype=type, limit=limit, offset=offset)

    def permit_action(self, actor: Actor, permit_id: str, action: str, *, reason: str = "", note: str = "") -> Permit:
        """Apply one life-cycle action: submit, approve, reject, start, pause, suspend, resume, complete,
        fire_watch_done, close, cancel, expire."""
        with self._permit_lock:
            p, ver = self.repo.get("permit", permit_id, Permit)
            ctx = self._ctx(p, with_others=action in ("submit", "approve", "start"))
            now = ctx.now
            if action in NAMED_CHECKED_ON:
                self._check_named(p.holder, p.workers, p.guardian, now, permit_id=p.id)
            if action == "submit":
                permits.submit(p, actor, ctx)
            elif action == "approve":
                permits.approve(p, actor, ctx, note)
            elif action == "reject":
                permits.reject(p, actor, ctx, reason)
            elif action == "start":
                permits.start(p, actor, ctx)
            elif action == "pause":
                permits.pause(p, actor, now, reason)
            elif action == "suspend":
                permits.suspend(p, actor, now, reason or "manual")
            elif action == "resume":
                permits.resume(p, actor, ctx)
            elif action == "complete":
                permits.complete(p, actor, now)
            elif action == "fire_watch_done":
                permits.clear_fire_watch(p, actor, ctx, note)
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

