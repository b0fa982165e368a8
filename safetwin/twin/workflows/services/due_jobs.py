"""The time-driven jobs of the workflows, run once per pass: expire permits past validity, send
certificate reminders (90/60/30 d), escalate overdue hazards, check the audit trail; and, where
given, suspend permits that lost their continuous gas monitoring, mark expired certificates, flag
overdue control tasks, and run the field jobs (inspection rounds, equipment overdue, restricted-area
entries: :class:`~.field.FieldWorkflows`).

A pass is idempotent (a second pass at the same time changes nothing) and each job's failure is
logged without stopping the others; :class:`~safetwin.twin.workflows.scheduler.DueJobScheduler`
runs passes periodically.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

log = logging.getLogger("safetwin.workflows")


@dataclass
class DueJobsReport:
    """What one :func:`run_due_jobs` pass did (record ids; reminder days; layers)."""

    at: datetime
    expired_permits: list[str] = field(default_factory=list)
    certificate_reminders: list[tuple[str, int]] = field(default_factory=list)
    escalated_hazards: list[tuple[str, str]] = field(default_factory=list)
    #: the audit trail's check (:class:`~.audit_guard.AuditPass`), None when it did not run
    audit: Any = None
    monitoring_lost: list[str] = field(default_factory=list)
    expired_certificates: list[str] = field(default_factory=list)
    overdue_control_tasks: list[str] = field(default_factory=list)
    field_jobs: dict[str, list[str]] = field(default_factory=dict)   # job name → record / alarm ids

    @property
    def changed(self) -> int:
        """How many records the pass changed."""
        return (len(self.expired_permits) + len(self.certificate_reminders) + len(self.escalated_hazards)
                + len(self.monitoring_lost) + len(self.expired_certificates) + len(self.overdue_control_tasks)
                + sum(len(v) for v in self.field_jobs.values()))


def run_due_jobs(now: datetime, *, expire_permits: Callable[[datetime], list[str]],
                 remind_certificates: Callable[[datetime], list[tuple[str, int]]],
                 escalate_hazards: Callable[[datetime], list[tuple[str, str]]],
                 check_audit: Callable[[datetime], Any] | None = None,
                 check_monitoring: Callable[[datetime], list[str]] | None = None,
                 expire_certificates: Callable[[datetime], list[str]] | None = None,
                 flag_control_tasks: Callable[[datetime], list[str]] | None = None,
                 field_jobs: Callable[[datetime], dict[str, list[str]]] | None = None) -> DueJobsReport:
    """Run the jobs at ``now``; returns what they changed."""
    rep = DueJobsReport(at=now)

    def audit() -> None:
        if check_audit is not None:
            rep.audit = check_audit(now)

    jobs: list[tuple[str, Callable[[], object]]] = [
        ("expire permits", lambda: rep.expired_permits.extend(expire_permits(now))),
        ("certificate reminders", lambda: rep.certificate_reminders.extend(remind_certificates(now))),
        ("hazard escalation", lambda: rep.escalated_hazards.extend(escalate_hazards(now)))]
    if check_monitoring is not None:
        jobs.append(("gas monitoring", lambda: rep.monitoring_lost.extend(check_monitoring(now))))
    if expire_certificates is not None:
        jobs.append(("certificate expiry", lambda: rep.expired_certificates.extend(expire_certificates(now))))
    if flag_control_tasks is not None:
        jobs.append(("control tasks", lambda: rep.overdue_control_tasks.extend(flag_control_tasks(now))))
    if field_jobs is not None:
        jobs.append(("field jobs", lambda: rep.field_jobs.update(field_jobs(now))))
    jobs.append(("audit trail check", audit))
    for name, job in jobs:
        try:
            job()
        except Exception:
            log.exception("scheduled job %s failed at %s", name, now.isoformat())
    return rep
