"""Workflow records as pydantic models; each is stored as a JSON document with a version chain.

Times are timezone-aware UTC datetimes; work polygons are local plant metres (x east, y north).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Record(BaseModel):
    """Fields every regulated record carries."""

    model_config = ConfigDict(extra="forbid")

    id: str
    site_id: str
    state: str
    created_at: datetime
    created_by: str


class GasTest(BaseModel):
    """One gas measurement taken for a permit (from a live sensor or a portable instrument)."""

    sampled_at: datetime
    gas: str
    value: float
    unit: Literal["%LEL", "%vol", "ppm", "mg/m3"]
    source: Literal["sensor", "portable"]
    sensor_id: str | None = None
    instrument_id: str | None = None
    analyst: str
    passed: bool
    reason: str
    limit_rule: str = ""


class Approval(BaseModel):
    step: int
    role: str
    approver: str
    at: datetime
    decision: Literal["approved", "rejected"]
    note: str = ""


class StateChange(BaseModel):
    at: datetime
    by: str
    action: str
    from_state: str
    to_state: str
    reason: str = ""


class Permit(Record):
    """A permit to work (作业票)."""

    pack_id: str
    pack_version: str
    type: str
    level: str | None = None
    title: str
    work_polygon: list[tuple[float, float]] = Field(min_length=3)
    z_min_m: float = 0.0
    z_max_m: float = 0.0
    line_id: str | None = None
    activities: list[str] = Field(default_factory=list)
    area_ids: list[str] = Field(default_factory=list)
    applicant: str
    holder: str
    guardian: str | None = None
    workers: list[str] = Field(default_factory=list)
    jha: str = ""
    planned_start: datetime
    planned_end: datetime
    valid_until: datetime | None = None
    simops_coordinator: str | None = None
    simops_flags: list[str] = Field(default_factory=list)
    approvals: list[Approval] = Field(default_factory=list)
    chain: list[str] = Field(default_factory=list)
    gas_tests: list[GasTest] = Field(default_factory=list)
    history: list[StateChange] = Field(default_factory=list)
    started_at: datetime | None = None
    suspended_at: datetime | None = None
    completed_at: datetime | None = None
    closed_at: datetime | None = None


class Certificate(Record):
    """A person's certificate (特种作业操作证, guardian training, crane …)."""

    person_id: str
    type: str
    number: str
    issued_at: datetime
    expires_at: datetime
    reminders_sent: list[int] = Field(default_factory=list)


class FiveFixes(BaseModel):
    """五定 plan of a 重大 hazard: measures, responsible person, funds, deadline, contingency plan."""

    measures: str = Field(min_length=1)
    responsible: str = Field(min_length=1)
    funds: float = Field(ge=0)
    deadline: datetime
    contingency: str = Field(min_length=1)


class Extension(BaseModel):
    requested_by: str
    requested_at: datetime
    new_deadline: datetime
    reason: str
    decision: Literal["pending", "approved", "denied"] = "pending"
    decided_by: str | None = None


class Hazard(Record):
    """A hidden hazard (隐患) in its closed loop."""

    title: str
    description: str = ""
    category: Literal["person", "equipment", "environment", "management"]
    level: Literal["general", "major"]
    x: float
    y: float
    area_id: str | None = None
    photos: list[str] = Field(default_factory=list)
    reporter: str
    rectifier: str | None = None
    verifier: str | None = None
    deadline: datetime | None = None
    plan: FiveFixes | None = None
    extensions: list[Extension] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    measures_taken: str = ""
    repeat_of: list[str] = Field(default_factory=list, description="the most recent earlier repeats (≤ 10 ids)")
    repeat_count: int = Field(default=0, ge=0, description="how many earlier repeats the check found")
    escalation_level: int = 0
    authority_reported_at: datetime | None = None
    history: list[StateChange] = Field(default_factory=list)
    closed_at: datetime | None = None


class AlarmAction(BaseModel):
    at: datetime
    by: str
    action: str


class AlarmCase(Record):
    """The handling of one twin alarm: raised → acknowledged → handled → closed."""

    alarm_id: str
    source_id: str
    level: str
    raised_at: datetime
    message: str = ""
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    actions: list[AlarmAction] = Field(default_factory=list)
    review_note: str | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    suspended_permits: list[str] = Field(default_factory=list)


class RiskEvent(BaseModel):
    description: str
    method: Literal["LEC", "LS"]
    factors: dict[str, float]
    score: float
    level: Literal["RED", "ORANGE", "YELLOW", "BLUE"]
    measures: list[str] = Field(default_factory=list)


class RiskUnit(Record):
    """A risk unit (风险分析单元): an area or a polygon with assessed risk events."""

    name: str
    area_id: str | None = None
    polygon: list[tuple[float, float]] | None = None
    events: list[RiskEvent] = Field(default_factory=list)
    level: Literal["RED", "ORANGE", "YELLOW", "BLUE"] = "BLUE"
    layer: str = ""


def dump(record: BaseModel) -> dict[str, Any]:
    """JSON-ready dict of a record (datetimes as ISO strings)."""
    return record.model_dump(mode="json")
