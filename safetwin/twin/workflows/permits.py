"""Permit-to-work life cycle as plain rules (no I/O): each function checks guards, then mutates.

States: ``draft → submitted → approved → active ⇄ suspended → completed → closed``; ``submitted →
draft`` on rejection; ``cancelled`` from any non-terminal state; ``expired`` once the validity
of the pack (type and level) has passed. Every refusal raises a
:class:`~safetwin.twin.workflows.errors.WorkflowError` that says why.

Example (see ``tests/workflows/test_permits.py`` for every transition)::

    >>> from datetime import datetime, timezone
    >>> from .rulepack import load_pack
    >>> t = datetime(2025, 6, 1, 8, tzinfo=timezone.utc)
    >>> p = new_permit(load_pack("gb30871_2022"), "PTW-1", "site", "hot_work", "second", "weld flange",
    ...                [(0, 0), (5, 0), (5, 5)], applicant="ann", holder="bob", guardian="gus",
    ...                planned_start=t, planned_end=t.replace(hour=16), now=t, jha="sparks; cover drains")
    >>> p.state, p.chain
    ('draft', ['approver', 'operator'])
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from safetwin.substances import is_oxygen

from . import gas as gasrules
from . import simops
from .domain import Approval, GasTest, Permit, StateChange
from .errors import Forbidden, GuardFailed, InvalidTransition
from .roles import Actor
from .rulepack import RulePack

STATES: tuple[str, ...] = ("draft", "submitted", "approved", "active", "suspended", "completed", "closed",
                           "cancelled", "expired")
TERMINAL = frozenset({"closed", "cancelled", "expired"})
#: States in which the permit's validity clock matters.
VALIDITY_STATES = frozenset({"approved", "active", "suspended"})

#: cert check: (person_id, cert_type, at) -> None when valid, else the reason
CertCheck = Callable[[str, str, datetime], "str | None"]


@dataclass
class PermitContext:
    """What the rules need from outside: the pack, the time, certificates, other permits, live alarms."""

    pack: RulePack
    now: datetime
    cert_check: CertCheck = lambda person, ctype, at: None
    others: Sequence[Permit] = field(default_factory=tuple)
    area_alarm: Callable[[Permit], str | None] = lambda p: None


def new_permit(pack: RulePack, permit_id: str, site_id: str, permit_type: str, level: str | None, title: str,
               work_polygon: list[tuple[float, float]], *, applicant: str, holder: str, planned_start: datetime,
               planned_end: datetime, now: datetime, guardian: str | None = None, workers: Sequence[str] = (),
               jha: str = "", activities: Sequence[str] = (), line_id: str | None = None,
               z_min_m: float = 0.0, z_max_m: float = 0.0, area_ids: Sequence[str] = (),
               simops_coordinator: str | None = None) -> Permit:
    """A new draft permit; the approval chain and validity come from the pack (type + level)."""
    lr = pack.level_rule(permit_type, level)
    return Permit(
        id=permit_id, site_id=site_id, state="draft", created_at=now, created_by=applicant,
        pack_id=pack.id, pack_version=pack.version, type=permit_type, level=level, title=title,
        work_polygon=[tuple(map(float, xy)) for xy in work_polygon], z_min_m=z_min_m, z_max_m=z_max_m,
        line_id=line_id, activities=list(activities), area_ids=list(area_ids), applicant=applicant, holder=holder,
        guardian=guardian, workers=list(workers) or [holder], jha=jha, planned_start=planned_start,
        planned_end=planned_end, chain=list(lr.chain), simops_coordinator=simops_coordinator,
    )


def _move(p: Permit, actor: Actor, action: str, to: str, now: datetime, reason: str = "") -> Permit:
    p.history.append(StateChange(at=now, by=actor.user_id, action=action, from_state=p.state, to_state=to, reason=reason))
    p.state = to
    return p


def _expect(p: Permit, action: str, *states: str) -> None:
    if p.state not in states:
        raise InvalidTransition(f"permit {p.id}: cannot {action} in state {p.state!r} (allowed from {list(states)})",
                                "invalid_transition")


def _check_validity(p: Permit, now: datetime, action: str) -> None:
    if p.valid_until is not None and now > p.valid_until:
        raise GuardFailed(f"permit {p.id} is past its validity ({p.valid_until.isoformat()}); cannot {action}; "
                          "re-issue a new permit (GB 30871 4.16)", "past_validity")


def _check_certs(p: Permit, ctx: PermitContext, when: str) -> None:
    rule = ctx.pack.type_rule(p.type)
    problems = []
    for w in p.workers:
        for ct in rule.worker_certs:
            why = ctx.cert_check(w, ct, ctx.now)
            if why:
                problems.append(f"worker {w}: {why}")
    if rule.guardian.required:
        if not p.guardian:
            problems.append("no guardian named (GB 30871 4.10)")
        elif rule.guardian.cert:
            why = ctx.cert_check(p.guardian, rule.guardian.cert, ctx.now)
            if why:
                problems.append(f"guardian {p.guardian}: {why}")
    if problems:
        raise GuardFailed(f"permit {p.id}: certificate check at {when} failed: " + "; ".join(problems), "certificate")


def _check_simops(p: Permit, ctx: PermitContext) -> list[str]:
    found = simops.conflicts(ctx.pack, p, ctx.others)
    hard = [c for c in found if c.code == "N"]
    if hard:
        raise GuardFailed(f"permit {p.id}: SIMOPS conflict: " + "; ".join(map(str, hard)), "simops_conflict")
    soft = [str(c) for c in found]
    if soft and not p.simops_coordinator:
        raise GuardFailed(f"permit {p.id}: restricted SIMOPS ({'; '.join(soft)}) needs a named SIMOPS coordinator "
                          "(GB 30871 4.7)", "simops_restricted")
    return soft


def submit(p: Permit, actor: Actor, ctx: PermitContext) -> Permit:
    """draft → submitted, by the applicant: JHA, window within validity, guardian, SIMOPS."""
    _expect(p, "submit", "draft")
    if actor.user_id != p.applicant:
        raise Forbidden(f"only the applicant {p.applicant} may submit permit {p.id}", "not_applicant")
    actor.require("applicant", action="submit a permit")
    if not p.jha.strip():
        raise GuardFailed(f"permit {p.id}: a job hazard analysis (风险辨识结果) is required (GB 30871 4.1)", "no_jha")
    if p.planned_end <= p.planned_start:
        raise GuardFailed(f"permit {p.id}: planned end must be after planned start", "bad_window")
    validity = timedelta(hours=ctx.pack.level_rule(p.type, p.level).validity_h)
    if p.planned_end - p.planned_start > validity:
        raise GuardFailed(f"permit {p.id}: planned window {p.planned_end - p.planned_start} exceeds the validity "
                          f"{validity} of {p.type}/{p.level or 'none'} ({ctx.pack.id})", "window_exceeds_validity")
    if p.planned_end <= ctx.now:
        raise GuardFailed(f"permit {p.id}: planned window is already over", "past_validity")
    if ctx.pack.type_rule(p.type).guardian.required and not p.guardian:
        raise GuardFailed(f"permit {p.id}: {p.type} needs a guardian (监护人)", "no_guardian")
    if p.guardian in (p.holder, p.applicant, *p.workers):
        raise Forbidden(f"permit {p.id}: the guardian may not also work on or apply for the job (GB 30871 4.10)",
                        "guardian_conflict")
    p.simops_flags = _check_simops(p, ctx)
    p.valid_until = p.planned_end
    p.approvals = []
    return _move(p, actor, "submit", "submitted", ctx.now)


def approve(p: Permit, actor: Actor, ctx: PermitContext, note: str = "") -> Permit:
    """One step of the approval chain; never by the applicant, holder, or a signatory of an earlier step."""
    _expect(p, "approve", "submitted")
    _check_validity(p, ctx.now, "approve")
    step = len(p.approvals)
    role = p.chain[step]
    if actor.user_id in (p.applicant, p.holder, *p.workers):
        raise Forbidden(f"{actor.user_id} may not approve permit {p.id}: applicant, holder or worker on it "
                        "(segregation of duties)", "own_approval")
    if actor.user_id in {a.approver for a in p.approvals}:
        raise Forbidden(f"{actor.user_id} already signed an earlier step of permit {p.id}", "own_approval")
    actor.require(role, action=f"sign step {step + 1} ({role}) of permit {p.id}")
    _check_certs(p, ctx, "approval")
    last = step + 1 == len(p.chain)
    if last:
        p.simops_flags = _check_simops(p, ctx)
    p.approvals.append(Approval(step=step + 1, role=role, approver=actor.user_id, at=ctx.now, decision="approved",
                                note=note))
    if last:
        return _move(p, actor, "approve", "approved", ctx.now, note)
    p.history.append(StateChange(at=ctx.now, by=actor.user_id, action=f"approve step {step + 1}", from_state=p.state,
                                 to_state=p.state, reason=note))
    return p


def reject(p: Permit, actor: Actor, ctx: PermitContext, reason: str) -> Permit:
    """submitted → draft, by whoever may sign the current step; the signatures so far are void."""
    _expect(p, "reject", "submitted")
    role = p.chain[len(p.approvals)]
    if actor.user_id == p.applicant:
        raise Forbidden(f"the applicant may withdraw (cancel) but not reject permit {p.id}", "own_approval")
    actor.require(role, action=f"reject permit {p.id}")
    if not reason.strip():
        raise GuardFailed("a rejection needs a reason", "no_reason")
    p.approvals = []
    return _move(p, actor, "reject", "draft", ctx.now, reason)


def add_gas_test(p: Permit, test: GasTest) -> Permit:
    """Append a gas test (tests are never edited; a new one supersedes)."""
    _expect(p, "record a gas test", "submitted", "approved", "active", "suspended")
    p.gas_tests.append(test)
    return p


def _check_gas(p: Permit, ctx: PermitContext, since: datetime | None) -> None:
    rule = ctx.pack.type_rule(p.type)
    if not rule.gas_test.required:
        return
    max_age = ctx.pack.gas_test.max_age_min
    needs = ["flammable/toxic"] + (["O2"] if rule.gas_test.oxygen else [])
    for kind in needs:
        tests = [t for t in p.gas_tests if is_oxygen(t.gas) == (kind == "O2")]
        if since is not None:
            tests = [t for t in tests if t.sampled_at >= since]
        if not tests:
            after = f" taken after the suspension at {since.isoformat()}" if since else ""
            raise GuardFailed(f"permit {p.id}: no {kind} gas test{after}", "no_gas_test")
        last = max(tests, key=lambda t: t.sampled_at)
        if not last.passed:
            raise GuardFailed(f"permit {p.id}: latest {kind} gas test failed: {last.reason}", "gas_test_failed")
        if not gasrules.fresh(last.sampled_at, ctx.now, max_age):
            raise GuardFailed(f"permit {p.id}: latest {kind} gas test is stale (sampled {last.sampled_at.isoformat()}, "
                              f"older than {max_age:g} min)", "gas_test_stale")


def _check_starter(p: Permit, actor: Actor, action: str) -> None:
    if actor.user_id not in (p.holder, p.guardian) and not actor.has("admin"):
        raise Forbidden(f"only the holder {p.holder} or guardian {p.guardian} may {action} permit {p.id}", "not_holder")


def start(p: Permit, actor: Actor, ctx: PermitContext) -> Permit:
    """approved → active: inside the window, fresh passing gas test, valid certificates, no SIMOPS 'N'."""
    _expect(p, "start", "approved")
    _check_starter(p, actor, "start")
    _check_validity(p, ctx.now, "start")
    if ctx.now < p.planned_start - timedelta(minutes=15):
        raise GuardFailed(f"permit {p.id}: work may not start before {p.planned_start.isoformat()}", "before_window")
    _check_gas(p, ctx, None)
    _check_certs(p, ctx, "start")
    p.simops_flags = _check_simops(p, ctx)
    alarm = ctx.area_alarm(p)
    if alarm:
        raise GuardFailed(f"permit {p.id}: live alarm in the work area: {alarm}", "area_alarm")
    p.started_at = ctx.now
    return _move(p, actor, "start", "active", ctx.now)


SUSPENDERS = ("guardian", "operator", "safety_engineer", "manager", "approver")


def suspend(p: Permit, actor: Actor, now: datetime, reason: str) -> Permit:
    """active → suspended (gas alarm, incident, guardian leaving, weather, manual)."""
    _expect(p, "suspend", "active")
    if actor.user_id not in (p.holder, p.guardian):
        actor.require(*SUSPENDERS, action=f"suspend permit {p.id}")
    p.suspended_at = now
    return _move(p, actor, "suspend", "suspended", now, reason)


def resume(p: Permit, actor: Actor, ctx: PermitContext) -> Permit:
    """suspended → active: within validity, a passing gas test taken after the suspension, no live alarm."""
    _expect(p, "resume", "suspended")
    _check_starter(p, actor, "resume")
    _check_validity(p, ctx.now, "resume")
    _check_gas(p, ctx, p.suspended_at)
    _check_certs(p, ctx, "resume")
    alarm = ctx.area_alarm(p)
    if alarm:
        raise GuardFailed(f"permit {p.id}: live alarm in the work area: {alarm}", "area_alarm")
    p.suspended_at = None
    return _move(p, actor, "resume", "active", ctx.now)


def complete(p: Permit, actor: Actor, now: datetime) -> Permit:
    """active → completed, by the holder."""
    _expect(p, "complete", "active")
    _check_starter(p, actor, "complete")
    p.completed_at = now
    return _move(p, actor, "complete", "completed", now)


def close(p: Permit, actor: Actor, ctx: PermitContext, note: str = "") -> Permit:
    """completed → closed: acceptance (完工验收) by an approver who is not on the job; fire watch elapsed."""
    _expect(p, "close", "completed")
    if actor.user_id in (p.applicant, p.holder, *p.workers):
        raise Forbidden(f"{actor.user_id} may not accept their own work on permit {p.id}", "own_approval")
    actor.require("approver", "safety_engineer", action=f"accept permit {p.id}")
    watch = ctx.pack.type_rule(p.type).fire_watch_after_min
    if watch and p.completed_at and ctx.now < p.completed_at + timedelta(minutes=watch):
        raise GuardFailed(f"permit {p.id}: fire watch of {watch:g} min after completion not over", "fire_watch")
    p.closed_at = ctx.now
    return _move(p, actor, "close", "closed", ctx.now, note)


def cancel(p: Permit, actor: Actor, now: datetime, reason: str) -> Permit:
    """Any non-terminal state → cancelled; the applicant may withdraw a draft or submitted permit."""
    if p.state in TERMINAL or p.state == "completed":
        raise InvalidTransition(f"permit {p.id}: cannot cancel in state {p.state!r}", "invalid_transition")
    if not (actor.user_id == p.applicant and p.state in ("draft", "submitted")):
        actor.require("approver", "safety_engineer", "manager", "guardian", action=f"revoke permit {p.id}")
    return _move(p, actor, "cancel", "cancelled", now, reason)


def expire(p: Permit, actor: Actor, now: datetime) -> Permit:
    """approved/active/suspended → expired once past validity (run by the system clock)."""
    _expect(p, "expire", *VALIDITY_STATES)
    if p.valid_until is None or now <= p.valid_until:
        raise GuardFailed(f"permit {p.id} is still valid until {p.valid_until}", "still_valid")
    return _move(p, actor, "expire", "expired", now, "validity elapsed")
