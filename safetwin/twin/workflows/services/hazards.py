"""Hazards (隐患): reporting with repeat detection, the closed rectification loop, overdue escalation.

:class:`HazardService` applies the rules of :mod:`safetwin.twin.workflows.hazards` (confirm, 五定
plan, assign, accept, extend, rectify, verify, close) to stored hazards and notifies the
rectifier and reporter; overdue hazards climb one management layer per
``settings.hazard_escalate_every`` of lateness.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shapely.geometry import Point

from .. import hazards
from ..domain import FiveFixes, Hazard
from ..errors import GuardFailed
from ..notify import Notification
from ..roles import Actor
from .context import RecordService

#: an equipment hazard reported this close (m) to a piece of plant equipment is on it
EQUIPMENT_SNAP_M = 3.0


class HazardService(RecordService):
    """Hazards of one site (see the module docstring)."""

    def equipment_at(self, x: float, y: float) -> str | None:
        """The plant equipment nearest to (x, y) (local m) within :data:`EQUIPMENT_SNAP_M`, or None."""
        where = Point(x, y)
        best = min(((e.geometry.distance(where), eid) for eid, e in self.plant.equipment.items()), default=None)
        return best[1] if best is not None and best[0] <= EQUIPMENT_SNAP_M else None

    def report_hazard(self, actor: Actor, *, title: str, category: str, level: str, x: float, y: float,
                      description: str = "", photos: list[str] | None = None,
                      equipment_id: str | None = None, record_id: str | None = None) -> Hazard:
        """Report a hazard at (x, y) (local m); flags repeats of the same kind at the same place
        (:func:`hazards.repeats`: like with like). An equipment hazard is put on the plant equipment
        named, or on the one within :data:`EQUIPMENT_SNAP_M` of the point.

        The repeat candidates are found in SQL on the projection columns (category, creation
        time within ``hazard_repeat_days``, near, same equipment); :func:`hazards.repeats` decides.
        ``record_id`` (default: a new id) lets a caller make a report idempotent: a second report
        with the same id is refused with a version conflict.
        """
        if equipment_id is not None and equipment_id not in self.plant.equipment:
            raise GuardFailed(f"unknown equipment {equipment_id!r}", "bad_equipment")
        if equipment_id is None and category == "equipment":
            equipment_id = self.equipment_at(x, y)
        now = self.clock()
        h = Hazard(id=record_id or self.repo.new_id("HZ"), site_id=self.site_id, state="reported", created_at=now,
                   created_by=actor.user_id, title=title, description=description, category=category, level=level,
                   x=x, y=y, area_id=self.ctx.plant_area_of(x, y), equipment_id=equipment_id, photos=photos or [],
                   reporter=actor.user_id)
        days, radius = self.settings.hazard_repeat_days, self.settings.hazard_repeat_radius_m
        window = timedelta(days=days)
        area = h.area_id if category in hazards.AREA_WIDE_CATEGORIES else None
        spots, total = self.repo.spots("hazard", subtype=category, since=now - window, until=now,
                                       area_id=area, x=x, y=y, radius_m=radius, equipment_id=equipment_id,
                                       limit=hazards.MAX_REPEAT_IDS)
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
        any hazard otherwise to its area's owner — each only when that person is an active user who
        may rectify (else None)."""
        candidates = [h.plan.responsible] if h.level == "major" and h.plan is not None else []
        if h.area_id and h.area_id in self.plant.areas:
            candidates.append(getattr(self.plant.areas[h.area_id], "owner", None))
        return next((c for c in candidates if c and self._may_rectify(c)), None)

    def _may_rectify(self, user_id: str) -> bool:
        try:
            self.users.assignable(user_id, hazards.RECTIFIER_ROLES, "rectifier")
        except GuardFailed:
            return False
        return True

    def hazard_action(self, actor: Actor, hazard_id: str, action: str, **kw: Any) -> Hazard:
        """Apply one hazard action (confirm, invalidate, plan, assign, reassign, accept, extend,
        decide_extension, rectify, verify, close). Whoever is given the hazard must be an active user
        who may rectify (:data:`hazards.RECTIFIER_ROLES`)."""
        before: str | None = None
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
                    raise GuardFailed("no rectifier given and the area has no owner who may rectify", "no_rectifier")
                self.users.assignable(rect, hazards.RECTIFIER_ROLES, "rectifier")
                hazards.assign(h, actor, now, rect, kw.get("deadline"))
            elif action == "reassign":
                rect = kw.get("rectifier")
                if not rect:
                    raise GuardFailed("reassign needs the new rectifier", "no_rectifier")
                self.users.assignable(rect, hazards.RECTIFIER_ROLES, "rectifier")
                before = h.rectifier
                hazards.reassign(h, actor, now, rect, kw.get("reason", ""), kw.get("deadline"))
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
            extra = (before,) if action == "reassign" and before else ()
            self.notifier.send(Notification(tuple(dict.fromkeys((h.rectifier, h.reporter, *extra))), f"hazards/{h.id}",
                                            action, f"hazard {h.id}: {action} → {h.state}", self.site_id))
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
