"""Training (安全培训) as plain rules: whether a person holds a course at a time, the three-level
induction (三级安全教育: company, workshop, team) of new starters and contractors, and the gate
that keeps people without the courses a permit role needs off permits.

A course counts when its newest passed record was attended on or before the time asked about
and has not expired (``expires_at`` = attendance + the course's validity). Exams are scored
0-100; below the course's pass score the attendance is recorded but not passed.

Example::

    >>> from datetime import datetime, timezone
    >>> from .field_domain import TrainingRecord
    >>> t = datetime(2025, 6, 1, tzinfo=timezone.utc)
    >>> rec = TrainingRecord(id="TR-1", site_id="s", state="passed", created_at=t, created_by="sue", person_id="li",
    ...                      course_id="induction_company", attended_at=t, hours=32, exam_score=90, passed=True,
    ...                      expires_at=t.replace(year=2026))
    >>> missing_courses([rec], "li", ["induction_company", "induction_team"], t)
    ['induction_team: never passed']
"""
from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from datetime import datetime

from .field_domain import TrainingRecord


def add_months(t: datetime, months: int) -> datetime:
    """``t`` plus whole calendar months (the day clipped to the month's last day).

    >>> from datetime import datetime, timezone
    >>> add_months(datetime(2025, 1, 31, tzinfo=timezone.utc), 1).date()
    datetime.date(2025, 2, 28)
    """
    y, m = divmod(t.month - 1 + months, 12)
    year, month = t.year + y, m + 1
    return t.replace(year=year, month=month, day=min(t.day, calendar.monthrange(year, month)[1]))


def passed(score: float | None, pass_score: float) -> bool:
    """True when an exam ``score`` (0-100) reaches ``pass_score``; a course without an exam (None) passes."""
    return score is None or score >= pass_score


def course_status(records: Iterable[TrainingRecord], person: str, course: str, at: datetime) -> str | None:
    """None when ``person`` holds ``course`` at ``at``, else why not (never passed / expired on …)."""
    mine = [r for r in records if r.person_id == person and r.course_id == course and r.attended_at <= at]
    good = [r for r in mine if r.passed]
    if not good:
        failed = [r for r in mine if not r.passed]
        if failed:
            last = max(failed, key=lambda r: r.attended_at)
            return f"{course}: exam failed ({last.exam_score:g} on {last.attended_at.date()})"
        return f"{course}: never passed"
    newest = max(good, key=lambda r: r.expires_at)
    if at >= newest.expires_at:
        return f"{course}: expired on {newest.expires_at.date()}"
    return None


def missing_courses(records: Iterable[TrainingRecord], person: str, courses: Sequence[str], at: datetime) -> list[str]:
    """Why ``person`` does not hold each of ``courses`` at ``at`` (empty when they hold all)."""
    records = list(records)
    return [why for c in courses if (why := course_status(records, person, c, at))]


def induction_hours(records: Iterable[TrainingRecord], person: str, induction: Sequence[str], at: datetime) -> float:
    """Hours of passed, unexpired induction courses ``person`` holds at ``at``."""
    return sum(r.hours for r in records if r.person_id == person and r.course_id in induction and r.passed
               and r.attended_at <= at < r.expires_at)
