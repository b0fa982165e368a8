"""Workflow records as pydantic models; each is stored as a JSON document with a version chain.

Times are timezone-aware UTC datetimes; work polygons are local plant metres (x east, y north).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from safetwin.substances import is_oxygen


class Record(BaseModel):
    """Fields every regulated record carries."""

    model_config = ConfigDict(extra="forbid")

    id: str
    site_id: str
    state: str
    created_at: datetime
    created_by: str


class GasReading(BaseModel):
    """One gas of a gas test, judged: a multi-gas instrument gives several at once."""

    gas: str
    value: float
    unit: Literal["%LEL", "%vol", "ppm", "mg/m3"]
    passed: bool
    reason: str
    limit_rule: str = ""


class GasTest(BaseModel):
    """One gas test taken for a permit: one or more readings (a multi-gas instrument reads O2,
    LEL, H2S, CO … at once) from a live sensor, a portable instrument or the permit's portable
    monitor; it passes only when every reading passes."""

    sampled_at: datetime
    source: Literal["sensor", "portable", "monitor"]
    readings: list[GasReading] = Field(min_length=1)
    sensor_id: str | None = None
    instrument_id: str | None = None
    point: str = Field(default="", description="where the sample was taken (e.g. 'V-101 top', '10 m east')")
    analyst: str
    passed: bool
    reason: str

    @model_validator(mode="before")
    @classmethod
    def _one_reading_form(cls, data: Any) -> Any:
        """Tests stored before multi-gas tests had one reading in ``gas``/``value``/``unit``."""
        if isinstance(data, dict) and "readings" not in data and "gas" in data:
            data = dict(data)
            one = {k: data.pop(k) for k in ("gas", "value", "unit") if k in data}
            one.update(passed=data.get("passed"), reason=data.get("reason", ""),
                       limit_rule=data.pop("limit_rule", ""))
            data["readings"] = [one]
        return data

    def covers_oxygen(self) -> bool:
        """True when the test read oxygen."""
        return any(is_oxygen(r.gas) for r in self.readings)

    def covers_other_than_oxygen(self) -> bool:
        """True when the test read a flammable or toxic gas."""
        return any(not is_oxygen(r.gas) for r in self.readings)


class PortableMonitor(BaseModel):
    """The portable gas monitor feeding a permit's continuous monitoring (GB 30871-2022 6.5):
    each reading updates ``last_*``; one is logged in the permit's gas tests when it fails, and
    otherwise at most every ``log_every_min`` of the pack."""

    instrument_id: str
    attached_at: datetime
    attached_by: str
    last_at: datetime | None = None
    last_passed: bool | None = None
    last_reason: str = ""
    logged_at: datetime | None = None


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
    fire_watch: str | None = Field(default=None, description="who keeps the fire watch after hot work "
                                   "(default: the guardian)")
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
    monitor: PortableMonitor | None = None
    history: list[StateChange] = Field(default_factory=list)
    started_at: datetime | None = None
    suspended_at: datetime | None = None
    suspension_kind: Literal["pause", "gas_alarm", "fire", "monitoring_lost", "incident", "weather", "manual"] | None = None
    """Why the work stopped: ``pause`` is an interruption by the holder (a new gas test only after
    the pack's re-test gap), every other kind a stop for a cause (a new gas test before resuming)."""
    completed_at: datetime | None = None
    fire_watch_cleared_at: datetime | None = None
    fire_watch_cleared_by: str | None = None
    closed_at: datetime | None = None

    @property
    def fire_watcher(self) -> str | None:
        """Who keeps the fire watch: the named fire watch, else the guardian."""
        return self.fire_watch or self.guardian


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
    equipment_id: str | None = Field(default=None, description="the plant equipment the hazard is on, if any")
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


Level = Literal["RED", "ORANGE", "YELLOW", "BLUE"]


class RiskEvent(BaseModel):
    """A graded risk event (风险事件) of a unit: its inherent risk, and its residual risk once its
    control measures (管控措施) are in place; a failed control check makes the inherent risk count
    again until a check passes."""

    id: str = ""
    description: str
    method: Literal["LEC", "LS"]
    factors: dict[str, float]
    score: float
    level: Level = Field(description="inherent risk level (without the controls)")
    measures: list[str] = Field(default_factory=list)
    residual_factors: dict[str, float] | None = None
    residual_score: float | None = None
    residual_level: Level | None = Field(default=None, description="risk level with the controls in place")
    controls_effective: bool = True
    state: Literal["active", "retired"] = "active"
    assessed_by: str = ""
    assessed_at: datetime | None = None

    def current_level(self) -> str:
        """The level that counts now: the residual one while the controls work, else the inherent one."""
        return self.residual_level if self.residual_level is not None and self.controls_effective else self.level


class ControlCheck(BaseModel):
    at: datetime
    by: str
    ok: bool
    note: str = ""
    hazard_id: str | None = Field(default=None, description="the hazard reported when the check failed")


class ControlTask(BaseModel):
    """A control task (管控任务): someone checks that a control measure of the unit works, every
    ``every_days`` days."""

    id: str
    description: str
    event_id: str | None = None
    assignee: str
    every_days: float = Field(gt=0)
    next_due_at: datetime
    last_done_at: datetime | None = None
    overdue_flagged_at: datetime | None = None
    checks: list[ControlCheck] = Field(default_factory=list, description="the most recent checks (≤ 50)")
    state: Literal["active", "retired"] = "active"


class RiskUnit(Record):
    """A risk unit (风险分析单元): an area or a polygon with graded risk events and control tasks.

    ``level`` is the worst *current* level of its active events (residual while the controls work),
    ``inherent_level`` the worst without controls."""

    name: str
    area_id: str | None = None
    polygon: list[tuple[float, float]] | None = None
    owner: str | None = Field(default=None, description="the person answering for the unit (包保责任人)")
    events: list[RiskEvent] = Field(default_factory=list)
    tasks: list[ControlTask] = Field(default_factory=list)
    level: Level = "BLUE"
    inherent_level: Level = "BLUE"
    layer: str = ""

    @model_validator(mode="after")
    def _event_ids(self) -> RiskUnit:
        """Units stored before events had ids get E1, E2 … in order."""
        for k, e in enumerate(self.events, start=1):
            if not e.id:
                e.id = f"E{k}"
        return self


class LoginLock(Record):
    """An account or a client address locked after failed logins (``kind``: account | address)."""

    kind: Literal["account", "address"]
    key: str
    locked_for_s: float


def dump(record: BaseModel) -> dict[str, Any]:
    """JSON-ready dict of a record (datetimes as ISO strings)."""
    return record.model_dump(mode="json")
