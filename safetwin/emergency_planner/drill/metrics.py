"""Measurements of one drill record, vectorised over all track points (no loop per person or fix).

:func:`muster_arrivals` finds each person's first time inside a muster point (the discs of the
plant's muster points, clipped to the site — the same goals the evacuation agents use) with one
``shapely.contains_xy`` call over every fix and one ``np.minimum.reduceat`` over the per-person
segments. :func:`measure` turns a record into the metrics the indicators score (times in s):

=========================  ===========================================================================
``alarm_s``                site alarm (first ``alarm`` event, else first ``detection``) from t0
``report_delay_s``         report to the authority after the alarm
``alarm_ack_s``            first acknowledgement of the detector alarm after it was raised (first
                           ``detection``, else the alarm); None when no acknowledgement is recorded
``response_delay_s``       first response (log ``response_start`` or engine dispatched) at or after
                           the alarm; earlier ones are listed in ``responses_before_alarm``
``resource_in_action_s``   first team/engine in action (``engine_in_action``/``resource_arrived``) from t0
``evacuation_complete_s``  last muster arrival from t0 when everyone expected mustered, else +inf
                           (an arrival counts from the alarm on, and for a simulated person from
                           their start of movement: nobody musters before being sent)
``muster_p90_s``           90th percentile of arrival times over the expected head count (+inf if > 10 % missing)
``muster_p90_ratio``       ``muster_p90_s`` ÷ the baseline's (the simulated plan), when a baseline is given
``people_not_accounted_for`` expected head count − people who reached a muster point (at least every
                           tracked person who never did)
``muster_over_capacity``   people above the capacity of the muster point they reached first (summed)
``headcount_error``        |last reported head count − people at muster points| (log), else None
``people_above_aegl2_dose`` from the record's metrics (simulated drills) or an exposure estimate
``objectives_met_fraction`` share of the scenario objectives met by these metrics
=========================  ===========================================================================

Example::

    >>> import numpy as np
    >>> from shapely.geometry import box
    >>> from .record import DrillRecord
    >>> rec = DrillRecord.from_arrays("x", ["a", "a", "b"], [0, 30, 0], [0, 12, 0], [0, 0, 0])
    >>> t, goal = muster_arrivals(rec, {"MP": box(10, -1, 14, 1)})
    >>> t.tolist(), goal.tolist()
    ([30.0, inf], [0, -1])
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from .record import DrillRecord

__all__ = ["muster_arrivals", "measure", "muster_polygons", "SCENARIO_METRICS"]

#: scenario objective metric → metric name here (same meaning, both from t0)
SCENARIO_METRICS = {"alarm_s": "alarm_s", "first_detection_s": "first_detection_s",
                    "evacuation_complete_s": "evacuation_complete_s",
                    "people_not_accounted_for": "people_not_accounted_for",
                    "first_engine_in_action_s": "resource_in_action_s",
                    "people_above_aegl2_dose": "people_above_aegl2_dose",
                    "max_harm_probability": "max_harm_probability"}


def muster_polygons(plant: Any, tolerance_m: float = 2.0) -> dict[str, BaseGeometry]:
    """Muster point areas of ``plant`` (discs of ``radius_m`` clipped to the site, grown by
    ``tolerance_m`` for RTLS accuracy and the agents' navigation raster), by id."""
    from safetwin.plant_models.geometry import muster_goals

    return {k: g.buffer(tolerance_m) if tolerance_m > 0 else g for k, g in muster_goals(plant).items()}


def muster_arrivals(rec: DrillRecord, goals: dict[str, BaseGeometry],
                    not_before_s: float | np.ndarray = -np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Per tracked person: first time (s from t0) inside any goal polygon at or after
    ``not_before_s`` (one time, or one per person; +inf: never) and the goal index (order of
    ``goals``; -1: never). The bound keeps the count causal: nobody musters before the alarm that
    sends them, nor (simulated) before their own start of movement; somebody already inside a muster
    point then (their last fix before the bound) musters at the bound."""
    n = rec.n_people
    if n == 0 or rec.t_s.size == 0:
        return np.full(n, np.inf), np.full(n, -1, int)
    names = list(goals)
    which = np.full(rec.t_s.size, -1, np.int32)
    for k, name in enumerate(names):  # a handful of muster points; each call is vectorised over all fixes
        g = goals[name]
        shapely.prepare(g)
        inside = shapely.contains_xy(g, rec.x_m, rec.y_m)
        which[(which < 0) & inside] = k
    bound = np.broadcast_to(np.asarray(not_before_s, float), (n,))
    before = rec.t_s < bound[rec.person] - 1e-9
    t_in = np.where((which >= 0) & ~before, rec.t_s, np.inf)
    starts = np.flatnonzero(np.r_[True, rec.person[1:] != rec.person[:-1]])
    seg = rec.person[starts]
    after = np.minimum.reduceat(t_in, starts)
    seg_of_fix = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, rec.t_s.size]))
    after_goal = np.full(len(starts), -1, int)
    idx = np.flatnonzero(np.isfinite(t_in) & (t_in == after[seg_of_fix]))  # goal of the first inside fix
    if idx.size:
        _, keep = np.unique(seg_of_fix[idx], return_index=True)
        after_goal[seg_of_fix[idx[keep]]] = which[idx[keep]]
    # already inside a muster point when sent (the last fix before the bound): mustered at the bound
    n_before = np.add.reduceat(before.astype(np.int64), starts)
    last = np.maximum(starts + n_before - 1, 0)
    held = (n_before > 0) & (which[last] >= 0) & (bound[seg] <= after)
    first = np.full(n, np.inf)
    goal = np.full(n, -1, int)
    first[seg] = np.where(held, bound[seg], after)
    goal[seg] = np.where(held, which[last], after_goal)
    goal[~np.isfinite(first)] = -1
    return first, goal


def _t(ev: Any) -> float | None:
    return None if ev is None else float(ev.t_s)


def measure(rec: DrillRecord, goals: dict[str, BaseGeometry], *, objectives: list[Any] | None = None,
            baseline: dict[str, Any] | None = None, exposure: dict[str, Any] | None = None,
            capacities: dict[str, int] | None = None) -> dict[str, Any]:
    """The drill's metrics (see the module docstring). ``baseline`` is the baseline's own
    :func:`measure` output (for the P90 ratio); ``exposure`` may give ``people_above_aegl2_dose``;
    ``capacities`` (people per muster point) give ``muster_over_capacity``."""
    m: dict[str, Any] = {}
    start = rec.first("release_start", "initiating_event")
    t_start = _t(start) if start is not None else 0.0
    detection = rec.first("detection")
    alarm = rec.first("alarm") or detection
    t_alarm = _t(alarm)
    # causal muster: from the alarm on, and (simulated people) from their own start of movement
    bound = np.full(rec.n_people, -np.inf if t_alarm is None else t_alarm)
    if rec.moving_from_s is not None:
        bound = np.maximum(bound, np.asarray(rec.moving_from_s, float))
    arr, goal = muster_arrivals(rec, goals, bound)
    names = list(goals)
    m["first_detection_s"] = _t(detection)
    m["alarm_s"] = t_alarm
    m["incident_start_s"] = t_start
    acks = [e.t_s for e in rec.events if e.kind == "alarm_ack"]
    raised = _t(detection) if detection is not None else t_alarm
    acks = [t for t in acks if raised is not None and t >= raised - 1e-9]
    m["alarm_ack_s"] = None if not acks else min(acks) - raised
    rep = rec.first("report_authority")
    m["report_delay_s"] = None if rep is None or t_alarm is None else max(rep.t_s - t_alarm, 0.0)
    responses = sorted((e for e in rec.events if e.kind in ("response_start", "engine_dispatched")),
                       key=lambda e: e.t_s)
    # a response counts from the alarm that triggers it; anything earlier is listed (a deviation)
    after = [e for e in responses if t_alarm is not None and e.t_s >= t_alarm - 1e-9]
    m["responses_before_alarm"] = [{"t_s": e.t_s, "kind": e.kind, "source": e.source} for e in responses
                                   if t_alarm is not None and e.t_s < t_alarm - 1e-9]
    m["response_delay_s"] = None if not after else after[0].t_s - t_alarm
    res = rec.first("engine_in_action", "resource_arrived")
    m["resource_in_action_s"] = _t(res)
    expected = rec.headcount
    mustered = int(np.isfinite(arr).sum())
    m["expected_headcount"] = expected
    m["tracked_people"] = rec.n_people
    m["mustered"] = mustered
    # strict: every tracked person who never mustered is missing, even when more people were tracked than expected
    m["people_not_accounted_for"] = max(expected - mustered, int((~np.isfinite(arr)).sum()))
    m["evacuation_complete_s"] = (float(arr.max()) if mustered and mustered >= expected else math.inf) \
        if expected else None
    full = np.concatenate([np.sort(arr[np.isfinite(arr)]), np.full(max(expected - mustered, 0), np.inf)])
    m["muster_p50_s"] = float(np.quantile(full, 0.5, method="higher")) if full.size else None
    m["muster_p90_s"] = float(np.quantile(full, 0.9, method="higher")) if full.size else None
    m["muster_mean_s"] = float(arr[np.isfinite(arr)].mean()) if mustered else None
    m["per_muster_point"] = {nm: int((goal == k).sum()) for k, nm in enumerate(names)}
    m["muster_over_capacity"] = None if capacities is None else int(sum(
        max(n - capacities[nm], 0) for nm, n in m["per_muster_point"].items() if nm in capacities))
    hc = [e for e in rec.events if e.kind == "headcount_reported" and "count" in e.detail]
    if hc:
        last = max(hc, key=lambda e: e.t_s)
        m["headcount_reported"] = int(last.detail["count"])
        m["headcount_reported_s"] = float(last.t_s)
        m["headcount_error"] = abs(int(last.detail["count"]) - mustered)
    else:
        m["headcount_reported"] = m["headcount_reported_s"] = m["headcount_error"] = None
    m["people_above_aegl2_dose"] = (exposure or {}).get("people_above_aegl2_dose",
                                                        rec.metrics.get("people_above_aegl2_dose"))
    m["max_harm_probability"] = (exposure or {}).get("max_harm_probability", rec.metrics.get("max_harm_probability"))
    if baseline is not None and baseline.get("muster_p90_s"):
        b = baseline["muster_p90_s"]
        p = m["muster_p90_s"]
        m["muster_p90_ratio"] = None if p is None else (math.inf if not math.isfinite(p) else p / b)
    else:
        m["muster_p90_ratio"] = None
    m["arrival_s"] = arr           # per person (arrays are kept out of evaluation.json)
    m["arrival_goal"] = goal
    objs = []
    for o in objectives or []:
        key = SCENARIO_METRICS.get(o.metric, o.metric)
        v = m.get(key)
        bound_max = getattr(o, "max", None)
        met = None if v is None else bool(v <= bound_max) if bound_max is not None else None
        objs.append({"id": o.id, "metric": o.metric, "max": bound_max, "value": v, "met": met,
                     "description": getattr(o, "description", "")})
    m["objectives"] = objs
    judged = [o for o in objs if o["met"] is not None]
    m["objectives_met_fraction"] = (sum(o["met"] for o in judged) / len(judged)) if judged else None
    return m
