"""One-call Python API.

Example
-------
>>> import numpy as np
>>> from shapely import box
>>> from safetwin.emergency_planner.evacuation import simulate_evacuation
>>> res = simulate_evacuation(box(0, 0, 30, 10), np.array([[2.0, 5.0], [4.0, 4.0]]),
...                           {"muster": box(28, 0, 30, 10)})
>>> res.complete, round(res.rset_s) > 15
(True, True)
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from shapely.geometry import LineString, MultiPolygon, Polygon

from .exposure import Exposure
from .geometry import EvacuationGeometry, Goal
from .model import Blockage, EvacuationModel, ExitClosure, ProgressFn
from .navigation import HazardFn
from .params import EvacuationParams
from .population import Population
from .results import EvacuationResult

__all__ = ["simulate_evacuation", "make_geometry"]


def make_geometry(walkable: Polygon | MultiPolygon | EvacuationGeometry,
                  goals: Mapping[str, Polygon] | Sequence[Goal] | None = None) -> EvacuationGeometry:
    if isinstance(walkable, EvacuationGeometry):
        if goals:
            raise ValueError("pass goals either in the EvacuationGeometry or separately, not both")
        return walkable
    if goals is None:
        raise ValueError("goals are required with a bare walkable polygon")
    if isinstance(goals, Mapping):
        goals = [Goal(k, v) for k, v in goals.items()]
    return EvacuationGeometry(walkable, list(goals))


def simulate_evacuation(geometry: Polygon | MultiPolygon | EvacuationGeometry,
                        starts: np.ndarray | Population,
                        goals: Mapping[str, Polygon] | Sequence[Goal] | None = None,
                        params: EvacuationParams | None = None,
                        hazard: HazardFn | None = None,
                        exposures: Sequence[Exposure] = (),
                        events: Sequence[ExitClosure | Blockage] = (),
                        measurement_lines: Mapping[str, LineString] | None = None,
                        until_s: float | None = None,
                        progress: ProgressFn | None = None,
                        exposure_until_s: float | None = None) -> EvacuationResult:
    """Run an evacuation and return its :class:`EvacuationResult`.

    geometry  walkable area (shapely, holes = obstacles) or a ready :class:`EvacuationGeometry`
    starts    (N, 2) start positions in metres, or a :class:`Population` (speeds, pre-movement, targets)
    goals     {name: polygon} or [Goal, ...] (exits, muster points, shelters)
    params    :class:`EvacuationParams` (time step, locomotion, navigation, watchdog, outputs)
    hazard    ``hazard(x, y, t) -> cost factor`` raising route cost (see navigation module)
    exposures dose channels, e.g. ``Exposure(concentration, exponent=2, probit_a=..., probit_b=...)``
    events    :class:`ExitClosure` / :class:`Blockage` during the run
    progress  ``progress(time_s, arrived, n)``, told every 10 s of simulated time and at the end
    exposure_until_s  go on integrating doses after the crowd has stopped, to this time (s): people
              at outdoor muster points and in shelters (indoor air) keep breathing
              (:meth:`EvacuationModel.expose_until`); None = doses end with the run
    """
    geo = make_geometry(geometry, goals)
    pop = starts if isinstance(starts, Population) else Population(np.asarray(starts, float))
    model = EvacuationModel(geo, pop, params, hazard=hazard, exposures=exposures, events=events,
                            measurement_lines=dict(measurement_lines or {}))
    model.run(until_s, progress=progress)
    if exposure_until_s is not None:
        model.expose_until(exposure_until_s)
    return model.result()
