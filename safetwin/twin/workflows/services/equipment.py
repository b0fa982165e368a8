"""Equipment with due dates (设备设施): the register of pressure vessels, safety valves, pressure
gauges and gas detectors with their inspection and calibration intervals (field pack
``equipment.kinds``; rules :mod:`safetwin.twin.workflows.equipment_due`).

Overdue activities become hazards (隐患, category equipment, one per overdue period) on the due-job
pass. A gas detector's calibration due date is pushed into the live twin
(:meth:`TwinState.set_calibration_due <safetwin.twin.state.TwinState.set_calibration_due>`), where a
detector past it is a suspect voter (:mod:`safetwin.twin.sensor_health`).
"""
from __future__ import annotations

from datetime import datetime

from shapely.geometry import Point

from .. import equipment_due as rules
from ..errors import GuardFailed
from ..field_domain import DueActivity, EquipmentItem
from ..fieldpack import FieldPack
from ..roles import SYSTEM, Actor
from ..training import add_months
from .context import RecordService, WorkflowContext
from .hazards import HazardService
from .inspections import anchor

KEEPERS = ("safety_engineer", "manager")
#: who records that an inspection or calibration was done
RECORDERS = ("safety_engineer", "manager", "operator")


class EquipmentService(RecordService):
    """The equipment register of one site (see the module docstring)."""

    def __init__(self, ctx: WorkflowContext, field_pack: FieldPack, hazards: HazardService) -> None:
        super().__init__(ctx)
        self.field_pack = field_pack
        self.hazards = hazards

    def register(self, actor: Actor, *, kind: str, name: str, target_id: str | None = None,
                 last_done: dict[str, datetime] | None = None, x: float | None = None,
                 y: float | None = None) -> EquipmentItem:
        """Add an item: ``target_id`` a plant equipment id or sensor id (position taken from the plant),
        else ``x``/``y`` (local m). ``last_done`` maps activities to when they were last done; an
        activity never done falls due one interval after registration."""
        actor.require(*KEEPERS, action="register equipment")
        acts = self.field_pack.equipment.activities(kind)
        last_done = last_done or {}
        unknown = sorted(set(last_done) - set(acts))
        if unknown:
            raise GuardFailed(f"{kind} has no activities {unknown}; known: {sorted(acts)}", "unknown_activity")
        plant, now = self.plant, self.clock()
        if target_id in plant.sensors:
            where, area = Point(plant.sensors[target_id].position), plant.sensors[target_id].area_id
        elif target_id in plant.equipment:
            eq = plant.equipment[target_id]
            where, area = anchor(eq.geometry if eq.geometry.geom_type == "Point" else eq.footprint), eq.area_id
        elif target_id is None and x is not None and y is not None:
            where, area = Point(x, y), None
        else:
            raise GuardFailed(f"no equipment or sensor {target_id!r} on plant {plant.id} (or give x and y)", "bad_target")
        activities = []
        for name_, iv in acts.items():
            done = last_done.get(name_)
            activities.append(DueActivity(name=name_, interval_months=iv.interval_months, last_done_at=done,
                                          next_due_at=add_months(done or now, iv.interval_months)))
        item = EquipmentItem(id=self.repo.new_id("EQ"), site_id=self.site_id, state="in_service", created_at=now,
                             created_by=actor.user_id, kind=kind, name=name, target_id=target_id,
                             area_id=area or self.ctx.plant_area_of(where.x, where.y), x=float(where.x),
                             y=float(where.y), activities=activities)
        self._save(item, None, actor.user_id, "register")
        self.push_calibration(item)
        return item

    def _save(self, item: EquipmentItem, ver: int | None, actor: str, action: str) -> None:
        self.repo.save("equipment_item", item, actor=actor, action=action, expected_version=ver, subtype=item.kind,
                       owner=item.target_id, now=self.clock())

    def item(self, item_id: str) -> EquipmentItem:
        """One register entry; :class:`NotFound` when missing."""
        return self.repo.get("equipment_item", item_id, EquipmentItem)[0]

    def items(self, kind: str | None = None) -> list[EquipmentItem]:
        """Register entries, optionally of one kind."""
        return self.repo.list("equipment_item", EquipmentItem, subtype=kind, limit=100000)

    def record_done(self, actor: Actor, item_id: str, *, activity: str, at: datetime | None = None,
                    result: str = "", certificate: str = "") -> EquipmentItem:
        """Record an inspection or calibration done; the next due date follows from it."""
        actor.require(*RECORDERS, action="record an inspection or calibration")
        at = at or self.clock()
        if at > self.clock():
            raise GuardFailed("the activity cannot be done in the future", "bad_time")
        with self._locks.hold("equipment_item", item_id):
            item, ver = self.repo.get("equipment_item", item_id, EquipmentItem)
            act = next((a for a in item.activities if a.name == activity), None)
            if act is None:
                raise GuardFailed(f"{item.kind} {item.id} has no activity {activity!r}", "unknown_activity")
            rules.record_done(act, at=at, by=actor.user_id, result=result, certificate=certificate)
            self._save(item, ver, actor.user_id, f"done:{activity}")
        self.push_calibration(item)
        return item

    def push_calibration(self, item: EquipmentItem) -> None:
        """Tell the live twin when a detector's calibration falls due (no-op without a twin)."""
        due = rules.calibration_due(item)
        if self.state is not None and due is not None and item.target_id in self.plant.sensors:
            self.state.set_calibration_due(item.target_id, due.timestamp())

    def push_all(self) -> None:
        """Push every detector's calibration due date to the twin (on attach)."""
        for item in self.items():
            self.push_calibration(item)

    def run_due(self, now: datetime) -> dict[str, list[str]]:
        """Raise a hazard for each newly overdue activity (one per overdue period); returns their ids."""
        raised = []
        for it0 in self.repo.list("equipment_item", EquipmentItem, due_before=now, limit=100000):
            with self._locks.hold("equipment_item", it0.id):
                item, ver = self.repo.get("equipment_item", it0.id, EquipmentItem)
                changed = False
                for act in rules.overdue_activities(item, now):
                    if act.overdue_hazard_id:
                        continue
                    h = self.hazards.report_hazard(
                        SYSTEM, title=f"{item.name}: {act.name} overdue since {act.next_due_at.date()}"[:200],
                        category="equipment", level=self.field_pack.equipment.overdue_hazard_level, x=item.x, y=item.y,
                        description=f"equipment register {item.id} ({item.kind}); interval {act.interval_months} months; "
                                    + self.field_pack.equipment.activities(item.kind)[act.name].clause)
                    act.overdue_hazard_id = h.id
                    raised.append(h.id)
                    changed = True
                if changed:
                    self.repo.save("equipment_item", item, actor="system", action="overdue", expected_version=ver,
                                   subtype=item.kind, owner=item.target_id, now=now)
        return {"equipment_overdue_hazards": raised}
