"""The field rule pack: inspection checklists, round evidence, training, contractor entry and
equipment intervals as data (``rules/field/*.yaml``), validated into typed objects.

>>> pack = load_field_pack("field_cn")
>>> [i.id for i in pack.checklist("pump")][:2]
['pu-seal', 'pu-vibration']
>>> pack.training.required_for("guardian")[-1], pack.equipment.interval_months("gas_detector", "calibration")
('guardian_training', 12)
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import GuardFailed

FIELD_RULES_DIR = Path(__file__).resolve().parent / "rules" / "field"


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Text(_M):
    en: str
    zh: str


class ChecklistItem(_M):
    """One item of an inspection checklist: a yes/no check, or a reading with its limits (in ``unit``)."""

    id: str
    kind: Literal["check", "reading"]
    text: Text
    unit: str = ""
    min: float | None = None
    max: float | None = None
    clause: str = ""

    @model_validator(mode="after")
    def _reading_has_limits(self) -> ChecklistItem:
        if self.kind == "reading" and (self.min is None or self.max is None or self.min > self.max):
            raise ValueError(f"reading item {self.id}: needs min <= max")
        return self


class RoundRules(_M):
    evidence_radius_m: float = Field(gt=0)
    evidence_window_min: float = Field(gt=0)
    default_grace_min: float = Field(ge=0)
    alarm_level_missed: str = "H"
    alarm_level_late: str = "W"
    clause: str = ""


class Course(_M):
    title: Text
    hours: float = Field(gt=0)
    validity_months: int = Field(ge=1)
    pass_score: float = Field(ge=0, le=100)
    level: Literal["induction", "general", "special"]


class TrainingRules(_M):
    induction: list[str] = Field(min_length=1)
    induction_total_hours_min: float = Field(ge=0)
    courses: dict[str, Course]
    permit_roles: dict[str, list[str]] = Field(default_factory=dict)
    permit_gate: Literal["registered", "all"] = "registered"
    """Whose training is checked when they are named on a permit: people in the person register
    (``registered``: contractors' people always are) or everyone (``all``)."""
    gas_tester: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_courses(self) -> TrainingRules:
        named = set(self.induction) | set(self.gas_tester) | {c for cs in self.permit_roles.values() for c in cs}
        unknown = sorted(named - set(self.courses))
        if unknown:
            raise ValueError(f"training: unknown courses {unknown}; known: {sorted(self.courses)}")
        return self

    def required_for(self, role: str) -> list[str]:
        """Courses a person must hold to be named on a permit as ``role`` (holder, worker, guardian)."""
        return list(self.permit_roles.get(role, []))


class ContractorRules(_M):
    required_qualifications: list[str] = Field(default_factory=list)
    restricted_area_kinds: list[str] = Field(default_factory=list)
    blacklist_below_score: float = Field(ge=0, le=100)
    entry_alarm_level: str = "H"


class Interval(_M):
    interval_months: int = Field(ge=1)
    clause: str = ""


class EquipmentRules(_M):
    kinds: dict[str, dict[str, Interval]]
    overdue_hazard_level: Literal["general", "major"] = "general"

    def activities(self, kind: str) -> dict[str, Interval]:
        """The due activities of an equipment kind, or :class:`GuardFailed` naming the known kinds."""
        try:
            return self.kinds[kind]
        except KeyError:
            raise GuardFailed(f"unknown equipment kind {kind!r}; known: {sorted(self.kinds)}", "unknown_kind") from None

    def interval_months(self, kind: str, activity: str) -> int:
        """The interval (months) of one activity of a kind."""
        acts = self.activities(kind)
        if activity not in acts:
            raise GuardFailed(f"{kind} has no activity {activity!r}; known: {sorted(acts)}", "unknown_activity")
        return acts[activity].interval_months


class FieldPack(_M):
    """The field workflows' rules of one jurisdiction (see the module docstring)."""

    id: str
    name: str
    version: str
    rounds: RoundRules
    checklists: dict[str, list[ChecklistItem]]
    training: TrainingRules
    contractors: ContractorRules
    equipment: EquipmentRules

    def checklist(self, key: str) -> list[ChecklistItem]:
        """The checklist of a checkpoint kind (plant equipment kind, ``area`` or ``gas_detector``)."""
        try:
            return self.checklists[key]
        except KeyError:
            raise GuardFailed(f"no checklist {key!r}; known: {sorted(self.checklists)}", "unknown_checklist") from None


@lru_cache(maxsize=8)
def load_field_pack(name_or_path: str = "field_cn") -> FieldPack:
    """Load a field pack by id (file in ``rules/field/``) or path; cached."""
    path = Path(name_or_path)
    if not path.suffix:
        path = FIELD_RULES_DIR / f"{name_or_path}.yaml"
    with open(path, encoding="utf-8") as f:
        return FieldPack.model_validate(yaml.safe_load(f))
