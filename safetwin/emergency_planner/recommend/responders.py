"""Responder approach routes: from each open vehicle gate along the roads to a staging point
upwind of each active source.

The road graph is the plant's one road graph (:func:`safetwin.plant_models.geometry.road_graph`),
its vehicle edges outside the blocked areas; an edge the hazard envelope closes at any time of
the routing window (ratio ≥ ``grid_margin``) is left out, and the others cost
``length · (1 + hazard_weight · worst ratio along them)`` (sampled every 2 m). The staging point is
the reachable road node nearest to the point ``responder_standoff_m`` upwind of the source (wind
at ``t0``), not closer to the source than half the standoff and outside the closed envelope. A
route is ``safe`` when the continuous hazard along it, at the team's time (turnout + driving at
``responder_speed_m_s``), stays below ``verify_ratio`` of the limit.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from safetwin.plant_models.geometry import WalkableRaster, road_graph, roads_followed
from safetwin.plant_models.loader import Plant

from .hazard import HazardSpec
from .limits import ToxicChannels, evaluate_hazard, limit_ratio
from .records import RecommendParams, ResponderRoute, rounded_xy_list
from .routing import HazardEnvelope, sample_route


def responder_routes(plant: Plant, hazard: HazardSpec, channels: ToxicChannels, *, raster: WalkableRaster,
                     envelope: HazardEnvelope, t0_s: float, blocked: Sequence[BaseGeometry],
                     params: RecommendParams) -> list[ResponderRoute]:
    """Approach routes of the fire teams (see the module docstring); none without hazard sources."""
    blocked = list(blocked)
    p, hz = params, hazard
    if not hz.sources:
        return []
    graph = road_graph(plant)
    usable = graph.usable_edges(vehicles_only=True, blocked=blocked)
    if not usable.any():
        return []
    # an edge the envelope closes at any time of the window is dropped; the others cost
    # length · (1 + weight · worst ratio along them), sampled every 2 m
    env_max = envelope.ratio.max(axis=0)
    pts, owner = graph.sample_edges(2.0)
    edge_ratio = np.zeros(len(graph.edges))
    np.maximum.at(edge_ratio, owner, env_max[raster.cell_of(pts[:, 0], pts[:, 1])])
    usable &= edge_ratio < p.grid_margin
    if not usable.any():
        return []
    cost = graph.edge_length_m * (1 + p.hazard_weight * edge_ratio)
    nodes = graph.nodes_xy_m
    node_ratio = env_max[raster.cell_of(nodes[:, 0], nodes[:, 1])]
    block = shapely.union_all(blocked) if blocked else None
    gates = [g for g in plant.gates.values() if g.vehicles and
             (block is None or not shapely.intersects(block, g.geometry))]
    out: list[ResponderRoute] = []
    for g in gates:
        gx, gy = g.geometry.coords[0][:2]
        gi = graph.nearest_node(gx, gy, edges=usable)
        dist, pred = graph.shortest_paths(gi, edges=usable, cost=cost)
        for src in hz.sources:
            if src.end_s < t0_s:
                continue
            frm = hz.wind_from_deg(t0_s) if hz.wind_from_deg is not None else 0.0
            th = math.radians(frm)
            ideal = np.array([src.xy_m[0] + p.responder_standoff_m * math.sin(th),
                              src.xy_m[1] + p.responder_standoff_m * math.cos(th)])
            dsrc = np.hypot(nodes[:, 0] - src.xy_m[0], nodes[:, 1] - src.xy_m[1])
            ok = np.isfinite(dist) & (node_ratio < p.grid_margin) & (dsrc >= 0.5 * p.responder_standoff_m)
            if not ok.any():
                continue
            cand = np.flatnonzero(ok)
            j = int(cand[np.argmin(np.hypot(nodes[cand, 0] - ideal[0], nodes[cand, 1] - ideal[1]))])
            poly = np.vstack([[gx, gy], nodes[graph.path(pred, gi, j)]])
            seg = np.hypot(*np.diff(poly, axis=0).T)
            length = float(seg.sum())
            tms = t0_s + p.responder_turnout_s + np.concatenate([[0.0], np.cumsum(seg)]) / p.responder_speed_m_s
            spts, sts = sample_route(poly, tms, 2.0)
            cs, q = evaluate_hazard(hz, spts[:, 0], spts[:, 1], sts)
            rmax = float(limit_ratio(channels, cs, q, sts.shape).max())
            out.append(ResponderRoute(g.id, src.id, (round(float(nodes[j, 0]), 2), round(float(nodes[j, 1]), 2)),
                                      rounded_xy_list(poly), roads_followed(plant, spts, min_run=3, kinds=("road",)),
                                      round(length, 1),
                                      round(p.responder_turnout_s + length / p.responder_speed_m_s, 1),
                                      rmax <= p.verify_ratio, round(rmax, 4)))
    return out
