"""Certificates of people (special-operation licences): registration, status, expiry, reminders.

Reminders go to the holder 90, 60 and 30 days before expiry (each threshold once,
:data:`safetwin.twin.workflows.certificates.REMINDER_DAYS`); the due job marks a certificate
``expired`` once its date has passed (an audited change, so lists filter on it), and every read
answers the status computed from the dates at that instant.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from .. import certificates
from ..domain import Certificate
from ..errors import GuardFailed
from ..notify import Notification
from ..roles import Actor
from .context import RecordService


class CertificateService(RecordService):
    """Certificates of one site (see the module docstring)."""

    def add_certificate(self, actor: Actor, *, person_id: str, type: str, number: str, issued_at: datetime,
                        expires_at: datetime) -> Certificate:
        actor.require("safety_engineer", "manager", action="register a certificate")
        if expires_at <= issued_at:
            raise GuardFailed("a certificate must expire after it is issued", "bad_dates")
        c = Certificate(id=self.repo.new_id("CERT"), site_id=self.site_id, state="valid", created_at=self.clock(),
                        created_by=actor.user_id, person_id=person_id, type=type, number=number, issued_at=issued_at,
                        expires_at=expires_at)
        self.repo.save("certificate", c, actor=actor.user_id, action="create", expected_version=None, subtype=type,
                       owner=person_id, now=self.clock())
        return c

    def list_certificates(self, person_id: str | None = None) -> list[Certificate]:
        """Certificates, optionally of one person."""
        return self.repo.list("certificate", Certificate, owner=person_id, limit=10000)

    def with_status(self, c: Certificate, now: datetime | None = None) -> dict:
        """The certificate as a dict with ``status`` and ``days_left`` computed from its dates now."""
        now = now or self.clock()
        return {**c.model_dump(mode="json"), "status": certificates.status(c, now),
                "days_left": certificates.days_left(c, now)}

    def expire_due(self, now: datetime | None = None) -> list[str]:
        """Mark ``expired`` every valid certificate past its expiry at ``now``; notify its holder."""
        now, out = now or self.clock(), []
        for c0 in self.repo.list("certificate", Certificate, state="valid", due_before=now, limit=100000):
            with self._locks.hold("certificate", c0.id):
                c, ver = self.repo.get("certificate", c0.id, Certificate)
                if c.state != "valid" or now < c.expires_at:
                    continue
                c.state = "expired"
                self.repo.save("certificate", c, actor="system", action="expire", expected_version=ver,
                               subtype=c.type, owner=c.person_id, now=now)
            self.notifier.send(Notification((c.person_id,), f"certificates/{c.id}", "expired",
                                            f"{c.type} certificate {c.number} expired on {c.expires_at.date()}: it no "
                                            "longer counts for permits", self.site_id))
            out.append(c.id)
        return out

    def send_certificate_reminders(self, now: datetime | None = None) -> list[tuple[str, int]]:
        """Notify holders at 90/60/30 days before expiry (each threshold once); returns (cert, days)."""
        now, out = now or self.clock(), []
        window = timedelta(days=max(certificates.REMINDER_DAYS))
        for c0 in self.repo.list("certificate", Certificate, state="valid", due_after=now,
                                 due_before=now + window + timedelta(seconds=1), limit=100000):
            with self._locks.hold("certificate", c0.id):
                c, ver = self.repo.get("certificate", c0.id, Certificate)
                due = certificates.due_reminders(c, now)
                if not due:
                    continue
                c.reminders_sent = sorted(set(c.reminders_sent) | set(due), reverse=True)
                self.repo.save("certificate", c, actor="system", action="reminder", expected_version=ver,
                               subtype=c.type, owner=c.person_id, now=now)
                d = min(due)
                self.notifier.send(Notification((c.person_id,), f"certificates/{c.id}", "expiring",
                                                f"{c.type} certificate {c.number} expires in ≤ {d} days", self.site_id))
                out.append((c.id, d))
        return out
