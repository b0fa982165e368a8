"""Plant → walkable geometry for the evacuation agents and the navigation fields.

The walkable area is the site inside its boundary, minus building footprints and the
footprints of solid equipment (tanks, spheres, vessels, columns, drum stores, refrigeration
skids). Bunds, process-unit plots, loading bays and pipe racks (elevated) stay walkable.
Muster points become circular goal polygons of their declared radius.

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> plant = load_plant(bundled_plant_path("small_plant"))
    >>> walk = walkable_area(plant)
    >>> round(plant.boundary.area - walk.area)   # office, drum store and tank footprints
    1676
"""
from __future__ import annotations

import shapely
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from safetwin.plant_models.loader import Plant

#: Equipment kinds people walk on or under.
WALKABLE_KINDS = {"bund", "process_unit", "loading_bay", "pipe_rack", "pump"}


def obstacles(plant: Plant) -> BaseGeometry:
    """Union of the footprints people cannot walk through (m, local frame)."""
    parts = [b.geometry for b in plant.buildings.values()]
    parts += [e.footprint for e in plant.equipment.values() if e.kind.value not in WALKABLE_KINDS]
    return shapely.union_all(parts) if parts else Polygon()


def walkable_area(plant: Plant, blocked: list[BaseGeometry] | None = None) -> BaseGeometry:
    """The site minus obstacles and any ``blocked`` polygons (closed roads, fire zones)."""
    area = plant.boundary.difference(obstacles(plant))
    if blocked:
        area = area.difference(shapely.union_all(blocked))
    return area


def muster_goals(plant: Plant) -> dict[str, Polygon]:
    """Goal polygon of each muster point (a disc of its ``radius_m``), clipped to the site."""
    return {m.id: Point(m.position).buffer(m.radius_m, quad_segs=8).intersection(plant.boundary)
            for m in plant.meta.muster_points}
