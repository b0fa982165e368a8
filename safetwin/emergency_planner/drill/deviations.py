"""Deviations of a drill from its plan, each one named: who, what, recorded vs planned.

The plan is the simulated baseline of the same scenario (what the emergency plan gives when
everybody does what it says: the alarm after the planned confirmation delay, people moving after
alerting + pre-movement, engines dispatched on the alarm) and the scenario's objectives. Every
function here is pure and returns :class:`Deviation` rows; :func:`.evaluate.evaluate` turns each
into a finding (不足项 / 整改项 / 改进项 by the rules of the indicator system, see
``deviations:`` in ``default_indicators.yaml``).

=========================  =============================================================================
``unaccounted``            one per person never accounted for: tracked but never at a muster point
                           (last fix named), or on the roster and never tracked
``false_headcount``        the last head count reported ≠ the people the tracks put at muster points
``headcount_not_reported`` a drill with a manual log but no head count reported
``late_muster``            per area (of the person's first fix): people who mustered more than
                           ``tolerance_s`` later than in the plan (both counted from their own alarm),
                           each named with the delay
``alarm_late``             the site alarm later than the plan by more than ``tolerance_s`` (or not logged)
``alarm_not_acknowledged`` acknowledgements are recorded (the twin's alarm store) but the first
                           detector alarm was never acknowledged
``alarm_ack_late``         acknowledged later than the plan's detection-to-alarm delay
``response_late``          the response started later after the alarm than in the plan, by more than
                           ``tolerance_s``
``response_before_alarm``  a response event before the alarm that should trigger it
``resource_late``          the first team / engine in action later after the alarm than in the plan
                           (or not logged)
``objective_unmet``        one per scenario objective not met
=========================  =============================================================================

Example (two people; one musters 400 s after the plan, the other never)::

    >>> import numpy as np
    >>> from shapely.geometry import box
    >>> from .indicators import load_indicator_config
    >>> from .metrics import measure
    >>> from .record import DrillEvent, DrillRecord
    >>> goals = {"MP": box(100, 0, 110, 10)}
    >>> plan = DrillRecord.from_arrays("x", ["a", "a", "b", "b"], [0, 60, 0, 70], [0, 105, 0, 105],
    ...                                [5, 5, 5, 5], events=[DrillEvent(10.0, "alarm")])
    >>> drill = DrillRecord.from_arrays("x", ["a", "a", "b"], [0, 460, 0], [0, 105, 0], [5, 5, 5],
    ...                                 events=[DrillEvent(10.0, "alarm")])
    >>> rows = find_deviations(drill, measure(drill, goals), plan, measure(plan, goals), None,
    ...                        load_indicator_config())
    >>> [(d.kind, d.people) for d in rows]
    [('unaccounted', ['b']), ('late_muster', ['a'])]
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from .indicators import IndicatorConfig
from .record import DrillRecord

__all__ = ["Deviation", "find_deviations", "last_fixes", "plan_arrivals"]


@dataclass(frozen=True)
class Deviation:
    """One named deviation from the plan: its ``kind`` (a rule of the indicator system), the text,
    the people it names (ids) and the evidence (times, positions) for the report."""

    kind: str
    text: str
    people: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)


def last_fixes(rec: DrillRecord, who: np.ndarray) -> list[dict[str, Any]]:
    """Last known position (m) and time (s) of the tracked people with indices ``who``."""
    if rec.t_s.size == 0:
        return []
    ends = np.flatnonzero(np.r_[rec.person[1:] != rec.person[:-1], True])
    last = {int(rec.person[e]): e for e in ends}
    return [{"id": rec.person_ids[p], "x_m": round(float(rec.x_m[last[p]]), 1),
             "y_m": round(float(rec.y_m[last[p]]), 1), "t_s": round(float(rec.t_s[last[p]]), 1)}
            for p in who if p in last]


def _first_fix_areas(rec: DrillRecord, plant: Any) -> list[str]:
    """The plant area of each tracked person's first fix ("outside any area" when none)."""
    starts = np.flatnonzero(np.r_[True, rec.person[1:] != rec.person[:-1]]) if rec.t_s.size else np.zeros(0, int)
    out = ["outside any area"] * rec.n_people
    areas = getattr(plant, "areas", None) or {}
    x, y, who = rec.x_m[starts], rec.y_m[starts], rec.person[starts]
    for area_id, area in areas.items():       # a handful of areas, each call vectorised over the people
        inside = shapely.contains_xy(area.geometry, x, y)
        for p in who[inside]:
            if out[p] == "outside any area":
                out[p] = area_id
    return out


def plan_arrivals(rec: DrillRecord, arrivals_s: np.ndarray, plan: DrillRecord,
                  plan_arrivals_s: np.ndarray) -> tuple[np.ndarray, str]:
    """Each tracked person's planned muster time (s): their own arrival in the plan when the plan
    simulated the same people (ids shared by at least half of them), else the plan's last arrival
    (nobody should muster later than the slowest person of the plan). Second value: the basis."""
    index = {pid: k for k, pid in enumerate(plan.person_ids)}
    k_plan = np.array([index.get(pid, -1) for pid in rec.person_ids], int)
    finite = plan_arrivals_s[np.isfinite(plan_arrivals_s)]
    last = float(finite.max()) if finite.size else math.inf
    if rec.n_people and (k_plan >= 0).mean() >= 0.5:
        return np.where(k_plan >= 0, plan_arrivals_s[np.maximum(k_plan, 0)], last), "per person"
    return np.full(rec.n_people, last), "the plan's last arrival"


def _fmt_s(v: float) -> str:
    return f"{v:.0f} s"


def _unaccounted(rec: DrillRecord, m: dict[str, Any], plan: DrillRecord | None, plant: Any) -> list[Deviation]:
    arr = m["arrival_s"]
    out: list[Deviation] = []
    missing = np.flatnonzero(~np.isfinite(arr))
    areas = _first_fix_areas(rec, plant) if missing.size else []
    for fix in last_fixes(rec, missing):
        area = areas[rec.person_ids.index(fix["id"])]
        out.append(Deviation("unaccounted", f"{fix['id']} not accounted for: never reached a muster point; last "
                             f"seen at ({fix['x_m']:.0f}, {fix['y_m']:.0f}) m at {fix['t_s']:.0f} s (started in {area})",
                             [fix["id"]], {"missing": [fix]}))
    roster = rec.roster or (plan.roster if plan is not None and plan.roster and rec.n_people and
                            len(set(plan.roster) & set(rec.person_ids)) >= 0.5 * rec.n_people else None)
    tracked = set(rec.person_ids)
    never = [p for p in (roster or []) if p not in tracked]
    for pid in never:
        out.append(Deviation("unaccounted", f"{pid} not accounted for: on the roster, never tracked (no position fix "
                             f"in the drill)", [pid], {"never_tracked": [pid]}))
    unnamed = m["people_not_accounted_for"] - len(missing) - len(never)
    if unnamed > 0:
        out.append(Deviation("unaccounted", f"{unnamed} of the {m['expected_headcount']} people expected never tracked "
                             f"and not named (no roster given: add drill.roster to the drill log)", [],
                             {"never_tracked_count": int(unnamed)}))
    return out


def _headcount(rec: DrillRecord, m: dict[str, Any]) -> list[Deviation]:
    reported = m.get("headcount_reported")
    if reported is None:
        if rec.metrics.get("drill_log"):
            return [Deviation("headcount_not_reported", "no head count was reported in the drill log "
                              "(headcount_reported): nobody confirmed that everyone was accounted for")]
        return []
    mustered = m["mustered"]
    if reported == mustered:
        return []
    missing = m["people_not_accounted_for"]
    what = (f"{reported - mustered} more than the tracks put at the muster points: a false all-clear"
            if reported > mustered else f"{mustered - reported} fewer than the tracks put at the muster points")
    return [Deviation("false_headcount", f"head count reported {reported} present at {m['headcount_reported_s']:.0f} s, "
                      f"but {mustered} reached a muster point ({what}; {missing} not accounted for)",
                      evidence={"reported": reported, "mustered": mustered, "t_s": m["headcount_reported_s"]})]


def _late_musters(rec: DrillRecord, m: dict[str, Any], plan: DrillRecord, plan_m: dict[str, Any], plant: Any,
                  tolerance_s: float) -> list[Deviation]:
    arr = m["arrival_s"]
    planned, basis = plan_arrivals(rec, arr, plan, plan_m["arrival_s"])
    # counted from each one's alarm: a late alarm is its own finding, not everybody's lateness
    if m.get("alarm_s") is not None and plan_m.get("alarm_s") is not None:
        planned = planned + (m["alarm_s"] - plan_m["alarm_s"])
        basis += ", counted from the alarm"
    both = np.isfinite(arr) & np.isfinite(planned)
    delay = np.where(both, arr - np.where(both, planned, 0.0), np.nan)
    late = np.flatnonzero(both & (np.nan_to_num(delay, nan=-np.inf) > tolerance_s))
    if not late.size:
        return []
    areas = _first_fix_areas(rec, plant)
    out = []
    for area in sorted({areas[k] for k in late}):
        who = sorted((k for k in late if areas[k] == area), key=lambda k: -delay[k])
        rows = [{"id": rec.person_ids[k], "arrival_s": round(float(arr[k]), 1), "plan_s": round(float(planned[k]), 1),
                 "delay_s": round(float(delay[k]), 1)} for k in who]
        names = ", ".join(f"{r['id']} +{r['delay_s']:.0f} s (at {r['arrival_s']:.0f} s, expected by {r['plan_s']:.0f} s)"
                          for r in rows)
        out.append(Deviation("late_muster", f"{len(rows)} of {area} mustered more than {tolerance_s:.0f} s later than "
                             f"the plan ({basis}): {names}", [r["id"] for r in rows],
                             {"area": area, "late": rows, "plan_basis": basis}))
    return out


def _since(t_s: float | None, alarm_s: float | None) -> float | None:
    return None if t_s is None or alarm_s is None else t_s - alarm_s


def _later(kind: str, what: str, got: float | None, plan: float | None, tolerance_s: float,
           logged: bool) -> list[Deviation]:
    """``what`` recorded at ``got`` s vs ``plan`` s: a deviation when later by more than the tolerance
    (or never recorded in a drill that kept a log although the plan has it)."""
    if plan is None or not math.isfinite(plan):
        return []
    if got is None or not math.isfinite(got):
        return [Deviation(kind, f"{what}: not recorded (plan: {_fmt_s(plan)})", evidence={"plan_s": plan})] \
            if logged else []
    if got - plan > tolerance_s:
        return [Deviation(kind, f"{what} at {_fmt_s(got)}, plan {_fmt_s(plan)} (+{got - plan:.0f} s)",
                          evidence={"recorded_s": got, "plan_s": plan, "delay_s": got - plan})]
    return []


def find_deviations(rec: DrillRecord, m: dict[str, Any], plan: DrillRecord | None, plan_m: dict[str, Any] | None,
                    plant: Any, cfg: IndicatorConfig, *, planned_alarm_delay_s: float | None = None) -> list[Deviation]:
    """Every deviation of the drill (``rec`` and its metrics ``m``, :func:`.metrics.measure`) from the
    plan (``plan`` and ``plan_m``, the simulated baseline; None: only the plan-free checks) — see the
    module docstring. ``planned_alarm_delay_s``: the scenario's detection-to-alarm delay (the time
    the plan gives the control room to acknowledge and sound the alarm)."""
    tol = {k: cfg.deviation_rule(k).tolerance_s for k in ("late_muster", "alarm_late", "response_late",
                                                          "resource_late", "alarm_ack_late")}
    logged = bool(rec.metrics.get("drill_log"))
    out = _unaccounted(rec, m, plan, plant) + _headcount(rec, m)
    if plan is not None and plan_m is not None:
        out += _late_musters(rec, m, plan, plan_m, plant, tol["late_muster"])
        alarm_logged = rec.first("alarm") is not None
        out += _later("alarm_late", "site alarm", m["alarm_s"] if alarm_logged or not logged else None,
                      plan_m.get("alarm_s"), tol["alarm_late"], logged)
        # the response and the resources are counted from each one's own alarm (a late alarm is its own finding)
        out += _later("response_late", "response start after the alarm", m.get("response_delay_s"),
                      plan_m.get("response_delay_s"), tol["response_late"], False)
        out += _later("resource_late", "first team or engine in action after the alarm",
                      _since(m.get("resource_in_action_s"), m.get("alarm_s")),
                      _since(plan_m.get("resource_in_action_s"), plan_m.get("alarm_s")), tol["resource_late"], logged)
    for e in m.get("responses_before_alarm") or []:
        out.append(Deviation("response_before_alarm", f"{e['kind']} by {e['source'] or 'unknown'} at {e['t_s']:.0f} s, "
                             f"before the site alarm at {m['alarm_s']:.0f} s (the plan responds to the alarm)",
                             evidence=dict(e)))
    ack = m.get("alarm_ack_s")
    if ack is None and rec.metrics.get("alarm_acks_recorded") and m.get("first_detection_s") is not None:
        out.append(Deviation("alarm_not_acknowledged", f"the first detector alarm (at {m['first_detection_s']:.0f} s) "
                             "was never acknowledged in the control room"))
    if ack is not None and planned_alarm_delay_s is not None and ack > planned_alarm_delay_s + tol["alarm_ack_late"]:
        out.append(Deviation("alarm_ack_late", f"detector alarm acknowledged {ack:.0f} s after it was raised; the plan "
                             f"allows {planned_alarm_delay_s:.0f} s from detection to the site alarm",
                             evidence={"ack_s": ack, "plan_s": planned_alarm_delay_s}))
    for o in m.get("objectives") or []:
        if o["met"] is False:
            value = o["value"]
            shown = "never" if isinstance(value, float) and math.isinf(value) else f"{value:g}"
            out.append(Deviation("objective_unmet", f"objective {o['id']} not met ({o['description'] or o['metric']}): "
                                 f"{o['metric']} = {shown}, required ≤ {o['max']:g}", evidence=dict(o)))
    return out
