"""Source estimation from live detector readings: where is the leak, and how big is it?

:func:`estimate_source` inverts the forward model of :mod:`.kernel` (the steady limit of the
planner's puff train, switched on at the release start) over a set of hypotheses

* every candidate **equipment** item (by default: every item of the plant whose inventory is a
  substance one of the alarming detectors responds to), at the centroid the planner uses for
  releases there, and
* a **grid of free points** (``params.grid_spacing_m``, default 10 m) over the plant, for each
  candidate substance group (substances that the detectors cannot tell apart share one fit),

each for a few release heights (``params.release_heights_m``). The rate Q is a continuous
parameter: the model is linear in Q, and the best ``ln Q`` per hypothesis is found by a decade
scan and a Gauss–Newton/IRLS iteration (a numba loop over the hypotheses) on a robust likelihood:

* readings are averaged in ``bin_s`` bins over the last ``window_s`` seconds, per detector;
* residuals are taken in ``asinh(v / c_k)`` space, with ``c_k = noise_frac × span`` of the
  detector: linear (absolute noise) near zero, logarithmic (relative model error, ``log_sigma``)
  for large readings, so a detector reading ~0 rules out locations whose plume would cover it;
* Student-t (ν = ``student_nu``) errors make a faulty detector an outlier, not a disaster;
* the release start t0 of each hypothesis is the latest start consistent with the detectors
  that have risen (``t_rise − x/u``), so detectors the plume front has not reached yet are not
  expected to read anything.

Hypotheses are scored by a Laplace approximation of their marginal likelihood (the rate
integrated out under a flat prior in ``ln Q``) times a prior that puts ``params.prior_equipment``
of the mass on the candidate equipment. The result, :class:`SourceEstimate`, carries the best
equipment or point, the rate, the posterior over the equipment, the radius around the best
location that holds 90 % of the posterior, and the 5–95 % interval of the rate.

:func:`predict_plume` turns an estimate into a concentration function ``c(x, y, t)`` (mg/m³) for
the hazard-aware routing: a puff train from the estimated source under the current wind.

Example (a noise-free synthetic case on the demo plant)::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.emergency_planner.live.replay import synthetic_observations
    >>> plant = load_plant(bundled_plant_path("demo_plant"))
    >>> wind = WindInput(3.5, 100.0, "D")
    >>> obs = synthetic_observations(plant, "propane", (712.0, 370.0), 5.0, wind, t_end_s=90.0)
    >>> est = estimate_source(obs, plant, wind)
    >>> est.equipment_id, round(est.rate_kg_s, 1)
    ('V-3102', 5.0)
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
from scipy.special import ndtr

from safetwin.plant_models.loader import Plant
from safetwin.plant_models.schema import Sensor
from safetwin.emergency_planner.physics.dispersion import WindHistory, puff_train
from safetwin.emergency_planner.physics.sigmas import PasquillSigmas
from safetwin.substances import Substance

from .kernel import front_factor, unit_concentration, wind_frame
from .observations import Observations, WindInput, is_gas_detector, response_factor

__all__ = ["EstimationParams", "SourceEstimate", "EstimationError", "estimate_source", "predict_plume",
           "candidate_equipment"]


class EstimationError(ValueError):
    """Bad input to the estimator (unknown sensor, empty plant …), with the offending item named."""


@dataclass(frozen=True)
class EstimationParams:
    """Settings of :func:`estimate_source` (SI units)."""

    grid_spacing_m: float = 10.0           # free-point grid over the plant boundary box
    grid_margin_m: float = 0.0
    release_heights_m: tuple[float, ...] = (0.5, 1.0, 2.0)
    window_s: float = 90.0                 # readings older than this (before the latest) are ignored
    bin_s: float = 10.0                    # readings are averaged per detector in bins of this length
    noise_frac: float = 0.02               # c_k: zero offset + drift + noise, fraction of the detector span
    log_sigma: float = 0.5                 # model error in asinh/log space (≈ factor 1.65 per bin)
    student_nu: float = 4.0
    rise_factor: float = 5.0               # a detector has "risen" above rise_factor · c_k
    t0_tolerance_s: float = 30.0           # risers implying a start this much before the median are outliers
    near_field_m: float = 15.0             # puff-train near field (planner default)
    sigma_set: str = "briggs_rural"
    averaging_time_s: float = 600.0
    prior_equipment: float = 0.8           # prior mass on the candidate equipment (rest: free grid)
    rate_bounds_kg_s: tuple[float, float] = (1e-4, 1e3)
    over_range: str = "use"                # "use": over-range values as reported; "censor": ≥ range_max
    credible_mass: float = 0.9
    gn_iterations: int = 14
    min_signal: float = 0.05               # (hypothesis, detector) pairs below this many c_k at the rate cap are skipped
    front_weight: float = 0.1              # weight of bins in which the plume front passes the detector
    cap_factor: float = 30.0               # rate cap: this × the smallest rate explaining an alarming detector


@dataclass
class SourceEstimate:
    """Result of :func:`estimate_source`. ``kind`` is ``equipment``, ``point`` or ``none`` (no
    detector above its warning level). Coordinates in the plant frame (m), rate in kg/s of
    ``substance``, times in the observations' clock (s)."""

    t_s: float
    kind: str
    equipment_id: str | None = None
    substance: str | None = None
    x_m: float = float("nan")
    y_m: float = float("nan")
    rate_kg_s: float = float("nan")
    rate_interval_kg_s: tuple[float, float] = (float("nan"), float("nan"))
    release_height_m: float = float("nan")
    start_s: float = float("nan")
    credible_radius_m: float = float("inf")
    p_location: float = 0.0                 # posterior mass of the best equipment (or grid cell)
    equipment_posterior: dict[str, float] = field(default_factory=dict)
    p_grid: float = 0.0
    alarming: list[str] = field(default_factory=list)
    detectors_used: int = 0
    hypotheses: int = 0
    wind: WindInput | None = None
    compute_ms: float = 0.0
    notes: list[str] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def location_xy_m(self) -> tuple[float, float]:
        return (self.x_m, self.y_m)

    @property
    def rate_factor_interval(self) -> tuple[float, float]:
        """The 5–95 % rate interval as factors of the best rate."""
        return (self.rate_interval_kg_s[0] / self.rate_kg_s, self.rate_interval_kg_s[1] / self.rate_kg_s)

    def summary(self) -> dict[str, Any]:
        return {"t_s": self.t_s, "kind": self.kind, "equipment_id": self.equipment_id, "substance": self.substance,
                "x_m": round(self.x_m, 1), "y_m": round(self.y_m, 1), "rate_kg_s": self.rate_kg_s,
                "rate_interval_kg_s": self.rate_interval_kg_s, "credible_radius_m": self.credible_radius_m,
                "p_location": self.p_location, "p_grid": self.p_grid, "release_height_m": self.release_height_m,
                "start_s": self.start_s, "alarming": self.alarming, "compute_ms": self.compute_ms}


# ============================================================================ helpers
def candidate_equipment(plant: Plant, substances: list[Substance]) -> dict[str, tuple[float, float, Substance]]:
    """Equipment holding one of ``substances``: ``{id: (x_m, y_m, substance)}`` at the equipment
    centroid (where the planner places releases at that item)."""
    from safetwin.scenarios.loader import resolve_substance
    names = {s.name for s in substances}
    out = {}
    for eid, inv in plant.inventories.items():
        try:
            sub = resolve_substance(inv.substance)
        except KeyError:
            continue
        if sub.name in names and eid in plant.equipment:
            c = plant.equipment[eid].geometry.centroid
            out[eid] = (float(c.x), float(c.y), sub)
    return out


def _plant_substances(plant: Plant) -> list[Substance]:
    from safetwin.scenarios.loader import resolve_substance
    subs: dict[str, Substance] = {}
    for inv in plant.inventories.values():
        try:
            s = resolve_substance(inv.substance)
        except KeyError:
            continue
        subs[s.name] = s
    return list(subs.values())


def _alarm_level(s: Sensor, c: float) -> float:
    if s.alarm is not None:
        return float(s.alarm.warning)
    return 10.0 if s.unit == "%LEL" else 10.0 * c


def _robust(r: np.ndarray, nu: float) -> np.ndarray:
    return 0.5 * (nu + 1.0) * np.log1p(r * r / nu)


@numba.njit(cache=True, nogil=True, fastmath=False)
def _seg_eval(A, h, a, b, g_obs, cens, w_obs, rho0, theta, s, nu, want_grad):  # pragma: no cover - numba
    """Loss (relative to predicting 0), gradient and Gauss–Newton curvature in ln Q of one
    hypothesis (release height ``h``, pairs a..b)."""
    q = math.exp(theta)
    loss = 0.0
    grad = 0.0
    hess = 0.0
    for i in range(a, b):
        m = q * A[h, i]
        r = (g_obs[i] - math.asinh(m)) / s
        censored = cens[i] and r < 0.0
        if censored:
            r = 0.0
        loss += (0.5 * (nu + 1.0) * math.log1p(r * r / nu) - rho0[i]) * w_obs[i]
        if want_grad and not censored:
            J = -(m / math.sqrt(1.0 + m * m)) / s
            w = (nu + 1.0) / (nu + r * r) * w_obs[i]
            grad += w * r * J
            hess += w * J * J
    return loss, grad, hess


@numba.njit(cache=True, nogil=True)
def _fit_kernel(A, seg_start, seg_end, g_obs, cens, w_obs, lo, hi_theta, s, nu, n_iter):  # pragma: no cover
    nH = A.shape[0]
    M = seg_start.size
    theta = np.empty((nH, M))
    dl = np.empty((nH, M))
    sig = np.empty((nH, M))
    rho0 = np.empty(g_obs.size)
    for i in range(g_obs.size):
        r0 = g_obs[i] / s
        rho0[i] = 0.5 * (nu + 1.0) * math.log1p(r0 * r0 / nu)
    step10 = math.log(10.0)
    for h in range(nH):
        for k in range(M):
            a, b, hi = seg_start[k], seg_end[k], hi_theta[k]
            best_t = lo
            best_l = np.inf
            t = lo
            while True:                                   # decade scan up to the cap
                tt = min(t, hi)
                l, _, _ = _seg_eval(A, h, a, b, g_obs, cens, w_obs, rho0, tt, s, nu, False)
                if l < best_l:
                    best_l, best_t = l, tt
                if t >= hi:
                    break
                t += step10
            scale = 1.0
            _, g, hs = _seg_eval(A, h, a, b, g_obs, cens, w_obs, rho0, best_t, s, nu, True)
            for _ in range(n_iter):                       # Gauss–Newton / IRLS with step control
                step = -g / (hs + 1e-12)
                step = min(max(step, -2.3), 2.3) * scale
                cand = min(max(best_t + step, lo), hi)
                lc, gc, hc = _seg_eval(A, h, a, b, g_obs, cens, w_obs, rho0, cand, s, nu, True)
                if lc <= best_l:
                    moved = abs(cand - best_t)
                    best_l, best_t, g, hs = lc, cand, gc, hc
                    scale = 1.0
                    if moved < 1e-3:
                        break
                else:
                    scale *= 0.3
                    if scale < 1e-3:
                        break
            theta[h, k] = best_t
            dl[h, k] = best_l
            sig[h, k] = 1.0 / math.sqrt(hs + 1e-12)
    return theta, dl, sig


def _fit_rates(A: np.ndarray, seg_start: np.ndarray, g_obs: np.ndarray, cens: np.ndarray, w_obs: np.ndarray,
               p: EstimationParams, hi_theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best ln Q per hypothesis for predictions ``Q·A``.

    Sparse form: ``A`` (H, T) holds the non-negligible (hypothesis, observation) pairs, sorted by
    hypothesis; ``seg_start`` (M,) the first pair of each of the M hypotheses that have pairs;
    ``g_obs`` (T,) the data ``asinh(y/c)``, the prediction being ``asinh(Q·A/c)`` (A is already
    divided by c); ``w_obs`` (T,) weights; ``cens`` (T,) censored (≥) data. ``hi_theta`` (M,) caps
    ln Q per hypothesis. Returns (theta, Δloss, sigma_theta), each (H, M), where Δloss is the loss
    relative to predicting zero everywhere. Per hypothesis: a decade scan, then Gauss–Newton/IRLS
    in ln Q with step halving (a numba loop over the hypotheses: no temporaries per pair)."""
    lo = math.log(p.rate_bounds_kg_s[0])
    width = math.log(p.rate_bounds_kg_s[1]) - lo
    seg_start = np.ascontiguousarray(seg_start, np.int64)
    seg_end = np.r_[seg_start[1:], A.shape[1]].astype(np.int64)
    theta, dl, sig = _fit_kernel(np.ascontiguousarray(A, float), seg_start, seg_end, np.ascontiguousarray(g_obs, float),
                                 np.ascontiguousarray(cens, np.bool_), np.ascontiguousarray(w_obs, float), lo,
                                 np.ascontiguousarray(np.minimum(hi_theta, lo + width), float), float(p.log_sigma),
                                 float(p.student_nu), int(p.gn_iterations))
    return theta, dl, np.minimum(sig, width / math.sqrt(2 * math.pi))


# ============================================================================ the estimator
def estimate_source(observations: Observations, plant: Plant, wind: WindInput, *,
                    candidates: list[str] | None = None, params: EstimationParams | None = None,
                    t_now_s: float | None = None) -> SourceEstimate:
    """Estimate the source (equipment or point, rate, start) from detector readings and the wind.

    ``observations`` in each detector's unit (see :class:`Observations`); ``candidates`` restricts
    the equipment hypotheses (default: every item holding a substance an alarming detector
    responds to); ``t_now_s`` defaults to the latest reading. Raises :class:`EstimationError` for
    readings of sensors the plant lacks or that are not gas detectors.
    """
    t_wall = time.perf_counter()
    p = params or EstimationParams()
    sensors = plant.sensors
    for sid in observations.sensor_ids:
        if sid not in sensors:
            raise EstimationError(f"observations: sensor {sid!r} is not in plant {plant.id!r}")
        if not is_gas_detector(sensors[sid]):
            raise EstimationError(f"observations: sensor {sid!r} is not a gas detector (type "
                                  f"{getattr(sensors[sid].type, 'value', sensors[sid].type)}, unit {sensors[sid].unit})")
    if t_now_s is not None:
        observations = observations.until(t_now_s)
    t_now = float(t_now_s) if t_now_s is not None else observations.t_max_s
    if len(observations) == 0 or not np.isfinite(t_now):
        return SourceEstimate(t_s=float("nan") if t_now_s is None else float(t_now_s), kind="none",
                              wind=wind, notes=["no readings"])
    ids = observations.sensor_ids
    det = [sensors[s] for s in ids]
    K = len(ids)
    span = np.array([max(s.range_max - s.range_min, 1e-9) for s in det])
    c = p.noise_frac * span
    rmax = np.array([s.range_max for s in det])
    dx = np.array([s.position[0] for s in det], float)
    dy = np.array([s.position[1] for s in det], float)
    dz = np.array([s.height_m for s in det], float)
    si, ts, vs = observations.sensor_index, observations.t_s, observations.value

    # ---- bins over the window, per detector
    t_lo = t_now - p.window_s
    nb = max(int(math.ceil(p.window_s / p.bin_s)), 1)
    inwin = ts > t_lo
    b = np.clip(((ts[inwin] - t_lo) / p.bin_s).astype(int), 0, nb - 1)
    k_in = si[inwin]
    cnt = np.zeros((K, nb))
    tot = np.zeros((K, nb))
    tsum = np.zeros((K, nb))
    np.add.at(cnt, (k_in, b), 1.0)
    np.add.at(tot, (k_in, b), vs[inwin])
    np.add.at(tsum, (k_in, b), ts[inwin])
    has = cnt > 0
    ybin = np.where(has, tot / np.maximum(cnt, 1), 0.0)
    tbin = np.where(has, tsum / np.maximum(cnt, 1), t_lo + (np.arange(nb)[None, :] + 0.5) * p.bin_s)

    # ---- alarming detectors and rise times (over everything known)
    level = np.array([_alarm_level(s, ck) for s, ck in zip(det, c)])
    vmax = np.full(K, -np.inf)
    np.maximum.at(vmax, si, vs)
    alarming = [ids[k] for k in range(K) if vmax[k] >= level[k]]
    risen = vs > p.rise_factor * c[si]
    t_rise = np.full(K, np.inf)
    np.minimum.at(t_rise, si[risen], ts[risen])
    if not alarming:
        return SourceEstimate(t_s=t_now, kind="none", wind=wind, detectors_used=K,
                              compute_ms=(time.perf_counter() - t_wall) * 1e3,
                              notes=["no detector at or above its warning level"])

    # ---- candidate substances and equipment
    subs_all = _plant_substances(plant)
    alarm_idx = [ids.index(a) for a in alarming]
    subs = [s for s in subs_all if any(response_factor(det[k], s) > 0 for k in alarm_idx)]
    if candidates is not None:
        unknown = [e for e in candidates if e not in plant.equipment]
        if unknown:
            raise EstimationError(f"candidates: equipment {unknown} not in plant {plant.id!r}")
        eq = {e: v for e, v in candidate_equipment(plant, subs_all).items() if e in candidates}
        subs = list({v[2].name: v[2] for v in eq.values()}.values()) or subs
    else:
        eq = candidate_equipment(plant, subs)
    if not subs:
        from safetwin.scenarios.loader import resolve_substance
        for k in alarm_idx:
            try:
                subs = [resolve_substance(det[k].gas)] if det[k].gas else []
            except KeyError:
                subs = []
            if subs:
                break
    if not subs:
        return SourceEstimate(t_s=t_now, kind="none", wind=wind, alarming=alarming, detectors_used=K,
                              notes=["no substance of the plant matches the alarming detectors"])

    # ---- substance groups (substances the detectors cannot tell apart share one fit)
    fac = np.array([[response_factor(d, s) for d in det] for s in subs])        # (S, K)
    groups: dict[tuple, list[int]] = {}
    for j in range(len(subs)):
        nz = np.flatnonzero(fac[j] > 0)
        key = (tuple(nz), tuple(np.round(fac[j, nz] / fac[j, nz[0]], 6))) if nz.size else ((), ())
        groups.setdefault(key, []).append(j)

    sig = PasquillSigmas(wind.stability, p.sigma_set, averaging_time_s=p.averaging_time_s)
    sy0 = float(np.asarray(sig(np.array([p.near_field_m]))[0])[0])
    u = float(wind.speed_m_s)
    Hs = np.asarray(p.release_heights_m, float)
    x0, y0, x1, y1 = plant.boundary.bounds
    gx = np.arange(x0 - p.grid_margin_m, x1 + p.grid_margin_m + 1e-9, p.grid_spacing_m)
    gy_ = np.arange(y0 - p.grid_margin_m, y1 + p.grid_margin_m + 1e-9, p.grid_spacing_m)
    GX, GY = np.meshgrid(gx, gy_)
    grid_xy = np.column_stack([GX.ravel(), GY.ravel()])
    n_grid = grid_xy.shape[0]
    n_eq = len(eq)
    prior_eq = p.prior_equipment if n_eq else 0.0
    lnW = math.log(p.rate_bounds_kg_s[1] / p.rate_bounds_kg_s[0])

    gyd = np.arcsinh(ybin / c[:, None])                        # (K, nb)
    cens_all = (ybin >= rmax[:, None]) if p.over_range == "censor" else np.zeros_like(has)
    if p.over_range == "censor":
        gyd = np.where(cens_all, np.arcsinh(rmax / c)[:, None], gyd)
    null_terms = (_robust(gyd / p.log_sigma, p.student_nu) * has).sum(axis=1)  # (K,) loss when predicting 0

    null_all = float(null_terms.sum())
    n_pairs = 0
    eq_list = list(eq)
    nH = len(Hs)
    parts: list[dict[str, np.ndarray]] = []
    group_meta: list[tuple[int, list[int]]] = []
    for gi, (key, members) in enumerate(groups.items()):
        kk = np.asarray(key[0], int)
        if kk.size == 0:
            continue
        rep = members[0]
        sub_names = [subs[j].name for j in members]
        eq_here = [e for e in eq_list if eq[e][2].name in sub_names]
        P_xy = np.vstack([grid_xy] + ([np.array([eq[e][:2] for e in eq_here], float)] if eq_here else []))
        nP = P_xy.shape[0]
        loc_id = np.r_[n_eq + len(group_meta) * n_grid + np.arange(n_grid),
                       np.array([eq_list.index(e) for e in eq_here], int)]
        is_eq = loc_id < n_eq
        ck = c[kk]
        xw, yw = wind_frame(P_xy[:, 0], P_xy[:, 1], dx[kk], dy[kk], wind.from_deg)    # (P, Kg)
        U = unit_concentration(xw, yw, dz[kk], Hs, sig, u, near_field_m=p.near_field_m)  # (H, P, Kg)
        U *= (fac[rep, kk] / ck)[None, None, :]                                        # → units of c_k per kg/s
        # release start: latest start consistent with the risen detectors inside the hypothesis's
        # plume (downwind, within 3 σy of its axis; a detector elsewhere cannot time this source)
        tr = t_rise[kk]
        sy_k = np.asarray(sig(np.maximum(xw, p.near_field_m))[0], float)
        in_plume = (xw > -2 * sy0) & (np.abs(yw) <= 3.0 * sy_k)
        cand_t0 = np.where(np.isfinite(tr)[None, :] & in_plume, tr[None, :] - np.maximum(xw, 0.0) / u, np.nan)
        # robust to a faulty early riser: starts implied more than t0_tolerance_s before the
        # median implied start are ignored (genuine risers of one plume imply the same start)
        n_r = np.isfinite(cand_t0).sum(axis=1)
        t0 = np.full(cand_t0.shape[0], -np.inf)
        rows = np.flatnonzero(n_r > 0)
        if rows.size:
            sub_t0 = cand_t0[rows]
            med = np.nanmedian(sub_t0, axis=1)
            keep = np.where(sub_t0 >= (med - p.t0_tolerance_s)[:, None], sub_t0, np.inf)
            t0[rows] = keep.min(axis=1)
        # Hypotheses that cannot bring any alarming detector to half its level even at the top
        # rate keep the null loss; the others get a rate cap of `cap_factor` × the smallest rate
        # that explains one of the alarming detectors they reach (a fit above it would
        # over-predict that detector by more than the cap factor), and only (hypothesis,
        # detector) pairs reaching `min_signal`·c_k at the cap are evaluated.
        Umax = U.max(axis=0)                                                            # (P, Kg)
        al = np.isin(kk, alarm_idx)
        Ua = Umax[:, al]
        need = (level[kk][al] / ck[al])[None, :]
        reachable = Ua * p.rate_bounds_kg_s[1] >= 0.5 * need
        with np.errstate(divide="ignore"):
            demand = np.where(reachable, (vmax[kk][al] / ck[al])[None, :] / np.maximum(Ua, 1e-300), np.inf)
        q_cap = np.minimum(p.rate_bounds_kg_s[1], p.cap_factor * demand.min(axis=1))
        q_cap = np.where(reachable.any(axis=1), np.maximum(q_cap, p.rate_bounds_kg_s[0] * 10), 0.0)
        # sparse (hypothesis, detector, bin) triples where the prediction can matter at all
        pp, kq = np.nonzero(Umax * q_cap[:, None] >= p.min_signal)
        ti, tb = np.nonzero(has[kk][kq])
        tp, tk = pp[ti], kq[ti]
        n_pairs += int(tp.size)
        if tp.size:
            sxx = np.asarray(sig(np.maximum(xw[tp, tk], p.near_field_m))[0], float)
            F = front_factor(xw[tp, tk], sxx, u * (tbin[kk][tk, tb] - t0[tp]), sy0)
            A = U[:, tp, tk] * F[None, :]
            g_obs = gyd[kk][tk, tb]
            cens = cens_all[kk][tk, tb]
            hyp_with, seg_start = np.unique(tp, return_index=True)
            # bins while the front passes a detector are poorly timed by the plug-in start: down-weight
            w_obs = np.where((F > 0.02) & (F < 0.9), p.front_weight, 1.0)
            th_w, dl_w, sg_w = _fit_rates(A, seg_start, g_obs, cens, w_obs, p, np.log(np.maximum(q_cap[hyp_with], p.rate_bounds_kg_s[0])))
        else:
            hyp_with = np.zeros(0, int)
            th_w = dl_w = sg_w = np.zeros((nH, 0))
        theta = np.full((nH, nP), math.log(p.rate_bounds_kg_s[0]))
        dl = np.zeros((nH, nP))
        sg = np.full((nH, nP), lnW / math.sqrt(2 * math.pi))
        theta[:, hyp_with], dl[:, hyp_with], sg[:, hyp_with] = th_w, dl_w, sg_w
        # Laplace evidence −loss + ln(√(2π) σθ / W); priors: equipment share prior_eq, grid cells the rest
        lev = -(null_all + dl) + np.log(np.sqrt(2 * np.pi) * sg / lnW)
        lp_grid = math.log(max(1.0 - prior_eq, 1e-12) * len(members) / len(subs) / n_grid)
        lp_eq = math.log(prior_eq / n_eq) if n_eq else -np.inf
        lp = np.where(is_eq, lp_eq, lp_grid)[None, :] - math.log(nH)
        parts.append({"lp": (lev + lp).ravel(), "theta": theta.ravel(), "sig": sg.ravel(),
                      "H": np.repeat(Hs, nP), "t0": np.tile(t0, nH), "x": np.tile(P_xy[:, 0], nH),
                      "y": np.tile(P_xy[:, 1], nH), "loc": np.tile(loc_id, nH),
                      "group": np.full(nH * nP, len(group_meta))})
        group_meta.append((rep, members))

    # ---- posterior over all hypotheses
    cat = {k: np.concatenate([d[k] for d in parts]) for k in parts[0]}
    lps = cat["lp"]
    post = np.exp(lps - lps.max())
    post /= post.sum()
    theta_all, sig_all, loc = cat["theta"], cat["sig"], cat["loc"]
    p_loc = np.bincount(loc, weights=post, minlength=n_eq + len(group_meta) * n_grid)
    best_loc = int(np.argmax(p_loc))
    sel = np.flatnonzero(loc == best_loc)
    j_best = int(sel[int(np.argmax(post[sel]))])      # the best release height at the best location
    theta_best = float(theta_all[j_best])
    bx, by = float(cat["x"][j_best]), float(cat["y"][j_best])
    rep, members = group_meta[int(cat["group"][j_best])]
    if best_loc < n_eq:
        eid = eq_list[best_loc]
        sub = eq[eid][2]
        kind = "equipment"
    else:
        from safetwin.scenarios.loader import resolve_substance
        eid, kind, sub = None, "point", subs[rep]
        for k in alarm_idx:
            try:
                s_n = resolve_substance(det[k].gas) if det[k].gas else None
            except KeyError:
                s_n = None
            if s_n is not None and s_n.name in [subs[j].name for j in members]:
                sub = s_n
                break
    # rate in kg/s of `sub`: fits are in units of the group's representative substance
    j_sub = [s.name for s in subs].index(sub.name)
    k_ref = int(np.flatnonzero(fac[rep] > 0)[0])
    scale = fac[rep, k_ref] / fac[j_sub, k_ref]
    scale = float(scale)
    rate = math.exp(theta_best) * scale
    # 5–95 % of the rate: mixture of log-normals over the hypotheses at this substance scale
    grid_t = np.linspace(math.log(p.rate_bounds_kg_s[0]), math.log(p.rate_bounds_kg_s[1]), 800)
    top = np.flatnonzero(post > 1e-7)
    top = top[np.argsort(post[top])[::-1][:1000]]
    cdf = (post[top, None] * ndtr((grid_t[None, :] - theta_all[top, None]) / sig_all[top, None])).sum(axis=0)
    cdf /= max(cdf[-1], 1e-300)
    q05 = math.exp(float(np.interp(0.05, cdf, grid_t))) * scale
    q95 = math.exp(float(np.interp(0.95, cdf, grid_t))) * scale
    # credible radius around the best location
    dist = np.hypot(cat["x"] - bx, cat["y"] - by)
    order = np.argsort(dist)
    cum = np.cumsum(post[order])
    radius = float(dist[order][min(int(np.searchsorted(cum, p.credible_mass)), dist.size - 1)])
    eq_post = {eq_list[i]: float(p_loc[i]) for i in range(n_eq) if p_loc[i] > 1e-4}
    p_grid = float(p_loc[n_eq:].sum())
    Hb = float(cat["H"][j_best])
    notes = []
    if radius > 50.0:
        notes.append(f"location uncertain: 90 % of the posterior within {radius:.0f} m")
    if q95 / q05 > 16.0:
        notes.append(f"rate uncertain: 5-95 % interval spans a factor {q95 / q05:.0f}")
    return SourceEstimate(
        t_s=t_now, kind=kind, equipment_id=eid, substance=sub.name, x_m=float(bx), y_m=float(by), rate_kg_s=rate,
        rate_interval_kg_s=(float(q05), float(q95)), release_height_m=Hb, start_s=float(cat["t0"][j_best]),
        credible_radius_m=radius, p_location=float(p_loc[best_loc]),
        equipment_posterior=dict(sorted(eq_post.items(), key=lambda kv: -kv[1])), p_grid=p_grid,
        alarming=alarming, detectors_used=K, hypotheses=int(post.size), wind=wind,
        compute_ms=(time.perf_counter() - t_wall) * 1e3, notes=notes,
        stats={"observation_pairs": n_pairs, "groups": len(group_meta)})


# ============================================================================ forward prediction
def predict_plume(estimate: SourceEstimate, wind: WindInput | WindHistory, t_from: float, horizon_s: float, *,
                  params: EstimationParams | None = None, conservative: bool = False, puff_interval_s: float = 5.0):
    """Concentration function ``c(x_m, y_m, t_s) -> mg/m³`` of the estimated release, usable as a
    toxic/flammable hazard: a puff train from the estimated location at the estimated rate (the
    95 % rate when ``conservative``), released from the estimated start (or ``t_from`` if later
    unknown) until ``t_from + horizon_s``, under ``wind`` (a steady :class:`WindInput` or a
    :class:`WindHistory` with a ``stability`` taken from the estimate's wind)."""
    if estimate.kind == "none" or not np.isfinite(estimate.rate_kg_s):
        raise EstimationError("predict_plume: the estimate has no source")
    p = params or EstimationParams()
    if isinstance(wind, WindInput):
        hist = WindHistory.steady(wind.speed_m_s, wind.from_deg)
        stab = wind.stability
    else:
        hist = wind
        stab = estimate.wind.stability if estimate.wind is not None else "D"
    sig = PasquillSigmas(stab, p.sigma_set, averaging_time_s=p.averaging_time_s)
    t_start = estimate.start_s if np.isfinite(estimate.start_s) else t_from - p.window_s
    t_start = min(t_start, t_from)
    t_end = t_from + horizon_s
    rate = estimate.rate_interval_kg_s[1] if conservative else estimate.rate_kg_s
    # wind history starts with the release (WindHistory holds its first value before times_s[0])
    train = puff_train(source_xy_m=(estimate.x_m, estimate.y_m), rate_times_s=np.array([t_start]),
                       rate_kg_s=np.array([rate]), wind=_shift(hist, t_start), sigmas=sig,
                       puff_interval_s=puff_interval_s, release_height_m=estimate.release_height_m,
                       end_time_s=t_end)
    import dataclasses
    train = dataclasses.replace(train, min_distance_m=p.near_field_m)

    def c(x_m, y_m, t_s):
        return train.concentration_at(np.asarray(x_m, float), np.asarray(y_m, float), np.asarray(t_s, float))

    c.train = train  # type: ignore[attr-defined]
    return c


def _shift(h: WindHistory, t0: float) -> WindHistory:
    """``h`` with its first interval starting no later than ``t0`` (a release before the history's
    first time sees the first wind)."""
    if h.times_s[0] <= t0:
        return h
    t = h.times_s.copy()
    t[0] = t0
    return WindHistory(t, h.speed_m_s, h.from_deg)
