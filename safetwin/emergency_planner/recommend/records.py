"""What :func:`~.core.recommend` decides, as records: parameters, advice per person, area,
building and responder team, muster status, and the whole :class:`Recommendations` (JSON-able
with :meth:`Recommendations.to_dict`).

Units: m (plant frame), s (the hazard functions' clock), toxic loads in (mg/m³)ⁿ·s, thermal
doses in (W/m²)^{4/3}·s; dose ratios are loads over the AEGL-2 (30 min) equivalent load.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, overload

import numpy as np

__all__ = ["RecommendParams", "PersonAdvice", "AreaInstruction", "BuildingAdvice", "ResponderRoute",
           "MusterStatus", "Recommendations"]


@dataclass(frozen=True)
class RecommendParams:
    """Parameters of :func:`recommend` (SI units)."""

    speed_m_s: float = 1.2  #: walking speed
    premovement_s: float = 60.0  #: time from t0 to leaving
    cell_m: float = 4.0  #: routing raster cell
    snapshot_dt_s: float = 20.0  #: hazard envelope time step
    horizon_s: float | None = None  #: routing window after departure (None: from the hazard-free travel times)
    grid_margin: float = 0.7  #: envelope ratio (of AEGL-2 / 5 kW/m²) that closes a cell
    hazard_weight: float = 10.0  #: cost per metre = 1 + weight · ratio
    sample_m: float = 0.5  #: spacing of the exact route check
    dose_sample_m: float = 2.0  #: spacing of the dose integration along routes
    verify_ratio: float = 0.9  #: a route sample must stay below this ratio of the limit
    max_repairs: int = 6  #: re-routing rounds after violations
    aegl_duration_s: float = 1800.0  #: AEGL-2 duration that defines "impassable" (30 min)
    muster_exclude_ratio: float = 0.5  #: muster point excluded at this ratio of AEGL-2 / 5 kW/m²
    muster_stay_s: float = 1800.0  #: time people stay at the muster point
    shelter_window_s: float = 3600.0  #: exposure window for staying put / sheltering
    shelter_reach_m: float = 60.0  #: a person may shelter in a building this close
    thermal_stay_s: float = 60.0  #: exposure to heat flux when staying put (the worst minute)
    exposure_dt_s: float = 10.0  #: time step of the stay / indoor / muster evaluations
    harm_threshold: float = 0.01  #: probit probability that counts as harm
    affected_ratio: float = 0.1  #: an area is affected when its envelope ratio reaches this
    scope: Literal["affected", "site"] = "affected"  #: which areas are told to act
    probit_set: str = "tno"
    responder_speed_m_s: float = 8.0
    responder_turnout_s: float = 60.0
    responder_standoff_m: float = 60.0
    source_standoff_m: float = 25.0  #: no walking route passes closer to a source that is active or to come

    def __post_init__(self) -> None:
        for name in ("speed_m_s", "cell_m", "snapshot_dt_s", "sample_m", "exposure_dt_s", "responder_speed_m_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"RecommendParams.{name}: must be a positive number, got {v!r}")
        if not (math.isfinite(self.source_standoff_m) and self.source_standoff_m >= 0):
            raise ValueError(f"RecommendParams.source_standoff_m: must be >= 0, got {self.source_standoff_m!r}")
        if self.premovement_s < 0:
            raise ValueError(f"RecommendParams.premovement_s: must be >= 0, got {self.premovement_s!r}")


@overload
def rounded_xy_list(a: np.ndarray, nd: int = 2) -> list: ...
@overload
def rounded_xy_list(a: None, nd: int = 2) -> None: ...
def rounded_xy_list(a: np.ndarray | None, nd: int = 2) -> list | None:
    """``a`` as nested lists rounded to ``nd`` decimals (None stays None)."""
    return None if a is None else np.round(np.asarray(a, float), nd).tolist()


@dataclass
class PersonAdvice:
    """One person's recommendation. ``route_xy`` (m) / ``route_t_s`` (s from the scenario t0) is
    the checked safe route (None when there is none); doses are toxic loads ((mg/m³)ⁿ·s) per
    substance and the thermal dose ((W/m²)^{4/3}·s); ratios are load / AEGL-2 (30 min) load."""

    id: str
    xy: tuple[float, float]
    area: str | None
    action: str  # evacuate (always with a checked route) | shelter | escape (no safe option) | none
    route_xy: np.ndarray | None
    route_t_s: np.ndarray | None
    muster_point: str | None
    arrival_s: float | None
    shelter_building: str | None
    dose: dict[str, float]
    dose_ratio: float
    harm_probability: float
    stay_dose_ratio: float
    stay_harm_probability: float
    at_risk: bool
    over_capacity: bool = False
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k not in ("route_xy", "route_t_s")}
        d["xy"] = [round(self.xy[0], 2), round(self.xy[1], 2)]
        d["route_xy"] = rounded_xy_list(self.route_xy)
        d["route_t_s"] = rounded_xy_list(self.route_t_s, 1)
        return d


@dataclass
class AreaInstruction:
    """Instruction for everyone in a work area (what :meth:`Publisher.evacuation` publishes)."""

    area_id: str
    action: str  # evacuate | shelter | none
    route: list[str]  # road / walkway ids in walking order
    route_xy: list[list[float]]  # simplified waypoints (m)
    muster_point: str | None
    reason: str
    people: int
    exceptions: list[str] = field(default_factory=list)  # its people told otherwise (their own instruction)


@dataclass
class BuildingAdvice:
    """Shelter-in-place vs evacuate for one building (load ratios vs the AEGL-2 (30 min) load)."""

    building_id: str
    advice: str  # shelter | evacuate | none
    indoor_dose_ratio: float
    evacuate_dose_ratio: float | None     # None without a safe route
    air_changes_per_h: float
    muster_point: str | None
    reason: str


@dataclass
class ResponderRoute:
    """Approach of a fire team from an open gate along the roads to a staging point upwind of a source."""

    gate_id: str
    source_id: str
    staging_xy: tuple[float, float]
    route_xy: list[list[float]]
    road_ids: list[str]
    length_m: float
    eta_s: float
    safe: bool
    max_ratio: float


@dataclass
class MusterStatus:
    id: str
    capacity: int
    assigned: int
    excluded: bool
    tier: int
    max_ratio: float
    gate_id: str | None = None  # an off-site assembly point: the gate it is reached through


@dataclass
class Recommendations:
    """Everything :func:`recommend` decided, with :meth:`to_dict` (JSON-able) and :meth:`area_instructions`."""

    plant_id: str
    t0_s: float
    departure_s: float
    params: RecommendParams
    people: list[PersonAdvice]
    areas: list[AreaInstruction]
    buildings: list[BuildingAdvice]
    responders: list[ResponderRoute]
    muster: list[MusterStatus]
    substances: list[str]
    timings_s: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def at_risk(self) -> list[PersonAdvice]:
        """People whose predicted load (staying or under the advice) exceeds the AEGL-2 load, or whose
        harm probability reaches the threshold, or who have no safe option — worst first."""
        return sorted((p for p in self.people if p.at_risk),
                      key=lambda p: -max(p.dose_ratio, p.stay_dose_ratio, p.harm_probability))

    def person(self, pid: str) -> PersonAdvice:
        return next(p for p in self.people if p.id == pid)

    def area_instructions(self) -> list[dict[str, Any]]:
        """Per-area dicts with the arguments of :meth:`Publisher.evacuation` (``area_id``, ``action``
        (evacuate | shelter | all_clear — "none" is published as all_clear), ``route``, ``muster_point``,
        ``reason``)."""
        return [{"area_id": a.area_id, "action": "all_clear" if a.action == "none" else a.action,
                 "route": list(a.route), "muster_point": a.muster_point, "reason": a.reason} for a in self.areas]

    def to_dict(self) -> dict[str, Any]:
        return {
            "plant": self.plant_id, "t0_s": self.t0_s, "departure_s": self.departure_s,
            "params": asdict(self.params), "substances": self.substances,
            "summary": {"people": len(self.people), "with_route": sum(p.route_xy is not None for p in self.people),
                        "evacuate": sum(p.action == "evacuate" for p in self.people),
                        "shelter": sum(p.action == "shelter" for p in self.people),
                        "escape": sum(p.action == "escape" for p in self.people),
                        "at_risk": sum(p.at_risk for p in self.people)},
            "people": [p.to_dict() for p in self.people],
            "at_risk": [{"id": p.id, "dose_ratio": p.dose_ratio, "stay_dose_ratio": p.stay_dose_ratio,
                         "harm_probability": p.harm_probability, "stay_harm_probability": p.stay_harm_probability,
                         "action": p.action, "reason": p.reason} for p in self.at_risk],
            "areas": [asdict(a) for a in self.areas],
            "buildings": [asdict(b) for b in self.buildings],
            "responders": [asdict(r) for r in self.responders],
            "muster": [asdict(m) for m in self.muster],
            "timings_s": self.timings_s, "notes": self.notes,
        }
