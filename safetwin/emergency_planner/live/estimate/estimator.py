""":func:`estimate_source`: the steps of the estimate, in order (see the package docstring)."""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from safetwin.emergency_planner.physics.sigmas import PasquillSigmas
from safetwin.plant_models.loader import Plant

from ..observations import Observations, WindInput, is_gas_detector
from .binning import bin_readings
from .dense_kernel import dense_ladders
from .detectors import DetectorArrays, detector_activity
from .evidence import ScoredHypotheses, posterior, score_group
from .group_fit import fit_group
from .hypotheses import candidate_sources, free_grid, group_locations, rate_scale, substance_groups
from .rate_fit import fit_space_data
from .records import EstimationError, EstimationParams, SourceEstimate
from .wind_ensemble import coarse_grid, direction_ensemble
from .summary import credible_radius_m, named_source, rate_interval_kg_s, uncertainty_notes


def check_observations(observations: Observations, plant: Plant) -> None:
    """Raise :class:`EstimationError` for readings of sensors the plant lacks or that are not
    gas detectors."""
    sensors = plant.sensors
    for sid in observations.sensor_ids:
        if sid not in sensors:
            raise EstimationError(f"observations: sensor {sid!r} is not in plant {plant.id!r}")
        if not is_gas_detector(sensors[sid]):
            raise EstimationError(f"observations: sensor {sid!r} is not a gas detector (type "
                                  f"{getattr(sensors[sid].type, 'value', sensors[sid].type)}, unit {sensors[sid].unit})")


def estimate_source(observations: Observations, plant: Plant, wind: WindInput, *,
                    candidates: list[str] | None = None, params: EstimationParams | None = None,
                    t_now_s: float | None = None) -> SourceEstimate:
    """Estimate the source (equipment or point, rate, start) from detector readings and the wind.

    ``observations`` in each detector's unit (see :class:`Observations`); ``candidates`` restricts
    the equipment hypotheses (default: every item holding a substance an alarming detector
    responds to); ``t_now_s`` defaults to the latest reading. Raises :class:`EstimationError` for
    readings of sensors the plant lacks or that are not gas detectors.
    """
    started = time.perf_counter()

    def elapsed_ms() -> float:
        return (time.perf_counter() - started) * 1e3

    p = params or EstimationParams()
    check_observations(observations, plant)
    if t_now_s is not None:
        observations = observations.until(t_now_s)
    t_now = float(t_now_s) if t_now_s is not None else observations.t_max_s
    if len(observations) == 0 or not np.isfinite(t_now):
        return SourceEstimate(t_s=float("nan") if t_now_s is None else float(t_now_s), kind="none",
                              wind=wind, notes=["no readings"])
    detectors = DetectorArrays.from_sensors(observations.sensor_ids, plant.sensors, noise_frac=p.noise_frac)
    bins = bin_readings(observations, detector_count=detectors.count, t_now_s=t_now, window_s=p.window_s,
                        bin_s=p.bin_s)
    activity = detector_activity(observations, detectors, rise_factor=p.rise_factor)
    if not activity.alarming:
        return SourceEstimate(t_s=t_now, kind="none", wind=wind, detectors_used=detectors.count,
                              compute_ms=elapsed_ms(), notes=["no detector at or above its warning level"])
    sources = candidate_sources(plant, detectors, activity.alarming_index, candidates=candidates)
    if not sources.substances:
        return SourceEstimate(t_s=t_now, kind="none", wind=wind, alarming=activity.alarming,
                              detectors_used=detectors.count,
                              notes=["no substance of the plant matches the alarming detectors"])

    # every hypothesis: substance group × location (equipment + free grid) × release height
    groups = substance_groups(sources.response)
    sigmas = PasquillSigmas(wind.stability, p.sigma_set, averaging_time_s=p.averaging_time_s)
    grid_xy = free_grid(plant.boundary.bounds, spacing_m=p.grid_spacing_m, margin_m=p.grid_margin_m)
    data = fit_space_data(bins, detectors, over_range=p.over_range, log_sigma=p.log_sigma,
                          student_nu=p.student_nu)
    heights_m = np.asarray(p.release_heights_m, float)
    equipment_count = len(sources.equipment)
    pair_count = 0
    # equipment whose release would be a dense gas get the dense forward model (.dense_kernel) when an
    # alarming detector is within dense_reach_m (further away the cloud has been handed over to the passive model)
    near = [e for e, (x, y, _) in sources.equipment.items()
            if np.hypot(detectors.x_m[activity.alarming_index] - x, detectors.y_m[activity.alarming_index] - y).min()
            <= p.dense_reach_m]
    ladders = (dense_ladders(plant, near, wind_speed_m_s=float(wind.speed_m_s),
                             stability=wind.stability, averaging_time_s=p.averaging_time_s,
                             rate_bounds_kg_s=p.rate_bounds_kg_s) if p.dense_model else {})

    def fit_direction(offset_deg: float, log_prior: float, grid: np.ndarray) -> list[ScoredHypotheses]:
        """Every hypothesis under the wind turned by ``offset_deg``, its weight plus ``log_prior``."""
        nonlocal pair_count
        turned = dataclasses.replace(wind, from_deg=(wind.from_deg + offset_deg) % 360.0)
        out = []
        for group in groups:
            locations = group_locations(group, sources, grid)
            fit = fit_group(group, locations, sources, detectors, activity, bins, data, wind=turned, sigmas=sigmas,
                            params=p, ladders=ladders)
            pair_count += fit.pair_count
            scored = score_group(fit, locations, group, heights_m=heights_m, null_loss=data.null_loss,
                                 rate_bounds_kg_s=p.rate_bounds_kg_s, prior_equipment=p.prior_equipment,
                                 equipment_count=equipment_count, substance_count=len(sources.substances),
                                 grid_count=grid.shape[0])
            out.append(dataclasses.replace(scored, log_weight=scored.log_weight + log_prior))
        return out

    # the direction as an unknown: screened on a coarse grid, the likely ones fitted in full
    coarse = coarse_grid(plant.boundary.bounds, p)
    directions = direction_ensemble(wind, p, lambda offset, lp: fit_direction(offset, lp, coarse))
    scored = [s for offset, lp in directions.refine for s in fit_direction(offset, lp, grid_xy)]
    post = posterior(ScoredHypotheses.concatenate(scored),
                     location_count=equipment_count + len(groups) * grid_xy.shape[0])
    hypotheses, best = post.hypotheses, post.best
    kind, equipment_id, substance = named_source(post, groups, sources, detectors, activity)
    scale = rate_scale(groups[int(hypotheses.group_index[best])], substance, sources)
    rate_interval = rate_interval_kg_s(post, scale=scale, rate_bounds_kg_s=p.rate_bounds_kg_s)
    best_x, best_y = float(hypotheses.x_m[best]), float(hypotheses.y_m[best])
    radius = credible_radius_m(hypotheses.x_m, hypotheses.y_m, post.probability, best_xy_m=(best_x, best_y),
                               credible_mass=p.credible_mass)
    location_probability = post.location_probability
    equipment_posterior = {e: float(location_probability[i]) for i, e in enumerate(sources.equipment_ids)
                           if location_probability[i] > 1e-4}
    return SourceEstimate(
        t_s=t_now, kind=kind, equipment_id=equipment_id, substance=substance.name, x_m=best_x, y_m=best_y,
        rate_kg_s=math.exp(float(hypotheses.log_rate[best])) * scale,
        rate_interval_kg_s=(float(rate_interval[0]), float(rate_interval[1])),
        release_height_m=float(hypotheses.release_height_m[best]), start_s=float(hypotheses.start_s[best]),
        credible_radius_m=radius, p_location=float(location_probability[post.best_location]),
        equipment_posterior=dict(sorted(equipment_posterior.items(), key=lambda kv: -kv[1])),
        p_grid=float(location_probability[equipment_count:].sum()),
        alarming=activity.alarming, detectors_used=detectors.count, hypotheses=int(post.probability.size), wind=wind,
        compute_ms=elapsed_ms(), notes=directions.notes + uncertainty_notes(radius, rate_interval),
        stats={"observation_pairs": pair_count, "groups": len(groups),
               "directions_fitted": float(len(directions.refine)), "dense_equipment": float(len(ladders))})
