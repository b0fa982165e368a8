"""Alarm handling life cycle: raised → acknowledged → handled (actions recorded) → closed (review note)."""
from __future__ import annotations

from datetime import datetime

from .domain import AlarmAction, AlarmCase
from .errors import GuardFailed, InvalidTransition
from .roles import Actor

HANDLERS = ("operator", "safety_engineer", "manager")


def _expect(c: AlarmCase, action: str, *states: str) -> None:
    if c.state not in states:
        raise InvalidTransition(f"alarm case {c.id}: cannot {action} in state {c.state!r} (allowed from {list(states)})",
                                "invalid_transition")


def acknowledge(c: AlarmCase, actor: Actor, now: datetime) -> AlarmCase:
    """raised → acknowledged."""
    _expect(c, "acknowledge", "raised")
    actor.require(*HANDLERS, action="acknowledge an alarm")
    c.acknowledged_by, c.acknowledged_at, c.state = actor.user_id, now, "acknowledged"
    return c


def record_action(c: AlarmCase, actor: Actor, now: datetime, action: str) -> AlarmCase:
    """acknowledged/handled → handled, appending an action taken."""
    _expect(c, "record an action", "acknowledged", "handled")
    actor.require(*HANDLERS, action="handle an alarm")
    if not action.strip():
        raise GuardFailed("describe the action taken", "no_action")
    c.actions.append(AlarmAction(at=now, by=actor.user_id, action=action))
    c.state = "handled"
    return c


def close(c: AlarmCase, actor: Actor, now: datetime, review_note: str) -> AlarmCase:
    """handled → closed with a review note."""
    _expect(c, "close", "handled")
    actor.require("operator", "safety_engineer", "manager", action="close an alarm case")
    if not review_note.strip():
        raise GuardFailed("closing an alarm case needs a review note", "no_review")
    c.review_note, c.closed_by, c.closed_at, c.state = review_note, actor.user_id, now, "closed"
    return c
