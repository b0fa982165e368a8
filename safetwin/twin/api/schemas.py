"""Request bodies of the workflow API (validated; bad input answers 422)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

#: a point of the plant's local frame (m); bounded so geometry and reprojection stay finite
LocalMetre = Annotated[float, Field(ge=-1e5, le=1e5, allow_inf_nan=False)]
Coord = tuple[LocalMetre, LocalMetre]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PermitIn(_In):
    type: Literal["hot_work", "confined_space", "blind_plate", "work_at_height", "lifting", "temp_power",
                  "excavation", "road_closure"]
    level: str | None = Field(default=None, max_length=16)
    title: str = Field(min_length=1, max_length=200)
    work_polygon: list[Coord] = Field(min_length=3, max_length=200)
    holder: str = Field(min_length=1, max_length=64)
    guardian: str | None = Field(default=None, max_length=64)
    workers: list[str] = Field(default_factory=list, max_length=50)
    jha: str = Field(default="", max_length=4000)
    activities: list[str] = Field(default_factory=list, max_length=20)
    line_id: str | None = Field(default=None, max_length=64)
    z_min_m: float = Field(default=0.0, ge=-1000, le=1000)
    z_max_m: float = Field(default=0.0, ge=-1000, le=1000)
    simops_coordinator: str | None = Field(default=None, max_length=64)
    planned_start: AwareDatetime
    planned_end: AwareDatetime


class ActionIn(_In):
    reason: str = Field(default="", max_length=2000)
    note: str = Field(default="", max_length=2000)


class GasTestIn(_In):
    sensor_id: str | None = Field(default=None, max_length=64)
    gas: str | None = Field(default=None, max_length=32)
    value: float | None = Field(default=None, ge=0, le=1e6)
    unit: Literal["%LEL", "%vol", "ppm", "mg/m3"] | None = None
    sampled_at: AwareDatetime | None = None
    instrument_id: str | None = Field(default=None, max_length=64)


class IncidentIn(_In):
    x: float = Field(ge=-1e5, le=1e5)
    y: float = Field(ge=-1e5, le=1e5)
    radius_m: float = Field(default=30.0, ge=0, le=5000)
    description: str = Field(min_length=1, max_length=2000)


class UserIn(_In):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=256)
    roles: list[str] = Field(min_length=1, max_length=9)
    full_name: str = Field(default="", max_length=128)


class CertificateIn(_In):
    person_id: str = Field(min_length=1, max_length=64)
    type: str = Field(min_length=1, max_length=64)
    number: str = Field(min_length=1, max_length=64)
    issued_at: AwareDatetime
    expires_at: AwareDatetime


class HazardIn(_In):
    title: str = Field(min_length=1, max_length=200)
    category: Literal["person", "equipment", "environment", "management"]
    level: Literal["general", "major"]
    x: float = Field(ge=-1e5, le=1e5)
    y: float = Field(ge=-1e5, le=1e5)
    description: str = Field(default="", max_length=4000)
    photos: list[str] = Field(default_factory=list, max_length=20)


class FiveFixesIn(_In):
    measures: str = Field(min_length=1, max_length=4000)
    responsible: str = Field(min_length=1, max_length=64)
    funds: float = Field(ge=0, le=1e12)
    deadline: AwareDatetime
    contingency: str = Field(min_length=1, max_length=4000)


class HazardActionIn(_In):
    level: Literal["general", "major"] | None = None
    reason: str = Field(default="", max_length=2000)
    rectifier: str | None = Field(default=None, max_length=64)
    deadline: AwareDatetime | None = None
    new_deadline: AwareDatetime | None = None
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


class RiskAssessIn(_In):
    description: str = Field(min_length=1, max_length=2000)
    method: Literal["LEC", "LS"]
    factors: dict[Literal["L", "E", "C", "S"], float]
    measures: list[str] = Field(default_factory=list, max_length=50)


class PeriodQuery(_In):
    start: datetime
    end: datetime
