"""Permit-to-work life cycle as plain rules (no I/O): each function checks guards, then mutates.

States: ``draft → submitted → approved → active ⇄ suspended → completed → closed``; ``submitted →
draft`` on rejection; ``cancelled`` from any non-terminal state; ``expired`` once the validity
of the pack (type and level) has passed. Every refusal raises a
:class:`~safetwin.twin.workflows.errors.WorkflowError` that says why.

Work stops in two ways, both to ``suspended``: the holder *pauses* it (an interruption, 作业中断),
or it is *suspended* for a cause (a gas or fire alarm, lost gas monitoring, an incident, the
guardian leaving, an abnormal plant). Resuming after a cause needs a passing gas test taken
after the stop (GB 30871-2022 5.2.6, 6.5); resuming after a pause needs one only when the pause
was longer than the pack's re-test gap (5.3.1 d: 30 min for 特级/一级, 60 min for 二级 hot work;
6.3 f: 60 min in a confined space), or — for hot work — on a new day (5.3.1 d). Jobs that need
continuous gas monitoring (5.3.1 d 特级 hot work, 6.5 confined space) start and resume only with
a working monitor. Hot work closes only after the fire watch has stayed its time and confirmed
that no embers remain (5.2.14).

People: the applicant, the holder (作业负责人, who starts, pauses, resumes and completes the job),
the workers, the guardian (监护人) and the fire watch (default: the guardian). The guardian and the
fire watch watch the job: they never apply for, work on, approve or start it (GB 30871 4.10).

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
from typing import Literal
from zoneinfo import ZoneInfo

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
#: the site's wind now: (speed m/s, or None when no current measurement; where it comes from / why not)
SiteWind = Callable[[], "tuple[float | None, str]"]


@dataclass
class PermitContext:
    """What the rules need from outside: the pack, the time, certificates, other permits, live alarms."""

    pack: RulePack
    now: datetime
    cert_check: CertCheck = lambda person, ctype, at: None
    others: Sequence[Permit] = field(default_factory=tuple)
    area_alarm: Callable[[Permit], str | None] = lambda p: None
    monitoring: Callable[[Permit], str | None] = lambda p: "no gas monitor is known to the rules"
    """None when a working continuous gas monitor covers the permit, else why not."""
    site_wind: SiteWind = lambda: (None, "no weather station")


def wind_check(p: Permit, pack: RulePack, wind_m_s: float | None, source: str) -> tuple[str | None, str]:
    """``(refusal, note)`` of the permit type's wind limit (the pack's ``wind_limit``): a refusal
    when the measured wind reaches it; without a current measurement, no refusal but a note for
    the record that the wind was not verified."""
    limit = pack.type_rule(p.type).wind_limit
    if limit is None:
        return None, ""
    if wind_m_s is None:
        return None, f"wind not verified by the weather station ({source}); limit {limit.max_m_s:g} m/s ({limit.clause})"
    if wind_m_s >= limit.max_m_s:
        return (f"wind {wind_m_s:.1f} m/s at the weather station >= {limit.max_m_s:g} m/s for {p.type} "
                f"({pack.id} {limit.clause}; {source})"), ""
    return None, ""

def new_permit(pack: RulePack, permit_id: str, site_id: str, permit_type: str, level: str | None, title: str,
               work_polygon: list[tuple[float, float]], *, applicant: str, holder: str, planned_start: datetime,
               planned_end: datetime, now: datetime, guardian: str | None = None, workers: Sequence[str] = (),
               jha: str = "", activities: Sequence[str] = (), line_id: str | None = None,
               z_min_m: float = 0.0, z_max_m: float = 0.0, area_ids: Sequence[str] = (),
               simops_coordinator: str | None = None, fire_watch: str | None = None) -> Permit:
    """A new draft permit; the approval chain and validity come from the pack (type + level)."""
    lr = pack.level_rule(permit_type, level)
    return Permit(
        id=permit_id, site_id=site_id, state="draft", created_at=now, created_by=applicant,
        pack_id=pack.id, pack_version=pack.version, type=permit_type, level=level, title=title,
        work_polygon=[tuple(map(float, xy)) for xy in work_polygon], z_min_m=z_min_m, z_max_m=z_max_m,
        line_id=line_id, activities=list(activities), area_ids=list(area_ids), applicant=applicant, holder=holder,
        guardian=guardian, fire_watch=fire_watch, workers=list(workers) or [holder], jha=jha, planned_start=planned_start,
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
    for role, person in (("guardian", p.guardian), ("fire watch", p.fire_watch)):
        if person is not None and person in (p.holder, p.applicant, *p.workers):
            raise Forbidden(f"permit {p.id}: the {role} may not also work on or apply for the job (GB 30871 4.10)",
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
    watchers = [w for w in (p.guardian, p.fire_watch) if w]
    if actor.user_id in (p.applicant, p.holder, *p.workers, *watchers):
        raise Forbidden(f"{actor.user_id} may not approve permit {p.id}: applicant, holder, worker, guardian or "
                        "fire watch on it (segregation of duties; GB 30871 4.10, 4.11)", "own_approval")
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


def _check_gas(p: Permit, ctx: PermitContext, since: datetime | None, *, after: str = "",
               fresh_needed: bool = True) -> None:
    """The latest test of each needed kind (flammable/toxic; O2 where the type asks) must pass,
    be taken after ``since`` (when given; ``after`` says what happened then) and, with
    ``fresh_needed``, be at most the pack's max age old; hot work needs a test of the same day."""
    rule = ctx.pack.type_rule(p.type)
    if not rule.gas_test.required:
        return
    max_age = ctx.pack.gas_test.max_age_min
    needs = ["flammable/toxic"] + (["O2"] if rule.gas_test.oxygen else [])
    for kind in needs:
        covers = GasTest.covers_oxygen if kind == "O2" else GasTest.covers_other_than_oxygen
        tests = [t for t in p.gas_tests if covers(t) and (since is None or t.sampled_at >= since)]
        if not tests:
            when = f" taken after {after or 'the suspension'} at {since.isoformat()}" if since else ""
            raise GuardFailed(f"permit {p.id}: no {kind} gas test{when}", "no_gas_test")
        last = max(tests, key=lambda t: t.sampled_at)
        if not last.passed:
            raise GuardFailed(f"permit {p.id}: latest {kind} gas test failed: {last.reason}", "gas_test_failed")
        if fresh_needed and not gasrules.fresh(last.sampled_at, ctx.now, max_age):
            raise GuardFailed(f"permit {p.id}: latest {kind} gas test is stale (sampled {last.sampled_at.isoformat()}, "
                              f"older than {max_age:g} min)", "gas_test_stale")
        if rule.gas_test.daily:
            tz = ZoneInfo(ctx.pack.local_timezone)
            if last.sampled_at.astimezone(tz).date() != ctx.now.astimezone(tz).date():
                raise GuardFailed(f"permit {p.id}: a new day needs a new {kind} gas test before work "
                                  f"(GB 30871 5.3.1 d; last sampled {last.sampled_at.isoformat()})", "gas_test_stale")


def _check_monitoring(p: Permit, ctx: PermitContext) -> None:
    rule = ctx.pack.type_rule(p.type)
    if not rule.needs_continuous_monitoring(p.level):
        return
    why = ctx.monitoring(p)
    if why:
        cm = rule.gas_test.continuous
        clause = f" ({ctx.pack.id} {cm.clause})" if cm is not None and cm.clause else ""
        raise GuardFailed(f"permit {p.id}: {p.type}/{p.level or 'none'} needs continuous gas monitoring{clause}: "
                          f"{why}", "no_gas_monitoring")


def _check_holder(p: Permit, actor: Actor, action: str) -> None:
    if actor.user_id != p.holder:
        raise Forbidden(f"only the holder {p.holder} may {action} permit {p.id} (the guardian and the fire watch "
                        "watch the job, they do not run it: GB 30871 4.10)", "not_holder")


def start(p: Permit, actor: Actor, ctx: PermitContext) -> Permit:
    """approved → active, by the holder: inside the window, fresh passing gas test, gas monitoring
    where required, valid certificates, no SIMOPS 'N', no alarm at the work area."""
    _expect(p, "start", "approved")
    _check_holder(p, actor, "start")
    _check_validity(p, ctx.now, "start")
    if ctx.now < p.planned_start - timedelta(minutes=15):
        raise GuardFailed(f"permit {p.id}: work may not start before {p.planned_start.isoformat()}", "before_window")
    _check_gas(p, ctx, None)
    _check_monitoring(p, ctx)
    _check_certs(p, ctx, "start")
    p.simops_flags = _check_simops(p, ctx)
    alarm = ctx.area_alarm(p)
    if alarm:
        raise GuardFailed(f"permit {p.id}: live alarm in the work area: {alarm}", "area_alarm")
    note = _check_wind(p, ctx)
    p.started_at = ctx.now
    return _move(p, actor, "start", "active", ctx.now, note)


SUSPENDERS = ("guardian", "operator", "safety_engineer", "manager", "approver")


SuspensionKind = Literal["gas_alarm", "fire", "monitoring_lost", "incident", "weather", "manual"]


def suspend(p: Permit, actor: Actor, now: datetime, reason: str, kind: SuspensionKind = "manual") -> Permit:
    """active → suspended for a cause (gas or fire alarm, lost monitoring, incident, guardian leaving,
    weather, abnormal plant); resuming then needs a new passing gas test."""
    _expect(p, "suspend", "active")
    if actor.user_id not in (p.holder, p.guardian, p.fire_watch):
        actor.require(*SUSPENDERS, action=f"suspend permit {p.id}")
    p.suspended_at, p.suspension_kind = now, kind
    return _move(p, actor, "suspend", "suspended", now, reason)


def pause(p: Permit, actor: Actor, now: datetime, reason: str) -> Permit:
    """active → suspended as an interruption of the work (break, waiting for parts), by the holder."""
    _expect(p, "pause", "active")
    _check_holder(p, actor, "pause")
    p.suspended_at, p.suspension_kind = now, "pause"
    return _move(p, actor, "pause", "suspended", now, reason or "interruption")


def resume(p: Permit, actor: Actor, ctx: PermitContext) -> Permit:
    """suspended → active, by the holder: within validity; a passing gas test taken after a stop for
    a cause, or after a pause longer than the re-test gap (else the last test still holds); gas
    monitoring where required; certificates; no alarm at the work area."""
    _expect(p, "resume", "suspended")
    _check_holder(p, actor, "resume")
    _check_validity(p, ctx.now, "resume")
    rule = ctx.pack.type_rule(p.type)
    since = p.suspended_at
    if p.suspension_kind == "pause" and since is not None:
        gap = rule.retest_gap_min(p.level)
        paused_min = (ctx.now - since).total_seconds() / 60
        if paused_min > gap:
            clause = f", {ctx.pack.id} {rule.gas_test.retest_clause}" if rule.gas_test.retest_clause else ""
            _check_gas(p, ctx, since, after=f"an interruption of {paused_min:.0f} min (> {gap:g} min for "
                                            f"{p.type}/{p.level or 'none'}{clause}) that began")
        else:
            _check_gas(p, ctx, None, fresh_needed=False)
    else:
        _check_gas(p, ctx, since)
    _check_monitoring(p, ctx)
    _check_certs(p, ctx, "resume")
    alarm = ctx.area_alarm(p)
    if alarm:
        raise GuardFailed(f"permit {p.id}: live alarm in the work area: {alarm}", "area_alarm")
    note = _check_wind(p, ctx)
    p.suspended_at, p.suspension_kind = None, None
    return _move(p, actor, "resume", "active", ctx.now, note)


def _check_wind(p: Permit, ctx: PermitContext) -> str:
    """Refuse work the wind forbids (:func:`wind_check`); the note when the wind is not verified."""
    refusal, note = wind_check(p, ctx.pack, *ctx.site_wind())
    if refusal:
        raise GuardFailed(f"permit {p.id}: {refusal}", "wind_limit")
    return note


def complete(p: Permit, actor: Actor, now: datetime) -> Permit:
    """active → completed, by the holder (the fire watch, where the type has one, begins now)."""
    _expect(p, "complete", "active")
    _check_holder(p, actor, "complete")
    p.completed_at = now
    return _move(p, actor, "complete", "completed", now)


def clear_fire_watch(p: Permit, actor: Actor, ctx: PermitContext, note: str = "") -> Permit:
    """The fire watch confirms, once its time after completion is over, that no embers remain
    (GB 30871 5.2.14; OSHA 1910.252(a)(2)(iii)(B)): by the fire watch (default: the guardian)."""
    _expect(p, "end the fire watch", "completed")
    rule = ctx.pack.type_rule(p.type)
    if not rule.fire_watch_after_min:
        raise GuardFailed(f"permit {p.id}: {p.type} has no fire watch in {ctx.pack.id}", "no_fire_watch")
    if actor.user_id != p.fire_watcher:
        raise Forbidden(f"only the fire watch {p.fire_watcher} may end the fire watch of permit {p.id}", "not_fire_watch")
    ends = (p.completed_at or ctx.now) + timedelta(minutes=rule.fire_watch_after_min)
    if ctx.now < ends:
        raise GuardFailed(f"permit {p.id}: the fire watch lasts {rule.fire_watch_after_min:g} min after completion "
                          f"({ctx.pack.id} {rule.fire_watch_clause}); it ends at {ends.isoformat()}", "fire_watch")
    p.fire_watch_cleared_at, p.fire_watch_cleared_by = ctx.now, actor.user_id
    p.history.append(StateChange(at=ctx.now, by=actor.user_id, action="fire_watch_done", from_state=p.state,
                                 to_state=p.state, reason=note or "no embers remain"))
    return p


def close(p: Permit, actor: Actor, ctx: PermitContext, note: str = "") -> Permit:
    """completed → closed: acceptance (完工验收) by an approver who is not on the job; fire watch elapsed."""
    _expect(p, "close", "completed")
    if actor.user_id in (p.applicant, p.holder, *p.workers):
        raise Forbidden(f"{actor.user_id} may not accept their own work on permit {p.id}", "own_approval")
    actor.require("approver", "safety_engineer", action=f"accept permit {p.id}")
    rule = ctx.pack.type_rule(p.type)
    if rule.fire_watch_after_min and p.fire_watch_cleared_at is None:
        raise GuardFailed(f"permit {p.id}: the fire watch ({rule.fire_watch_after_min:g} min after completion, "
                          f"{ctx.pack.id} {rule.fire_watch_clause}) has not confirmed that no embers remain",
                          "fire_watch")
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
