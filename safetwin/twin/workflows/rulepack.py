"""Rule packs: regulations as data (``rules/*.yaml``), validated into typed objects.

>>> pack = load_pack("gb30871_2022")
>>> pack.level_rule("hot_work", "first").validity_h
8.0
>>> pack.level_rule("hot_work", "special").chain
['approver', 'safety_engineer', 'manager', 'operator']
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from safetwin.substances import LIMITS, UnknownSubstance, canonical_name

from .errors import GuardFailed
from .roles import ROLES

RULES_DIR = Path(__file__).resolve().parent / "rules"
PERMIT_TYPES: tuple[str, ...] = (
    "hot_work", "confined_space", "blind_plate", "work_at_height", "lifting", "temp_power", "excavation", "road_closure",
)


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FlammableLimit(_M):
    """Either an absolute %vol limit for gases whose LEL ≥ ``lel_min_vol`` (GB), or a fraction of LEL (OSHA)."""

    lel_min_vol: float | None = None
    limit_vol: float | None = None
    lel_fraction: float | None = None
    clause: str = ""


class Range(_M):
    min: float
    max: float
    clause: str = ""


class OccupationalLimitBasis(_M):
    """Which occupational-limit table toxic gases are judged against, and which of its limits first."""

    table: str
    basis: list[Literal["MAC", "PC-TWA", "PC-STEL"]] = Field(min_length=1)
    clause: str = ""
    every_limited_gas_for: list[str] = Field(default_factory=list)
    """Permit types whose tests judge every gas with a limit in the table (e.g. confined space,
    GB 30871-2022 6.4 b); other types judge only the always-toxic gases against it."""

    @field_validator("table")
    @classmethod
    def _known_table(cls, v: str) -> str:
        if v not in LIMITS:
            raise ValueError(f"unknown occupational-limit table {v!r}; known: {sorted(LIMITS)}")
        return v


class GasTestRules(_M):
    max_age_min: float = 30.0
    flammable_limits: list[FlammableLimit]
    oxygen_vol: Range
    occupational_limits: OccupationalLimitBasis | None = None
    toxic_limits_mg_m3: dict[str, float] = Field(default_factory=dict)
    """Site limits (mg/m³) that take precedence over the table; keys are substance names or aliases."""

    @field_validator("toxic_limits_mg_m3")
    @classmethod
    def _canonical_keys(cls, v: dict[str, float]) -> dict[str, float]:
        try:
            return {canonical_name(k): float(x) for k, x in v.items()}
        except UnknownSubstance as e:
            raise ValueError(str(e.args[0])) from None


#: Level names a rule pack may use for the level codes the live alarm engine raises
#: (:mod:`safetwin.twin.alarms`: W / H / HH for a detector's warning / high / high-high levels).
#: Only "warning" is translated: "low" in a pack means a low-priority alarm, not the engine's L
#: (oxygen below 19.5 %vol), which must stop the work.
ALARM_LEVEL_CODES = {"warning": "W"}


class SuspensionRules(_M):
    """Which alarm levels do NOT stop the work, and how near a detector must be to touch a permit."""

    alarm_levels_ignored: list[str] = Field(default_factory=list)
    radius_m: float = 15.0

    @field_validator("alarm_levels_ignored")
    @classmethod
    def _with_engine_codes(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v + [ALARM_LEVEL_CODES[x] for x in v if x in ALARM_LEVEL_CODES]))


class TypeGasTest(_M):
    required: bool = False
    retest_gap_min: float = 60.0
    oxygen: bool = False


class Guardian(_M):
    required: bool = False
    cert: str | None = None


class LevelRule(_M):
    name_zh: str = ""
    validity_h: float = Field(gt=0)
    chain: list[str] = Field(min_length=1)
    retest_gap_min: float | None = None
    clause: str = ""


class PermitTypeRule(_M):
    name_zh: str = ""
    clause: str = ""
    gas_test: TypeGasTest = TypeGasTest()
    guardian: Guardian = Guardian()
    worker_certs: list[str] = Field(default_factory=list)
    fire_watch_after_min: float = 0.0
    levels: dict[str, LevelRule]


class SimopsRule(_M):
    a: str
    b: str
    within_m: float | None = None
    same_line: bool = False
    same_fall_line: bool = False
    code: Literal["N", "R"]
    clause: str = ""


class RulePack(_M):
    """One regulation's rules for permits, gas tests, suspension and SIMOPS."""

    id: str
    name: str
    version: str
    gas_test: GasTestRules
    suspension: SuspensionRules = SuspensionRules()
    permit_types: dict[str, PermitTypeRule]
    simops: list[SimopsRule] = Field(default_factory=list)

    def type_rule(self, permit_type: str) -> PermitTypeRule:
        """The rule of one permit type, or :class:`GuardFailed` naming the known types."""
        try:
            return self.permit_types[permit_type]
        except KeyError:
            raise GuardFailed(f"pack {self.id}: unknown permit type {permit_type!r}; known: {sorted(self.permit_types)}",
                              "unknown_type") from None

    def level_rule(self, permit_type: str, level: str | None) -> LevelRule:
        """The rule of one level of a type (``none`` for ungraded types)."""
        levels = self.type_rule(permit_type).levels
        key = level or "none"
        if key not in levels:
            raise GuardFailed(f"pack {self.id}: {permit_type} has no level {key!r}; levels: {sorted(levels)}",
                              "unknown_level")
        return levels[key]


def _check(pack: RulePack) -> RulePack:
    for t, rule in pack.permit_types.items():
        for lv, lr in rule.levels.items():
            bad = [r for r in lr.chain if r not in ROLES]
            if bad:
                raise ValueError(f"pack {pack.id}: {t}/{lv}: unknown roles in chain {bad}")
    return pack


@lru_cache(maxsize=16)
def load_pack(name_or_path: str) -> RulePack:
    """Load a rule pack by id (file in ``rules/``) or path; cached."""
    path = Path(name_or_path)
    if not path.suffix:
        path = RULES_DIR / f"{name_or_path}.yaml"
    with open(path, encoding="utf-8") as f:
        return _check(RulePack.model_validate(yaml.safe_load(f)))


def available_packs() -> list[str]:
    """Ids of the packs shipped in ``rules/``."""
    return sorted(p.stem for p in RULES_DIR.glob("*.yaml"))
