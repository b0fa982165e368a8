"""SafeTwin: an open-source safety digital twin for industrial plants.

``import safetwin as st`` gives a small, curated surface (the rest lives in the subpackages)::

    st.load_plant("demo_plant")                 # a bundled plant by name, or a plant folder
    st.Scenario, st.Release, st.PoolFire, st.JetFire, st.Weather, st.WindChange, …  # scenario types
    st.load_scenario(name_or_path)              # a library scenario, checked against its plant
    st.run_scenario(scenario, plant=plant)      # -> ScenarioRun: .people, .events (DataFrames), .metrics
    st.evacuate(plant, shift="day")             # -> EvacuationRun: .people, .summary
    st.zones(plant, equipment=..., weather=...) # -> consequence zones as a GeoDataFrame
    st.import_plant("site_import.yaml", "plants/my_site")   # DXF, GIS, OSM, tag list -> plant folder (+ diff)
    st.check_plant(plant)                       # -> PlantCheck: unreachable muster points, uncovered equipment …

The names load on first use (PEP 562), so ``import safetwin.substances`` or
``import safetwin.twin.state`` does not pull in the planner, pandas or the agent model.
"""
from __future__ import annotations

import importlib
from typing import Any

from safetwin.version import __version__ as __version__  # the one place the version is written

#: façade name -> (module, attribute in it)
_FACADE: dict[str, tuple[str, str]] = {
    "load_plant": ("safetwin.plant_models.loader", "load_plant"),
    "bundled_plants": ("safetwin.plant_models.loader", "bundled_plant_names"),
    "Plant": ("safetwin.plant_models.loader", "Plant"),
    "Scenario": ("safetwin.scenarios.schema", "Scenario"),
    "Release": ("safetwin.scenarios.schema", "ReleaseEvent"),
    "PoolFire": ("safetwin.scenarios.schema", "PoolFireEvent"),
    "JetFire": ("safetwin.scenarios.schema", "JetFireEvent"),
    "Weather": ("safetwin.scenarios.schema", "WeatherSpec"),
    "WindChange": ("safetwin.scenarios.schema", "WindChange"),
    "Population": ("safetwin.scenarios.schema", "PopulationSpec"),
    "Blocked": ("safetwin.scenarios.schema", "Blocked"),
    "Response": ("safetwin.scenarios.schema", "ResponseSpec"),
    "Detection": ("safetwin.scenarios.schema", "DetectionSpec"),
    "Simulation": ("safetwin.scenarios.schema", "SimulationSpec"),
    "scenario_library": ("safetwin.scenarios.loader", "list_scenarios"),
    "load_scenario": ("safetwin.facade", "load_scenario"),
    "run_scenario": ("safetwin.facade", "run_scenario"),
    "evacuate": ("safetwin.facade", "evacuate"),
    "zones": ("safetwin.facade", "zones"),
    "ScenarioRun": ("safetwin.facade", "ScenarioRun"),
    "EvacuationRun": ("safetwin.facade", "EvacuationRun"),
    "import_plant": ("safetwin.plant_models.importers", "import_plant"),
    "check_plant": ("safetwin.emergency_planner.plant_check", "check_plant"),
    "get_substance": ("safetwin.substances", "get_substance"),
    "UnknownIdError": ("safetwin.errors", "UnknownIdError"),
    "PlantValidationError": ("safetwin.plant_models.loader", "PlantValidationError"),
    "ScenarioValidationError": ("safetwin.scenarios.loader", "ScenarioValidationError"),
}

__all__ = sorted(_FACADE)  # noqa: PLE0605 (computed from the one table of façade names)


def __getattr__(name: str) -> Any:
    """Load a façade name on first use (PEP 562) and keep it."""
    try:
        module, attribute = _FACADE[name]
    except KeyError:
        raise AttributeError(f"module 'safetwin' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_FACADE))
