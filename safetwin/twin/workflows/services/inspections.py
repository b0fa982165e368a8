"""Inspection rounds (巡检/点检): checkpoints with codes, routes with schedules, rounds walked by
scanning codes, RTLS evidence, findings that become hazards, missed and late rounds as alarms.

The rules are :mod:`safetwin.twin.workflows.inspections`; this service stores the records, finds
the inspector's track (:class:`~.tracks.TrackSource`, plus the live fix taken as a scan arrives),
raises a hazard (隐患) for every finding with the scan's photos, and on the due-job pass
generates the rounds of each route, marks open rounds past their deadline ``missed`` or ``late``
and raises a twin alarm for them (``ROUND-<round>``; it opens an alarm case like any alarm and is
cleared when a later round of the route is completed).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from shapely.geometry import Point

from .. import inspections as rules
from ..errors import GuardFailed, InvalidTransition
from ..field_domain import Answer, Checkpoint, InspectionRound, InspectionRoute, Scan
from ..fieldpack import FieldPack
from ..notify import Notification
from ..roles import ROLES, Actor
from .context import RecordService, WorkflowContext
from .hazards import HazardService
from .people import PersonService
from .tracks import StoreTracks, TrackSource

PLANNERS = ("safety_engineer", "manager")
#: completed rounds whose evidence is judged again (the position history may lag the scans)
REJUDGE_WITHIN = timedelta(minutes=30)
SENSOR_CHECKLIST = {"flammable_gas": "gas_detector", "toxic_gas": "gas_detector", "oxygen": "gas_detector"}


def anchor(geom: Any) -> Point:
    """Where a checkpoint of ``geom`` stands: the point itself, else the centroid when it lies inside
    (a point inside the shape otherwise)."""
    if geom.geom_type == "Point":
        return geom
    c = geom.centroid
    return c if geom.contains(c) else geom.representative_point()


class InspectionService(RecordService):
    """Checkpoints, routes and rounds of one site (see the module docstring)."""

    def __init__(self, ctx: WorkflowContext, field_pack: FieldPack, hazards: HazardService, people: PersonService,
                 tracks: TrackSource | None = None) -> None:
        super().__init__(ctx)
        self.field_pack = field_pack
        self.hazards = hazards
        self.people = people
        self.tracks: TrackSource = tracks or StoreTracks(self.repo.engine, self.site_id)

    # ------------------------------------------------------------------ checkpoints and routes

    def add_checkpoint(self, actor: Actor, *, name: str, kind: str, target_id: str, code: str | None = None,
                       checklist: str | None = None, radius_m: float | None = None) -> Checkpoint:
        """A checkpoint at a plant equipment item, sensor or area; its position and default checklist
        come from the plant; ``code`` (what the QR label / NFC tag holds) is generated when not given."""
        actor.require(*PLANNERS, action="define inspection checkpoints")
        plant = self.plant
        if kind == "equipment" and target_id in plant.equipment:
            eq = plant.equipment[target_id]
            where = anchor(eq.footprint if eq.geometry.geom_type != "Point" else eq.geometry)
            default = eq.kind.value if eq.kind.value in self.field_pack.checklists else "area"
            area = eq.area_id
        elif kind == "sensor" and target_id in plant.sensors:
            s = plant.sensors[target_id]
            where, default, area = Point(s.position), SENSOR_CHECKLIST.get(s.type.value, "area"), s.area_id
        elif kind == "area" and target_id in plant.areas:
            where, default, area = anchor(plant.areas[target_id].geometry), "area", target_id
        else:
            raise GuardFailed(f"no {kind} {target_id!r} on plant {plant.id}", "bad_target")
        checklist = checklist or default
        self.field_pack.checklist(checklist)                              # GuardFailed when unknown
        code = (code or f"{target_id}-{secrets.token_hex(2).upper()}").strip()
        if any(c.code == code for c in self.checkpoints()):
            raise GuardFailed(f"code {code!r} is already used by another checkpoint", "duplicate_code")
        cp = Checkpoint(id=self.repo.new_id("CP"), site_id=self.site_id, state="active", created_at=self.clock(),
                        created_by=actor.user_id, code=code, name=name, kind=kind, target_id=target_id,
                        checklist=checklist, x=float(where.x), y=float(where.y),
                        area_id=area or self.ctx.plant_area_of(where.x, where.y),
                        radius_m=radius_m or self.field_pack.rounds.evidence_radius_m)
        self.repo.save("checkpoint", cp, actor=actor.user_id, action="create", expected_version=None, subtype=kind)
        return cp

    def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint of the site."""
        return self.repo.list("checkpoint", Checkpoint, limit=100000)

    def add_route(self, actor: Actor, *, name: str, checkpoint_ids: list[str], interval_h: float,
                  first_due_at: datetime, grace_min: float | None = None, role: str = "operator",
                  assignee: str | None = None) -> InspectionRoute:
        """A route walked every ``interval_h`` hours from ``first_due_at`` by a ``role`` holder (or ``assignee``)."""
        actor.require(*PLANNERS, action="define inspection routes")
        known = {c.id for c in self.checkpoints()}
        unknown = [c for c in checkpoint_ids if c not in known]
        if unknown:
            raise GuardFailed(f"unknown checkpoints {unknown}", "bad_checkpoint")
        if role not in ROLES:
            raise GuardFailed(f"unknown role {role!r}; roles: {list(ROLES)}", "bad_role")
        rt = InspectionRoute(id=self.repo.new_id("RT"), site_id=self.site_id, state="active", created_at=self.clock(),
                             created_by=actor.user_id, name=name, checkpoint_ids=checkpoint_ids, interval_h=interval_h,
                             grace_min=self.field_pack.rounds.default_grace_min if grace_min is None else grace_min,
                             role=role, assignee=assignee, first_due_at=first_due_at)
        self.repo.save("inspection_route", rt, actor=actor.user_id, action="create", expected_version=None, owner=assignee)
        return rt

    def routes(self) -> list[InspectionRoute]:
        """Every route of the site."""
        return self.repo.list("inspection_route", InspectionRoute, limit=100000)

    # ------------------------------------------------------------------ rounds

    def round(self, round_id: str) -> InspectionRound:
        """One round; :class:`NotFound` when missing."""
        return self.repo.get("inspection_round", round_id, InspectionRound)[0]

    def rounds(self, state: str | list[str] | None = None, limit: int = 100) -> list[InspectionRound]:
        """Rounds, newest change first, optionally in some states."""
        return self.repo.list("inspection_round", InspectionRound, state=state, limit=limit)

    def rounds_for(self, actor: Actor, limit: int = 50) -> list[InspectionRound]:
        """Open rounds ``actor`` may walk (assigned to them, or their role's), earliest due first."""
        mine = [r for r in self.rounds(list(rules.OPEN_STATES), limit=1000)
                if (r.assignee == actor.user_id) or (not r.assignee and actor.has(r.role))]
        return sorted(mine, key=lambda r: r.due_at)[:limit]

    def _save(self, r: InspectionRound, ver: int | None, actor: str, action: str, now: datetime | None = None) -> None:
        self.repo.save("inspection_round", r, actor=actor, action=action, expected_version=ver, subtype=r.route_id,
                       owner=r.inspector, now=now or self.clock())

    def rtls_id_of(self, user_id: str) -> str:
        """The twin's person id of a user's tag: their register entry's, else the user id."""
        p = self.people.find(user_id)
        return p.track_id if p is not None else user_id

    def start_round(self, actor: Actor, round_id: str) -> InspectionRound:
        """scheduled → in_progress by the inspector."""
        with self._locks.hold("inspection_round", round_id):
            r, ver = self.repo.get("inspection_round", round_id, InspectionRound)
            rules.start(r, actor, self.clock(), self.rtls_id_of(actor.user_id))
            self._save(r, ver, actor.user_id, "start")
        return r

    def _live_fix(self, rtls_id: str, scanned_at: datetime, now: datetime) -> tuple[float, float, float] | None:
        """The inspector's live fix when the scan is recent and the fix fresh (both within the window)."""
        window = timedelta(minutes=self.field_pack.rounds.evidence_window_min)
        if self.state is None or abs(now - scanned_at) > window:
            return None
        fix = self.state.person(rtls_id)
        if fix is None or abs(fix.ts - scanned_at.timestamp()) > window.total_seconds():
            return None
        return fix.x, fix.y, fix.ts

    def scan(self, actor: Actor, round_id: str, *, code: str, client_key: str, scanned_at: datetime,
             method: str = "manual", answers: list[dict[str, Any]] | None = None,
             photos: list[str] | None = None) -> tuple[InspectionRound, list[str]]:
        """Record a checkpoint scan with its checklist answers; each finding becomes a hazard.

        Returns the round and the ids of the hazards raised. A repeated ``client_key`` changes
        nothing and returns the hazards that scan raised the first time.
        """
        now = self.clock()
        with self._locks.hold("inspection_round", round_id):
            r, ver = self.repo.get("inspection_round", round_id, InspectionRound)
            earlier = next((s for s in r.scans if s.client_key == client_key), None)
            if earlier is not None:
                return r, list(earlier.findings)
            cps = {c.id: c for c in self.checkpoints() if c.id in r.checkpoint_ids}
            cp = next((c for c in cps.values() if c.code == code.strip()), None)
            if cp is None:
                raise GuardFailed(f"code {code!r} is not a checkpoint of route {r.route_name}", "wrong_code")
            rtls_id = r.rtls_id or self.rtls_id_of(actor.user_id)
            s = Scan(checkpoint_id=cp.id, code=code.strip(), method=method, scanned_at=scanned_at, received_at=now,
                     by=actor.user_id, client_key=client_key, answers=[Answer(**a) for a in answers or []],
                     photos=photos or [], live_fix=self._live_fix(rtls_id, scanned_at, now))
            findings = rules.add_scan(r, actor, cp, s, self.field_pack, now)
            r.rtls_id = rtls_id
            for k, text in enumerate(findings):
                hid = "HZ-" + hashlib.sha256(f"{r.id}|{client_key}|{k}".encode()).hexdigest()[:12].upper()
                if self.repo.version("hazard", hid) is None:
                    self.hazards.report_hazard(actor, title=f"{cp.name}: {text}"[:200], category="equipment",
                                               level="general", x=cp.x, y=cp.y, photos=s.photos, record_id=hid,
                                               description=f"found on round {r.id} ({r.route_name}) at checkpoint "
                                                           f"{cp.id} ({cp.code})")
                s.findings.append(hid)
            r.findings = [*r.findings, *s.findings]
            self._save(r, ver, actor.user_id, "scan", now)
        return r, list(s.findings)

    def _track(self, r: InspectionRound) -> rules.Track:
        if not r.rtls_id or r.started_at is None:
            return rules.EMPTY_TRACK
        window = timedelta(minutes=self.field_pack.rounds.evidence_window_min)
        since = min([r.started_at, *(s.scanned_at for s in r.scans)]) - window
        until = max([r.completed_at or self.clock(), *(s.scanned_at for s in r.scans)]) + window
        return self.tracks.track(r.rtls_id, since, until)

    def complete_round(self, actor: Actor, round_id: str) -> InspectionRound:
        """in_progress → completed; judges the RTLS evidence and notifies when the round is flagged."""
        with self._locks.hold("inspection_round", round_id):
            r, ver = self.repo.get("inspection_round", round_id, InspectionRound)
            if r.state != "in_progress":
                raise InvalidTransition(f"round {r.id}: cannot complete in state {r.state!r}", "invalid_transition")
            r.completed_at = self.clock()
            cps = {c.id: c for c in self.checkpoints() if c.id in r.checkpoint_ids}
            rules.complete(r, actor, r.completed_at, cps, self._track(r), self.field_pack)
            self._save(r, ver, actor.user_id, "complete")
        self._clear_route_alarms(r.route_id, r.completed_at)
        if not r.rtls_verified:
            self._tell(r, "flagged", f"round {r.id} ({r.route_name}) completed by {r.inspector} but flagged: "
                                     + ", ".join(r.flags))
        return r

    # ------------------------------------------------------------------ due jobs

    def run_due(self, now: datetime) -> dict[str, list[str]]:
        """Generate the routes' rounds, mark open rounds past their deadline, re-judge recent evidence."""
        made = self._generate(now)
        missed, late = [], []
        for r0 in self.repo.list("inspection_round", InspectionRound, state=list(rules.OPEN_STATES), due_before=now,
                                 limit=100000):
            with self._locks.hold("inspection_round", r0.id):
                r, ver = self.repo.get("inspection_round", r0.id, InspectionRound)
                what = rules.overdue(r, now)
                if what is None:
                    continue
                r.alarm_id = f"ROUND-{r.id}"
                self._save(r, ver, "system", what, now)
            (missed if what == "missed" else late).append(r.id)
            level = self.field_pack.rounds.alarm_level_missed if what == "missed" else self.field_pack.rounds.alarm_level_late
            text = (f"inspection round {r.route_name} due {r.due_at:%Y-%m-%d %H:%M} UTC {what}"
                    + (f" (started by {r.inspector})" if r.inspector else ""))
            if self.state is not None:
                self.state.raise_alarm(r.alarm_id, r.route_id, level, now.timestamp(), text)
            self._tell(r, what, text)
        rejudged = self._rejudge(now)
        return {"rounds_generated": made, "rounds_missed": missed, "rounds_late": late, "rounds_rejudged": rejudged}

    def _generate(self, now: datetime) -> list[str]:
        made = []
        for rt0 in self.routes():
            if not rt0.active:
                continue
            with self._locks.hold("inspection_route", rt0.id):
                rt, ver = self.repo.get("inspection_route", rt0.id, InspectionRoute)
                after = rt.generated_until or (rt.first_due_at - timedelta(seconds=1))
                times = rules.due_times(rt, after, now + timedelta(hours=rt.interval_h))
                for t in times:
                    r = rules.new_round(rt, t, site_id=self.site_id, now=now)
                    if self.repo.version("inspection_round", r.id) is None:
                        self._save(r, None, "system", "schedule", now)
                        made.append(r.id)
                if times:
                    rt.generated_until = times[-1]
                    self.repo.save("inspection_route", rt, actor="system", action="generated", expected_version=ver,
                                   owner=rt.assignee, now=now)
        return made

    def _rejudge(self, now: datetime) -> list[str]:
        out = []
        for r0 in self.rounds("completed", limit=200):
            if r0.rtls_verified or r0.completed_at is None or now - r0.completed_at > REJUDGE_WITHIN:
                continue
            with self._locks.hold("inspection_round", r0.id):
                r, ver = self.repo.get("inspection_round", r0.id, InspectionRound)
                cps = {c.id: c for c in self.checkpoints() if c.id in r.checkpoint_ids}
                before = (r.rtls_verified, r.flags)
                rules.judge_evidence(r, cps, self._track(r), self.field_pack)
                if (r.rtls_verified, r.flags) != before:
                    self._save(r, ver, "system", "rejudge", now)
                    out.append(r.id)
        return out

    def _clear_route_alarms(self, route_id: str, at: datetime) -> None:
        if self.state is None:
            return
        for a in self.state.active_alarms():
            if a.source_id == route_id and a.alarm_id.startswith("ROUND-"):
                self.state.clear_alarm(a.alarm_id, at.timestamp())

    def _tell(self, r: InspectionRound, event: str, text: str) -> None:
        who = tuple(dict.fromkeys([*((r.inspector,) if r.inspector else ()), *((r.assignee,) if r.assignee else ()),
                                   f"role:{r.role}", "role:safety_engineer"]))
        self.notifier.send(Notification(who, f"rounds/{r.id}", event, text, self.site_id,
                                        {"round": r.id, "route": r.route_id, "flags": r.flags}))
