"""Equipment with due dates (设备设施) as plain rules: the next due date of each recurring activity
(inspection, calibration) and what is overdue.

An activity falls due ``interval_months`` after it was last done (or from the register date when
it never was); done late, the next date counts from when it was done, not from the missed date.

Example::

    >>> from datetime import datetime, timezone
    >>> from .field_domain import DueActivity
    >>> a = DueActivity(name="calibration", interval_months=12, next_due_at=datetime(2025, 3, 1, tzinfo=timezone.utc))
    >>> is_overdue(a, datetime(2025, 6, 1, tzinfo=timezone.utc)), days_overdue(a, datetime(2025, 6, 1, tzinfo=timezone.utc))
    (True, 92.0)
    >>> record_done(a, at=datetime(2025, 6, 2, tzinfo=timezone.utc), by="sue").next_due_at.date()
    datetime.date(2026, 6, 2)
"""
from __future__ import annotations

from datetime import datetime

from .field_domain import DoneRecord, DueActivity, EquipmentItem
from .training import add_months


def is_overdue(a: DueActivity, at: datetime) -> bool:
    """True when ``a`` is past its due date at ``at``."""
    return at > a.next_due_at


def days_overdue(a: DueActivity, at: datetime) -> float:
    """Days past the due date at ``at`` (0 when not overdue)."""
    return max(0.0, round((at - a.next_due_at).total_seconds() / 86400.0, 1))


def record_done(a: DueActivity, *, at: datetime, by: str, result: str = "", certificate: str = "") -> DueActivity:
    """Record that the activity was done at ``at``; the next due date follows the interval from then."""
    a.history.append(DoneRecord(at=at, by=by, result=result, certificate=certificate))
    a.last_done_at = at
    a.next_due_at = add_months(at, a.interval_months)
    a.overdue_hazard_id = None
    return a


def overdue_activities(item: EquipmentItem, at: datetime) -> list[DueActivity]:
    """The activities of ``item`` overdue at ``at``."""
    return [a for a in item.activities if is_overdue(a, at)]


def calibration_due(item: EquipmentItem) -> datetime | None:
    """When a detector's calibration falls due (None for items without a calibration activity)."""
    due = [a.next_due_at for a in item.activities if a.name == "calibration"]
    return min(due) if due else None
