"""Live mode: estimate a gas source from live detector readings, predict its plume, advise.

* :func:`estimate_source` (:mod:`.estimate`) — Bayesian/least-squares inversion of the dispersion
  model over the candidate equipment and a grid of free points; rate in closed form per location.
* :func:`predict_plume` — the estimated release as ``c(x, y, t) -> mg/m³`` for routing.
* :class:`LiveIncidentMonitor` (:mod:`.monitor`) — attaches to a TwinState, starts at the first
  gas alarm and re-estimates as readings arrive; recommendations from live RTLS positions.
* :mod:`.replay` — detector traffic helpers: the scenario's field at each detector, synthetic
  observations, the comparison with the truth (the simulated plant that plays a scenario is
  :mod:`safetwin.live_bridge.scenario_replay`, CLI ``safetwin scenario estimate``).

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.emergency_planner.live.replay import synthetic_observations
    >>> plant = load_plant(bundled_plant_path("demo_plant"))
    >>> wind = WindInput(3.0, 270.0, "D")
    >>> obs = synthetic_observations(plant, "chlorine", (76.0, 306.0), 0.7, wind, t_end_s=60.0)
    >>> estimate_source(obs, plant, wind).equipment_id
    'DS-701'
"""
from .estimate import EstimationError, EstimationParams, SourceEstimate, estimate_source, predict_plume
from .monitor import LiveIncidentMonitor, MonitorUpdate
from .observations import Observations, WindInput

__all__ = ["estimate_source", "predict_plume", "EstimationParams", "SourceEstimate", "EstimationError",
           "Observations", "WindInput", "LiveIncidentMonitor", "MonitorUpdate"]
