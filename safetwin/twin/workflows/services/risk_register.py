"""The risk register: risk units graded by LEC or LS into four colours, their control tasks, and the
four-colour risk map.

A unit is a plant area or a polygon (local m). Each risk event (风险事件) is graded twice: its
inherent risk, and its residual risk with its control measures (管控措施) in place; the unit's
level is the worst *current* level of its active events — residual while its controls work,
inherent again when a control check fails (:meth:`RiskEvent.current_level`), so the map shows the
risk as it is now, not the worst event ever recorded. Events are re-assessed or retired, units
edited. Control tasks (管控任务) ask a person to check a control measure every N days: a failed
check reports a hazard (隐患, the other half of the 双重预防 loop) and brings the event's inherent
risk back until a check passes; an overdue task is flagged to its assignee and the unit's owner.
Levels: RED / ORANGE / YELLOW / BLUE (:mod:`safetwin.twin.workflows.risk`).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
from shapely.geometry import Polygon

from .. import risk
from ..domain import ControlCheck, ControlTask, RiskEvent, RiskUnit
from ..errors import GuardFailed, InvalidTransition, NotFound
from ..hazards import RECTIFIER_ROLES
from ..notify import Notification
from ..roles import Actor
from .context import RecordService, WorkflowContext, check_local_polygon
from .hazards import HazardService

EDITORS = ("safety_engineer",)
MAX_CHECKS_KEPT = 50


def grade(method: str, factors: dict[str, float]) -> tuple[float, str]:
    """Score and level of ``factors`` by ``method`` (LEC: L, E, C; LS: L, S)."""
    if method == "LEC":
        return risk.grade_lec(factors.get("L", -1), factors.get("E", -1), factors.get("C", -1))
    if method == "LS":
        return risk.grade_ls(factors.get("L", -1), factors.get("S", -1))
    raise GuardFailed("method must be LEC or LS", "bad_method")


def regrade(u: RiskUnit) -> RiskUnit:
    """The unit's current and inherent levels from its active events (BLUE when none)."""
    active = [e for e in u.events if e.state == "active"]
    u.level = risk.worst(e.current_level() for e in active)  # type: ignore[assignment]
    u.inherent_level = risk.worst(e.level for e in active)  # type: ignore[assignment]
    u.layer = risk.LAYER[u.level]
    return u


class RiskRegisterService(RecordService):
    """Risk units of one site (see the module docstring)."""

    def __init__(self, ctx: WorkflowContext, hazards: HazardService) -> None:
        super().__init__(ctx)
        self.hazards = hazards
        self._to_wgs84: Any = None               # pyproj transformer, built on first use

    # ------------------------------------------------------------------ units
    def _check_geometry(self, area_id: str | None, polygon: list[tuple[float, float]] | None) -> None:
        if (area_id is None) == (polygon is None):
            raise GuardFailed("give exactly one of area_id or polygon", "bad_geometry")
        if area_id is not None and area_id not in self.plant.areas:
            raise GuardFailed(f"unknown area {area_id!r}", "bad_area")
        if polygon is not None:
            check_local_polygon(polygon, "polygon")

    def create_risk_unit(self, actor: Actor, *, name: str, area_id: str | None = None,
                         polygon: list[tuple[float, float]] | None = None, owner: str | None = None) -> RiskUnit:
        """A new risk unit: a plant area or a polygon (local m)."""
        actor.require(*EDITORS, action="edit the risk register")
        self._check_geometry(area_id, polygon)
        if owner is not None:
            self.users.assignable(owner, RECTIFIER_ROLES, "unit owner")
        u = RiskUnit(id=self.repo.new_id("RU"), site_id=self.site_id, state="draft", created_at=self.clock(),
                     created_by=actor.user_id, name=name, area_id=area_id, polygon=polygon, owner=owner,
                     layer=risk.LAYER["BLUE"])
        self._save(u, None, actor, "create")
        return u

    def _save(self, u: RiskUnit, ver: int | None, actor: Actor, action: str) -> None:
        self.repo.save("risk_unit", u, actor=actor.user_id, action=action, expected_version=ver, level=u.level,
                       owner=u.owner, now=self.clock())

    def risk_unit(self, unit_id: str) -> RiskUnit:
        """One risk unit; :class:`NotFound` when missing."""
        return self.repo.get("risk_unit", unit_id, RiskUnit)[0]

    def update_risk_unit(self, actor: Actor, unit_id: str, *, name: str | None = None, area_id: str | None = None,
                         polygon: list[tuple[float, float]] | None = None, owner: str | None = None) -> RiskUnit:
        """Rename a unit, move it to an area or a polygon, or give it an owner."""
        actor.require(*EDITORS, action="edit the risk register")
        with self._locks.hold("risk_unit", unit_id):
            u, ver = self.repo.get("risk_unit", unit_id, RiskUnit)
            if area_id is not None or polygon is not None:
                self._check_geometry(area_id, polygon)
                u.area_id, u.polygon = area_id, polygon
            if name is not None:
                u.name = name
            if owner is not None:
                self.users.assignable(owner, RECTIFIER_ROLES, "unit owner")
                u.owner = owner
            self._save(u, ver, actor, "edit")
        return u

    # ------------------------------------------------------------------ events
    def assess_risk(self, actor: Actor, unit_id: str, *, description: str, method: str, factors: dict[str, float],
                    measures: list[str] | None = None,
                    residual_factors: dict[str, float] | None = None) -> RiskUnit:
        """Add a graded risk event: inherent ``factors`` and, with its control ``measures`` in place,
        ``residual_factors`` (by the same method); the unit's level is the worst current level."""
        actor.require(*EDITORS, action="assess risk")
        score, level = grade(method, factors)
        residual = self._residual(method, residual_factors, score)
        with self._locks.hold("risk_unit", unit_id):
            u, ver = self.repo.get("risk_unit", unit_id, RiskUnit)
            ids = {e.id for e in u.events}
            eid = next(f"E{k}" for k in range(1, len(u.events) + 2) if f"E{k}" not in ids)
            u.events.append(RiskEvent(id=eid, description=description, method=method, factors=factors,  # type: ignore[arg-type]
                                      score=score, level=level, measures=measures or [],  # type: ignore[arg-type]
                                      residual_factors=residual_factors, residual_score=residual[0],
                                      residual_level=residual[1],  # type: ignore[arg-type]
                                      assessed_by=actor.user_id, assessed_at=self.clock()))
            u.state = "assessed"
            regrade(u)
            self._save(u, ver, actor, "assess")
        return u

    @staticmethod
    def _residual(method: str, factors: dict[str, float] | None, inherent_score: float) -> tuple[float | None,
                                                                                                  str | None]:
        if factors is None:
            return None, None
        score, level = grade(method, factors)
        if score > inherent_score:
            raise GuardFailed(f"residual risk {score:g} is above the inherent risk {inherent_score:g}: controls do "
                              "not add risk", "bad_factor")
        return score, level

    def _event(self, u: RiskUnit, event_id: str) -> RiskEvent:
        for e in u.events:
            if e.id == event_id:
                return e
        raise NotFound(f"risk unit {u.id} has no event {event_id!r}", "not_found")

    def reassess_event(self, actor: Actor, unit_id: str, event_id: str, *, residual_factors: dict[str, float],
                       measures: list[str] | None = None) -> RiskUnit:
        """Grade an event's residual risk again (new or changed control measures)."""
        actor.require(*EDITORS, action="assess risk")
        with self._locks.hold("risk_unit", unit_id):
            u, ver = self.repo.get("risk_unit", unit_id, RiskUnit)
            e = self._event(u, event_id)
            if e.state != "active":
                raise InvalidTransition(f"event {event_id} of {unit_id} is retired", "invalid_transition")
            e.residual_score, e.residual_level = self._residual(e.method, residual_factors, e.score)  # type: ignore[assignment]
            e.residual_factors = residual_factors
            if measures is not None:
                e.measures = measures
            e.assessed_by, e.assessed_at = actor.user_id, self.clock()
            regrade(u)
            self._save(u, ver, actor, f"reassess:{event_id}")
        return u

    def retire_event(self, actor: Actor, unit_id: str, event_id: str) -> RiskUnit:
        """Retire an event that no longer exists (equipment removed, process changed)."""
        actor.require(*EDITORS, action="edit the risk register")
        with self._locks.hold("risk_unit", unit_id):
            u, ver = self.repo.get("risk_unit", unit_id, RiskUnit)
            self._event(u, event_id).state = "retired"
            regrade(u)
            self._save(u, ver, actor, f"retire:{event_id}")
        return u

    # ------------------------------------------------------------------ control tasks
    def add_control_task(self, actor: Actor, unit_id: str, *, description: str, assignee: str, every_days: float,
                         event_id: str | None = None, first_due: datetime | None = None) -> RiskUnit:
        """A control task (管控任务): ``assignee`` checks a control measure every ``every_days`` days."""
        actor.require(*EDITORS, action="plan control tasks")
        self.users.assignable(assignee, RECTIFIER_ROLES, "control task assignee")
        now = self.clock()
        with self._locks.hold("risk_unit", unit_id):
            u, ver = self.repo.get("risk_unit", unit_id, RiskUnit)
            if event_id is not None:
                self._event(u, event_id)
            tid = f"T{len(u.tasks) + 1}"
            due = first_due or now + timedelta(days=every_days)
            if due <= now - timedelta(minutes=1):
                raise GuardFailed("the first check must be due in the future", "bad_deadline")
            u.tasks.append(ControlTask(id=tid, description=description, event_id=event_id, assignee=assignee,
                                       every_days=every_days, next_due_at=due))
            self._save(u, ver, actor, f"task:{tid}")
        return u

    def check_control_task(self, actor: Actor, unit_id: str, task_id: str, *, ok: bool, note: str = "",
                           hazard_category: str = "equipment") -> RiskUnit:
        """Record a check of a control task by its assignee (or a safety engineer): the next one is
        due ``every_days`` later; a failed check reports a hazard and makes the event's inherent
        risk count again until a check passes."""
        now = self.clock()
        hazard_id = None
        with self._locks.hold("risk_unit", unit_id):
            u, ver = self.repo.get("risk_unit", unit_id, RiskUnit)
            task = next((t for t in u.tasks if t.id == task_id and t.state == "active"), None)
            if task is None:
                raise NotFound(f"risk unit {unit_id} has no active control task {task_id!r}", "not_found")
            if actor.user_id != task.assignee:
                actor.require(*EDITORS, action=f"check control task {task_id} of {unit_id}")
            if not ok and not note.strip():
                raise GuardFailed("a failed check needs a note saying what does not work", "no_note")
            if not ok:
                where = self._geometry(u).representative_point()
                h = self.hazards.report_hazard(actor, title=f"control failed: {task.description}"[:200],
                                               category=hazard_category, level="general", x=where.x, y=where.y,
                                               description=f"control task {task_id} of risk unit {u.id} ({u.name}): "
                                                           f"{note}")
                hazard_id = h.id
            task.checks = (task.checks + [ControlCheck(at=now, by=actor.user_id, ok=ok, note=note,
                                                       hazard_id=hazard_id)])[-MAX_CHECKS_KEPT:]
            task.last_done_at, task.overdue_flagged_at = now, None
            task.next_due_at = now + timedelta(days=task.every_days)
            if task.event_id is not None:
                self._event(u, task.event_id).controls_effective = ok
            regrade(u)
            self._save(u, ver, actor, f"check:{task_id}:{'ok' if ok else 'failed'}")
        return u

    def flag_overdue_tasks(self, now: datetime | None = None) -> list[str]:
        """Tell the assignee and the unit's owner of each control task past due (once per period);
        returns ``unit/task`` ids."""
        now, out = now or self.clock(), []
        for u0 in self.repo.list("risk_unit", RiskUnit, limit=100000):
            late = [t.id for t in u0.tasks if t.state == "active" and t.next_due_at < now and t.overdue_flagged_at is None]
            if not late:
                continue
            with self._locks.hold("risk_unit", u0.id):
                u, ver = self.repo.get("risk_unit", u0.id, RiskUnit)
                flagged = [t for t in u.tasks if t.id in late and t.overdue_flagged_at is None]
                for t in flagged:
                    t.overdue_flagged_at = now
                self.repo.save("risk_unit", u, actor="system", action="tasks_overdue", expected_version=ver,
                               level=u.level, owner=u.owner, now=now)
            for t in flagged:
                who = tuple(dict.fromkeys([t.assignee, *([u.owner] if u.owner else [])]))
                self.notifier.send(Notification(who, f"risk/{u.id}", "control_task_overdue",
                                                f"control task {t.id} of {u.name} ({t.description}) was due "
                                                f"{t.next_due_at.isoformat()}", self.site_id))
                out.append(f"{u.id}/{t.id}")
        return out

    # ------------------------------------------------------------------ the map
    def _geometry(self, u: RiskUnit) -> Any:
        return self.plant.areas[u.area_id].geometry if u.area_id else Polygon(u.polygon)

    def risk_map(self, frame: str = "wgs84") -> dict:
        """The four-colour risk map as a GeoJSON FeatureCollection (each unit at its current level).

        ``frame="wgs84"`` (default): RFC 7946 lon/lat degrees — the local polygons are shifted into
        the plant's projected CRS (:func:`~safetwin.plant_models.export.to_projected`) and
        transformed with pyproj. ``frame="local"``: the plant's local metres (x east, y north).
        """
        if frame not in ("wgs84", "local"):
            raise GuardFailed(f"frame must be 'wgs84' or 'local', not {frame!r}", "bad_frame")
        feats = []
        for u in self.repo.list("risk_unit", RiskUnit, limit=100000):
            geom = self._geometry(u)
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
