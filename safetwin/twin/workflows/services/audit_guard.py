"""The audit trail's watch: verification on a schedule, signed checkpoints, an alarm case on failure.

Each pass of the due jobs (:mod:`.due_jobs`) calls :meth:`AuditService.scheduled`:

* every ``audit_verify_interval_s`` a full :func:`~safetwin.twin.workflows.audit.verify` (every
  link, every stored record and user, every checkpoint, the newest link this process wrote);
* on the other passes only the links written since the last verified or anchored one
  (:func:`~safetwin.twin.workflows.audit.verify_tail`);
* when the check passed and the chain grew, a new signed checkpoint goes to the checkpoint
  directory, at most every ``audit_checkpoint_interval_s``;
* when it failed, an alarm case ``AC-AUDIT-TRAIL`` is opened (or refreshed when the problems
  changed) and the administrators and safety engineers are notified. No checkpoint is written
  while the chain fails, so a tampered head is never anchored.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from .. import audit
from ..audit import VERSIONS, AuditReport
from ..audit_anchor import AuditSetup, Checkpoint, CheckpointDir
from ..audit_export import export_evidence
from ..audit_seal import seal_legacy_chain
from ..notify import Notification
from .alarm_cases import AlarmCaseService
from .context import RecordService, WorkflowContext

log = logging.getLogger("safetwin.workflows.audit")
ALARM_ID = "AUDIT-TRAIL"
#: who is told when the audit trail fails (role recipients, like the hazard layers)
ALARM_RECIPIENTS = ("role:admin", "role:safety_engineer")
_COUNT = select(func.count()).select_from(VERSIONS)


@dataclass(frozen=True)
class AuditAlarm:
    """The alarm an audit failure raises (the fields an alarm case is opened from)."""

    message: str
    ts: float
    alarm_id: str = ALARM_ID
    source_id: str = "audit-trail"
    level: str = "HH"


@dataclass
class AuditPass:
    """What one scheduled pass did."""

    at: datetime
    full: bool = False
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    checkpoint: Checkpoint | None = None
    alarm_case: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "full": self.full, "ok": self.ok, "problems": self.problems[:50],
                "checkpoint": None if self.checkpoint is None else {"seq": self.checkpoint.seq,
                                                                    "time": self.checkpoint.time},
                "alarm_case": self.alarm_case}


class AuditService(RecordService):
    """Verification, checkpoints and the alarm of one site's audit trail (see the module docstring)."""

    def __init__(self, ctx: WorkflowContext, alarm_cases: AlarmCaseService, setup: AuditSetup) -> None:
        super().__init__(ctx)
        self.alarm_cases = alarm_cases
        self.setup = setup
        self.chain = ctx.repo.chain
        self.anchors = CheckpointDir(setup.checkpoint_dir, ctx.site_id) if setup.checkpoint_dir else None
        self._verified: tuple[int, str] | None = None      # newest link verified (full, tail or anchored)
        self._last_full: datetime | None = None
        self._last_checkpoint: datetime | None = None
        self._raised: tuple[str, ...] = ()
        self.last_pass: AuditPass | None = None

    def seal_legacy(self) -> int:
        """Key a chain written before the audit trail was keyed (:mod:`..audit_seal`)."""
        return seal_legacy_chain(self.chain, anchored=self.anchors is not None and self.anchors.exists())

    def checkpoints(self) -> tuple[list[Checkpoint], list[str]]:
        """The site's checkpoints and the unreadable lines of their files (none without a directory)."""
        return self.anchors.read() if self.anchors is not None else ([], [])

    def verify(self) -> AuditReport:
        """The full check now: chain, rows, checkpoints, this process's newest link."""
        anchors, unreadable = self.checkpoints()
        rep = audit.verify(self.repo.engine, self.chain.key, anchors=anchors, high_water=self.chain.high_water)
        rep.problems.extend(unreadable)
        return rep

    def export(self, out: Any) -> dict[str, Any]:
        """Verify now and write the evidence zip to ``out`` (a path or a binary file); its manifest."""
        return export_evidence(self.repo.engine, self.chain.key, out, site=self.site_id, report=self.verify(),
                               anchors=self.anchors, now=self.clock())

    def _tail(self) -> AuditReport:
        after = self._verified
        if after is None:
            anchors, _ = self.checkpoints()
            after = (anchors[-1].seq, anchors[-1].head_hash) if anchors else (0, audit.GENESIS)
        return audit.verify_tail(self.repo.engine, self.chain.key, after, high_water=self.chain.high_water)

    def checkpoint(self, now: datetime, rep: AuditReport) -> Checkpoint | None:
        """Anchor the head ``rep`` verified, when it moved since the last checkpoint (None otherwise)."""
        if self.anchors is None or rep.head_seq == 0:
            return None
        anchors, _ = self.checkpoints()
        if anchors and anchors[-1].seq >= rep.head_seq:
            return None
        with self.repo.engine.connect() as conn:
            rows = int(conn.execute(_COUNT.where(VERSIONS.c.seq <= rep.head_seq)).scalar() or 0)
        cp = Checkpoint.make(self.chain.key, site=self.site_id, seq=rep.head_seq, rows=rows,
                             head_hash=rep.head_hash, time=now)
        return self.anchors.write(cp)

    def scheduled(self, now: datetime) -> AuditPass:
        """One pass of the schedule at ``now`` (see the module docstring)."""
        every = timedelta(seconds=self.settings.audit_verify_interval_s)
        full = self._last_full is None or now - self._last_full >= every
        rep = self.verify() if full else self._tail()
        done = AuditPass(at=now, full=full, ok=rep.ok, problems=list(rep.problems))
        if full:
            self._last_full = now
        if rep.ok:
            self._verified = (rep.head_seq, rep.head_hash)
            self._raised = ()
            gap = timedelta(seconds=self.settings.audit_checkpoint_interval_s)
            if self._last_checkpoint is None or now - self._last_checkpoint >= gap:
                done.checkpoint = self.checkpoint(now, rep)
                if done.checkpoint is not None:
                    self._last_checkpoint = now
        else:
            self._verified = None
            done.alarm_case = self._alarm(now, rep.problems)
        self.last_pass = done
        return done

    def _alarm(self, now: datetime, problems: list[str]) -> str:
        """Open or refresh the audit trail's alarm case; notify once per distinct set of problems."""
        shown = "; ".join(problems[:3]) + (f" … ({len(problems)} problems)" if len(problems) > 3 else "")
        text = f"audit trail check failed: {shown}"
        log.error("%s", text)
        key = tuple(problems)
        if key != self._raised:
            self.alarm_cases.record_alarm(AuditAlarm(text, now.timestamp()), now, [])
            self.notifier.send(Notification(ALARM_RECIPIENTS, "audit/trail", "tampered", text, self.site_id,
                                            {"problems": problems[:20], "count": len(problems)}))
            self._raised = key
        newest = self.repo.list_summary("alarm_case", subtype=AuditAlarm.source_id, limit=1)
        return newest[0]["id"] if newest else f"AC-{ALARM_ID}"
