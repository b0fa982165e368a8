"""Doses and harm along routes, when staying put, and indoors.

* **Toxic load** ``∫ cⁿ dt`` ((mg/m³)ⁿ·s, trapezoidal) per substance and **thermal dose**
  ``∫ q^{4/3} dt`` ((W/m²)^{4/3}·s); the dose ratio is the toxic load over the AEGL-2 (30 min)
  equivalent load ``AEGL-2ⁿ · 1800 s``; harm is the probit probability (TNO toxic probits,
  Eisenberg thermal probit), the highest over the channels.
* **Along a route** (:func:`route_doses`): samples every ``dose_sample_m`` at the walker's time,
  plus the pre-movement ``[t0, departure]`` spent at the start — outdoors, or indoors for a
  building's occupants (the building's indoor load until the departure).
* **Staying put** (:func:`stay_doses`): the outdoor load at the position over ``shelter_window_s``;
  for heat, the worst ``thermal_stay_s`` (60 s, the ALOHA thermal level-of-concern duration) —
  nobody stands still in heat radiation for an hour.
* **Indoors** (:func:`building_exposures`): the single-zone model of :mod:`.shelter` driven by the
  highest outdoor concentration over the footprint's corners (at most 8) and centroid; occupants
  leave or ventilate once the cloud has passed.

Example (a constant 2 mg/m³ for 10 s, n = 2: load 40 (mg/m³)²·s)::

    >>> import numpy as np
    >>> segment_loads(np.full(11, 4.0), np.arange(11.0), np.zeros(11, int), 1).tolist()
    [40.0]
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from safetwin.emergency_planner.physics.effects import thermal_lethality_from_dose

from .hazard import HazardSpec
from .limits import ToxicChannels, evaluate_hazard
from .records import RecommendParams
from .route_planner import sample_routes
from .shelter import exposure_end_index, indoor_concentration, toxic_load_s


def segment_loads(values: np.ndarray, times_s: np.ndarray, owner: np.ndarray, owner_count: int) -> np.ndarray:
    """Trapezoidal ∫ values dt per owner for concatenated per-owner time series."""
    if values.size < 2:
        return np.zeros(owner_count)
    same = owner[1:] == owner[:-1]
    inc = np.where(same, 0.5 * (values[1:] + values[:-1]) * (times_s[1:] - times_s[:-1]), 0.0)
    return np.bincount(owner[1:], weights=inc, minlength=owner_count)


def dose_and_harm(channels: ToxicChannels, loads: Sequence[np.ndarray], thermal: np.ndarray | None,
                  n: int) -> tuple[np.ndarray, np.ndarray]:
    """(max load ratio over substances, harm probability (max over channels)) for ``n`` people."""
    ratio = np.zeros(n)
    harm = np.zeros(n)
    for k, load in enumerate(loads):
        ratio = np.maximum(ratio, load / channels.dose_ref[k])
        harm = np.maximum(harm, channels.exposures[k].harm_probability(load))
    if thermal is not None:
        harm = np.maximum(harm, np.asarray(thermal_lethality_from_dose(thermal, "eisenberg"), float))
    return ratio, harm


@dataclass
class Doses:
    """Doses of ``n`` people under one option (a route, staying put): toxic load per substance
    ((mg/m³)ⁿ·s, each (n,)), thermal dose ((W/m²)^{4/3}·s, (n,) or None), the dose ratio and the
    harm probability (each (n,), see :func:`dose_and_harm`)."""

    loads: list[np.ndarray]
    thermal: np.ndarray | None
    ratio: np.ndarray
    harm: np.ndarray

    @classmethod
    def of(cls, channels: ToxicChannels, loads: list[np.ndarray], thermal: np.ndarray | None, n: int) -> Doses:
        return cls(loads, thermal, *dose_and_harm(channels, loads, thermal, n))


def route_doses(hazard: HazardSpec, channels: ToxicChannels, start_xy_m: np.ndarray,
                polylines: Sequence[np.ndarray | None], times_s: Sequence[np.ndarray | None], *, t0_s: float,
                departure_s: float, params: RecommendParams,
                indoor_premovement_loads: Sequence[np.ndarray] | None = None) -> tuple[list[np.ndarray], np.ndarray | None]:
    """(load per substance (n,), thermal dose (n,) or None) along routes, plus the pre-movement spent
    at the start outdoors ``[t0_s, departure_s]`` (or ``indoor_premovement_loads`` per substance when
    given); 0 for starts without a route."""
    p, n = params, len(polylines)
    pts, ts, own = sample_routes(polylines, times_s, p.dose_sample_m)
    # pre-movement at the start point
    tpre = np.arange(t0_s, departure_s + 1e-9, p.exposure_dt_s)
    if tpre.size < 2:
        tpre = np.array([t0_s, departure_s])
    has = np.array([pl is not None for pl in polylines])
    idx = np.flatnonzero(has)
    px = np.repeat(start_xy_m[idx, 0], tpre.size)
    py = np.repeat(start_xy_m[idx, 1], tpre.size)
    pt = np.tile(tpre, idx.size)
    pown = np.repeat(idx, tpre.size)
    allx, ally = np.concatenate([pts[:, 0], px]), np.concatenate([pts[:, 1], py])
    allt = np.concatenate([ts, pt])
    cs, q = evaluate_hazard(hazard, allx, ally, allt)
    m = len(ts)
    loads = []
    for k, c in enumerate(cs):
        load = segment_loads(np.maximum(c[:m], 0) ** channels.exponent[k], ts, own, n)
        if indoor_premovement_loads is None:
            load = load + segment_loads(np.maximum(c[m:], 0) ** channels.exponent[k], pt, pown, n)
        else:
            load = load + np.where(has, indoor_premovement_loads[k], 0.0)
        loads.append(load)
    thermal = None
    if q is not None:
        thermal = (segment_loads(np.maximum(q[:m], 0) ** (4 / 3), ts, own, n)
                   + segment_loads(np.maximum(q[m:], 0) ** (4 / 3), pt, pown, n))
    return loads, thermal


def stay_doses(hazard: HazardSpec, channels: ToxicChannels, xy_m: np.ndarray, *, t0_s: float,
               params: RecommendParams) -> tuple[list[np.ndarray], np.ndarray | None]:
    """(load per substance (n,), thermal dose (n,) or None) of staying at ``xy_m`` outdoors."""
    p = params
    t = np.arange(t0_s, t0_s + p.shelter_window_s + 1e-9, p.exposure_dt_s)
    n = len(xy_m)
    x, y = np.repeat(xy_m[:, 0], t.size), np.repeat(xy_m[:, 1], t.size)
    times = np.tile(t, n)
    own = np.repeat(np.arange(n), t.size)
    cs, q = evaluate_hazard(hazard, x, y, times)
    loads = [segment_loads(np.maximum(c, 0) ** e, times, own, n) for c, e in zip(cs, channels.exponent)]
    # heat radiation: nobody stands still in it for an hour — the worst ``thermal_stay_s`` (60 s, the
    # ALOHA thermal-LOC duration) at the person's position
    thermal = None if q is None else (np.maximum(q, 0).reshape(n, t.size).max(1) ** (4 / 3)) * p.thermal_stay_s
    return loads, thermal


@dataclass
class BuildingExposure:
    """Indoor exposure of one occupied building."""

    building: Any
    window_loads: list[float]            # indoor toxic load per substance over the shelter window
    premovement_loads: list[float]       # indoor toxic load per substance until the departure
    peak_flux_w_m2: float                # highest heat flux on the footprint


def building_exposures(buildings: Sequence, hazard: HazardSpec, channels: ToxicChannels, *, t0_s: float,
                       departure_s: float, params: RecommendParams) -> list[BuildingExposure]:
    """Per building: indoor loads per substance over the window and over the pre-movement
    (outdoor concentration = the maximum over the footprint's corners and centroid; one batched
    evaluation for all buildings)."""
    p = params
    blds = list(buildings)
    t = np.arange(t0_s, t0_s + p.shelter_window_s + 1e-9, p.exposure_dt_s)
    pts_all, owner = [], []
    for kb, b in enumerate(blds):
        g = b.geometry
        ring = np.asarray(g.exterior.coords if g.geom_type == "Polygon" else g.convex_hull.exterior.coords)[:-1, :2]
        if len(ring) > 8:
            ring = ring[np.linspace(0, len(ring) - 1, 8).astype(int)]
        pts = np.vstack([ring, [[g.centroid.x, g.centroid.y]]])
        pts_all.append(pts)
        owner.append(np.full(len(pts), kb))
    if not blds:
        return []
    points = np.vstack(pts_all)
    own = np.concatenate(owner)
    x = np.tile(points[:, 0], t.size)
    y = np.tile(points[:, 1], t.size)
    times = np.repeat(t, len(points))
    cs, q = evaluate_hazard(hazard, x, y, times)
    end_pre = np.searchsorted(t, departure_s, "right")
    co_all = []
    for c in cs:  # (nt, npts) -> max per building -> (nb, nt)
        c2 = c.reshape(t.size, len(points))
        co = np.full((len(blds), t.size), 0.0)
        for kb in range(len(blds)):
            co[kb] = c2[:, own == kb].max(1)
        co_all.append(co)
    ach = np.array([b.air_changes_per_h for b in blds])
    win_k, pre_k = [], []
    for k, co in enumerate(co_all):
        ci = indoor_concentration(t, co, ach)
        end = exposure_end_index(co, ci)
        win_k.append(toxic_load_s(t, ci, channels.exponent[k], end))
        pre_k.append(toxic_load_s(t, ci, channels.exponent[k], np.full(len(blds), end_pre)))
    qmax = np.zeros(len(blds)) if q is None else np.array(
        [q.reshape(t.size, len(points))[:, own == kb].max() for kb in range(len(blds))])
    return [BuildingExposure(b, [float(w[kb]) for w in win_k], [float(pp[kb]) for pp in pre_k], float(qmax[kb]))
            for kb, b in enumerate(blds)]
