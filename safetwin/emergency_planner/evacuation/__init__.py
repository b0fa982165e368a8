"""Evacuation with agents: collision-free speed model (Tordeux et al. 2016) moved in
bulk by numba kernels, fast-marching navigation fields with hazard costs (scikit-fmm), a Mesa 3.3
model whose agents are the readable façade, and results (arrivals, RSET, doses, trajectories).

Quick start::

    import numpy as np
    from shapely import box
    from safetwin.emergency_planner.evacuation import simulate_evacuation
    res = simulate_evacuation(box(0, 0, 30, 10), np.array([[2.0, 5.0]]), {"muster": box(28, 0, 30, 10)})
    print(res.rset_s, res.summary())
"""
from .api import make_geometry, simulate_evacuation
from .exposure import (Exposure, aegl_equivalent_dose, frantzich_nilsson_speed, irritant_speed,
                       jin_irritant_smoke_speed, linear_smoke_speed, probit_probability, purser_fed_rate)
from .geometry import EvacuationGeometry, Goal
from .model import STATES, Blockage, EvacuationModel, ExitClosure, Person
from .navigation import concentration_hazard
from .params import (BehaviourParams, EvacuationParams, LocomotionParams, NavigationParams, OutputParams,
                     WatchdogParams)
from .population import (Population, PreMovement, random_positions, rimea_age_speeds,
                         weidmann_speeds)
from .results import EvacuationResult, Hotspot

__all__ = [
    "simulate_evacuation", "make_geometry", "EvacuationGeometry", "Goal", "EvacuationModel", "Person",
    "ExitClosure", "Blockage", "STATES", "EvacuationParams", "LocomotionParams", "NavigationParams", "BehaviourParams",
    "OutputParams", "WatchdogParams", "Population", "PreMovement", "weidmann_speeds", "rimea_age_speeds",
    "random_positions", "Exposure", "aegl_equivalent_dose", "probit_probability", "concentration_hazard",
    "frantzich_nilsson_speed", "jin_irritant_smoke_speed", "linear_smoke_speed", "irritant_speed", "purser_fed_rate",
    "EvacuationResult", "Hotspot",
]
