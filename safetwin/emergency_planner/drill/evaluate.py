"""Evaluate a drill: measure the record, score the indicators, compare with the simulated baseline,
grade, rate capabilities (HSEEP P/S/M/U) and write findings with corrective actions.

Strict by design: every deviation from the plan (:mod:`.deviations`: each person not accounted
for, late musterers by name and delay, a false head count, the alarm later than planned, …) is a
named finding, and **a person not accounted for grades the drill 不合格 whatever the score**.

:func:`evaluate` is pure (no I/O): record + plant (muster points) + optional scenario (its
objectives), baseline record and indicator system → :class:`Evaluation`. ``Evaluation.to_dict()``
is what ``evaluation.json`` holds and what the store keeps.

Findings are graded 不足项 (deficiency: could prevent adequate protection of life; fix within a set
period and re-demonstrate), 整改项 (fix before the next drill) and 改进项 (optional improvement). Each
carries an HSEEP improvement-plan row: corrective action, capability element (planning /
organization / equipment / training / exercise), owner and due date (evaluation date +
``due_days`` of its severity).

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from .record import DrillRecord, DrillEvent
    >>> plant = load_plant(bundled_plant_path("small_plant"))
    >>> rec = DrillRecord.from_arrays("demo", ["a", "a", "b", "b"], [0, 90, 0, 100],
    ...                               [60, 120, 60, 121], [60, 20, 60, 21],
    ...                               events=[DrillEvent(40.0, "alarm")], expected_headcount=3)
    >>> ev = evaluate(rec, plant)
    >>> ev.metrics["people_not_accounted_for"], ev.grade
    (1, '不合格')
    >>> [f["severity"] for f in ev.findings if f["indicator"] == "headcount_accuracy"]
    ['不足项']
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np

from .deviations import Deviation, find_deviations
from .indicators import (IndicatorConfig, finding_severity, grade, hseep_rating, load_indicator_config, most_severe,
                         score_value)
from .metrics import measure, muster_polygons
from .record import DrillRecord

__all__ = ["Evaluation", "evaluate", "compare_arrivals"]

#: a person is "delayed" when mustering this much later (s) than in the baseline
DELAY_S = 60.0


@dataclass
class Evaluation:
    """The result of :func:`evaluate` (plain data; ``to_dict`` for JSON)."""

    drill_id: str
    scenario: str
    source: str
    evaluated_at: datetime
    t0: datetime | None
    config: str
    score: float
    grade: str
    modules: list[dict[str, Any]]
    indicators: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    metrics: dict[str, Any]
    baseline_metrics: dict[str, Any] | None
    comparison: dict[str, Any]
    timeline: list[dict[str, Any]]
    arrivals_s: list[float] = field(default_factory=list)
    baseline_arrivals_s: list[float] = field(default_factory=list)

    @property
    def deficiencies(self) -> list[dict[str, Any]]:
        """The 不足项 findings."""
        return [f for f in self.findings if f["severity"] == "不足项"]

    def indicator(self, ind_id: str) -> dict[str, Any]:
        """One indicator row by id (KeyError when missing)."""
        for row in self.indicators:
            if row["id"] == ind_id:
                return row
        raise KeyError(ind_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (datetimes ISO 8601, +inf as the string "inf")."""
        d = asdict(self)
        d["evaluated_at"] = self.evaluated_at.isoformat()
        d["t0"] = self.t0.isoformat() if self.t0 else None
        return _jsonable(d)


def _jsonable(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return _jsonable(o.tolist())
    if isinstance(o, (np.floating, float)):
        v = float(o)
        return v if math.isfinite(v) else ("inf" if v > 0 else ("-inf" if v < 0 else None))
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    if isinstance(o, (datetime, date)):
        return o.isoformat()
    return o


def compare_arrivals(rec: DrillRecord, arr: np.ndarray, base: DrillRecord, base_arr: np.ndarray,
                     delayed_over_s: float = DELAY_S) -> dict[str, Any]:
    """Per-person muster times recorded vs baseline, for the people present in both (by id); "delayed"
    means more than ``delayed_over_s`` (s) later."""
    common, ia, ib = np.intersect1d(np.array(rec.person_ids), np.array(base.person_ids), return_indices=True)
    if not len(common):
        return {"common_people": 0}
    ra, ba = arr[ia], base_arr[ib]
    both = np.isfinite(ra) & np.isfinite(ba)
    with np.errstate(invalid="ignore"):
        delay = np.where(both, ra - ba, np.nan)
    late = both & (delay > delayed_over_s)
    order = np.argsort(-np.nan_to_num(delay, nan=-np.inf))[:10]
    return {"common_people": int(len(common)), "compared": int(both.sum()),
            "delayed_over_s": delayed_over_s, "delayed": int(late.sum()),
            "mean_delay_s": float(np.nanmean(delay)) if both.any() else None,
            "max_delay_s": float(np.nanmax(delay)) if both.any() else None,
            "missing_in_recorded": [str(common[k]) for k in np.flatnonzero(~np.isfinite(ra) & np.isfinite(ba))][:20],
            "most_delayed": [{"id": str(common[k]), "delay_s": float(delay[k])} for k in order if late[k]]}


def _fmt(v: Any, unit: str) -> str:
    if v is None:
        return "not observed"
    if isinstance(v, float) and not math.isfinite(v):
        return "never (not completed)"
    if isinstance(v, float):
        return f"{v:.2f} {unit}".strip() if unit == "×" or abs(v) < 10 else f"{v:.0f} {unit}".strip()
    return f"{v} {unit}".strip()


def _scalars(m: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in m.items() if k not in ("arrival_s", "arrival_goal")}


def evaluate(rec: DrillRecord, plant: Any, *, scenario: Any | None = None, baseline: DrillRecord | None = None,
             config: IndicatorConfig | None = None, drill_id: str = "", now: datetime | None = None,
             exposure: dict[str, Any] | None = None, goals: dict[str, Any] | None = None) -> Evaluation:
    """Evaluate ``rec`` (see the module docstring). ``scenario`` is a
    :class:`~safetwin.scenarios.schema.Scenario` (its objectives are checked, its detection delay is
    the plan's acknowledgement allowance); ``baseline`` the simulated drill of the same scenario
    (:func:`.record.from_incident`), the plan every deviation is measured against; ``goals`` muster
    areas (polygons by id) instead of the plant's muster points."""
    cfg = config or load_indicator_config()
    now = now or datetime.now(timezone.utc)
    goals = goals if goals is not None else muster_polygons(plant, cfg.muster_tolerance_m)
    objectives = list(getattr(scenario, "objectives", []) or [])
    caps = {mp.id: mp.capacity for mp in plant.meta.muster_points} if hasattr(plant, "meta") else None
    base_m = measure(baseline, goals, objectives=objectives, capacities=caps) if baseline is not None else None
    if base_m is not None and base_m.get("muster_p90_s") is not None:
        base_m["muster_p90_ratio"] = 1.0  # the baseline is the plan it is compared with
    m = measure(rec, goals, objectives=objectives, baseline=base_m, exposure=exposure, capacities=caps)
    context = dict(cfg.targets)
    for o in objectives:
        if o.metric == "evacuation_complete_s":
            context["evacuation_target_s"] = float(o.max)
    rows: list[dict[str, Any]] = []
    for mod in cfg.modules:
        for ind in mod.indicators:
            raw = m.get(ind.metric)
            base_raw = base_m.get(ind.metric) if base_m else None
            ref = context.get(ind.reference) if ind.reference else None
            val = raw if not ind.relative or raw is None else (raw / ref if ref else None)
            bval = base_raw if not ind.relative or base_raw is None else (base_raw / ref if ref else None)
            s = score_value(ind, val)
            rows.append({"id": ind.id, "module": mod.id, "name": ind.name, "metric": ind.metric, "unit": ind.unit,
                         "method": ind.method, "value": raw, "scored_value": val, "reference": ref, "score": s,
                         "weight": ind.weight, "baseline_value": base_raw, "baseline_score": score_value(ind, bval),
                         "delta": (raw - base_raw) if isinstance(raw, (int, float)) and isinstance(base_raw, (int, float))
                         and math.isfinite(raw) and math.isfinite(base_raw) else None,
                         "severity": finding_severity(ind, s)})
    delay = getattr(getattr(scenario, "detection", None), "alarm_delay_s", None)
    deviations = find_deviations(rec, m, baseline, base_m, plant, cfg, planned_alarm_delay_s=delay)
    findings = _findings(rows, deviations, m, rec, cfg, now)
    modules: list[dict[str, Any]] = []
    for mod in cfg.modules:
        mod_rows = [r for r in rows if r["module"] == mod.id]
        seen_rows = [(r, ind) for r, ind in zip(mod_rows, mod.indicators) if r["score"] is not None]
        den = sum(ind.weight for _, ind in seen_rows)
        frac = sum(ind.weight * r["score"] / 5.0 for r, ind in seen_rows) / den if den else None
        has_def = any(f["severity"] == "不足项" and f["module"] == mod.id for f in findings)
        modules.append({"id": mod.id, "name": mod.name, "capability": mod.capability, "weight": mod.weight,
                        "fraction": frac, "points": None if frac is None else round(mod.weight * frac, 2),
                        "rating": hseep_rating(frac, has_def, cfg.hseep), "observed": den > 0})
    seen = [md for md in modules if md["fraction"] is not None]
    wsum = sum(md["weight"] for md in seen)
    score = round(100.0 * sum(md["weight"] * md["fraction"] for md in seen) / wsum, 1) if wsum else 0.0
    has_def = any(f["severity"] == "不足项" for f in findings)
    unaccounted = int(m["people_not_accounted_for"] or 0) if cfg.unaccounted_fails else 0
    comparison: dict[str, Any] = {}
    if baseline is not None and base_m is not None:
        comparison = compare_arrivals(rec, m["arrival_s"], baseline, base_m["arrival_s"],
                                      cfg.deviation_rule("late_muster").tolerance_s)
    timeline = [{"t_s": round(e.t_s, 1), "kind": e.kind, "source": e.source, "detail": e.detail}
                for e in sorted(rec.events, key=lambda e: e.t_s)]
    return Evaluation(drill_id=drill_id, scenario=rec.scenario, source=rec.source, evaluated_at=now, t0=rec.t0,
                      config=cfg.name, score=score, grade=grade(score, has_def, cfg.grades, unaccounted=unaccounted),
                      modules=modules, indicators=rows, findings=findings, metrics=_scalars(m),
                      baseline_metrics=_scalars(base_m) if base_m else None, comparison=comparison,
                      timeline=timeline, arrivals_s=np.sort(m["arrival_s"]).tolist(),
                      baseline_arrivals_s=np.sort(base_m["arrival_s"]).tolist() if base_m else [])


def _findings(rows: list[dict[str, Any]], deviations: list[Deviation], m: dict[str, Any], rec: DrillRecord,
              cfg: IndicatorConfig, now: datetime) -> list[dict[str, Any]]:
    """The findings: every deviation from the plan (named), then each indicator scored into a finding
    that no deviation explains already. A deviation takes the more severe of its rule's severity and
    its indicator's; people beyond ``max_named_findings`` of one kind share one more finding."""
    by_id = {r["id"]: r for r in rows}
    inds = {i.id: (mod, i) for mod in cfg.modules for i in mod.indicators}
    out: list[dict[str, Any]] = []
    explained: set[str] = set()
    named: dict[str, int] = {}
    overflow: dict[str, list[Deviation]] = {}
    for d in deviations:
        if d.people and len(d.people) == 1:
            named[d.kind] = named.get(d.kind, 0) + 1
            if named[d.kind] > cfg.max_named_findings:
                overflow.setdefault(d.kind, []).append(d)
                continue
        out.append(_deviation_finding(d, by_id, inds, cfg))
        explained.add(cfg.deviation_rule(d.kind).indicator or "")
    for kind, rest in overflow.items():
        people = [p for d in rest for p in d.people]
        merged = Deviation(kind, f"{len(people)} more ({kind.replace('_', ' ')}): " + ", ".join(people), people,
                           {"more": [d.evidence for d in rest]})
        out.append(_deviation_finding(merged, by_id, inds, cfg))
    for r in rows:
        if r["severity"] is not None and r["id"] not in explained:
            mod, ind = inds[r["id"]]
            text = f"{ind.name}: {_fmt(r['value'], ind.unit)} (score {r['score']}/5"
            if r["baseline_value"] is not None:
                text += f"; baseline {_fmt(r['baseline_value'], ind.unit)}"
            out.append(_row(r["severity"], mod, ind, text + ")", {}, [], "indicator"))
    out.sort(key=lambda f: SEVERITY_ORDER[f["severity"]])
    for k, f in enumerate(out, 1):
        due = (now + timedelta(days=cfg.due_days.get(f["severity"], 90))).date()
        f.update(id=f"F{k}", start=now.date().isoformat(), due=due.isoformat())
    return out


#: findings are listed most severe first (stable within a severity)
SEVERITY_ORDER = {"不足项": 0, "整改项": 1, "改进项": 2}


def _deviation_finding(d: Deviation, by_id: dict[str, dict[str, Any]], inds: dict[str, Any],
                       cfg: IndicatorConfig) -> dict[str, Any]:
    rule = cfg.deviation_rule(d.kind)
    row = by_id.get(rule.indicator or "")
    sev = most_severe(rule.severity, row["severity"] if row else None)
    mod, ind = inds.get(rule.indicator or "", (None, None))
    return _row(sev, mod, ind, d.text, d.evidence, d.people, d.kind)  # type: ignore[arg-type]


def _row(sev: str, mod: Any, ind: Any, text: str, evidence: dict[str, Any], people: list[str],
         kind: str) -> dict[str, Any]:
    return {"severity": sev, "kind": kind, "module": mod.id if mod else "plan",
            "module_name": mod.name if mod else "演练方案 / Drill plan", "capability": mod.capability if mod else "",
            "indicator": ind.id if ind else "", "text": text, "people": list(people),
            "action": ind.action if ind else "Review the deviation against the plan with the drill director",
            "capability_element": ind.element if ind else "planning", "owner": ind.owner if ind else "",
            "evidence": evidence}
