"""The plant's road graph: roads, walkways and gates as one weighted graph, with shortest paths.

:func:`road_graph` builds it once per plant: the centre lines of every road, walkway and stair
are noded with shapely (``unary_union`` splits them at every crossing and junction), each gate
lying on a line becomes a node too, and every segment between two consecutive vertices is an
undirected edge weighted by its length (m). Each edge knows whether vehicles may use it (it lies
on a line of kind ``road``).

Users restrict the graph per question instead of building their own: fire engines drive on
``usable_edges(vehicles_only=True, blocked=...)`` (closed roads and gates removed), responder
routes add hazard costs per edge (:meth:`RoadGraph.sample_edges` gives points along the edges to
evaluate a hazard on), the simulated plant's people walk the whole graph. Shortest paths are
``scipy.sparse.csgraph.dijkstra`` from one node. A point off the graph joins it at the nearest
point of a usable edge (a straight leg at each end, the way one walks or drives onto a road), so
a route does not depend on where the drawing put the vertices of a line.

Example (a cross of two roads, 100 m arms)::

    >>> from shapely.geometry import LineString
    >>> g = RoadGraph.from_lines([LineString([(0, 0), (200, 0)]), LineString([(100, -100), (100, 100)])],
    ...                          vehicles=[True, True])
    >>> len(g.nodes_xy_m), len(g.edge_length_m)               # the crossing became a node
    (5, 4)
    >>> g.route((0, 5), (100, 95))                             # along the roads, through the crossing
    [(0, 5), (0.0, 0.0), (100.0, 0.0), (100, 95)]
    >>> g.distance_m((50, 10), (160, -4))                      # joins and leaves mid-edge
    (124.0, True)
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from typing import Any

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

from ._cache import per_plant

__all__ = ["RoadGraph", "road_graph", "roads_followed"]

#: Node coordinates are rounded to this many decimals (1 mm) when lines are joined into a graph.
_NODE_DECIMALS = 3
#: A gate farther than this from every road line (m) is not a node of the graph.
_GATE_SNAP_M = 1.0


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """Noded road centre lines as an undirected graph (local frame, m).

    ``nodes_xy_m`` (n, 2) vertices; ``edges`` (m, 2) node indices; ``edge_length_m`` (m,);
    ``edge_vehicles`` (m,) True where the edge lies on a road (not only a walkway or stair);
    ``gate_nodes`` gate id → node index for the gates that lie on a line."""

    nodes_xy_m: np.ndarray
    edges: np.ndarray
    edge_length_m: np.ndarray
    edge_vehicles: np.ndarray
    gate_nodes: dict[str, int] = field(default_factory=dict)
    _trees: dict = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_lines(cls, lines: Sequence[BaseGeometry], *, vehicles: Sequence[bool],
                   gates: dict[str, tuple[float, float]] | None = None) -> RoadGraph:
        """Graph of ``lines`` (LineStrings, m); ``vehicles[k]`` tells whether line ``k`` is a road;
        ``gates`` (id → point) that lie within 1 m of a line become nodes (the line is split there)."""
        lines = [g for g in lines if g is not None and not g.is_empty]
        if not lines:
            return cls(np.zeros((0, 2)), np.zeros((0, 2), np.int64), np.zeros(0), np.zeros(0, bool))
        drive = [g for g, v in zip(lines, vehicles) if v]
        noded = shapely.unary_union(lines)                 # splits the lines at every crossing
        noded = _split_at_points(noded, list((gates or {}).values()))
        parts = np.asarray(shapely.get_parts(noded))
        coords, owner = shapely.get_coordinates(parts, return_index=True)
        coords = np.round(coords[:, :2], _NODE_DECIMALS)
        # nodes numbered in order of first appearance
        uniq, first, inverse = np.unique(coords, axis=0, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        nodes = uniq[order]
        node_of = rank[inverse.ravel()]
        same_line = owner[1:] == owner[:-1]
        a, b = node_of[:-1][same_line], node_of[1:][same_line]
        keep = a != b
        a, b = a[keep], b[keep]
        length = np.hypot(*(nodes[b] - nodes[a]).T)
        if drive:
            mid = 0.5 * (nodes[a] + nodes[b])
            on_road = shapely.dwithin(shapely.union_all(drive), shapely.points(mid), 1e-6)
        else:
            on_road = np.zeros(len(a), bool)
        gate_nodes = {}
        for gid, xy in (gates or {}).items():
            d = np.hypot(nodes[:, 0] - xy[0], nodes[:, 1] - xy[1])
            k = int(np.argmin(d))
            if d[k] <= _GATE_SNAP_M:
                gate_nodes[gid] = k
        return cls(nodes, np.stack([a, b], 1).astype(np.int64), length, np.asarray(on_road, bool), gate_nodes)

    # ------------------------------------------------------------------ queries
    def usable_edges(self, *, vehicles_only: bool = False, blocked: Sequence[BaseGeometry] = ()) -> np.ndarray:
        """Boolean mask of the edges (``vehicles_only``: roads only) that touch none of the
        ``blocked`` polygons (closed roads, blocked gates, fire zones)."""
        ok = self.edge_vehicles.copy() if vehicles_only else np.ones(len(self.edges), bool)
        if len(blocked) and ok.any():
            segs = shapely.linestrings(np.stack([self.nodes_xy_m[self.edges[:, 0]],
                                                 self.nodes_xy_m[self.edges[:, 1]]], 1))
            ok &= ~shapely.intersects(shapely.union_all(list(blocked)), segs)
        return ok

    def nearest_node(self, x_m: float, y_m: float, *, edges: np.ndarray | None = None) -> int:
        """Index of the node nearest to (x, y) among the nodes of the ``edges`` mask (all edges by
        default); -1 when there is none."""
        cand = self._nodes_of(edges)
        if cand.size == 0:
            return -1
        d = np.hypot(self.nodes_xy_m[cand, 0] - x_m, self.nodes_xy_m[cand, 1] - y_m)
        return int(cand[int(np.argmin(d))])

    def shortest_paths(self, source: int, *, edges: np.ndarray | None = None,
                       cost: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Path cost to every node from node ``source`` and the predecessor of each node on its path
        (-9999 where none), over the ``edges`` mask with edge ``cost`` (default: the length in m)."""
        return dijkstra(self._matrix(edges, cost), directed=False, indices=int(source), return_predecessors=True)

    @staticmethod
    def path(predecessors: np.ndarray, source: int, target: int) -> list[int]:
        """Node indices from ``source`` to ``target`` along a predecessor row of :meth:`shortest_paths`."""
        nodes = [int(target)]
        while nodes[-1] != source and predecessors[nodes[-1]] >= 0:
            nodes.append(int(predecessors[nodes[-1]]))
        return nodes[::-1]

    def route(self, a: tuple[float, float], b: tuple[float, float], *,
              edges: np.ndarray | None = None) -> list[tuple[float, float]] | None:
        """Shortest polyline (m) from point ``a`` to point ``b`` over the ``edges`` mask: straight to
        the nearest point of a usable edge, along the graph, straight from the nearest point of a
        usable edge to ``b``. None when no path connects them (or no edge is usable)."""
        mask = np.ones(len(self.edges), bool) if edges is None else np.asarray(edges, bool)
        usable = np.flatnonzero(mask)
        if usable.size == 0:
            return None
        (edge_a, foot_a, t_a), (edge_b, foot_b, t_b) = self._join(a, usable), self._join(b, usable)
        best, best_cost = None, math.inf
        if edge_a == edge_b:                      # both join the same edge: along it, no node between
            best, best_cost = [], abs(t_a - t_b) * float(self.edge_length_m[edge_a])
        ends_b = self._edge_ends(edge_b, t_b)
        key = None if edges is None else mask.tobytes()
        for start, leg_a in self._edge_ends(edge_a, t_a):
            dist, pred = self._tree(start, key, mask)
            for stop, leg_b in ends_b:
                cost = leg_a + dist[stop] + leg_b
                if cost < best_cost:
                    best, best_cost = self.path(pred, start, stop), cost
        if best is None:
            return None
        pts = [a, (float(foot_a[0]), float(foot_a[1]))]
        pts += [(float(x), float(y)) for x, y in self.nodes_xy_m[best]]
        pts += [(float(foot_b[0]), float(foot_b[1])), b]
        out = [p for k, p in enumerate(pts) if k == 0 or p != pts[k - 1]]
        out[-1] = b                        # the end point as given, even where it lies on the graph
        return out

    def distance_m(self, a: tuple[float, float], b: tuple[float, float], *,
                   edges: np.ndarray | None = None) -> tuple[float, bool]:
        """Length (m) of :meth:`route` and True; ``1.4 ×`` the straight distance and False when no
        path connects them (a detour factor for driving around the site off the graph)."""
        r = self.route(a, b, edges=edges)
        if r is None:
            return 1.4 * math.dist(a, b), False
        return float(sum(math.dist(p, q) for p, q in pairwise(r))), True

    def _join(self, xy: tuple[float, float], usable: np.ndarray) -> tuple[int, np.ndarray, float]:
        """Where a point joins the graph: the usable edge nearest to it, the foot of the
        perpendicular on that edge (m) and its fraction ``t`` along the edge (0 at its first node)."""
        start = self.nodes_xy_m[self.edges[usable, 0]]
        along = self.nodes_xy_m[self.edges[usable, 1]] - start
        rel = np.asarray(xy, float)[:2] - start
        t = np.clip((rel * along).sum(1) / (along * along).sum(1), 0.0, 1.0)
        foot = start + t[:, None] * along
        k = int(np.argmin(np.hypot(*(foot - np.asarray(xy, float)[:2]).T)))
        return int(usable[k]), foot[k], float(t[k])

    def _edge_ends(self, edge: int, t: float) -> list[tuple[int, float]]:
        """The nodes of ``edge`` and the distance (m) to each from the point at fraction ``t`` along it."""
        length = float(self.edge_length_m[edge])
        return [(int(self.edges[edge, 0]), t * length), (int(self.edges[edge, 1]), (1.0 - t) * length)]

    def _tree(self, source: int, key: bytes | None, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`shortest_paths` from ``source`` over the edge mask (``key``: its bytes, None for all
        edges), remembered for the last few masks (the simulated plant asks the same graph again and again)."""
        trees = self._trees.get(key)
        if trees is None:
            if len(self._trees) >= 8:
                self._trees.pop(next(iter(self._trees)))
            trees = self._trees[key] = {"matrix": self._matrix(None if key is None else mask, None)}
        if source not in trees:
            trees[source] = dijkstra(trees["matrix"], directed=False, indices=source, return_predecessors=True)
        return trees[source]

    def sample_edges(self, spacing_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Points along every edge, both ends included, ``max(2, int(length / spacing_m) + 1)`` per
        edge evenly spaced: (k, 2) coordinates (m) and the edge index of each."""
        n = np.maximum(2, (self.edge_length_m / spacing_m).astype(np.int64) + 1)
        owner = np.repeat(np.arange(len(n)), n)
        start = np.repeat(np.cumsum(n) - n, n)
        frac = (np.arange(int(n.sum())) - start) / np.repeat(n - 1, n)
        a = self.nodes_xy_m[self.edges[owner, 0]]
        b = self.nodes_xy_m[self.edges[owner, 1]]
        return a + (b - a) * frac[:, None], owner

    # ------------------------------------------------------------------ internals
    @cached_property
    def _connected_nodes(self) -> np.ndarray:
        return np.unique(self.edges) if len(self.edges) else np.zeros(0, np.int64)

    @cached_property
    def _length_matrix(self) -> csr_matrix:
        return self._build_matrix(None, None)

    def _nodes_of(self, edges: np.ndarray | None) -> np.ndarray:
        if edges is None:
            return self._connected_nodes
        return np.unique(self.edges[np.asarray(edges, bool)])

    def _matrix(self, edges: np.ndarray | None, cost: np.ndarray | None) -> csr_matrix:
        return self._length_matrix if edges is None and cost is None else self._build_matrix(edges, cost)

    def _build_matrix(self, edges: np.ndarray | None, cost: np.ndarray | None) -> csr_matrix:
        """Sparse adjacency of the usable edges; of parallel edges between two nodes the cheapest counts."""
        w = self.edge_length_m if cost is None else np.asarray(cost, float)
        m = np.ones(len(self.edges), bool) if edges is None else np.asarray(edges, bool)
        m = m & np.isfinite(w)
        lo = np.minimum(self.edges[m, 0], self.edges[m, 1])
        hi = np.maximum(self.edges[m, 0], self.edges[m, 1])
        w = w[m]
        order = np.lexsort((w, hi, lo))
        lo, hi, w = lo[order], hi[order], w[order]
        first = np.ones(len(lo), bool)
        first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
        n = len(self.nodes_xy_m)
        # zero-length edges cannot occur (consecutive equal vertices are dropped), so every stored
        # weight is > 0 and csgraph reads none of them as "no edge"
        return csr_matrix((w[first], (lo[first], hi[first])), shape=(n, n))


def _split_at_points(noded: BaseGeometry, points: list[tuple[float, float]]) -> BaseGeometry:
    """``noded`` with a vertex inserted at every point within 1 m of it (projected onto the line)."""
    if not points:
        return noded
    parts = list(shapely.get_parts(noded))
    for xy in points:
        p = shapely.Point(xy)
        d = shapely.distance(parts, p)
        k = int(np.argmin(d))
        if d[k] > _GATE_SNAP_M:
            continue
        line = parts[k]
        s = line.project(p)
        if s <= 1e-6 or s >= line.length - 1e-6:
            continue                                       # already an end of the line
        parts[k:k + 1] = [substring(line, 0.0, s), substring(line, s, line.length)]
    return shapely.MultiLineString(parts)


def road_graph(plant: Any) -> RoadGraph:
    """The :class:`RoadGraph` of a plant's roads, walkways and stairs, with its gates as nodes
    (built once per plant)."""
    def build() -> RoadGraph:
        roads = [r for r in plant.roads.values() if r.geometry is not None]
        gates = {g.id: tuple(g.geometry.coords[0][:2]) for g in plant.gates.values() if g.geometry is not None}
        return RoadGraph.from_lines([r.geometry for r in roads], vehicles=[r.kind.value == "road" for r in roads],
                                    gates=gates)
    return per_plant(plant, "road_graph", build)


def roads_followed(plant: Any, points_xy_m: np.ndarray, *, min_run: int = 6,
                   kinds: Sequence[str] | None = None) -> list[str]:
    """Ids of the roads and walkways (only those of ``kinds``, e.g. ``("road",)`` for a vehicle, when
    given) a sampled polyline follows, in order of first use: a road counts when at least
    ``min_run`` of the points lie on its carriageway (half its width + 1.5 m of the centre line)."""
    pts = np.asarray(points_xy_m, float).reshape(-1, 2)
    first: dict[str, int] = {}
    for r in plant.roads.values():
        if r.geometry is None or (kinds is not None and r.kind.value not in kinds):
            continue
        inside = shapely.contains_xy(r.geometry.buffer(r.width_m / 2 + 1.5), pts[:, 0], pts[:, 1])
        if inside.sum() >= min_run:
            first[r.id] = int(np.argmax(inside))
    return sorted(first, key=first.__getitem__)
