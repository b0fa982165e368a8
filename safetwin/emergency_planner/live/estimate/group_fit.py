"""Fit the rate of every hypothesis of one substance group (locations × release heights).

The forward model is :func:`..kernel.unit_concentration` (the steady plume per kg/s, switched
on at the release start), scaled to each detector's noise scale ``c_k`` per kg/s. Three steps
keep the fit to the pairs that matter:

1. **Release start** per location (:func:`.release_start.release_start_s`).
2. **Rate cap** per location: a location that cannot bring any alarming detector to half its
   warning level even at the top rate is not fitted (it keeps the loss of predicting zero); the
   others are capped at ``cap_factor`` × the smallest rate that explains one of the alarming
   detectors they reach (a fit above it would over-predict that detector by more than the cap
   factor).
3. **Pairs**: only (location, detector) pairs reaching ``min_signal``·c_k at the cap, and their
   bins with readings, are evaluated, each prediction times the front factor
   (:func:`..kernel.front_factor`) at the bin's time. Bins in which the front passes the
   detector (front factor between 0.02 and 0.9) are poorly timed by the plug-in start and get
   ``front_weight``.

The wind is an argument, so an ensemble of winds is a loop over :func:`fit_group`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from safetwin.emergency_planner.physics.sigmas import SigmaModel

from ..kernel import front_factor, near_field_sigma_y_m, unit_concentration, wind_frame
from ..observations import WindInput
from .binning import BinnedReadings
from .dense_kernel import DenseLadder, with_speed
from .detectors import DetectorActivity, DetectorArrays
from .hypotheses import CandidateSources, GroupLocations, SubstanceGroup
from .rate_fit import FitSpaceData, fit_log_rates
from .records import EstimationParams
from .release_start import release_start_s
from .hypotheses import rate_scale


@dataclass(frozen=True)
class GroupFit:
    """The fit of one group: arrays (height_count, location_count) unless stated."""

    log_rate: np.ndarray           # best ln(Q / (kg/s)) in units of the group's representative substance
    loss_change: np.ndarray        # loss at the best rate minus the loss of predicting zero (0 if not fitted)
    log_rate_sigma: np.ndarray     # standard deviation of ln Q
    start_s: np.ndarray            # (location_count,) implied release start
    pair_count: int                # (location, detector, bin) triples evaluated


def rate_caps_kg_s(peak_unit_prediction: np.ndarray, detector_index: np.ndarray, detectors: DetectorArrays,
                   activity: DetectorActivity, *, rate_bounds_kg_s: tuple[float, float],
                   cap_factor: float) -> np.ndarray:
    """Rate cap (kg/s) per location, 0 for locations that cannot alarm any alarming detector;
    ``peak_unit_prediction`` (locations, group detectors) in c_k per kg/s, the highest over the
    release heights."""
    noise_scale = detectors.noise_scale[detector_index]
    alarming = np.isin(detector_index, activity.alarming_index)
    if not alarming.any():  # a group no alarming detector responds to (candidates named by the caller)
        return np.zeros(peak_unit_prediction.shape[0])
    reach = peak_unit_prediction[:, alarming]
    needed = (detectors.warning_level[detector_index][alarming] / noise_scale[alarming])[None, :]
    reachable = reach * rate_bounds_kg_s[1] >= 0.5 * needed
    with np.errstate(divide="ignore"):
        explaining_rate = np.where(reachable, (activity.peak_value[detector_index][alarming] / noise_scale[alarming])[None, :]
                                   / np.maximum(reach, 1e-300), np.inf)
    cap = np.minimum(rate_bounds_kg_s[1], cap_factor * explaining_rate.min(axis=1))
    return np.where(reachable.any(axis=1), np.maximum(cap, rate_bounds_kg_s[0] * 10), 0.0)


def fit_group(group: SubstanceGroup, locations: GroupLocations, sources: CandidateSources,
              detectors: DetectorArrays, activity: DetectorActivity, bins: BinnedReadings, data: FitSpaceData, *,
              wind: WindInput, sigmas: SigmaModel, params: EstimationParams,
              ladders: dict[str, DenseLadder] | None = None) -> GroupFit:
    """Fit the rate of every (release height, location) hypothesis of ``group`` under ``wind``.

    Every location is fitted with the Gaussian ``sigmas``. Equipment with a ladder in ``ladders``
    (:mod:`.dense_kernel`: the item's release is dense at some hole size) are also fitted with each
    dense rung — the rung's cloud within its band of rates — and the best rung (its loss plus
    ``params.larger_hole_penalty`` per e-fold of rate: a weak prior for smaller leaks, deciding
    between rungs the readings cannot tell apart) replaces the Gaussian fit when it explains the
    readings better by more than ``params.dense_margin`` (loss units, a log Bayes factor): a dense
    cloud is recognised by its shape, and readings the passive plume explains as well keep it."""
    fit = _fit_locations(locations.xy_m, group, sources, detectors, activity, bins, data, wind=wind, sigmas=sigmas,
                         params=params, rate_bounds_kg_s=params.rate_bounds_kg_s, ground_level=False)
    if not ladders:
        return fit
    equipment_ids = sources.equipment_ids
    log_width = math.log(params.rate_bounds_kg_s[1] / params.rate_bounds_kg_s[0])
    log_rate_min = math.log(params.rate_bounds_kg_s[0])
    pair_count = fit.pair_count
    for j in np.flatnonzero(locations.is_equipment):
        equipment_id = equipment_ids[int(locations.location_id[j])]
        ladder = ladders.get(equipment_id)
        if ladder is None:
            continue
        to_group = 1.0 / rate_scale(group, sources.equipment[equipment_id][2], sources)   # kg/s → the group's units
        ladder = with_speed(ladder, float(wind.speed_m_s))
        xy = locations.xy_m[j:j + 1]
        best: GroupFit | None = None
        best_score = best_loss = math.inf
        for rung in ladder.rungs:
            if rung.sigmas is None:
                continue          # a passive rung: the Gaussian fit above covers it
            rung_fit = _fit_locations(xy, group, sources, detectors, activity, bins, data, wind=wind,
                                      sigmas=rung.sigmas, params=params,
                                      rate_bounds_kg_s=(rung.band_kg_s[0] * to_group, rung.band_kg_s[1] * to_group),
                                      ground_level=True)
            pair_count += rung_fit.pair_count
            if rung_fit.pair_count == 0:
                continue
            h = int(np.argmin(rung_fit.loss_change[:, 0]))
            loss = float(rung_fit.loss_change[h, 0])
            score = loss + params.larger_hole_penalty * (float(rung_fit.log_rate[h, 0]) - log_rate_min)
            if score < best_score:
                best, best_score, best_loss = rung_fit, score, loss
        if best is None or best_loss + params.dense_margin >= float(fit.loss_change[:, j].min()):
            continue
        fit.log_rate[:, j] = best.log_rate[:, 0]
        fit.loss_change[:, j] = best.loss_change[:, 0]
        fit.log_rate_sigma[:, j] = np.minimum(best.log_rate_sigma[:, 0], log_width / math.sqrt(2 * math.pi))
        fit.start_s[j] = best.start_s[0]
    return GroupFit(log_rate=fit.log_rate, loss_change=fit.loss_change, log_rate_sigma=fit.log_rate_sigma,
                    start_s=fit.start_s, pair_count=pair_count)


def _fit_locations(xy_m: np.ndarray, group: SubstanceGroup, sources: CandidateSources, detectors: DetectorArrays,
                   activity: DetectorActivity, bins: BinnedReadings, data: FitSpaceData, *, wind: WindInput,
                   sigmas: SigmaModel, params: EstimationParams, rate_bounds_kg_s: tuple[float, float],
                   ground_level: bool) -> GroupFit:
    """The fit of the locations ``xy_m`` (n, 2) with one cloud model (``sigmas``), rates within
    ``rate_bounds_kg_s``; ``ground_level``: the cloud lies on the ground (a dense cloud, as the
    drill carries it) whatever the release height."""
    p = params
    detector_index = group.detector_index
    heights_m = np.asarray(p.release_heights_m, float)
    height_count, location_count = len(heights_m), xy_m.shape[0]
    wind_speed = float(wind.speed_m_s)
    sigma_y_0 = near_field_sigma_y_m(sigmas, p.near_field_m)
    downwind, crosswind = wind_frame(xy_m[:, 0], xy_m[:, 1], detectors.x_m[detector_index],
                                     detectors.y_m[detector_index], wind.from_deg)           # (P, Kg)
    unit = unit_concentration(downwind, crosswind, detectors.z_m[detector_index],
                              np.zeros_like(heights_m) if ground_level else heights_m, sigmas, wind_speed,
                              near_field_m=p.near_field_m)                                   # (H, P, Kg)
    unit *= (sources.response[group.representative, detector_index]
             / detectors.noise_scale[detector_index])[None, None, :]                         # → c_k per kg/s
    start = release_start_s(downwind, crosswind, activity.rise_time_s[detector_index], sigmas=sigmas,
                            wind_speed_m_s=wind_speed, near_field_m=p.near_field_m, tolerance_s=p.t0_tolerance_s)
    peak_unit = unit.max(axis=0)                                                             # (P, Kg)
    cap = rate_caps_kg_s(peak_unit, detector_index, detectors, activity, rate_bounds_kg_s=rate_bounds_kg_s,
                         cap_factor=p.cap_factor)
    # sparse (location, detector, bin) triples where the prediction can matter at all
    pair_location, pair_detector = np.nonzero(peak_unit * cap[:, None] >= p.min_signal)
    pair_row, bin_index = np.nonzero(bins.has_reading[detector_index][pair_detector])
    location, detector = pair_location[pair_row], pair_detector[pair_row]
    log_rate_min = math.log(rate_bounds_kg_s[0])
    log_width = math.log(rate_bounds_kg_s[1] / rate_bounds_kg_s[0])
    log_rate = np.full((height_count, location_count), log_rate_min)
    loss_change = np.zeros((height_count, location_count))
    log_rate_sigma = np.full((height_count, location_count), log_width / math.sqrt(2 * math.pi))
    if location.size:
        sigma_x = np.asarray(sigmas(np.maximum(downwind[location, detector], p.near_field_m))[0], float)
        travel_m = wind_speed * (bins.bin_times_s[detector_index][detector, bin_index] - start[location])
        front = front_factor(downwind[location, detector], sigma_x, travel_m, sigma_y_0)
        fitted, first_pair = np.unique(location, return_index=True)
        fit = fit_log_rates(unit[:, location, detector] * front[None, :], first_pair,
                            data.data[detector_index][detector, bin_index],
                            data.censored[detector_index][detector, bin_index],
                            np.where((front > 0.02) & (front < 0.9), p.front_weight, 1.0),
                            log_rate_cap=np.log(np.maximum(cap[fitted], rate_bounds_kg_s[0])),
                            rate_bounds_kg_s=rate_bounds_kg_s, log_sigma=p.log_sigma, student_nu=p.student_nu,
                            iterations=p.gn_iterations)
        log_rate[:, fitted], loss_change[:, fitted], log_rate_sigma[:, fitted] = (
            fit.log_rate, fit.loss_change, fit.log_rate_sigma)
    return GroupFit(log_rate=log_rate, loss_change=loss_change, log_rate_sigma=log_rate_sigma, start_s=start,
                    pair_count=int(location.size))
