"""Hazard (隐患) closed loop as plain rules.

``reported → confirmed → (major: plan_pending → ) assigned → rectifying ⇄ extension_pending →
pending_verification → verified → closed``; ``reported → invalid``; failed verification goes back
to ``rectifying``; an assigned hazard can be *reassigned* (to ``assigned`` again, the new
rectifier must accept), so no hazard waits forever on a person who cannot act. Overdue is
derived (now > deadline while open) and escalates one management layer per ``escalate_every``
of lateness. 重大 (major) hazards need the 五定 plan.

Repeats compare like with like: a hazard repeats an earlier one of the same category found within
the window and the radius — and, when both name a piece of equipment, on the same equipment. Only
hazards about people or management (:data:`AREA_WIDE_CATEGORIES`) also repeat across their whole
plant area; two equipment hazards in one unit are not a repeat of each other.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from .domain import Extension, FiveFixes, Hazard, StateChange
from .errors import Forbidden, GuardFailed, InvalidTransition
from .roles import Actor

OPEN_STATES = frozenset({"reported", "confirmed", "plan_pending", "assigned", "rectifying", "extension_pending",
                         "pending_verification"})
#: default rectification deadline by level (configurable per site via the service)
DEFAULT_SLA = {"general": timedelta(days=7), "major": timedelta(days=30)}
#: escalation layers, lowest first (班组 → 车间 → 公司)
LAYERS = ("team", "workshop", "company")
#: a hazard keeps the ids of at most this many earlier repeats (and counts all of them)
MAX_REPEAT_IDS = 10
#: categories whose repeats count anywhere in the same plant area (behaviour and organisation, not an object)
AREA_WIDE_CATEGORIES = frozenset({"person", "management"})
#: roles a rectifier may hold (whoever is given a hazard must be able to act on it)
RECTIFIER_ROLES = ("worker", "operator", "approver", "safety_engineer", "manager")
#: states from which a hazard can be handed to another rectifier
REASSIGNABLE = ("assigned", "rectifying", "extension_pending")


def _move(h: Hazard, actor: Actor, action: str, to: str, now: datetime, reason: str = "") -> Hazard:
    h.history.append(StateChange(at=now, by=actor.user_id, action=action, from_state=h.state, to_state=to,
                                 reason=reason))
    h.state = to
    return h


def _expect(h: Hazard, action: str, *states: str) -> None:
    if h.state not in states:
        raise InvalidTransition(f"hazard {h.id}: cannot {action} in state {h.state!r} (allowed from {list(states)})",
                                "invalid_transition")


def repeats(h: Hazard, others: Iterable[Any], within_days: float = 90, radius_m: float = 20) -> list[str]:
    """Ids of earlier hazards that ``h`` repeats (see the module docstring): same category, reported
    within ``within_days`` days, ≤ ``radius_m`` m apart (or in the same area for
    :data:`AREA_WIDE_CATEGORIES`), on the same equipment when both name one. ``others`` are
    hazards or anything with their fields (id, category, state, created_at, x, y, area_id,
    equipment_id)."""
    out = []
    for o in others:
        if o.id == h.id or o.category != h.category or o.state == "invalid":
            continue
        if abs((h.created_at - o.created_at).total_seconds()) > within_days * 86400:
            continue
        if h.equipment_id and getattr(o, "equipment_id", None) and h.equipment_id != o.equipment_id:
            continue
        near = ((h.x - o.x) ** 2 + (h.y - o.y) ** 2) ** 0.5 <= radius_m
        same_area = h.category in AREA_WIDE_CATEGORIES and h.area_id is not None and h.area_id == o.area_id
        if near or same_area:
            out.append(o.id)
    return out


def confirm(h: Hazard, actor: Actor, now: datetime, level: str | None = None) -> Hazard:
    """reported → confirmed (and graded), by a safety engineer."""
    _expect(h, "confirm", "reported")
    actor.require("safety_engineer", "manager", action="confirm a hazard")
    if level:
        h.level = level  # type: ignore[assignment]
    return _move(h, actor, "confirm", "confirmed", now)


def invalidate(h: Hazard, actor: Actor, now: datetime, reason: str) -> Hazard:
    """reported → invalid (not a hazard / duplicate)."""
    _expect(h, "invalidate", "reported")
    actor.require("safety_engineer", "manager", action="reject a hazard report")
    return _move(h, actor, "invalidate", "invalid", now, reason)


def submit_plan(h: Hazard, actor: Actor, now: datetime, plan: FiveFixes) -> Hazard:
    """confirmed (major) → plan_pending with the 五定 plan."""
    _expect(h, "submit a plan", "confirmed")
    if h.level != "major":
        raise GuardFailed(f"hazard {h.id}: only 重大 hazards take a 五定 plan", "not_major")
    actor.require("safety_engineer", "manager", action="write a 五定 plan")
    h.plan = plan
    return _move(h, actor, "submit_plan", "plan_pending", now)


def assign(h: Hazard, actor: Actor, now: datetime, rectifier: str, deadline: datetime | None = None) -> Hazard:
    """confirmed (general) or plan_pending (major, approval of the plan by a manager) → assigned."""
    if h.level == "major":
        _expect(h, "assign", "plan_pending")
        actor.require("manager", action="approve a 重大 hazard plan")
        if h.plan is None:
            raise GuardFailed(f"hazard {h.id}: 重大 hazard needs its 五定 plan first", "no_plan")
        deadline = deadline or h.plan.deadline
    else:
        _expect(h, "assign", "confirmed")
        actor.require("safety_engineer", "manager", action="assign a hazard")
    if rectifier == h.reporter and h.level == "major":
        raise Forbidden("the reporter of a 重大 hazard may not rectify it alone", "segregation")
    h.rectifier = rectifier
    h.deadline = deadline or (now + DEFAULT_SLA[h.level])
    if h.deadline <= now:
        raise GuardFailed(f"hazard {h.id}: deadline must be in the future", "bad_deadline")
    return _move(h, actor, "assign", "assigned", now, f"to {rectifier} by {h.deadline.isoformat()}")


def reassign(h: Hazard, actor: Actor, now: datetime, rectifier: str, reason: str,
             deadline: datetime | None = None) -> Hazard:
    """assigned / rectifying / extension_pending → assigned to another rectifier, who must accept;
    by a safety engineer or manager (a 重大 hazard: a manager). A pending extension request lapses."""
    _expect(h, "reassign", *REASSIGNABLE)
    if h.level == "major":
        actor.require("manager", action="reassign a 重大 hazard")
    else:
        actor.require("safety_engineer", "manager", action="reassign a hazard")
    if rectifier == h.rectifier:
        raise GuardFailed(f"hazard {h.id} is already assigned to {rectifier}", "same_rectifier")
    if not reason.strip():
        raise GuardFailed("a reassignment needs a reason", "no_reason")
    if h.state == "extension_pending":
        ext = h.extensions[-1]
        ext.decision, ext.decided_by = "denied", actor.user_id
    if deadline is not None:
        if deadline <= now:
            raise GuardFailed(f"hazard {h.id}: deadline must be in the future", "bad_deadline")
        h.deadline = deadline
    before, h.rectifier = h.rectifier, rectifier
    return _move(h, actor, "reassign", "assigned", now, f"from {before} to {rectifier}: {reason}")


def accept(h: Hazard, actor: Actor, now: datetime) -> Hazard:
    """assigned → rectifying, by the rectifier."""
    _expect(h, "accept", "assigned")
    if actor.user_id != h.rectifier:
        raise Forbidden(f"only the rectifier {h.rectifier} may accept hazard {h.id}", "not_rectifier")
    return _move(h, actor, "accept", "rectifying", now)


def request_extension(h: Hazard, actor: Actor, now: datetime, new_deadline: datetime, reason: str) -> Hazard:
    """rectifying → extension_pending, by the rectifier."""
    _expect(h, "request an extension", "rectifying")
    if actor.user_id != h.rectifier:
        raise Forbidden("only the rectifier may request an extension", "not_rectifier")
    if h.deadline and new_deadline <= h.deadline:
        raise GuardFailed("an extension must move the deadline later", "bad_deadline")
    h.extensions.append(Extension(requested_by=actor.user_id, requested_at=now, new_deadline=new_deadline,
                                  reason=reason))
    return _move(h, actor, "request_extension", "extension_pending", now, reason)


def decide_extension(h: Hazard, actor: Actor, now: datetime, approve: bool) -> Hazard:
    """extension_pending → rectifying, deadline moved when approved (not by the requester)."""
    _expect(h, "decide an extension", "extension_pending")
    actor.require("safety_engineer", "manager", action="decide an extension")
    ext = h.extensions[-1]
    if actor.user_id == ext.requested_by:
        raise Forbidden("nobody decides their own extension request", "own_approval")
    ext.decision, ext.decided_by = ("approved" if approve else "denied"), actor.user_id
    if approve:
        h.deadline = ext.new_deadline
    return _move(h, actor, "approve_extension" if approve else "deny_extension", "rectifying", now)


def submit_rectification(h: Hazard, actor: Actor, now: datetime, measures: str, evidence: list[str]) -> Hazard:
    """rectifying → pending_verification with measures and evidence (after-photos)."""
    _expect(h, "submit the rectification", "rectifying")
    if actor.user_id != h.rectifier:
        raise Forbidden("only the rectifier may submit the rectification", "not_rectifier")
    if not measures.strip() or not evidence:
        raise GuardFailed("rectification needs the measures taken and at least one piece of evidence", "no_evidence")
    h.measures_taken, h.evidence = measures, list(evidence)
    return _move(h, actor, "submit_rectification", "pending_verification", now)


def verify(h: Hazard, actor: Actor, now: datetime, ok: bool, note: str = "") -> Hazard:
    """pending_verification → verified or back to rectifying; never by the rectifier."""
    _expect(h, "verify", "pending_verification")
    if actor.user_id == h.rectifier:
        raise Forbidden(f"{actor.user_id} may not verify their own rectification", "own_approval")
    actor.require("safety_engineer", "manager", action="verify a rectification")
    h.verifier = actor.user_id
    return _move(h, actor, "verify" if ok else "verify_fail", "verified" if ok else "rectifying", now, note)


def close(h: Hazard, actor: Actor, now: datetime) -> Hazard:
    """verified → closed (销号)."""
    _expect(h, "close", "verified")
    actor.require("safety_engineer", "manager", action="close a hazard")
    if h.level == "major":
        actor.require("manager", action="close a 重大 hazard")
    h.closed_at = now
    return _move(h, actor, "close", "closed", now)


def overdue(h: Hazard, now: datetime) -> bool:
    """True when open past its deadline."""
    return h.state in OPEN_STATES and h.deadline is not None and now > h.deadline


def escalation_due(h: Hazard, now: datetime, every: timedelta = timedelta(days=1)) -> int:
    """The escalation layer index the hazard should be at (0 = none) given how late it is."""
    if not overdue(h, now):
        return 0
    assert h.deadline is not None
    return min(len(LAYERS), 1 + int((now - h.deadline) / every))
