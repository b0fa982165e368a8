"""What the control room shows of a live incident: forecast threat zones of the estimated release
and the recommended evacuation routes (pure computation; the UI only draws the result).

:func:`forecast_zones` evaluates the predicted plume (:func:`.estimate.predict_plume`) on a grid
over the plant at a few times over the forecast horizon and keeps, per cell, the highest
concentration; the zones are its AEGL-3 / AEGL-2 / AEGL-1 (60 min) contours as RED / ORANGE /
YELLOW (:func:`safetwin.emergency_planner.physics.zones.zones_from_field`).

Example::

    >>> from safetwin.emergency_planner.live.estimate import SourceEstimate
    >>> from safetwin.emergency_planner.live.observations import WindInput
    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> plant = load_plant(bundled_plant_path("demo_plant"))
    >>> wind = WindInput(3.0, 270.0, "D")
    >>> est = SourceEstimate(t_s=60.0, kind="equipment", equipment_id="DS-701", substance="chlorine",
    ...                      x_m=76.0, y_m=306.0, rate_kg_s=0.7, rate_interval_kg_s=(0.5, 0.9),
    ...                      release_height_m=1.0, start_s=0.0, wind=wind)
    >>> view = forecast_zones(est, wind, plant.boundary.bounds)
    >>> [z.level for z in view.zones], view.zones[0].geometry.area < view.zones[1].geometry.area
    (['RED', 'ORANGE', 'YELLOW'], True)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from safetwin.emergency_planner.physics.grid import GridSpec
from safetwin.emergency_planner.physics.zones import Zone, zones_from_field

from .estimate import SourceEstimate, predict_plume
from .observations import WindInput

__all__ = ["LiveView", "forecast_zones", "evacuation_routes"]


@dataclass
class LiveView:
    """Forecast zones of a live estimate (what ``SnapshotSource.set_incident`` draws)."""

    zones: list[Zone]
    kind: str = "live forecast"
    notes: list[str] = field(default_factory=list)


def forecast_zones(estimate: SourceEstimate, wind: WindInput, bounds: tuple[float, float, float, float], *,
                   horizon_s: float = 600.0, samples: int = 5, cell_m: float = 5.0) -> LiveView:
    """AEGL-3/2/1 (60 min) zones (mg/m³ at 1.5 m) of the worst concentration over the next
    ``horizon_s`` seconds from ``estimate.t_s``, on a ``cell_m`` grid over ``bounds`` (m)."""
    from safetwin.scenarios.loader import resolve_substance

    sub = resolve_substance(estimate.substance or "")
    if sub.toxic is None:
        return LiveView([], notes=[f"{sub.name}: no toxic levels (flammable cloud zones are not forecast here)"])
    x0, y0, x1, y1 = bounds
    nx, ny = int(np.ceil((x1 - x0) / cell_m)) + 1, int(np.ceil((y1 - y0) / cell_m)) + 1
    grid = GridSpec(x_min_m=x0, y_min_m=y0, dx_m=cell_m, dy_m=cell_m, nx=nx, ny=ny)
    X, Y = np.meshgrid(grid.x_m, grid.y_m)
    c = predict_plume(estimate, wind, estimate.t_s, horizon_s)
    worst = np.zeros(X.shape)
    for t in estimate.t_s + np.linspace(0.0, horizon_s, samples):
        np.maximum(worst, c(X, Y, np.full(X.shape, t)), out=worst)
    thresholds = {lv: float(sub.ppm_to_mg_m3(sub.toxic.aegl_at(k, 3600.0)))
                  for lv, k in (("RED", 3), ("ORANGE", 2), ("YELLOW", 1))}
    labels = {lv: f"AEGL-{k} (60 min)" for lv, k in (("RED", 3), ("ORANGE", 2), ("YELLOW", 1))}
    zones = list(zones_from_field(grid, worst, thresholds, units="mg/m3", labels=labels))
    where = estimate.equipment_id or f"({estimate.x_m:.0f}, {estimate.y_m:.0f}) m"
    if np.isfinite(estimate.credible_radius_m):
        where += f" ±{estimate.credible_radius_m:.0f} m"
    note = f"{sub.name} {estimate.rate_kg_s:.3g} kg/s at {where}, forecast {horizon_s / 60:.0f} min"
    return LiveView(zones, notes=[note])


def evacuation_routes(recommendations: Any) -> list[np.ndarray]:
    """The recommended route polylines (m) of the areas told to evacuate."""
    return [np.asarray(a.route_xy, float) for a in recommendations.areas
            if a.action == "evacuate" and a.route_xy is not None and len(a.route_xy) >= 2]
