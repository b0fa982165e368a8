"""Incident declaration: an evacuation starts only when healthy detectors agree on one source.

Two alarms are not an incident. The rule, applied to every source estimate of the live monitor:

1. **Voters** are the gas detectors that alarm (a reading at or above their warning level in the
   estimator's window) and whose health votes (:mod:`safetwin.twin.sensor_health`: a fresh,
   in-range reading — or a saturated head, see 3). Faulty, stale and silent detectors never vote,
   nor do suspect ones (past their calibration due time).
2. A voter is **explained** when the estimated source — one release, in the current wind, from
   its estimated start — predicts at the detector, at the times it read, a peak within a factor
   ``explain_factor`` (default 5) of the peak it read. Readings of two detectors that no single
   plume can produce together (two broken heads in different areas, with healthy heads between
   them reading nothing) are not both explained.
3. A **saturated** voter (reading above its range: the heads nearest a real release saturate
   first, and a broken head reports the same) is explained when the source predicts at least half
   its range top there — which healthy heads around it reading nothing contradict.
4. The incident is **declared** when at least ``min_votes`` (default 2) voters are explained and
   one of them reads inside its range — or, when all explained voters are saturated, when one
   more than ``min_votes`` are (an over-range head is what a broken head may report too, so
   saturated heads need more company).

Example (two heads in different areas report over range while everything else reads zero)::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.emergency_planner.live.observations import Observations, WindInput
    >>> plant = load_plant(bundled_plant_path("demo_plant"))
    >>> wind = WindInput(3.0, 270.0, "D")
    >>> gas = [s for s in plant.meta.sensors if s.type.value in ("toxic_gas", "flammable_gas")]
    >>> t = [float(k) for k in range(0, 60, 2)]
    >>> bad = {"GD-TF-201": 110.0, "GD-LPG-04": 110.0}   # 10 % of the span over the top
    >>> obs = Observations.from_series({s.id: (t, [bad.get(s.id, 0.0)] * len(t)) for s in gas})
    >>> from safetwin.emergency_planner.live.estimate import estimate_source
    >>> est = estimate_source(obs, plant, wind)
    >>> d = declare_incident(est, obs, plant, {sid: "saturated" for sid in bad})
    >>> d.declared, sorted(d.voters), len(d.explained)
    (False, ['GD-LPG-04', 'GD-TF-201'], 1)
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from safetwin.plant_models.loader import Plant
from safetwin.substances import get_substance

from .estimate import EstimationParams, SourceEstimate, predict_plume
from .observations import Observations, response_factor

VOTING_STATUSES = frozenset({"ok", "saturated"})


@dataclass(frozen=True)
class IncidentDeclaration:
    """The verdict on one estimate: ``declared``; the ``voters`` (healthy alarming detectors), those
    the source ``explained``, the alarming detectors ``excluded`` with the reason, and ``reason``
    in words for the operator."""

    declared: bool
    voters: tuple[str, ...]
    explained: tuple[str, ...]
    excluded: dict[str, str] = field(default_factory=dict)
    reason: str = ""

    def summary(self) -> dict:
        return {"declared": self.declared, "voters": list(self.voters), "explained": list(self.explained),
                "excluded": dict(self.excluded), "reason": self.reason}


def declare_incident(estimate: SourceEstimate, observations: Observations, plant: Plant,
                     health: Mapping[str, str | object], *, params: EstimationParams | None = None,
                     min_votes: int = 2, explain_factor: float = 5.0) -> IncidentDeclaration:
    """Apply the declaration rule of the module docstring.

    ``health`` maps sensor id → status (``ok``, ``saturated``, ``fault``, ``stale``, ``silent``, ``suspect``) or
    a :class:`~safetwin.twin.sensor_health.SensorHealth`; a detector missing from it is treated as
    ``ok``. ``observations`` and ``estimate`` share one clock (s)."""
    p = params or EstimationParams()
    status = {sid: getattr(h, "status", h) for sid, h in health.items()}
    alarming = list(estimate.alarming)
    reason = {sid: getattr(h, "reason", "") for sid, h in health.items()}
    excluded = {sid: f"detector {status[sid]}" + (f" ({reason[sid]})" if reason.get(sid) else "")
                for sid in alarming if status.get(sid, "ok") not in VOTING_STATUSES}
    voters = tuple(sid for sid in alarming if sid not in excluded)
    if estimate.kind == "none" or not np.isfinite(estimate.rate_kg_s) or not voters:
        why = "no source estimate" if estimate.kind == "none" else "no healthy detector in alarm"
        return IncidentDeclaration(False, voters, (), excluded, why)
    wind = estimate.wind
    assert wind is not None
    conc = predict_plume(estimate, wind, estimate.t_s, 0.0, params=p)
    sub = get_substance(estimate.substance or "")
    t_lo = estimate.t_s - p.window_s
    explained = []
    for sid in voters:
        s = plant.sensors[sid]
        k = observations.sensor_ids.index(sid) if sid in observations.sensor_ids else -1
        m = (observations.sensor_index == k) & (observations.t_s > t_lo) & (observations.t_s <= estimate.t_s)
        if k < 0 or not m.any():
            excluded[sid] = "no reading in the window"
            continue
        t_obs, v_obs = observations.t_s[m], observations.value[m]
        x, y = np.full(t_obs.size, s.position[0]), np.full(t_obs.size, s.position[1])
        predicted = float(np.max(conc(x, y, t_obs))) * response_factor(s, sub)
        observed = float(np.max(v_obs))
        if status.get(sid, "ok") == "saturated":
            ok = predicted >= 0.5 * s.range_max
        else:
            ok = observed / explain_factor <= predicted <= observed * explain_factor
        if ok:
            explained.append(sid)
        else:
            excluded[sid] = (f"not explained by one source at {estimate.equipment_id or 'the estimated point'}: "
                             f"reads {observed:.3g}, the source gives {predicted:.3g} {s.unit}")
    in_range = [sid for sid in explained if status.get(sid, "ok") == "ok"]
    need = min_votes if in_range else min_votes + 1
    declared = len(explained) >= need
    if declared:
        why = f"{len(explained)} healthy detectors agree on one source ({', '.join(explained)})"
    else:
        why = (f"{len(explained)} of {need} detectors needed agree on one source"
               + ("" if in_range or not explained else " (saturated heads only)"))
    return IncidentDeclaration(declared, voters, tuple(explained), excluded, why)
