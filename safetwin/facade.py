"""The curated façade behind ``import safetwin as st``: load a plant, build or load a scenario, run
it, evacuate a shift, draw consequence zones, and get the results as pandas tables whose column
names carry their units.

Everything here is a thin layer over the modules that do the work (the plant loader, the scenario
checks, the incident timeline, the agent model, the consequence models); reach for those when a
knob is missing here. Scenarios built in memory go through the same plant checks as scenario
files, so a wrong id fails before anything runs and names the closest ids.

Example (the demo plant, a chlorine release at the drum store, 40 people)::

    >>> import safetwin as st
    >>> plant = st.load_plant("demo_plant")
    >>> zones = st.zones(plant, equipment="DS-701", weather=st.Weather(wind_speed_m_s=2.0, wind_from_deg=270,
    ...                  stability="F"), hole_diameter_m=0.01)
    >>> list(zones.level)
    ['RED', 'ORANGE', 'YELLOW']
    >>> st.zones(plant, equipment="DS-710", weather=st.Weather(wind_speed_m_s=2.0, wind_from_deg=270))
    Traceback (most recent call last):
    ...
    safetwin.errors.UnknownIdError: plant demo_plant has no equipment 'DS-710'; closest: 'DS-701', 'BD-100', 'SC-701'
"""
from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from safetwin.emergency_planner.evacuation import EvacuationResult
from safetwin.emergency_planner.incident import IncidentResult, run_incident
from safetwin.emergency_planner.physics.consequence import ConsequenceResult, ReleaseKind
from safetwin.emergency_planner.physics.consequence import Weather as SteadyWeather
from safetwin.emergency_planner.plant_consequence import zones_at_equipment
from safetwin.emergency_planner.plant_evacuation import evacuate_plant
from safetwin.plant_models.loader import Plant
from safetwin.scenarios.loader import LoadedScenario, check_scenario
from safetwin.scenarios.loader import load_scenario as _load_checked
from safetwin.scenarios.schema import Scenario, WeatherSpec
from safetwin.twin.population import shift_population

if TYPE_CHECKING:
    import geopandas as gpd
    from shapely.geometry.base import BaseGeometry

    from safetwin.emergency_planner.evacuation.navigation import HazardFn

__all__ = ["ScenarioRun", "EvacuationRun", "load_scenario", "run_scenario", "evacuate", "zones", "people_frame"]

#: (W/m²)^(4/3)·s per thermal dose unit, TDU = (kW/m²)^(4/3)·s (Eisenberg et al. 1975).
_W_TO_TDU = 1000.0 ** (4.0 / 3.0)


def load_scenario(name_or_path: str | Path, *, plant: Plant | None = None) -> Scenario:
    """A library scenario (``chlorine_drum_leak_wind_shift``) or a scenario file, checked against its
    plant (or ``plant``), as a :class:`~safetwin.scenarios.schema.Scenario` to run or to change
    (``scenario.model_copy(update=...)``)."""
    return _load_checked(name_or_path, plant).scenario


def _checked(scenario: Scenario | Mapping[str, Any] | str | Path | LoadedScenario,
             plant: Plant | None) -> LoadedScenario:
    if isinstance(scenario, LoadedScenario):
        return scenario if plant is None else check_scenario(scenario.scenario, plant)
    if isinstance(scenario, (str, Path)):
        return _load_checked(scenario, plant)
    return check_scenario(scenario, plant)


def people_frame(evacuation: EvacuationResult) -> pd.DataFrame:
    """One row per person of an evacuation: where they went and when (s from t0), and for each hazard
    the dose and the probit harm probability.

    Columns: ``person_id``, ``state`` (arrived, incapacitated, …), ``muster_point``, ``premovement_s``,
    ``departure_s``, ``arrival_s``, ``incapacitated_s`` (NaN: not), ``free_speed_m_s``, ``x_m``/``y_m``
    (position at the end), then per toxic gas ``dose_<gas>_mg_min_m3`` (the time integral of the
    concentration the person breathed) and ``harm_probability_<gas>``, and for fires
    ``thermal_dose_tdu`` ((kW/m²)^(4/3)·s) and ``harm_probability_thermal``."""
    goals = np.asarray(evacuation.goal_names + [None], dtype=object)[evacuation.arrival_goal]
    table: dict[str, Any] = {
        "person_id": evacuation.ids, "state": evacuation.states, "muster_point": goals,
        "premovement_s": evacuation.premovement_s, "departure_s": evacuation.start_moving_s,
        "arrival_s": evacuation.arrival_time_s, "incapacitated_s": evacuation.incapacitated_time_s,
        "free_speed_m_s": evacuation.free_speed_m_s,
        "x_m": evacuation.final_position[:, 0], "y_m": evacuation.final_position[:, 1]}
    for channel, load in evacuation.dose.items():
        if channel == "thermal":
            table["thermal_dose_tdu"] = load / _W_TO_TDU
        elif channel.startswith("toxic_") and channel in evacuation.field_integral:
            table[f"dose_{channel.removeprefix('toxic_')}_mg_min_m3"] = evacuation.field_integral[channel] / 60.0
        else:  # a channel this table does not know the field units of: its toxic load as recorded
            table[f"load_{channel}"] = load
        table[f"harm_probability_{channel.removeprefix('toxic_')}"] = evacuation.harm_probability[channel]
    return pd.DataFrame(table)


@dataclass(frozen=True)
class ScenarioRun:
    """A scenario played on its plant: tables of the people and of the timeline, the metrics, and the
    full :class:`~safetwin.emergency_planner.incident.IncidentResult` as ``result``."""

    scenario: Scenario
    plant: Plant
    result: IncidentResult

    @property
    def metrics(self) -> dict[str, Any]:
        """``alarm_s``, ``evacuation_complete_s``, ``max_harm_probability``, objectives met, …"""
        return self.result.metrics

    @functools.cached_property
    def people(self) -> pd.DataFrame:
        """One row per person (see :func:`people_frame`); empty when the run had no evacuation."""
        if self.result.evacuation is None:
            return pd.DataFrame(columns=["person_id", "state", "muster_point", "arrival_s"])
        return people_frame(self.result.evacuation)

    @functools.cached_property
    def events(self) -> pd.DataFrame:
        """The timeline: ``time_s`` (from t0), ``kind`` (release_start, detection, alarm, departure,
        arrival, …), ``source`` (event, detector, engine or person id), ``detail`` (a dict)."""
        return pd.DataFrame([{"time_s": e.time_s, "kind": e.kind, "source": e.source, "detail": e.detail}
                             for e in self.result.events], columns=["time_s", "kind", "source", "detail"])

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write events.json, metrics.json, fields.npz, trajectories.parquet and people.parquet."""
        return self.result.write(out_dir)


def run_scenario(scenario: Scenario | Mapping[str, Any] | str | Path, *, plant: Plant | None = None,
                 evacuate: bool = True) -> ScenarioRun:
    """Check ``scenario`` against its plant and play it: release or fire, detection, alarm, response
    and (``evacuate``) the agents walking to the muster points around the hazard.

    ``scenario`` is a :class:`Scenario` built in memory, a document (a mapping as in a scenario file),
    a library name or a file path; ``plant`` the loaded plant (default: the one the scenario names).
    Raises :class:`~safetwin.scenarios.loader.ScenarioValidationError` naming every problem (a wrong
    id with the closest ids) before anything runs."""
    loaded = _checked(scenario, plant)
    return ScenarioRun(loaded.scenario, loaded.plant, run_incident(loaded, evacuate=evacuate))


@dataclass(frozen=True)
class EvacuationRun:
    """A shift evacuated to the muster points: ``people`` (a table), ``summary`` and the full
    :class:`~safetwin.emergency_planner.evacuation.EvacuationResult` as ``result``."""

    plant: Plant
    shift: str
    result: EvacuationResult

    @functools.cached_property
    def people(self) -> pd.DataFrame:
        """One row per person (see :func:`people_frame`)."""
        return people_frame(self.result)

    @property
    def summary(self) -> dict[str, Any]:
        """``n``, ``arrived``, ``rset_s`` (the last arrival, s after the alarm), per muster point, …"""
        return self.result.summary()


def evacuate(plant: Plant, *, shift: str = "day", seed: int = 0, hazard: HazardFn | None = None,
             blocked: Sequence[BaseGeometry] = (), until_s: float = 3600.0) -> EvacuationRun:
    """Evacuate ``shift``'s people (placed at random in their work areas, ``seed``) from the alarm at
    t = 0 to the plant's muster points, around ``blocked`` areas and an optional ``hazard``
    (``hazard(x_m, y_m, t_s)`` → route cost factor, ``inf`` = impassable); at most ``until_s``."""
    ids, positions, _ = shift_population(plant, shift, seed=seed)
    result = evacuate_plant(plant, positions, ids=ids, seed=seed, hazard=hazard, blocked=list(blocked) or None,
                            until_s=until_s)
    return EvacuationRun(plant, shift, result)


def _steady(weather: WeatherSpec | SteadyWeather) -> SteadyWeather:
    if isinstance(weather, SteadyWeather):
        return weather
    if weather.changes:
        raise ValueError("consequence zones are drawn for steady weather: give a Weather without changes "
                         "(run_scenario follows wind changes)")
    return SteadyWeather(weather.wind_speed_m_s, weather.wind_from_deg, weather.stability,
                         temperature_k=weather.temperature_k, relative_humidity=weather.relative_humidity)


def zones(plant: Plant, *, equipment: str, weather: WeatherSpec | SteadyWeather, kind: ReleaseKind | None = None,
          hole_diameter_m: float = 0.025, exposure_duration_s: float = 3600.0) -> gpd.GeoDataFrame:
    """Threat zones (RED / ORANGE / YELLOW) of a release at ``equipment`` from its inventory, under
    steady ``weather`` (wind FROM ``wind_from_deg``): toxic zones at AEGL-3/2/1 for
    ``exposure_duration_s``, flammable at 60 %/10 % LEL, fires at 10/5/2 kW/m² (ALOHA's levels).

    ``kind``: ``toxic_gas``, ``flammable_gas``, ``pool_fire`` or ``jet_fire`` (default: what the
    inventory suggests). Returns one row per zone, in the plant frame (m): ``level``, ``label``,
    ``threshold_<unit>``, ``area_m2``, ``max_distance_m`` (from the release point), ``geometry``; the
    model's choices and notes are in ``.attrs`` (``kind``, ``substance``, ``model``, ``rate_kg_s``,
    ``valid``, ``notes``)."""
    import geopandas as gpd

    result: ConsequenceResult = zones_at_equipment(plant, equipment, _steady(weather), kind=kind,
                                                   hole_diameter_m=hole_diameter_m,
                                                   exposure_duration_s=exposure_duration_s)
    x0, y0 = result.release.x_m, result.release.y_m
    unit = result.field_units.replace("/", "_").replace("³", "3").replace("²", "2").lower()
    frame = gpd.GeoDataFrame({
        "level": [z.level for z in result.zones], "label": [z.label for z in result.zones],
        f"threshold_{unit}": [z.threshold for z in result.zones],
        "area_m2": [z.area_m2 for z in result.zones],
        "max_distance_m": [z.max_distance_m(x0, y0) for z in result.zones]},
        geometry=[z.geometry for z in result.zones])
    frame.attrs.update({"kind": result.kind, "substance": result.release.substance, "model": result.model,
                        "rate_kg_s": result.source.rate_kg_s if result.source else None,
                        "valid": result.valid, "notes": list(result.notes)})
    return frame
