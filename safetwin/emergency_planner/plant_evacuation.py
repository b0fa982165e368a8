"""Evacuation of a plant's people to its muster points: geometry from the plant, people from a
shift or from the live twin (RTLS), gates and roads blocked on request.

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> plant = load_plant(bundled_plant_path("small_plant"))
    >>> res = evacuate_plant(plant, shift_positions(plant, "day", seed=1))
    >>> res.complete
    True
"""
from __future__ import annotations

import numpy as np
from shapely.geometry.base import BaseGeometry

from safetwin.plant_models.geometry import interior_fences, muster_goals, walkable_area
from safetwin.plant_models.loader import Plant

from .evacuation import EvacuationParams, EvacuationResult, NavigationParams, simulate_evacuation
from .evacuation.geometry import EvacuationGeometry, Goal
from .evacuation.navigation import HazardFn
from .evacuation.population import Population, PreMovement

#: Pre-movement after the site alarm (s): lognormal with median 60 s (NIST TN 1822 uses
#: lognormal forms; 60 s median suits trained plant staff who hear a site alarm).
PLANT_PREMOVEMENT = PreMovement(kind="lognormal", a=float(np.log(60.0)), b=0.5)



def plant_navigation(**overrides) -> NavigationParams:
    """Navigation on a plant: the nearest open muster point by travel time and no crowd cost.
    Muster points are open areas, not doors, so no queue forms in front of them (a full one
    closes by its declared capacity and its people re-choose), and a site's yards are wide: the
    quickest-exit choice (one field per muster point) and the dynamic crowd cost (a re-solve
    every few seconds) would multiply the fast-marching work on a site-sized raster for no change
    in the routes."""
    return NavigationParams(**{"route_choice": "nearest", "crowd_cost_per_density": 0.0, **overrides})


def plant_geometry(plant: Plant, blocked: list[BaseGeometry] | None = None) -> EvacuationGeometry:
    """Walkable site (minus buildings, solid equipment, interior fences and ``blocked`` areas, see
    :func:`safetwin.plant_models.geometry.walkable_area`) with one goal per muster point, capacity
    as declared."""
    caps = plant.muster_points
    goals = [Goal(mid, poly, capacity=caps[mid].capacity, outdoors=True) for mid, poly in muster_goals(plant).items()]
    return EvacuationGeometry(walkable_area(plant, blocked), goals, walls=interior_fences(plant))


def shift_positions(plant: Plant, shift: str = "day", seed: int | None = None) -> np.ndarray:
    """Start positions (m) of a shift's people in their work areas, shape (n, 2)."""
    from safetwin.twin.population import shift_population

    return shift_population(plant, shift, seed=seed)[1]


def twin_positions(state) -> np.ndarray:
    """Start positions (m) of everybody the live twin knows (RTLS), shape (n, 2)."""
    cols = state.people()
    return np.column_stack([cols["x"], cols["y"]])


def evacuate_plant(plant: Plant, positions: np.ndarray, *, params: EvacuationParams | None = None,
                   blocked: list[BaseGeometry] | None = None, hazard: HazardFn | None = None,
                   premovement: PreMovement = PLANT_PREMOVEMENT, seed: int = 0,
                   until_s: float | None = 3600.0, ids: list[str] | None = None) -> EvacuationResult:
    """Evacuate the people at ``positions`` (m; named ``ids``, default p0, p1, …) to the plant's
    muster points (nearest open by travel time)."""
    params = params or EvacuationParams(seed=seed, navigation=plant_navigation())
    population = Population(np.asarray(positions, dtype=float), premovement=premovement, ids=ids)
    return simulate_evacuation(plant_geometry(plant, blocked), population, params=params, hazard=hazard,
                               until_s=until_s)
