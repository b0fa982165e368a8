"""Request and answer bodies of the workflow API (requests validated; bad input answers 422).

Request bodies are read as their JSON Schema says (:class:`StrictIn`): a number where a boolean
is due, a string where a number is due, or a number of seconds where a date-time is due is
refused, not converted (pydantic's lax mode would take ``0`` for ``false``, ``"1"`` for ``1`` and
``0`` for 1970-01-01) — what the OpenAPI document promises is what the server accepts.

Records (permits, hazards, certificates, alarm cases, risk units) are answered in the shape of
their domain models (:mod:`safetwin.twin.workflows.domain`); the bodies here are what clients send
and the few answers that are not records.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, Strict

from safetwin.substances.names import CANONICAL
from safetwin.twin.workflows.domain import Certificate
from safetwin.twin.workflows.roles import ROLES

#: a point of the plant's local frame (m); bounded so geometry and reprojection stay finite
LocalMetre = Annotated[float, Field(ge=-1e5, le=1e5, allow_inf_nan=False)]
#: a JSON array ``[x, y]`` (the tuple is read from a list; its items stay strict numbers)
Coord = Annotated[tuple[LocalMetre, LocalMetre], Strict(False)]


def _iso_text(value: object) -> object:
    """A date-time arrives as ISO 8601 text (a number of seconds is not one)."""
    if isinstance(value, (str, datetime)):
        return value
    raise ValueError("a date-time is ISO 8601 text with its offset, e.g. 2025-06-02T08:00:00+08:00")


#: a timezone-aware date-time sent as ISO 8601 text
Time = Annotated[AwareDatetime, Strict(False), BeforeValidator(_iso_text)]


def _json_integer(value: object) -> object:
    """An integer arrives as a JSON number (``12`` or ``12.0``), not as text or a boolean."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("an integer is a JSON number, e.g. 12")
    return value


#: a JSON integer: ``12`` and ``12.0`` (the same number to JSON Schema), not ``"12"`` nor ``true``
Whole = Annotated[int, Strict(False), BeforeValidator(_json_integer)]


class StrictIn(BaseModel):
    """A request body: no unknown fields, no type conversions (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", strict=True)


_In = StrictIn


class PermitIn(_In):
    type: Literal["hot_work", "confined_space", "blind_plate", "work_at_height", "lifting", "temp_power",
                  "excavation", "road_closure"]
    level: str | None = Field(default=None, max_length=16)
    title: str = Field(min_length=1, max_length=200)
    work_polygon: list[Coord] = Field(min_length=3, max_length=200)
    holder: str = Field(min_length=1, max_length=64)
    guardian: str | None = Field(default=None, max_length=64)
    fire_watch: str | None = Field(default=None, max_length=64,
                                   description="who keeps the fire watch after hot work (default: the guardian)")
    workers: list[str] = Field(default_factory=list, max_length=50)
    jha: str = Field(default="", max_length=4000)
    activities: list[str] = Field(default_factory=list, max_length=20)
    line_id: str | None = Field(default=None, max_length=64)
    z_min_m: float = Field(default=0.0, ge=-1000, le=1000)
    z_max_m: float = Field(default=0.0, ge=-1000, le=1000)
    simops_coordinator: str | None = Field(default=None, max_length=64)
    planned_start: Time
    planned_end: Time


class ActionIn(_In):
    reason: str = Field(default="", max_length=2000)
    note: str = Field(default="", max_length=2000)


GAS_DOC = ("the gas, by substance id or alias — " + ", ".join(f"`{c}`" for c in CANONICAL)
           + "; formulas and Chinese names too (`NH3`, `H2S`, `液氨`, `硫化氢` …); `O2` for oxygen")
Unit = Literal["%LEL", "%vol", "ppm", "mg/m3"]


class GasReadingIn(_In):
    """One gas read by an instrument: %LEL, %vol, ppm or mg/m³ (ppm ↔ mg/m³ at 25 °C, 1 atm)."""

    gas: str = Field(min_length=1, max_length=32, description=GAS_DOC, examples=["NH3"])
    value: float = Field(ge=0, le=1e6, allow_inf_nan=False)
    unit: Unit


class GasTestIn(_In):
    """A gas test: from a live detector near the work (``sensor_id``), or from a portable
    instrument — one gas (``gas``, ``value``, ``unit``) or every gas a multi-gas instrument read at
    once (``readings``: O2, LEL, H2S, CO …) — with ``sampled_at``. The test passes only when every
    reading passes the rule pack's limit for its substance."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"gas": "ammonia", "value": 12, "unit": "ppm", "sampled_at": "2025-06-02T07:55:00+00:00",
         "instrument_id": "PGD-7"},
        {"readings": [{"gas": "O2", "value": 20.9, "unit": "%vol"}, {"gas": "CH4", "value": 3, "unit": "%LEL"},
                      {"gas": "H2S", "value": 0, "unit": "ppm"}, {"gas": "CO", "value": 2, "unit": "ppm"}],
         "sampled_at": "2025-06-02T07:55:00+00:00", "instrument_id": "MX4-12", "point": "V-101 manway, top"},
        {"sensor_id": "GD-U1-01"}]})

    sensor_id: str | None = Field(default=None, max_length=64, description="a gas detector of the plant near the work")
    gas: str | None = Field(default=None, max_length=32, description=GAS_DOC)
    value: float | None = Field(default=None, ge=0, le=1e6, allow_inf_nan=False)
    unit: Unit | None = None
    readings: list[GasReadingIn] | None = Field(default=None, max_length=12,
                                                description="every gas of a multi-gas instrument, read at once")
    sampled_at: Time | None = None
    instrument_id: str | None = Field(default=None, max_length=64)
    point: str = Field(default="", max_length=200, description="where the sample was taken")


class MonitorIn(_In):
    """One reading of the portable monitor that watches the job continuously (GB 30871-2022 6.5;
    5.3.1 d for special hot work); a failing one suspends the active permit."""

    instrument_id: str = Field(min_length=1, max_length=64)
    readings: list[GasReadingIn] = Field(min_length=1, max_length=12)
    sampled_at: Time


class IncidentIn(_In):
    x: float = Field(ge=-1e5, le=1e5)
    y: float = Field(ge=-1e5, le=1e5)
    radius_m: float = Field(default=30.0, ge=0, le=5000)
    description: str = Field(min_length=1, max_length=2000)


Role = Literal[ROLES]  # type: ignore[valid-type]


class UserIn(_In):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=256)
    roles: list[Role] = Field(min_length=1, max_length=9)
    full_name: str = Field(default="", max_length=128)


class UserPatch(_In):
    """What to change of a user (omitted fields stay); deactivation and role changes act on the
    user's next request."""

    roles: list[Role] | None = Field(default=None, min_length=1, max_length=9)
    active: bool | None = None
    full_name: str | None = Field(default=None, max_length=128)


class PasswordIn(_In):
    password: str = Field(min_length=8, max_length=256)


class UserOut(BaseModel):
    id: str
    full_name: str
    roles: list[str]
    active: bool
    created_at: str | None = None
    updated_at: str | None = None


class Assignment(BaseModel):
    """An open record waiting on a user."""

    kind: str
    id: str
    role: str
    state: str


class UserChangeOut(UserOut):
    open_assignments: list[Assignment] = Field(default_factory=list,
                                               description="open records of a deactivated user, to reassign")


class MeOut(BaseModel):
    id: str
    roles: list[str]


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"]
    roles: list[str]


class LockOut(BaseModel):
    kind: Literal["account", "address"]
    key: str
    seconds_left: float


class RecordSummary(BaseModel):
    """The projection columns of a record (``view=summary``): no document is read."""

    kind: str
    id: str
    state: str
    subtype: str | None = None
    level: str | None = None
    owner: str | None = None
    title: str | None = None
    area_id: str | None = None
    version: int
    created_at: str | None = None
    updated_at: str
    due_at: str | None = None


class CertificateIn(_In):
    person_id: str = Field(min_length=1, max_length=64)
    type: str = Field(min_length=1, max_length=64)
    number: str = Field(min_length=1, max_length=64)
    issued_at: Time
    expires_at: Time


class HazardIn(_In):
    title: str = Field(min_length=1, max_length=200)
    category: Literal["person", "equipment", "environment", "management"]
    level: Literal["general", "major"]
    x: float = Field(ge=-1e5, le=1e5)
    y: float = Field(ge=-1e5, le=1e5)
    description: str = Field(default="", max_length=4000)
    photos: list[str] = Field(default_factory=list, max_length=20)
    equipment_id: str | None = Field(default=None, max_length=64,
                                     description="the plant equipment it is on (equipment hazards: else the one "
                                                 "within 3 m of the point)")


class FiveFixesIn(_In):
    measures: str = Field(min_length=1, max_length=4000)
    responsible: str = Field(min_length=1, max_length=64)
    funds: float = Field(ge=0, le=1e12)
    deadline: Time
    contingency: str = Field(min_length=1, max_length=4000)


class HazardActionIn(_In):
    level: Literal["general", "major"] | None = None
    reason: str = Field(default="", max_length=2000)
    rectifier: str | None = Field(default=None, max_length=64)
    deadline: Time | None = None
    new_deadline: Time | None = None
    approve: bool = False
    ok: bool = False
    note: str = Field(default="", max_length=2000)
    measures: str = Field(default="", max_length=4000)
    evidence: list[str] = Field(default_factory=list, max_length=20)
    plan: FiveFixesIn | None = None


class AlarmActionIn(_In):
    text: str = Field(default="", max_length=2000)


class RiskUnitIn(_In):
    name: str = Field(min_length=1, max_length=200)
    area_id: str | None = Field(default=None, max_length=64)
    polygon: list[Coord] | None = Field(default=None, min_length=3, max_length=200)
    owner: str | None = Field(default=None, max_length=64, description="the person answering for it (包保责任人)")


class RiskUnitPatch(_In):
    """What to change of a risk unit (omitted fields stay; give an area or a polygon to move it)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    area_id: str | None = Field(default=None, max_length=64)
    polygon: list[Coord] | None = Field(default=None, min_length=3, max_length=200)
    owner: str | None = Field(default=None, max_length=64)


Factors = dict[Literal["L", "E", "C", "S"], Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]]


class RiskAssessIn(_In):
    """A risk event: its inherent risk (``factors``) and, with its control measures in place, its
    residual risk (``residual_factors``, same method). LEC: L, E, C on the published scales; LS:
    L and S 1–5."""

    description: str = Field(min_length=1, max_length=2000)
    method: Literal["LEC", "LS"]
    factors: Factors
    measures: list[str] = Field(default_factory=list, max_length=50)
    residual_factors: Factors | None = None


class ReassessIn(_In):
    residual_factors: Factors
    measures: list[str] | None = Field(default=None, max_length=50)


class ControlTaskIn(_In):
    """A control task (管控任务): who checks which control measure, how often."""

    description: str = Field(min_length=1, max_length=500)
    assignee: str = Field(min_length=1, max_length=64)
    every_days: float = Field(gt=0, le=3660, allow_inf_nan=False)
    event_id: str | None = Field(default=None, max_length=16)
    first_due: Time | None = None


class ControlCheckIn(_In):
    ok: bool
    note: str = Field(default="", max_length=2000, description="what was found (required when the check fails)")
    hazard_category: Literal["person", "equipment", "environment", "management"] = "equipment"


class TaskOut(BaseModel):
    """One thing waiting on the user: the record, the action to take on it, why, and when it is due."""

    kind: str
    id: str
    action: str
    why: str
    state: str
    title: str
    due_at: str | None = None
    task_id: str | None = None


class CertificateOut(Certificate):
    """A certificate with its status computed from its dates at the time of the answer."""

    status: Literal["valid", "expiring", "expired", "revoked", "suspended"]
    days_left: float = Field(description="days until expiry (negative once expired)")


class IdsOut(BaseModel):
    ids: list[str]
