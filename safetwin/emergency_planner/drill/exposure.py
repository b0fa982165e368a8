"""Exposure along drill tracks: the toxic load each person of a (recorded) drill would have taken in
the simulated plume of the same scenario — the "exposure avoided" indicator for a recorded drill,
where no real gas is released.

For each toxic substance released in the baseline :class:`~safetwin.emergency_planner.incident.IncidentResult`
the concentration (mg/m³, ground level) is evaluated at every fix (vectorised over all fixes and
puffs) and the toxic load Σ Cⁿ·Δt ((mg/m³)ⁿ·s; n from the substance's probit, Δt the time to the
person's next fix) is compared with the AEGL-2 (30 min) equivalent load AEGL-2ⁿ·1800 s (ten Berge
scaling, as the incident module does). The plume is the simulated one, not a measurement.

Example::

    >>> exposure_from_incident(type("R", (), {"gas_sources": []})(), None)
    {'people_above_aegl2_dose': None, 'note': 'no toxic release in the baseline'}
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .record import DrillRecord

__all__ = ["exposure_from_incident", "track_doses", "held_until"]


def track_doses(rec: DrillRecord, conc_mg_m3: np.ndarray, exponent: float) -> np.ndarray:
    """Per person Σ Cⁿ·Δt over the fixes ((mg/m³)ⁿ·s), Δt = time to the same person's next fix."""
    dt = np.zeros(rec.t_s.size)
    same = rec.person[1:] == rec.person[:-1]
    dt[:-1] = np.where(same, np.diff(rec.t_s), 0.0)
    load = np.power(np.maximum(conc_mg_m3, 0.0), exponent) * dt
    return np.bincount(rec.person, weights=load, minlength=rec.n_people)


def held_until(rec: DrillRecord, until_s: float, step_s: float = 10.0) -> DrillRecord:
    """A copy where each person stays at their last fix until ``until_s`` (a fix every ``step_s``):
    people keep breathing at the muster point after their tag stops reporting."""
    if rec.t_s.size == 0:
        return rec
    ends = np.flatnonzero(np.r_[rec.person[1:] != rec.person[:-1], True])
    steps = np.arange(step_s, max(until_s - float(rec.t_s[ends].min()), 0.0) + step_s, step_s)
    t = rec.t_s[ends][:, None] + steps[None, :]
    keep = t <= until_s
    p = np.broadcast_to(rec.person[ends][:, None], t.shape)[keep]
    x = np.broadcast_to(rec.x_m[ends][:, None], t.shape)[keep]
    y = np.broadcast_to(rec.y_m[ends][:, None], t.shape)[keep]
    person = np.r_[rec.person, p].astype(np.int32)
    tt = np.r_[rec.t_s, t[keep]]
    order = np.lexsort((tt, person))
    return DrillRecord(rec.scenario, rec.person_ids, person[order], tt[order], np.r_[rec.x_m, x][order],
                       np.r_[rec.y_m, y][order])


def exposure_from_incident(res: Any, rec: DrillRecord | None, until_s: float | None = None) -> dict[str, Any]:
    """People of ``rec`` above the AEGL-2 (30 min) equivalent toxic load in ``res``'s plume, with the
    largest load ratio (load ÷ AEGL-2 load) per substance. Each person is held at their last fix
    until ``until_s`` (default: the scenario's duration)."""
    from safetwin.emergency_planner.evacuation import aegl_equivalent_dose

    toxic = [g for g in getattr(res, "gas_sources", []) if g.toxic and g.substance.toxic is not None]
    if not toxic or rec is None:
        return {"people_above_aegl2_dose": None, "note": "no toxic release in the baseline"}
    rec = held_until(rec, until_s if until_s is not None else float(res.scenario.simulation.duration_s))
    above = np.zeros(rec.n_people, bool)
    ratios: dict[str, float] = {}
    for name in sorted({g.substance.name for g in toxic}):
        srcs = [g for g in toxic if g.substance.name == name]
        sub = srcs[0].substance
        pr = sub.probits.get("tno") or next(iter(sub.probits.values()), None)
        n = pr.n if pr is not None else 1.0
        aegl2 = float(sub.ppm_to_mg_m3(sub.toxic.aegl_at(2, 1800.0)))
        ref = aegl_equivalent_dose(aegl2, 1800.0, n)
        c = sum(np.asarray(s.train.concentration_at(rec.x_m, rec.y_m, rec.t_s), float) for s in srcs)
        dose = track_doses(rec, c, n)
        above |= dose >= ref
        ratios[name] = float(dose.max() / ref) if dose.size else 0.0
    return {"people_above_aegl2_dose": int(above.sum()), "max_aegl2_load_ratio": ratios,
            "note": "toxic load along the tracks in the simulated plume of the baseline"}
