"""Plant geometry, each idea once: the road graph, walkable space and its raster, and the point →
area rule. Every layer above (the twin, the planner, the simulated plant) asks these questions
here instead of answering them itself.

* :mod:`.roads` — :func:`road_graph`: roads, walkways and gates as one graph with shortest paths
  and nearest-node queries (fire engines, responder routes, people walking the site).
* :mod:`.walkable` — :func:`walkable_area` (site minus buildings, solid equipment, interior
  fences with gate openings, blocked areas) and :func:`rasterise_walkable` /
  :func:`plant_walkable_raster`, the one rasteriser of walkable space (evacuation navigation,
  recommendation routing).
* :mod:`.areas` — :class:`AreaIndex` / :func:`area_index`: the smallest area holding a point.

What a detector reads for a concentration lives beside this package, in
:mod:`safetwin.plant_models.detectors`. Everything here is built once per plant and cached.
"""
from .areas import NO_AREA, AreaIndex, area_index
from .roads import RoadGraph, road_graph, roads_followed
from .walkable import (
    FENCE_HALF_THICKNESS_M,
    WALKABLE_KINDS,
    WalkableRaster,
    assembly_approaches,
    interior_fences,
    muster_goals,
    obstacles,
    plant_walkable_raster,
    rasterise_walkable,
    walkable_area,
    walkable_area_with_approaches,
)

__all__ = [
    "FENCE_HALF_THICKNESS_M",
    "NO_AREA",
    "WALKABLE_KINDS",
    "AreaIndex",
    "RoadGraph",
    "WalkableRaster",
    "area_index",
    "assembly_approaches",
    "interior_fences",
    "muster_goals",
    "obstacles",
    "plant_walkable_raster",
    "rasterise_walkable",
    "road_graph",
    "roads_followed",
    "walkable_area",
    "walkable_area_with_approaches",
]
