"""Drill indicator system: modules, indicators, weights and methods (a YAML file), and the scoring.

The default system (``default_indicators.yaml`` beside this module) follows the AQ/T 9009-2015
execution modules (预警与信息报告, 紧急响应, 疏散与安置, 警戒与防护, 现场处置) plus the drill's objectives,
each module mapped to an HSEEP core capability. Every indicator names a ``metric`` measured from
the drill record (:mod:`.metrics`) and a ``method``:

* ``measure`` — five ascending thresholds turn the value into 0–5 (``better: lower``: value ≤
  thresholds[0] → 5 … ≤ thresholds[4] → 1, above → 0; ``better: higher`` mirrors it); with
  ``relative: true`` the value is first divided by the context value named by ``reference``;
* ``yes_no`` — truthy → 5, else 0;  ``scale`` — the value is already a 0–5 rating.

Scoring (a project convention, not a standard): module fraction =
Σ wᵢ·sᵢ/5 ÷ Σ wᵢ over the indicators that could be observed; total = Σ W_m·fraction_m ÷ Σ W_m
× 100 over the observed modules. Grade ≥ 90 优秀, ≥ 80 良好, ≥ 60 合格, else 不合格; **any 不足项 caps the
grade at 合格**, and a person not accounted for makes it 不合格 whatever the score. HSEEP rating per
module capability: fraction ≥ 0.9 P, ≥ 0.7 S, ≥ 0.4 M, else U (a module with a 不足项 is rated M at best).

Example::

    >>> cfg = load_indicator_config()
    >>> ind = cfg.indicator("alarm_time")
    >>> score_value(ind, 75.0), score_value(ind, 1000.0)
    (4, 0)
    >>> grade(95.0, has_deficiency=True)
    '合格'
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from safetwin.errors import LocatedValidationError

__all__ = ["IndicatorConfig", "Module", "Indicator", "IndicatorConfigError", "DEFAULT_CONFIG_PATH",
           "load_indicator_config", "score_value", "score_values", "grade", "hseep_rating", "finding_severity",
           "SEVERITIES", "GRADES", "DeviationRule", "DEFAULT_DEVIATIONS", "most_severe"]

DEFAULT_CONFIG_PATH = Path(__file__).with_name("default_indicators.yaml")
#: finding severities, most severe first (不足项 deficiency, 整改项 rectification, 改进项 improvement)
SEVERITIES = ("不足项", "整改项", "改进项")
GRADES = ("优秀", "良好", "合格", "不合格")
HSEEP = ("P", "S", "M", "U")


class IndicatorConfigError(LocatedValidationError):
    """An indicator configuration with every problem found (file, field)."""

    kind = "indicator config"


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Indicator(_M):
    """One indicator: what is measured (``metric``), how it is scored, and the finding it raises."""

    id: str = Field(min_length=1)
    name: str = ""
    metric: str = Field(min_length=1)
    unit: str = ""
    method: Literal["measure", "yes_no", "scale"] = "measure"
    better: Literal["lower", "higher"] = "lower"
    thresholds: list[float] = Field(default_factory=list)
    reference: str | None = None
    relative: bool = False
    weight: float = Field(default=1.0, gt=0)
    findings: dict[Literal["不足项", "整改项", "改进项"], float] = Field(default_factory=dict)
    action: str = ""
    element: Literal["planning", "organization", "equipment", "training", "exercise"] = "planning"
    owner: str = ""

    @model_validator(mode="after")
    def _check(self) -> Indicator:
        if self.method == "measure":
            t = self.thresholds
            if len(t) != 5:
                raise ValueError("a measure needs 5 thresholds (scores 5, 4, 3, 2, 1)")
            d = np.diff(t)
            if (self.better == "lower" and np.any(d < 0)) or (self.better == "higher" and np.any(d > 0)):
                raise ValueError(f"thresholds must be {'ascending' if self.better == 'lower' else 'descending'} "
                                 f"for better: {self.better}")
        if self.relative and not self.reference:
            raise ValueError("relative: true needs a reference (context value to divide by)")
        return self


Severity = Literal["不足项", "整改项", "改进项"]


class DeviationRule(_M):
    """How one kind of deviation from the plan becomes a finding: its ``severity``, the lateness still
    on plan (``tolerance_s``) and the ``indicator`` it explains (its module, action, element, owner)."""

    severity: Severity
    tolerance_s: float = Field(default=0.0, ge=0)
    indicator: str | None = None


#: the deviation kinds :mod:`.deviations` detects, with their default rules
DEFAULT_DEVIATIONS: dict[str, DeviationRule] = {
    "unaccounted": DeviationRule(severity="不足项", indicator="headcount_accuracy"),
    "false_headcount": DeviationRule(severity="不足项", indicator="headcount_report"),
    "headcount_not_reported": DeviationRule(severity="整改项", indicator="headcount_report"),
    "late_muster": DeviationRule(severity="整改项", tolerance_s=60.0, indicator="muster_time_vs_plan"),
    "alarm_late": DeviationRule(severity="整改项", tolerance_s=15.0, indicator="alarm_time"),
    "alarm_not_acknowledged": DeviationRule(severity="整改项", indicator="alarm_ack_time"),
    "alarm_ack_late": DeviationRule(severity="改进项", indicator="alarm_ack_time"),
    "response_late": DeviationRule(severity="改进项", tolerance_s=30.0, indicator="response_start"),
    "response_before_alarm": DeviationRule(severity="改进项", indicator="response_start"),
    "resource_late": DeviationRule(severity="改进项", tolerance_s=60.0, indicator="resource_arrival"),
    "objective_unmet": DeviationRule(severity="整改项", indicator="objectives_met"),
}


class Module(_M):
    """A module (AQ/T 9009 heading) with its weight, HSEEP capability and indicators."""

    id: str = Field(min_length=1)
    name: str = ""
    capability: str = ""
    weight: float = Field(gt=0)
    indicators: list[Indicator] = Field(min_length=1)


class IndicatorConfig(_M):
    """The whole indicator system (see the module docstring)."""

    name: str = ""
    grades: dict[Literal["优秀", "良好", "合格"], float] = Field(
        default_factory=lambda: {"优秀": 90.0, "良好": 80.0, "合格": 60.0})
    hseep: dict[Literal["P", "S", "M"], float] = Field(default_factory=lambda: {"P": 0.9, "S": 0.7, "M": 0.4})
    due_days: dict[Literal["不足项", "整改项", "改进项"], int] = Field(
        default_factory=lambda: {"不足项": 30, "整改项": 90, "改进项": 180})
    targets: dict[str, float] = Field(default_factory=lambda: {"evacuation_target_s": 900.0})
    muster_tolerance_m: float = Field(default=2.0, ge=0, description="muster discs grown by this (RTLS accuracy), m")
    deviations: dict[Literal[tuple(DEFAULT_DEVIATIONS)], DeviationRule] = Field(  # type: ignore[valid-type]
        default_factory=dict, description="rules for the deviations from the plan (defaults fill the rest)")
    unaccounted_fails: bool = Field(default=True, description="an unaccounted person grades the drill 不合格")
    max_named_findings: int = Field(default=20, ge=1, description="people with a finding of their own")
    modules: list[Module] = Field(min_length=1)

    def deviation_rule(self, kind: str) -> DeviationRule:
        """The rule of deviation ``kind`` (the configured one, else the default)."""
        return self.deviations.get(kind) or DEFAULT_DEVIATIONS[kind]

    @model_validator(mode="after")
    def _unique(self) -> IndicatorConfig:
        ids = [i.id for m in self.modules for i in m.indicators]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"indicator ids must be unique; repeated: {dup}")
        return self

    def indicator(self, ind_id: str) -> Indicator:
        """The indicator with id ``ind_id`` (KeyError when missing)."""
        for m in self.modules:
            for i in m.indicators:
                if i.id == ind_id:
                    return i
        raise KeyError(ind_id)

    def with_weights(self, modules: dict[str, float] | None = None,
                     indicators: dict[str, float] | None = None) -> IndicatorConfig:
        """A copy with some module and/or indicator weights replaced (ids → weight)."""
        doc = self.model_dump()
        for m in doc["modules"]:
            if modules and m["id"] in modules:
                m["weight"] = modules[m["id"]]
            for i in m["indicators"]:
                if indicators and i["id"] in indicators:
                    i["weight"] = indicators[i["id"]]
        return IndicatorConfig.model_validate(doc)


def _located(err: ValidationError, where: str) -> list[str]:
    out = []
    for e in err.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]).lstrip(".")
        out.append(f"{where}: {loc or '(top)'}: {e['msg']}")
    return out


def load_indicator_config(path: str | Path | None = None) -> IndicatorConfig:
    """Read an indicator system (YAML); default: the shipped one. :class:`IndicatorConfigError`
    names the file and field of every problem."""
    p = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise IndicatorConfigError(p, [f"{p}: cannot read: {err}"]) from None
    try:
        return IndicatorConfig.model_validate(doc)
    except ValidationError as err:
        raise IndicatorConfigError(p, _located(err, str(p))) from None


def score_values(ind: Indicator, values: np.ndarray) -> np.ndarray:
    """Scores 0–5 (int) of many values of one indicator (NaN → -1, i.e. not observed; +inf → worst)."""
    v = np.asarray(values, float)
    if ind.method == "yes_no":
        s = np.where(v > 0, 5, 0)
    elif ind.method == "scale":
        s = np.clip(np.round(np.nan_to_num(v, nan=0.0, posinf=0.0, neginf=0.0)), 0, 5)
    else:
        t = np.asarray(ind.thresholds, float)
        if ind.better == "lower":
            s = 5 - np.searchsorted(t, v, side="left")
        else:
            s = 5 - np.searchsorted(-t, -v, side="left")
    return np.where(np.isnan(v), -1, s).astype(int)


def score_value(ind: Indicator, value: float | None) -> int | None:
    """Score 0–5 of one value (None when not observed)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(score_values(ind, np.array([float(value)]))[0])


def finding_severity(ind: Indicator, score: int | None) -> str | None:
    """The finding a score raises: the most severe level whose limit the score is at or below."""
    if score is None:
        return None
    for sev in SEVERITIES:
        if sev in ind.findings and score <= ind.findings[sev]:
            return sev
    return None


def grade(score_100: float, has_deficiency: bool, cutoffs: dict[str, float] | None = None, *,
          unaccounted: int = 0) -> str:
    """优秀/良好/合格/不合格 from the 0–100 score; an open 不足项 caps it at 合格; a person not accounted
    for (``unaccounted`` > 0) makes it 不合格 whatever the score."""
    if unaccounted > 0:
        return "不合格"
    c = cutoffs or {"优秀": 90.0, "良好": 80.0, "合格": 60.0}
    g = next((name for name in ("优秀", "良好", "合格") if score_100 >= c[name]), "不合格")
    if has_deficiency and g in ("优秀", "良好"):
        g = "合格"
    return g


def most_severe(*severities: str | None) -> str | None:
    """The most severe of some finding severities (None entries ignored; None if all are None)."""
    known = [s for s in severities if s is not None]
    return min(known, key=SEVERITIES.index) if known else None


def hseep_rating(fraction: float | None, has_deficiency: bool, cutoffs: dict[str, float] | None = None) -> str | None:
    """HSEEP P/S/M/U from a module's fraction of full marks (None: nothing observed); a 不足项 → M at best."""
    if fraction is None:
        return None
    c = cutoffs or {"P": 0.9, "S": 0.7, "M": 0.4}
    r = next((k for k in ("P", "S", "M") if fraction >= c[k]), "U")
    if has_deficiency and r in ("P", "S"):
        r = "M"
    return r


def describe(cfg: IndicatorConfig) -> list[dict[str, Any]]:
    """The indicator system as rows (module, weight, indicator, method, thresholds) for reports and docs."""
    return [{"module": m.id, "module_name": m.name, "module_weight": m.weight, "capability": m.capability,
             "indicator": i.id, "name": i.name, "metric": i.metric, "method": i.method, "better": i.better,
             "thresholds": i.thresholds, "weight": i.weight} for m in cfg.modules for i in m.indicators]
