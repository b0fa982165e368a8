"""The estimator's settings and result: :class:`EstimationParams`, :class:`SourceEstimate`,
:class:`EstimationError` (SI units: m, s, kg/s; readings in each detector's own unit)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..observations import WindInput


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
    # the wind direction as an unknown (.wind_ensemble): grid step, reach, heavy tail, screening
    direction_step_max_deg: float = 10.0
    direction_range_min_deg: float = 60.0
    direction_tail_weight: float = 0.1
    screen_grid_factor: float = 3.0        # the screening fits' free grid is this much coarser
    refine_mass: float = 0.95              # directions holding this much of the screened posterior are fitted in full
    refine_max: int = 5
    dense_model: bool = True               # equipment whose release would be dense: the dense forward model (.dense_kernel)
    dense_reach_m: float = 300.0           # … for equipment within this distance of an alarming detector
    larger_hole_penalty: float = 0.1       # loss per e-fold of rate when choosing a dense-ladder rung (an assumption:
                                           # small leaks are the more frequent; decides ties only)
    dense_margin: float = 2.0              # the dense fit replaces the Gaussian one when better by this (log Bayes factor)


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
