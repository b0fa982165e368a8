"""Request bodies of the field API (validated; bad input answers 422 naming the field)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .schemas import StrictIn as _In
from .schemas import Time, Whole

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")]
PhotoId = Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]
#: an idempotency key made on the phone (a UUID): the same key sent twice is applied once
ClientKey = Annotated[str, Field(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]


# ------------------------------------------------------------------ people, training, contractors

class PersonIn(_In):
    id: Id
    name: str = Field(min_length=1, max_length=128)
    employer: Id = "own"
    job: str = Field(default="", max_length=128)
    rtls_id: Id | None = None
    tag_ids: list[Id] = Field(default_factory=list, max_length=10)
    started_at: Time | None = None


class EntryIn(_In):
    area_ids: list[Id] = Field(min_length=1, max_length=50)
    valid_from: Time
    valid_until: Time
    reason: str = Field(default="", max_length=500)


class CourseIn(_In):
    id: Id
    title: str = Field(min_length=1, max_length=200)
    title_zh: str = Field(default="", max_length=200)
    hours: float = Field(gt=0, le=1000)
    validity_months: Whole = Field(ge=1, le=240)
    pass_score: float = Field(ge=0, le=100)
    level: Literal["induction", "general", "special"]


class TrainingIn(_In):
    person_id: Id
    course_id: Id
    attended_at: Time
    hours: float | None = Field(default=None, ge=0, le=1000)
    exam_score: float | None = Field(default=None, ge=0, le=100)
    trainer: str = Field(default="", max_length=64)


class QualificationIn(_In):
    type: Id
    number: str = Field(min_length=1, max_length=64)
    expires_at: Time


class ContractorIn(_In):
    name: str = Field(min_length=1, max_length=200)
    license_no: str = Field(default="", max_length=64)
    contact: str = Field(default="", max_length=64)
    qualifications: list[QualificationIn] = Field(default_factory=list, max_length=20)


class EvaluationIn(_In):
    score: float = Field(ge=0, le=100)
    note: str = Field(default="", max_length=2000)


class BlacklistIn(_In):
    blacklisted: bool
    reason: str = Field(min_length=1, max_length=2000)


# ------------------------------------------------------------------ inspections and equipment

class CheckpointIn(_In):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["equipment", "sensor", "area"]
    target_id: Id
    code: str | None = Field(default=None, min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    checklist: Id | None = None
    radius_m: float | None = Field(default=None, gt=0, le=500)


class RouteIn(_In):
    name: str = Field(min_length=1, max_length=200)
    checkpoint_ids: list[Id] = Field(min_length=1, max_length=200)
    interval_h: float = Field(gt=0, le=24 * 366)
    first_due_at: Time
    grace_min: float | None = Field(default=None, ge=0, le=24 * 60)
    role: str = Field(default="operator", max_length=32)
    assignee: Id | None = None


class EquipmentIn(_In):
    kind: Id
    name: str = Field(min_length=1, max_length=200)
    target_id: Id | None = None
    x: float | None = Field(default=None, ge=-1e5, le=1e5)
    y: float | None = Field(default=None, ge=-1e5, le=1e5)
    last_done: dict[Id, Time] = Field(default_factory=dict, max_length=10)


class DoneIn(_In):
    activity: Id
    at: Time | None = None
    result: str = Field(default="", max_length=2000)
    certificate: str = Field(default="", max_length=64)


# ------------------------------------------------------------------ phone captures (idempotent)

class AnswerIn(_In):
    item_id: Id
    ok: bool | None = None
    value: float | None = Field(default=None, ge=-1e9, le=1e9, allow_inf_nan=False)
    note: str = Field(default="", max_length=500)


class CaptureIn(_In):
    client_key: ClientKey
    captured_at: Time | None = None


class FieldHazardIn(CaptureIn):
    title: str = Field(min_length=1, max_length=200)
    category: Literal["person", "equipment", "environment", "management"]
    level: Literal["general", "major"] = "general"
    x: float = Field(ge=-1e5, le=1e5)
    y: float = Field(ge=-1e5, le=1e5)
    description: str = Field(default="", max_length=4000)
    photos: list[PhotoId] = Field(default_factory=list, max_length=10)


class ScanIn(CaptureIn):
    code: str = Field(min_length=1, max_length=64)
    method: Literal["qr", "nfc", "manual"] = "manual"
    scanned_at: Time
    answers: list[AnswerIn] = Field(default_factory=list, max_length=100)
    photos: list[PhotoId] = Field(default_factory=list, max_length=10)


class FieldGasTestIn(CaptureIn):
    gas: str = Field(min_length=1, max_length=32)
    value: float = Field(ge=0, le=1e6, allow_inf_nan=False)
    unit: Literal["%LEL", "%vol", "ppm", "mg/m3"]
    sampled_at: Time
    instrument_id: str | None = Field(default=None, max_length=64)


class SignIn(CaptureIn):
    action: Literal["approve", "start", "complete"]
    note: str = Field(default="", max_length=1000)
    signature: PhotoId | None = None
