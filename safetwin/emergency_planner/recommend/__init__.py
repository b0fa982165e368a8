"""Recommendations for an incident: safe routes on a time-dependent hazard,
muster points by safety and capacity, shelter-in-place vs evacuate per building, responder
approach routes and the people at risk. Pure computation; the live bridge publishes them
(:meth:`safetwin.live_bridge.outbound.Publisher.evacuation_instructions`).

Example::

    >>> import numpy as np
    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> plant = load_plant(bundled_plant_path("small_plant"))
    >>> rec = recommend(plant, HazardSpec(toxic=[]), ["p1"], np.array([[60.0, 60.0]]), 0.0)
    >>> rec.people[0].route_xy is not None, rec.people[0].muster_point is not None
    (True, True)
"""
from .core import recommend
from .hazard import HazardSource, HazardSpec, PuffField
from .records import (AreaInstruction, BuildingAdvice, MusterStatus, PersonAdvice, Recommendations, RecommendParams,
                      ResponderRoute)
from .shelter import indoor_concentration

__all__ = ["HazardSpec", "HazardSource", "PuffField", "RecommendParams", "Recommendations", "PersonAdvice",
           "AreaInstruction", "BuildingAdvice", "ResponderRoute", "MusterStatus", "recommend", "indoor_concentration"]
