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
from safetwin.twin.alarms.rules import PRIORITY

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


#: What an alarm of a detector touching a permit's work area does to the permit:
#: ``stop`` suspends it; ``judge`` re-judges the detector's reading with the permit's gas-test rule
#: (:func:`.gas.judge`) and suspends only when the reading fails it, else warns the people of the
#: permit; ``warn`` only tells them; ``monitoring_lost`` suspends permits that need continuous gas
#: monitoring and have no other working monitor, and warns the others.
ALARM_ACTIONS = ("stop", "judge", "warn", "monitoring_lost")
AlarmAction = Literal["stop", "judge", "warn", "monitoring_lost"]


class SuspensionRules(_M):
    """What each level of the alarm engine does to the permits a detector touches, and how near it
    must be. ``alarm_levels`` is keyed by the engine's level codes (:data:`safetwin.twin.alarms.PRIORITY`:
    W, H, HH, L, LL, ROC, FAULT, STALE) and must name every one of them; a level the pack does not
    know (never raised by the engine) stops the work."""

    radius_m: float = 15.0
    alarm_levels: dict[str, AlarmAction]
    level_clauses: dict[str, str] = Field(default_factory=dict)
    fire_detector_types: list[str] = Field(default_factory=lambda: ["flame", "smoke", "heat"])
    """Sensor types whose alarms mean fire: any alarm of theirs but FAULT/STALE stops the work nearby."""
    fire_clause: str = ""

    @field_validator("alarm_levels")
    @classmethod
    def _every_engine_level(cls, v: dict[str, str]) -> dict[str, str]:
        missing = sorted(set(PRIORITY) - set(v))
        if missing:
            raise ValueError(f"alarm_levels must say what each level of the alarm engine does; missing {missing}")
        return v

    def action(self, level: str) -> str:
        """The action of an alarm level (``stop`` for a level the pack does not name: fail safe)."""
        return self.alarm_levels.get(level, "stop")

    def clause(self, level: str) -> str:
        """The clause that decides what ``level`` does ("" when none is given)."""
        return self.level_clauses.get(level, "")


class ContinuousMonitoring(_M):
    """Gas monitoring that must run for the whole job (GB 30871-2022 5.3.1 d: 特级 hot work; 6.5:
    a portable monitor inside a confined space, read every 2 h)."""

    levels: list[str] | None = None
    """Permit levels it applies to (None: every level of the type)."""
    sources: list[Literal["fixed", "portable"]] = Field(default_factory=lambda: ["fixed", "portable"])
    """``fixed``: a plant gas detector near the work with a good, fresh reading; ``portable``: a
    portable monitor feeding readings to the permit (``POST /permits/{id}/monitor``)."""
    log_every_min: float = 120.0
    stale_after_s: float = 120.0
    """A portable feed silent this long has stopped monitoring."""
    clause: str = ""


class TypeGasTest(_M):
    required: bool = False
    retest_gap_min: float = 60.0
    """An interruption (pause) longer than this needs a new passing gas test before work resumes."""
    retest_clause: str = ""
    oxygen: bool = False
    daily: bool = False
    """A passing test taken the same local day is needed each day before work (re)starts."""
    continuous: ContinuousMonitoring | None = None


class Guardian(_M):
    required: bool = False
    cert: str | None = None


class LevelRule(_M):
    name_zh: str = ""
    validity_h: float = Field(gt=0)
    chain: list[str] = Field(min_length=1)
    retest_gap_min: float | None = None
    clause: str = ""


class WindLimit(_M):
    """Outdoor work of a type stops at this wind speed (m/s, the site's weather station)."""

    max_m_s: float = Field(gt=0)
    clause: str = ""


class PermitTypeRule(_M):
    name_zh: str = ""
    clause: str = ""
    gas_test: TypeGasTest = TypeGasTest()
    guardian: Guardian = Guardian()
    worker_certs: list[str] = Field(default_factory=list)
    fire_watch_after_min: float = 0.0
    """Minutes after completion during which the fire watch stays; the permit closes only after that
    and the fire watch's confirmation that no embers remain."""
    fire_watch_clause: str = ""
    wind_limit: WindLimit | None = None
    levels: dict[str, LevelRule]

    def retest_gap_min(self, level: str | None) -> float:
        """The interruption (min) after which work needs a new gas test (the level's value wins)."""
        lr = self.levels.get(level or "none")
        return lr.retest_gap_min if lr is not None and lr.retest_gap_min is not None else self.gas_test.retest_gap_min

    def needs_continuous_monitoring(self, level: str | None) -> bool:
        """True when the job must be monitored for gas for its whole duration."""
        cm = self.gas_test.continuous
        return cm is not None and (cm.levels is None or (level or "none") in cm.levels)


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
    suspension: SuspensionRules
    local_timezone: str = "UTC"
    """IANA time zone whose calendar day the pack's daily rules count (a daily gas test)."""
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
