"""Hazards (隐患): reporting with repeat detection, the closed rectification loop, overdue escalation.

:class:`HazardService` applies the rules of :mod:`safetwin.twin.workflows.hazards` (confirm, 五定
plan, assign, accept, extend, rectify, verify, close) to stored hazards and notifies the
rectifier and reporter; overdue hazards climb one management layer per
``settings.hazard_escalate_every`` of lateness.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .. import hazards
from ..domain import FiveFixes, Hazard
from ..errors import GuardFailed
from ..notify import Notification
from ..roles import Actor
from .context import RecordService


class HazardService(RecordService):
    """Hazards of one site (see the module docstring)."""

    def report_hazard(self, actor: Actor, *, title: str, category: str, level: str, x: float, y: float,
                      description: str = "", photos: list[str] | None = None) -> Hazard:
        """Report a hazard at (x, y) (local m); flags repeats of the same category at the same place.

        The repeat candidates are found in SQL on the projection columns (category, creation
        time within ``hazard_repeat_days``, same area or near); :func:`hazards.repeats` decides.
        """
        now = self.clock()
        h = Hazard(id=self.repo.new_id("HZ"), site_id=self.site_id, state="reported", created_at=now,
                   created_by=actor.user_id, title=title, description=description, category=category, level=level,
                   x=x, y=y, area_id=self.ctx.plant_area_of(x, y), photos=photos or [], reporter=actor.user_id)
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
