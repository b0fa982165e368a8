"""Field workflow records as pydantic models: inspection checkpoints, routes and rounds; people,
contractors and training; equipment with due dates; the journal of field captures.

Each is stored like the other workflow records (a JSON document with a hash-chained version
history, :mod:`.repository`). Times are timezone-aware UTC datetimes; positions local plant metres.
A record may define ``projection_due`` (the time a scheduled job must look at it), which the
repository promotes to the ``due_at`` column (:mod:`.projection`).
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from .domain import Record

# ------------------------------------------------------------------ inspection rounds


class Checkpoint(Record):
    """A place an inspector must visit: a piece of equipment, a detector or an area, with the code
    on its QR label / NFC tag and the checklist of its kind."""

    code: str
    name: str
    kind: Literal["equipment", "sensor", "area"]
    target_id: str
    checklist: str
    x: float
    y: float
    area_id: str | None = None
    radius_m: float = Field(gt=0)


class InspectionRoute(Record):
    """An ordered list of checkpoints walked every ``interval_h`` hours by a holder of ``role``
    (or by ``assignee`` only); a round is late / missed ``grace_min`` after its due time."""

    name: str
    checkpoint_ids: list[str] = Field(min_length=1)
    interval_h: float = Field(gt=0)
    grace_min: float = Field(ge=0)
    role: str = "operator"
    assignee: str | None = None
    first_due_at: datetime
    active: bool = True
    generated_until: datetime | None = Field(default=None, description="due time of the last round generated")


class Answer(BaseModel):
    """The answer to one checklist item: ``ok`` for a check, ``value`` (item unit) for a reading."""

    item_id: str
    ok: bool | None = None
    value: float | None = None
    note: str = ""


class Scan(BaseModel):
    """A checkpoint scanned during a round (device time ``scanned_at``, server time ``received_at``)."""

    checkpoint_id: str
    code: str
    method: Literal["qr", "nfc", "manual"]
    scanned_at: datetime
    received_at: datetime
    by: str
    client_key: str
    answers: list[Answer] = Field(default_factory=list)
    photos: list[str] = Field(default_factory=list)
    findings: list[str] = Field(default_factory=list, description="hazard ids raised from this scan")
    live_fix: tuple[float, float, float] | None = Field(
        default=None, description="the inspector's live RTLS fix when the scan arrived close to its scan time: "
                                  "x (m), y (m), time (s since the epoch)")


class Evidence(BaseModel):
    """Whether the inspector's RTLS track passed a checkpoint near its scan time."""

    checkpoint_id: str
    scanned: bool
    present: bool
    min_distance_m: float | None = None
    fixes: int = 0


class InspectionRound(Record):
    """One walk of a route: ``scheduled → in_progress → completed`` or ``missed``; ``flags`` say
    what went wrong (late, not walked, skipped checkpoints, track not at a checkpoint)."""

    route_id: str
    route_name: str
    checkpoint_ids: list[str]
    due_at: datetime
    deadline: datetime
    role: str
    assignee: str | None = None
    inspector: str | None = None
    rtls_id: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    scans: list[Scan] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    rtls_verified: bool | None = None
    late: bool = False
    flags: list[str] = Field(default_factory=list)
    findings: list[str] = Field(default_factory=list)
    alarm_id: str | None = None

    @property
    def projection_due(self) -> datetime | None:
        """The deadline while the round is open (the due jobs mark it late or missed then)."""
        return self.deadline if self.state in ("scheduled", "in_progress") else None


# ------------------------------------------------------------------ people, training, contractors


class EntryPermission(BaseModel):
    """Permission for a contractor's person to enter restricted areas in a time window."""

    area_ids: list[str] = Field(min_length=1)
    valid_from: datetime
    valid_until: datetime
    granted_by: str
    reason: str = ""


class Person(Record):
    """Anyone who works on site: an employee (``employer`` = ``own``, usually a user too) or a
    contractor's person (``employer`` = the contractor's id). ``id`` is the person id permits,
    certificates and training records use; ``rtls_id`` the twin's person id of their tag
    (defaults to ``id``); ``tag_ids`` the physical tags issued."""

    name: str
    employer: str = "own"
    job: str = ""
    rtls_id: str | None = None
    tag_ids: list[str] = Field(default_factory=list)
    started_at: datetime | None = None
    entry: list[EntryPermission] = Field(default_factory=list)

    @property
    def track_id(self) -> str:
        """The person id of their RTLS tag in the twin."""
        return self.rtls_id or self.id


class CourseRecord(Record):
    """A training course (安全培训) of the site: hours, validity and the exam's pass score (0-100)."""

    title: str
    title_zh: str = ""
    hours: float = Field(gt=0)
    validity_months: int = Field(ge=1)
    pass_score: float = Field(ge=0, le=100)
    level: Literal["induction", "general", "special"]


class TrainingRecord(Record):
    """One person's attendance of a course, the exam score, and until when it counts."""

    person_id: str
    course_id: str
    attended_at: datetime
    hours: float = Field(ge=0)
    exam_score: float | None = Field(default=None, ge=0, le=100)
    passed: bool
    expires_at: datetime
    trainer: str = ""

    @property
    def projection_due(self) -> datetime | None:
        return self.expires_at


class Qualification(BaseModel):
    """A company document (安全生产许可证, business licence …) with its expiry."""

    type: str
    number: str
    expires_at: datetime
    verified_by: str


class Evaluation(BaseModel):
    """A performance evaluation of a contractor (score 0-100)."""

    at: datetime
    by: str
    score: float = Field(ge=0, le=100)
    note: str = ""


class Contractor(Record):
    """A contractor company (承包商): qualifications, evaluations, blacklist."""

    name: str
    license_no: str = ""
    contact: str = ""
    qualifications: list[Qualification] = Field(default_factory=list)
    evaluations: list[Evaluation] = Field(default_factory=list)
    blacklisted: bool = False
    blacklist_reason: str = ""


# ------------------------------------------------------------------ equipment due dates


class DoneRecord(BaseModel):
    at: datetime
    by: str
    result: str = ""
    certificate: str = ""


class DueActivity(BaseModel):
    """One recurring activity of an item (inspection, calibration): interval, last and next dates."""

    name: str
    interval_months: int = Field(ge=1)
    last_done_at: datetime | None = None
    next_due_at: datetime
    overdue_hazard_id: str | None = None
    history: list[DoneRecord] = Field(default_factory=list)


class EquipmentItem(Record):
    """A register entry of equipment with due dates (设备设施): a pressure vessel, safety valve,
    pressure gauge or gas detector; ``target_id`` names the plant equipment or sensor."""

    kind: str
    name: str
    target_id: str | None = None
    area_id: str | None = None
    x: float
    y: float
    activities: list[DueActivity] = Field(min_length=1)

    @property
    def projection_due(self) -> datetime | None:
        return min(a.next_due_at for a in self.activities)


# ------------------------------------------------------------------ field captures (offline sync)


class FieldCapture(Record):
    """The journal entry of one capture sent from a phone, keyed by the client's idempotency key:
    ``claimed`` while it is applied, then ``applied`` (with the record it made or changed) or
    ``refused`` (with the reason). A second send of the same key gets this outcome back."""

    client_key: str
    action: str
    actor: str
    captured_at: datetime | None = None
    target_id: str | None = None
    result_kind: str | None = None
    result_id: str | None = None
    status: int = 200
    code: str = ""
    detail: str = ""
