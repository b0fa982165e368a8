"""Certificates: their status from their dates, validity checks for permit roles, expiry reminders.

A certificate's *status* is computed from its dates whenever it is read (:func:`status`): the
stored ``state`` is the administrative one (``valid``; ``expired`` once the due job has marked it;
``revoked``/``suspended`` by decision), so an expired certificate is never listed as valid.
Reminders go out 90/60/30 days before expiry.

>>> from datetime import datetime, timezone
>>> t = datetime(2025, 1, 1, tzinfo=timezone.utc)
>>> c = Certificate(id="C1", site_id="s", state="valid", created_at=t, created_by="sue", person_id="bob",
...                 type="hot_work", number="N1", issued_at=t, expires_at=t.replace(year=2026))
>>> status(c, t), status(c, t.replace(year=2025, month=12)), status(c, t.replace(year=2027))
('valid', 'expiring', 'expired')
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from .domain import Certificate

REMINDER_DAYS: tuple[int, ...] = (90, 60, 30)


def status(c: Certificate, at: datetime) -> str:
    """``valid``, ``expiring`` (within 90 d), ``expired``, or the revoked/suspended state."""
    if c.state in ("revoked", "suspended"):
        return c.state
    if at >= c.expires_at:
        return "expired"
    if (c.expires_at - at).days < max(REMINDER_DAYS):
        return "expiring"
    return "valid"


def days_left(c: Certificate, at: datetime) -> float:
    """Days until expiry at ``at`` (negative once expired)."""
    return round((c.expires_at - at).total_seconds() / 86400, 2)


def check(certs: Iterable[Certificate], person: str, cert_type: str, at: datetime) -> str | None:
    """None when ``person`` holds a valid ``cert_type`` at ``at``, else why not."""
    mine = [c for c in certs if c.person_id == person and c.type == cert_type]
    if not mine:
        return f"no {cert_type} certificate"
    if any(status(c, at) in ("valid", "expiring") and c.issued_at <= at for c in mine):
        return None
    newest = max(mine, key=lambda c: c.expires_at)
    return f"{cert_type} certificate {newest.number} {status(newest, at)} (expires {newest.expires_at.date()})"


def due_reminders(c: Certificate, at: datetime, days: Sequence[int] = REMINDER_DAYS) -> list[int]:
    """Reminder thresholds (days) reached at ``at`` and not yet sent, largest first."""
    if c.state in ("revoked", "suspended") or at >= c.expires_at:
        return []
    left = (c.expires_at - at).total_seconds() / 86400
    return [d for d in sorted(days, reverse=True) if left <= d and d not in c.reminders_sent]
