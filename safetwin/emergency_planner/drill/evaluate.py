"""Evaluate a drill: measure the record, score the indicators, compare with the simulated baseline,
grade, rate capabilities (HSEEP P/S/M/U) and write findings with corrective actions.

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

from .indicators import IndicatorConfig, finding_severity, grade, hseep_rating, load_indicator_config, score_value
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


def compare_arrivals(rec: DrillRecord, arr: np.ndarray, base: DrillRecord, base_arr: np.ndarray) -> dict[str, Any]:
    """Per-person muster times recorded vs baseline, for the people present in both (by id)."""
    common, ia, ib = np.intersect1d(np.array(rec.person_ids), np.array(base.person_ids), return_indices=True)
    if not len(common):
        return {"common_people": 0}
    ra, ba = arr[ia], base_arr[ib]
    both = np.isfinite(ra) & np.isfinite(ba)
    with np.errstate(invalid="ignore"):
        delay = np.where(both, ra - ba, np.nan)
    late = both & (delay > DELAY_S)
    order = np.argsort(-np.nan_to_num(delay, nan=-np.inf))[:10]
    return {"common_people": int(len(common)), "compared": int(both.sum()),
            "delayed_over_s": DELAY_S, "delayed": int(late.sum()),
            "mean_delay_s": float(np.nanmean(delay)) if both.any() else None,
            "max_delay_s": float(np.nanmax(delay)) if both.any() else None,
            "missing_in_recorded": [str(common[k]) for k in np.flatnonzero(~np.isfinite(ra) & np.isfinite(ba))][:20],
            "most_delayed": [{"id": str(common[k]), "delay_s": float(delay[k])} for k in order if late[k]]}


def _last_fixes(rec: DrillRecord, who: np.ndarray) -> list[dict[str, Any]]:
    """Last known position (m) and time (s) of the people with indices ``who``."""
    if rec.t_s.size == 0:
        return []
    ends = np.flatnonzero(np.r_[rec.person[1:] != rec.person[:-1], True])
    last = {int(rec.person[e]): e for e in ends}
    return [{"id": rec.person_ids[p], "x_m": round(float(rec.x_m[last[p]]), 1),
             "y_m": round(float(rec.y_m[last[p]]), 1), "t_s": round(float(rec.t_s[last[p]]), 1)}
            for p in who if p in last]


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
    :class:`~safetwin.scenarios.schema.Scenario` (its objectives are checked); ``baseline`` the
    simulated drill of the same scenario (:func:`.record.from_incident`); ``goals`` muster areas
    (polygons by id) instead of the plant's muster points."""
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
    modules: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    for mod in cfg.modules:
        num = den = 0.0
        mod_rows = []
        for ind in mod.indicators:
            raw = m.get(ind.metric)
            base_raw = base_m.get(ind.metric) if base_m else None
            ref = context.get(ind.reference) if ind.reference else None
            val = raw if not ind.relative or raw is None else (raw / ref if ref else None)
            bval = base_raw if not ind.relative or base_raw is None else (base_raw / ref if ref else None)
            s = score_value(ind, val)
            bs = score_value(ind, bval)
            sev = finding_severity(ind, s)
            row = {"id": ind.id, "module": mod.id, "name": ind.name, "metric": ind.metric, "unit": ind.unit,
                   "method": ind.method, "value": raw, "scored_value": val, "reference": ref, "score": s,
                   "weight": ind.weight, "baseline_value": base_raw, "baseline_score": bs,
                   "delta": (raw - base_raw) if isinstance(raw, (int, float)) and isinstance(base_raw, (int, float))
                   and math.isfinite(raw) and math.isfinite(base_raw) else None,
                   "severity": sev}
            mod_rows.append(row)
            if s is not None:
                num += ind.weight * s / 5.0
                den += ind.weight
            if sev is not None:
                findings.append(_finding(len(findings) + 1, sev, mod, ind, row, m, rec, cfg, now))
        frac = num / den if den else None
        has_def = any(r["severity"] == "不足项" for r in mod_rows)
        modules.append({"id": mod.id, "name": mod.name, "capability": mod.capability, "weight": mod.weight,
                        "fraction": frac, "points": None if frac is None else round(mod.weight * frac, 2),
                        "rating": hseep_rating(frac, has_def, cfg.hseep), "observed": den > 0})
        rows += mod_rows
    seen = [md for md in modules if md["fraction"] is not None]
    wsum = sum(md["weight"] for md in seen)
    score = round(100.0 * sum(md["weight"] * md["fraction"] for md in seen) / wsum, 1) if wsum else 0.0
    has_def = any(f["severity"] == "不足项" for f in findings)
    comparison: dict[str, Any] = {}
    if baseline is not None and base_m is not None:
        comparison = compare_arrivals(rec, m["arrival_s"], baseline, base_m["arrival_s"])
    for f in findings:
        if f["indicator"] == "muster_time_vs_plan" and comparison.get("delayed"):
            f["text"] += (f"; {comparison['delayed']} people mustered more than {DELAY_S:.0f} s later than in the "
                          f"baseline (max {comparison['max_delay_s']:.0f} s)")
    timeline = [{"t_s": round(e.t_s, 1), "kind": e.kind, "source": e.source, "detail": e.detail}
                for e in sorted(rec.events, key=lambda e: e.t_s)]
    return Evaluation(drill_id=drill_id, scenario=rec.scenario, source=rec.source, evaluated_at=now, t0=rec.t0,
                      config=cfg.name, score=score, grade=grade(score, has_def, cfg.grades), modules=modules,
                      indicators=rows, findings=findings, metrics=_scalars(m),
                      baseline_metrics=_scalars(base_m) if base_m else None, comparison=comparison,
                      timeline=timeline, arrivals_s=np.sort(m["arrival_s"]).tolist(),
                      baseline_arrivals_s=np.sort(base_m["arrival_s"]).tolist() if base_m else [])


def _finding(k: int, sev: str, mod: Any, ind: Any, row: dict[str, Any], m: dict[str, Any], rec: DrillRecord,
             cfg: IndicatorConfig, now: datetime) -> dict[str, Any]:
    text = f"{ind.name}: {_fmt(row['value'], ind.unit)} (score {row['score']}/5"
    if row["baseline_value"] is not None:
        text += f"; baseline {_fmt(row['baseline_value'], ind.unit)}"
    text += ")"
    evidence: dict[str, Any] = {}
    if ind.metric == "people_not_accounted_for" and row["value"]:
        missing = np.flatnonzero(~np.isfinite(m["arrival_s"]))
        evidence["missing"] = _last_fixes(rec, missing)
        untracked = max(m["expected_headcount"] - m["tracked_people"], 0)
        text = (f"{row['value']} person(s) not accounted for at the muster points (expected {m['expected_headcount']},"
                f" mustered {m['mustered']}"
                + (f"; {untracked} never tracked" if untracked else "") + ")")
        if evidence["missing"]:
            text += "; last seen: " + ", ".join(f"{p['id']} at ({p['x_m']:.0f}, {p['y_m']:.0f}) m, t={p['t_s']:.0f} s"
                                                for p in evidence["missing"][:5])
    due = (now + timedelta(days=cfg.due_days.get(sev, 90))).date()
    return {"id": f"F{k}", "severity": sev, "module": mod.id, "module_name": mod.name, "capability": mod.capability,
            "indicator": ind.id, "text": text, "action": ind.action, "capability_element": ind.element,
            "owner": ind.owner, "start": now.date().isoformat(), "due": due.isoformat(), "evidence": evidence}
