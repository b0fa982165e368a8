""""My tasks": what waits on one user now, whatever their roles, across every record type.

Each entry names the record, the action the user can take on it (the same action the API's
routes take) and, where there is one, when it is due. What counts, by record:

* permits — the applicant submits a draft; a signer whose role is the current approval step and
  who is not on the job (applicant, holder, worker, guardian, fire watch, earlier signer)
  approves; the holder starts, resumes, completes; the guardian guards an active job; the fire
  watch ends its watch once its time is over; an acceptor (approver, safety engineer) not on the
  job closes a completed one;
* hazards — safety engineers and managers confirm, plan, assign, decide extensions, verify (not
  their own rectification) and close; managers approve 重大 plans; the rectifier accepts and
  rectifies;
* alarm cases — operators, safety engineers and managers acknowledge, act and close;
* certificates — the holder renews one expiring within 90 days or expired;
* control tasks (管控任务) — the assignee checks, due at their next due time.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .. import alarm_cases, certificates, hazards, simops
from ..domain import AlarmCase, Certificate, Hazard, Permit, RiskUnit
from ..roles import Actor
from .context import RecordService

ACCEPTORS = ("approver", "safety_engineer")
HAZARD_STAFF = ("safety_engineer", "manager")


def _task(kind: str, rec: Any, action: str, why: str, due: datetime | None = None) -> dict[str, Any]:
    title = getattr(rec, "title", None) or getattr(rec, "name", None) or getattr(rec, "message", "") or ""
    return {"kind": kind, "id": rec.id, "action": action, "why": why, "state": rec.state, "title": str(title)[:200],
            "due_at": due.isoformat() if due is not None else None}


class TaskService(RecordService):
    """What waits on each user (see the module docstring)."""

    def my_tasks(self, actor: Actor, now: datetime | None = None) -> list[dict[str, Any]]:
        """The tasks waiting on ``actor`` now, the ones due soonest first."""
        now = now or self.clock()
        out = self._permit_tasks(actor, now) + self._hazard_tasks(actor) + self._alarm_tasks(actor)
        out += self._certificate_tasks(actor, now) + self._control_tasks(actor)
        far = "9999-12-31T00:00:00+00:00"
        return sorted(out, key=lambda t: (t["due_at"] or far, t["kind"], t["id"]))

    def _permit_tasks(self, a: Actor, now: datetime) -> list[dict[str, Any]]:
        me = a.user_id
        out = []
        states = list(simops.LIVE_STATES) + ["draft", "completed"]
        for p in self.repo.list_shared("permit", Permit, state=states):
            on_job = me in (p.applicant, p.holder, *p.workers, *(w for w in (p.guardian, p.fire_watch) if w))
            if p.state == "draft" and me == p.applicant:
                out.append(_task("permit", p, "submit", "you applied for it"))
            elif p.state == "submitted" and len(p.approvals) < len(p.chain):
                role = p.chain[len(p.approvals)]
                signed = {x.approver for x in p.approvals}
                if a.has(role) and not on_job and me not in signed:
                    out.append(_task("permit", p, "approve", f"step {len(p.approvals) + 1} needs a {role}",
                                     p.valid_until))
            elif me == p.holder and p.state in ("approved", "active", "suspended"):
                action = {"approved": "start", "active": "complete", "suspended": "resume"}[p.state]
                out.append(_task("permit", p, action, "you hold it", p.valid_until))
            if p.state == "active" and me == p.guardian:
                out.append(_task("permit", p, "guard", "you are its guardian: stay at the work", p.valid_until))
            if p.state == "completed":
                watch = self.pack.type_rule(p.type).fire_watch_after_min
                ends = (p.completed_at or now) + timedelta(minutes=watch)
                if watch and p.fire_watch_cleared_at is None:
                    if me == p.fire_watcher:
                        out.append(_task("permit", p, "fire_watch_done", f"keep the fire watch until {ends.isoformat()}",
                                         ends))
                elif a.has(*ACCEPTORS) and not on_job:
                    out.append(_task("permit", p, "close", "accept the finished work (完工验收)"))
        return out

    def _hazard_tasks(self, a: Actor) -> list[dict[str, Any]]:
        me = a.user_id
        staff = a.has(*HAZARD_STAFF)
        out = []
        for h in self.repo.list_shared("hazard", Hazard, state=[*hazards.OPEN_STATES, "verified"]):
            if me == h.rectifier and h.state in ("assigned", "rectifying"):
                action = "accept" if h.state == "assigned" else "rectify"
                out.append(_task("hazard", h, action, "you are its rectifier", h.deadline))
            if not staff:
                continue
            if h.state == "reported":
                out.append(_task("hazard", h, "confirm", "a new report to confirm and grade"))
            elif h.state == "confirmed":
                out.append(_task("hazard", h, "plan" if h.level == "major" else "assign", "confirmed, not assigned"))
            elif h.state == "plan_pending" and a.has("manager"):
                out.append(_task("hazard", h, "assign", "the 五定 plan awaits a manager's approval"))
            elif h.state == "extension_pending" and h.extensions and h.extensions[-1].requested_by != me:
                out.append(_task("hazard", h, "decide_extension", "an extension is requested", h.deadline))
            elif h.state == "pending_verification" and me != h.rectifier:
                out.append(_task("hazard", h, "verify", "the rectification awaits verification", h.deadline))
            elif h.state == "verified" and (h.level != "major" or a.has("manager")):
                out.append(_task("hazard", h, "close", "verified: close it (销号)"))
        return out

    def _alarm_tasks(self, a: Actor) -> list[dict[str, Any]]:
        if not a.has(*alarm_cases.HANDLERS):
            return []
        action = {"raised": "acknowledge", "acknowledged": "act", "handled": "close"}
        return [_task("alarm_case", c, action[c.state], f"alarm {c.level} at {c.source_id}")
                for c in self.repo.list_shared("alarm_case", AlarmCase, state=list(action))]

    def _certificate_tasks(self, a: Actor, now: datetime) -> list[dict[str, Any]]:
        out = []
        for c in self.repo.list_shared("certificate", Certificate, owner=a.user_id, limit=1000):
            status = certificates.status(c, now)
            if status in ("expiring", "expired"):
                out.append(_task("certificate", c, "renew", f"{c.type} certificate {status}", c.expires_at))
        return out

    def _control_tasks(self, a: Actor) -> list[dict[str, Any]]:
        return [{**_task("risk_unit", u, "check", f"control task {t.id}: {t.description}", t.next_due_at),
                 "task_id": t.id}
                for u in self.repo.list_shared("risk_unit", RiskUnit)
                for t in u.tasks if t.state == "active" and t.assignee == a.user_id]
