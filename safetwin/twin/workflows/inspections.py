"""Inspection rounds (巡检/点检) as plain rules (no I/O): schedules, scans, RTLS evidence, completion.

A route's rounds fall due every ``interval_h`` hours from ``first_due_at``; a round is
``scheduled → in_progress`` (its first scan starts it) ``→ completed``, or ``missed`` when nobody
started it by its deadline (due time + grace). Each scan names a checkpoint by the code on its
label; the checklist answers are judged against the field pack (a failed check or a reading out of
its limits is a finding, which the service turns into a hazard).

**Evidence that the inspector was there.** A scan proves the code was read, not where: a code can
be photographed and read at a desk. So at completion the inspector's RTLS track (the fixes of
their tag from the round's start to its end, plus the live fix taken when a scan arrived) is held
against every checkpoint: a scanned checkpoint counts as *present* when a fix within
``evidence_window_min`` of its scan lies within the checkpoint's ``radius_m``. The round is
``rtls_verified`` only when every checkpoint was scanned and present; otherwise it is flagged
(``no_rtls_track``, ``not_at:<checkpoint>``, ``skipped:<checkpoint>``, ``late``).

Example::

    >>> import numpy as np
    >>> from datetime import datetime, timezone
    >>> t = datetime(2025, 6, 2, 8, tzinfo=timezone.utc)
    >>> cps = {"CP-1": (0.0, 0.0, 15.0), "CP-2": (100.0, 0.0, 15.0)}       # x, y, radius (m)
    >>> scans = {"CP-1": t.timestamp(), "CP-2": t.timestamp() + 300}
    >>> track = (np.array([t.timestamp(), t.timestamp() + 300]), np.array([3.0, 40.0]), np.array([0.0, 0.0]))
    >>> [(e.checkpoint_id, e.present, e.min_distance_m) for e in evidence(cps, scans, track, window_s=600)]
    [('CP-1', True, 3.0), ('CP-2', False, 60.0)]
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np

from .errors import Forbidden, GuardFailed, InvalidTransition
from .field_domain import Answer, Checkpoint, Evidence, InspectionRound, InspectionRoute, Scan
from .fieldpack import ChecklistItem, FieldPack
from .roles import Actor

OPEN_STATES = frozenset({"scheduled", "in_progress"})
#: a track: fix times (s since the epoch), x and y (local m), as numpy arrays of one length
Track = tuple[np.ndarray, np.ndarray, np.ndarray]
EMPTY_TRACK: Track = (np.empty(0), np.empty(0), np.empty(0))


def round_id(route_id: str, due_at: datetime) -> str:
    """The id of a route's round due at ``due_at`` — one id per (route, due time), so generating
    the schedule twice makes no second round."""
    digest = hashlib.sha256(f"{route_id}|{due_at.isoformat()}".encode()).hexdigest()[:10].upper()
    return f"RND-{due_at:%Y%m%d%H%M}-{digest}"


def due_times(route: InspectionRoute, after: datetime, until: datetime) -> list[datetime]:
    """Due times of ``route`` in (``after``, ``until``] (every ``interval_h`` from ``first_due_at``)."""
    step = timedelta(hours=route.interval_h)
    if until < route.first_due_at:
        return []
    k0 = max(0, math.floor((after - route.first_due_at) / step) + 1)
    out = []
    t = route.first_due_at + k0 * step
    while t <= until:
        if t > after:
            out.append(t)
        t += step
    return out


def new_round(route: InspectionRoute, due_at: datetime, *, site_id: str, now: datetime) -> InspectionRound:
    """The scheduled round of ``route`` due at ``due_at``."""
    return InspectionRound(id=round_id(route.id, due_at), site_id=site_id, state="scheduled", created_at=now,
                           created_by="system", route_id=route.id, route_name=route.name,
                           checkpoint_ids=list(route.checkpoint_ids), due_at=due_at,
                           deadline=due_at + timedelta(minutes=route.grace_min), role=route.role,
                           assignee=route.assignee)


def _may_walk(r: InspectionRound, actor: Actor) -> None:
    if r.assignee and actor.user_id != r.assignee and not actor.has("admin"):
        raise Forbidden(f"round {r.id} is assigned to {r.assignee}", "not_assignee")
    if not r.assignee:
        actor.require(r.role, "safety_engineer", action=f"walk round {r.id} (route {r.route_name})")
    if r.inspector and r.inspector != actor.user_id:
        raise Forbidden(f"round {r.id} is being walked by {r.inspector}", "not_inspector")


def start(r: InspectionRound, actor: Actor, now: datetime, rtls_id: str) -> InspectionRound:
    """scheduled → in_progress by the inspector (``rtls_id``: the twin's person id of their tag)."""
    if r.state != "scheduled":
        raise InvalidTransition(f"round {r.id}: cannot start in state {r.state!r}", "invalid_transition")
    _may_walk(r, actor)
    r.inspector, r.rtls_id, r.started_at, r.state = actor.user_id, rtls_id, now, "in_progress"
    return r


def judge_answers(items: Sequence[ChecklistItem], answers: Sequence[Answer]) -> list[str]:
    """Check the answers against the checklist; returns the findings (one line each).

    Every item must be answered: a check with ``ok``, a reading with a finite ``value``; a failed
    check or a reading outside [min, max] is a finding. :class:`GuardFailed` on a missing,
    unknown or ill-typed answer.
    """
    by_id = {a.item_id: a for a in answers}
    unknown = sorted(set(by_id) - {i.id for i in items})
    if unknown:
        raise GuardFailed(f"unknown checklist items {unknown}", "bad_answer")
    findings = []
    for item in items:
        a = by_id.get(item.id)
        if a is None:
            raise GuardFailed(f"checklist item {item.id} ({item.text.en}) not answered", "incomplete")
        if item.kind == "check":
            if a.ok is None:
                raise GuardFailed(f"checklist item {item.id} needs ok true/false", "bad_answer")
            if not a.ok:
                findings.append(f"{item.text.en}: not OK" + (f" ({a.note})" if a.note else ""))
        else:
            if a.value is None or not math.isfinite(a.value):
                raise GuardFailed(f"checklist item {item.id} needs a reading in {item.unit}", "bad_answer")
            assert item.min is not None and item.max is not None
            if not item.min <= a.value <= item.max:
                findings.append(f"{item.text.en}: {a.value:g} {item.unit} outside {item.min:g}-{item.max:g}")
    return findings


def add_scan(r: InspectionRound, actor: Actor, checkpoint: Checkpoint, scan: Scan, pack: FieldPack,
             now: datetime) -> list[str]:
    """Record a scan on an open round (the first scan starts a scheduled round); returns the findings.

    The code must be the checkpoint's and the checkpoint on the route; answers are judged
    (:func:`judge_answers`). A scan whose ``client_key`` is already recorded changes nothing
    (returns no findings): a capture synced twice counts once.
    """
    if any(s.client_key == scan.client_key for s in r.scans):
        return []
    if r.state not in OPEN_STATES:
        raise InvalidTransition(f"round {r.id} is {r.state}; scans are taken on scheduled or started rounds",
                                "invalid_transition")
    if checkpoint.id not in r.checkpoint_ids:
        raise GuardFailed(f"checkpoint {checkpoint.id} ({checkpoint.name}) is not on route {r.route_name}",
                          "wrong_checkpoint")
    if scan.code.strip() != checkpoint.code:
        raise GuardFailed(f"code {scan.code!r} is not the code of checkpoint {checkpoint.id}", "wrong_code")
    if scan.scanned_at > now + timedelta(minutes=2):
        raise GuardFailed("scanned_at is in the future", "bad_time")
    if r.started_at is not None and scan.scanned_at < r.started_at - timedelta(minutes=1):
        raise GuardFailed(f"scanned_at {scan.scanned_at.isoformat()} is before the round started", "bad_time")
    _may_walk(r, actor)
    findings = judge_answers(pack.checklist(checkpoint.checklist), scan.answers)
    if r.state == "scheduled":
        r.state, r.inspector, r.started_at = "in_progress", actor.user_id, min(scan.scanned_at, now)
    r.scans.append(scan)
    return findings


def evidence(checkpoints: Mapping[str, tuple[float, float, float]], scans: Mapping[str, float], track: Track, *,
             window_s: float) -> list[Evidence]:
    """RTLS evidence per checkpoint (vectorised over checkpoints × fixes).

    ``checkpoints``: id → (x, y, radius) in local m; ``scans``: id → scan time (s since the epoch)
    of the checkpoints scanned; ``track``: the inspector's fixes. A scanned checkpoint is present
    when a fix within ``window_s`` of its scan lies within its radius; an unscanned one is never
    present. ``min_distance_m``: the closest fix in that window (None without one).
    """
    ids = list(checkpoints)
    ts, x, y = (np.asarray(a, dtype=float) for a in track)
    xyr = np.array([checkpoints[i] for i in ids], dtype=float).reshape(-1, 3)
    t_scan = np.array([scans.get(i, np.nan) for i in ids], dtype=float)
    dist = np.hypot(x[None, :] - xyr[:, :1], y[None, :] - xyr[:, 1:2])            # (checkpoints, fixes)
    in_window = np.abs(ts[None, :] - t_scan[:, None]) <= window_s                # NaN scan time → False
    masked = np.where(in_window, dist, np.inf)
    closest = masked.min(axis=1) if ts.size else np.full(len(ids), np.inf)
    fixes = in_window.sum(axis=1)
    out = []
    for k, cid in enumerate(ids):
        d = float(closest[k])
        out.append(Evidence(checkpoint_id=cid, scanned=cid in scans, present=bool(cid in scans and d <= xyr[k, 2]),
                            min_distance_m=round(d, 1) if math.isfinite(d) else None, fixes=int(fixes[k])))
    return out


def complete(r: InspectionRound, actor: Actor, now: datetime, checkpoints: Mapping[str, Checkpoint], track: Track,
             pack: FieldPack) -> InspectionRound:
    """in_progress → completed: judge the RTLS evidence and set the flags (see the module docstring)."""
    if r.state != "in_progress":
        raise InvalidTransition(f"round {r.id}: cannot complete in state {r.state!r}", "invalid_transition")
    _may_walk(r, actor)
    r.completed_at = now
    r.state = "completed"
    judge_evidence(r, checkpoints, track, pack)
    return r


def judge_evidence(r: InspectionRound, checkpoints: Mapping[str, Checkpoint], track: Track,
                   pack: FieldPack) -> InspectionRound:
    """(Re-)judge a completed round's RTLS evidence and flags from ``track`` (idempotent)."""
    last_scan: dict[str, float] = {}
    for s in r.scans:
        last_scan[s.checkpoint_id] = s.scanned_at.timestamp()
    cps = {cid: (checkpoints[cid].x, checkpoints[cid].y, checkpoints[cid].radius_m) for cid in r.checkpoint_ids}
    live = np.array([s.live_fix for s in r.scans if s.live_fix is not None], dtype=float).reshape(-1, 3)
    if live.size:   # the live fixes taken as scans arrived count like stored fixes
        track = (np.concatenate([track[0], live[:, 2]]), np.concatenate([track[1], live[:, 0]]),
                 np.concatenate([track[2], live[:, 1]]))
    r.evidence = evidence(cps, last_scan, track, window_s=60.0 * pack.rounds.evidence_window_min)
    flags = []
    if r.completed_at is not None and r.completed_at > r.deadline:
        r.late = True
        flags.append("late")
    if not any(e.fixes for e in r.evidence):
        flags.append("no_rtls_track")
    flags += [f"skipped:{e.checkpoint_id}" for e in r.evidence if not e.scanned]
    flags += [f"not_at:{e.checkpoint_id}" for e in r.evidence if e.scanned and not e.present]
    r.flags = flags
    r.rtls_verified = all(e.scanned and e.present for e in r.evidence)
    return r


def overdue(r: InspectionRound, now: datetime) -> str | None:
    """What the deadline means for an open round at ``now``: ``missed`` (never started), ``late``
    (started, not completed; flagged once), or None."""
    if r.state not in OPEN_STATES or now <= r.deadline:
        return None
    if r.state == "scheduled":
        r.state = "missed"
        r.flags = [*r.flags, "missed"]
        return "missed"
    if not r.late:
        r.late = True
        r.flags = [*r.flags, "late"]
        return "late"
    return None
