"""The scenario file format (YAML), as pydantic models.

A scenario is one drill: which plant, what goes wrong and when, the weather and how it changes,
who is on site, what is blocked, which resources respond, how detection and alarm work, and what
the drill should achieve. Units are SI and named in the field names (``time_s``, ``rate_kg_s``).
Times are seconds from the scenario start t0 (the first initiating event is usually at 0).

Minimal example (the full reference is ``docs/scenarios.md``)::

    schema_version: 1
    name: chlorine_drum_leak
    plant: demo_plant
    time_of_day: "14:30"
    events:
      - {type: release, time_s: 0, equipment: DS-701, hole_diameter_m: 0.01}
    weather:
      wind_speed_m_s: 3.0
      wind_from_deg: 270
      stability: D
      changes: [{time_s: 300, wind_from_deg: 200}]

Structural checks live here; checks against the plant (equipment, gates, detectors exist) are in
:mod:`safetwin.scenarios.loader`, which reports every problem with the file and field.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Scenario", "ReleaseEvent", "PoolFireEvent", "JetFireEvent", "Event", "WeatherSpec", "WindChange",
           "PopulationSpec", "PreMovementSpec", "Blocked", "ResponseSpec", "ExternalUnit", "DetectionSpec",
           "SimulationSpec", "Objective", "METRICS"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _EventBase(_Model):
    id: str | None = Field(default=None, description="event id (default: <type>-<index>)")
    time_s: float = Field(default=0.0, ge=0, description="start time, s from t0")
    equipment: str = Field(min_length=1, description="equipment id in the plant (its inventory is used)")


class ReleaseEvent(_EventBase):
    """Loss of containment of a gas or flashing liquid, dispersed as a puff train under the wind history.

    Give ``hole_diameter_m`` (discharge from the inventory's pressure and temperature) or
    ``rate_kg_s`` (overrides the hole). The release stops after ``duration_s`` (isolation) or when
    the inventory is exhausted."""

    type: Literal["release"] = "release"
    hole_diameter_m: float | None = Field(default=None, gt=0, le=2.0)
    rate_kg_s: float | None = Field(default=None, gt=0)
    duration_s: float | None = Field(default=None, gt=0, description="isolation after this time (s)")
    height_m: float = Field(default=1.0, ge=0, description="release height, m")
    ignition_s: float | None = Field(default=None, gt=0, description="delayed ignition this long after the release "
                                     "starts (s): the flammable cloud burns as a flash fire, explodes where it fills "
                                     "a congested unit, and the leak burns on as a jet fire")
    explosion_model: Literal["multi_energy", "bst"] = Field(default="multi_energy", description="vapour cloud "
                                                            "explosion method: TNO multi-energy or Baker-Strehlow-Tang")

    @model_validator(mode="after")
    def _hole_or_rate(self) -> ReleaseEvent:
        if self.hole_diameter_m is None and self.rate_kg_s is None:
            raise ValueError("a release needs hole_diameter_m or rate_kg_s")
        return self


class PoolFireEvent(_EventBase):
    """A pool fire: in the bund of ``equipment`` (bund area shared by its tanks) or of ``diameter_m``."""

    type: Literal["pool_fire"] = "pool_fire"
    diameter_m: float | None = Field(default=None, gt=0)
    domino: bool = Field(default=True, description="let the fire's radiation escalate to neighbouring units")


class JetFireEvent(_EventBase):
    """An ignited jet from a hole in pressurised ``equipment`` (API 521 point source)."""

    type: Literal["jet_fire"] = "jet_fire"
    hole_diameter_m: float | None = Field(default=0.05, gt=0, le=2.0)
    rate_kg_s: float | None = Field(default=None, gt=0)
    height_m: float = Field(default=2.0, ge=0)
    direction_deg: float | None = Field(default=None, ge=0, lt=360,
                                        description="horizontal jet pointing TO this bearing (deg from north); "
                                                    "None: vertical")
    domino: bool = True


Event = Annotated[ReleaseEvent | PoolFireEvent | JetFireEvent, Field(discriminator="type")]


class WindChange(_Model):
    """From ``time_s`` on, the wind blows at this speed from this direction (unset = unchanged)."""

    time_s: float = Field(gt=0)
    wind_speed_m_s: float | None = Field(default=None, gt=0, le=30)
    wind_from_deg: float | None = Field(default=None, ge=0, lt=360)


class WeatherSpec(_Model):
    """Weather at t0 and its changes. Wind direction: where it blows FROM, degrees clockwise from north."""

    wind_speed_m_s: float = Field(gt=0, le=30)
    wind_from_deg: float = Field(ge=0, lt=360)
    stability: str = Field(default="D", pattern=r"^[A-F](-[A-F])?$", description="Pasquill class")
    temperature_k: float = Field(default=293.15, gt=200, lt=340)
    relative_humidity: float = Field(default=0.6, ge=0, le=1)
    changes: list[WindChange] = Field(default_factory=list)

    @model_validator(mode="after")
    def _increasing(self) -> WeatherSpec:
        t = [c.time_s for c in self.changes]
        if any(b <= a for a, b in zip(t, t[1:])):
            raise ValueError("weather.changes must be in strictly increasing time_s order")
        return self


class PreMovementSpec(_Model):
    """Pre-movement time distribution (s): constant (a), uniform (a, b), lognormal (mu a, sigma b), …"""

    kind: Literal["constant", "uniform", "gamma", "lognormal", "weibull"] = "uniform"
    a: float = Field(default=30.0, ge=0)
    b: float = Field(default=120.0, ge=0)


class PopulationSpec(_Model):
    """Who is on site: the shift's head-count per area placed at random (seeded).

    ``limit`` keeps at most that many people (a random subset) for quick runs."""

    source: Literal["shift"] = "shift"
    seed: int = 1
    limit: int | None = Field(default=None, ge=1)
    premovement: PreMovementSpec = Field(default_factory=PreMovementSpec)


class Blocked(_Model):
    """What is unusable from ``from_s``: gates (people and vehicles), roads (vehicles), muster points."""

    gates: list[str] = Field(default_factory=list)
    roads: list[str] = Field(default_factory=list)
    muster_points: list[str] = Field(default_factory=list)
    from_s: float = Field(default=0.0, ge=0)


class ExternalUnit(_Model):
    """Mutual-aid unit (e.g. city fire engine) arriving at a plant gate ``eta_s`` after the alarm.
    If its gate is blocked it goes round to the first open vehicle gate of ``alternatives``,
    losing ``detour_s``."""

    id: str = Field(min_length=1)
    gate: str
    eta_s: float = Field(gt=0)
    alternatives: list[str] = Field(default_factory=list)
    detour_s: float = Field(default=300.0, ge=0)


class ResponseSpec(_Model):
    """Response resources. ``fire_engines`` are ids of plant resources of kind fire_engine
    (empty: all of them). Engines drive along the roads at ``speed_m_s`` after ``turnout_s`` to a
    staging point ``standoff_m`` upwind of the incident, then need ``setup_s`` to be in action."""

    fire_engines: list[str] = Field(default_factory=list)
    turnout_s: float = Field(default=60.0, ge=0)
    speed_m_s: float = Field(default=8.0, gt=0, le=30)
    setup_s: float = Field(default=120.0, ge=0)
    standoff_m: float = Field(default=40.0, ge=0)
    dispatch_on: Literal["alarm", "fire"] = Field(default="alarm",
                                                   description="dispatch at the alarm, or only for fires")
    external: list[ExternalUnit] = Field(default_factory=list)


class DetectionSpec(_Model):
    """How a release is noticed. Each gas detector of the plant alarms when the simulated
    concentration at its position (in its own unit, ppm or %LEL) reaches its ``level`` alarm
    threshold; flame detectors alarm for a fire within ``flame_detector_range_m``. The site alarm
    sounds ``alarm_delay_s`` after the first detection (operator confirmation), or at
    ``manual_report_s`` after the first event if nothing is detected earlier."""

    level: Literal["warning", "high", "high_high"] = "high"
    alarm_delay_s: float = Field(default=30.0, ge=0)
    sample_interval_s: float = Field(default=5.0, gt=0, le=60)
    detectors: list[str] | None = Field(default=None, description="restrict to these detector ids")
    flame_detector_range_m: float = Field(default=40.0, gt=0)
    manual_report_s: float | None = Field(default=300.0, gt=0)


class SimulationSpec(_Model):
    """Run settings: keep them coarse for drills that must run in seconds."""

    duration_s: float = Field(default=900.0, gt=0, le=7200)
    evacuation_max_s: float = Field(default=1800.0, gt=0, le=7200,
                                    description="the agents keep walking after duration_s (same releases and "
                                    "fires, no new escalation) until everyone is at a muster point or "
                                    "incapacitated, at most until this time, s")
    evacuation_dt_s: float = Field(default=0.1, gt=0, le=0.5)
    nav_cell_m: float = Field(default=2.0, ge=0.25, le=5.0, description="navigation raster cell, m")
    replan_interval_s: float = Field(default=15.0, gt=0, description="route re-planning on the hazard, s")
    trajectory_interval_s: float = Field(default=5.0, gt=0)
    puff_interval_s: float = Field(default=5.0, gt=0, description="upper bound; shortened so puffs overlap")
    near_field_m: float = Field(default=15.0, ge=1.0, description="puffs start with the spread they have at "
                                "this travel distance (initial dilution in the wake of the equipment), m")
    fire_step_s: float = Field(default=10.0, gt=0)
    dispersion_model: Literal["auto", "gaussian", "dense"] = Field(
        default="auto", description="cloud model of the releases: auto chooses dense gas or Gaussian by the "
        "source Richardson number (as the consequence entry point does); gaussian or dense forces one")
    seed: int = 0


#: Metrics an objective can be set on (all in metrics.json); objectives are met when value <= max.
METRICS = ("first_detection_s", "alarm_s", "evacuation_complete_s", "people_not_accounted_for",
           "first_engine_in_action_s", "max_harm_probability", "people_above_aegl2_dose")


class Objective(_Model):
    """A drill objective: ``metric`` (see :data:`METRICS`) must be at most ``max``."""

    id: str = Field(min_length=1)
    description: str = ""
    metric: Literal["first_detection_s", "alarm_s", "evacuation_complete_s", "people_not_accounted_for",
                    "first_engine_in_action_s", "max_harm_probability", "people_above_aegl2_dose"]
    max: float


class Scenario(_Model):
    """One drill scenario (see the module docstring)."""

    schema_version: Literal[1] = 1
    name: str = Field(min_length=1, pattern=r"^[a-z0-9_\-]+$")
    title: str = ""
    description: str = ""
    title_zh: str = Field(default="", description="the title in Chinese (the planner's 中文 pages)")
    description_zh: str = Field(default="", description="the description in Chinese")
    plant: str = Field(min_length=1, description="bundled plant name or a path relative to the scenario file")
    time_of_day: str = Field(default="10:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="local time HH:MM")
    shift: str | None = Field(default=None, description="shift name; default: the shift covering time_of_day")
    events: list[Event] = Field(min_length=1)
    weather: WeatherSpec
    population: PopulationSpec = Field(default_factory=PopulationSpec)
    blocked: Blocked = Field(default_factory=Blocked)
    response: ResponseSpec = Field(default_factory=ResponseSpec)
    detection: DetectionSpec = Field(default_factory=DetectionSpec)
    simulation: SimulationSpec = Field(default_factory=SimulationSpec)
    objectives: list[Objective] = Field(default_factory=list)

    @model_validator(mode="after")
    def _events_in_window(self) -> Scenario:
        for k, e in enumerate(self.events):
            if e.time_s >= self.simulation.duration_s:
                raise ValueError(f"events[{k}] starts at {e.time_s} s, after the end of the run "
                                 f"(simulation.duration_s = {self.simulation.duration_s})")
        return self

    def event_id(self, k: int) -> str:
        e = self.events[k]
        return e.id or f"{e.type}-{k}"
