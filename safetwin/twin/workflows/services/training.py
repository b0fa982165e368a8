"""Training (安全培训): courses, attendance with exam scores, expiry, the three-level induction.

Courses are the field pack's (``training.courses``) plus the site's own course records; an
attendance is a :class:`~..field_domain.TrainingRecord` that passed when the exam score reached the
course's pass score and counts until attendance + the course's validity. The rules are
:mod:`safetwin.twin.workflows.training`.
"""
from __future__ import annotations

from datetime import datetime, timezone

from .. import training
from ..errors import GuardFailed, NotFound
from ..field_domain import CourseRecord, TrainingRecord
from ..fieldpack import FieldPack
from ..roles import Actor
from .context import RecordService, WorkflowContext

TRAINERS = ("safety_engineer", "manager")
#: the creation time shown for the field pack's courses (they are data, not stored records)
PACK_TIME = datetime(1970, 1, 1, tzinfo=timezone.utc)


class TrainingService(RecordService):
    """Courses and training records of one site (see the module docstring)."""

    def __init__(self, ctx: WorkflowContext, field_pack: FieldPack) -> None:
        super().__init__(ctx)
        self.field_pack = field_pack

    def _pack_course(self, course_id: str) -> CourseRecord | None:
        c = self.field_pack.training.courses.get(course_id)
        if c is None:
            return None
        return CourseRecord(id=course_id, site_id=self.site_id, state="active", created_at=PACK_TIME,
                            created_by=f"pack:{self.field_pack.id}", title=c.title.en, title_zh=c.title.zh,
                            hours=c.hours, validity_months=c.validity_months, pass_score=c.pass_score, level=c.level)

    def course(self, course_id: str) -> CourseRecord:
        """A course: the site's record of that id, else the field pack's; :class:`NotFound` otherwise."""
        try:
            return self.repo.get("course", course_id, CourseRecord)[0]
        except NotFound:
            c = self._pack_course(course_id)
            if c is None:
                raise NotFound(f"no course {course_id!r}", "not_found") from None
            return c

    def courses(self) -> list[CourseRecord]:
        """Every course: the pack's, overridden and extended by the site's records."""
        own = {c.id: c for c in self.repo.list("course", CourseRecord, limit=10000)}
        pack = [c for cid in self.field_pack.training.courses if (c := self._pack_course(cid)) is not None]
        return [own.pop(c.id, c) for c in pack] + list(own.values())

    def add_course(self, actor: Actor, *, id: str, title: str, title_zh: str = "", hours: float, validity_months: int,
                   pass_score: float, level: str) -> CourseRecord:
        """A site course (or a site's version of a pack course: same id) — safety engineer or manager."""
        actor.require(*TRAINERS, action="define a course")
        ver = self.repo.version("course", id)
        c = CourseRecord(id=id, site_id=self.site_id, state="active", created_at=self.clock(), created_by=actor.user_id,
                         title=title, title_zh=title_zh, hours=hours, validity_months=validity_months,
                         pass_score=pass_score, level=level)
        self.repo.save("course", c, actor=actor.user_id, action="define", expected_version=ver, subtype=level)
        return c

    def record_training(self, actor: Actor, *, person_id: str, course_id: str, attended_at: datetime,
                        hours: float | None = None, exam_score: float | None = None, trainer: str = "") -> TrainingRecord:
        """Record an attendance (and exam score, 0-100) of ``person_id`` — safety engineer or manager."""
        actor.require(*TRAINERS, action="record training")
        c = self.course(course_id)
        if attended_at > self.clock():
            raise GuardFailed("attended_at is in the future", "bad_time")
        ok = training.passed(exam_score, c.pass_score)
        r = TrainingRecord(id=self.repo.new_id("TR"), site_id=self.site_id, state="passed" if ok else "failed",
                           created_at=self.clock(), created_by=actor.user_id, person_id=person_id, course_id=c.id,
                           attended_at=attended_at, hours=c.hours if hours is None else hours, exam_score=exam_score,
                           passed=ok, expires_at=training.add_months(attended_at, c.validity_months),
                           trainer=trainer or actor.user_id)
        self.repo.save("training_record", r, actor=actor.user_id, action="record", expected_version=None,
                       subtype=c.id, level=c.level, owner=person_id)
        return r

    def records(self, person_id: str | list[str] | None = None) -> list[TrainingRecord]:
        """Training records, optionally of one person or several."""
        return self.repo.list("training_record", TrainingRecord, owner=person_id, limit=100000)

    def missing(self, person_id: str, courses: list[str], at: datetime) -> list[str]:
        """Why ``person_id`` does not hold each of ``courses`` at ``at`` (empty: holds them all)."""
        return training.missing_courses(self.records(person_id), person_id, courses, at)

    def induction(self, person_id: str, at: datetime) -> dict:
        """The three-level induction of a person at ``at``: complete?, hours held, what is missing."""
        recs = self.records(person_id)
        ind = self.field_pack.training.induction
        missing = training.missing_courses(recs, person_id, ind, at)
        hours = training.induction_hours(recs, person_id, ind, at)
        return {"complete": not missing, "hours": hours, "hours_min": self.field_pack.training.induction_total_hours_min,
                "missing": missing}
