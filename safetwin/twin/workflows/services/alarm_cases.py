"""Alarm cases: each alarm of the twin opens a case that operators acknowledge, act on and close.

A case is keyed by its alarm (``AC-<alarm id>``): a re-raised alarm refreshes its open case
(level, suspended permits); once closed, the next raise opens a new case
``AC-<alarm id>-<unix time>``.

Acknowledging a case acknowledges its alarm in the alarm engine too (ISA-18.2: an active alarm
becomes ACKED and still refuses work near it; one that returned to normal becomes NORMAL and
leaves the active list, which lifts its hold on starting and resuming permits). Without an
engine (``ctx.acknowledge_alarm`` unset) the TwinState's alarm is changed the same way.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import alarm_cases
from ..domain import AlarmCase
from ..errors import GuardFailed, NotFound
from ..roles import Actor
from .context import RecordService


class AlarmCaseService(RecordService):
    """Alarm cases of one site (see the module docstring)."""

    def record_alarm(self, ev: Any, now: datetime, suspended: list[str]) -> None:
        """Open or refresh the case of an ``AlarmRaised`` (``suspended``: permits it stopped)."""
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
        if action == "acknowledge":
            self._acknowledge_in_twin(c.alarm_id, actor.user_id, now)
        return c

    def _acknowledge_in_twin(self, alarm_id: str, by: str, now: datetime) -> None:
        if self.ctx.acknowledge_alarm is not None:
            self.ctx.acknowledge_alarm(alarm_id, by)
            return
        state = self.state
        if state is None:
            return
        live = next((a for a in state.active_alarms() if a.alarm_id == alarm_id), None)
        if live is None:
            return
        if live.returned:
            state.clear_alarm(alarm_id, now.timestamp())
        else:
            state.set_alarm_acknowledged(alarm_id, True)
