"""The plant as a PyVista scene: static geometry built once, the incident's zones and routes.

Core object: :class:`PlantScene`. Static geometry (ground, roads, buildings extruded to their
height, tanks/vessels/columns as cylinders, spheres, pipe racks, bunds, fences as thin walls) is
merged into a few meshes. The incident's layers (threat-zone prisms, routes) keep their
``pv.PolyData`` objects for the whole session and change only when the incident does
(:meth:`PlantScene.update` says whether it did), so the VTK pane is re-sent only then. People and
detectors move every second: they are drawn on the 2D live plan (:mod:`.plan_view`), which a
browser redraws far more cheaply than a vtk.js scene.

Coordinates are plant-frame metres (x east, y north, z up).

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> scene = PlantScene(load_plant(bundled_plant_path("small_plant")))
    >>> sorted(scene.zones)
    ['ORANGE', 'RED', 'YELLOW']
"""
from __future__ import annotations

import os

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")  # skip the X probe on servers

import numpy as np
import pyvista as pv
from vtkmodules.vtkCommonCore import vtkLookupTable
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from safetwin.plant_models.geometry import assembly_approaches
from safetwin.plant_models.loader import Plant

from .hmi import ROUTE_COLOUR, ZONE_COLOURS
from .snapshot import IncidentView, Snapshot

#: consequence zone colours and the height (m) of their translucent prisms
ZONE_STYLE = {lvl: (ZONE_COLOURS[lvl], h) for lvl, h in (("RED", 12.0), ("ORANGE", 8.0), ("YELLOW", 4.0))}
#: equipment kinds drawn with smooth shading (round solids)
SMOOTH_KINDS = frozenset({"pressurised_sphere", "atmospheric_tank", "column"})
#: zones are clipped to the plant extent grown by this margin (m) for the 3D view
ZONE_MARGIN_M = 300.0
BUILDING_COLOUR = "#b0bec5"
EQUIPMENT_COLOURS = {"atmospheric_tank": "#eceff1", "pressurised_sphere": "#e0e0e0", "pressure_vessel": "#cfd8dc",
                     "column": "#90a4ae", "pipe_rack": "#8d6e63", "process_unit": "#78909c", "pump": "#546e7a",
                     "bund": "#a1887f", "loading_bay": "#9e9d24", "drum_store": "#8e24aa",
                     "refrigeration_unit": "#4fc3f7"}


def _polygons(geom: BaseGeometry) -> list[Polygon]:
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    return [g for part in getattr(geom, "geoms", []) for g in _polygons(part)]


def triangulate(geom: BaseGeometry, z: float) -> pv.PolyData:
    """A flat triangle mesh of a (multi)polygon with holes at height ``z`` (m)."""
    pts: list[np.ndarray] = []
    faces: list[np.ndarray] = []
    n0 = 0
    for poly in _polygons(geom):
        tris = shapely.constrained_delaunay_triangles(poly)
        for tri in tris.geoms:
            c = np.asarray(tri.exterior.coords)[:3]
            pts.append(np.column_stack([c, np.full(3, z)]))
            faces.append(np.array([3, n0, n0 + 1, n0 + 2]))
            n0 += 3
    if not pts:
        return pv.PolyData()
    return pv.PolyData(np.vstack(pts), np.concatenate(faces))


def _walls(coords: np.ndarray, z0: float, z1: float) -> pv.PolyData:
    """Vertical quads along a polyline (k, 2) from ``z0`` to ``z1`` m."""
    k = len(coords)
    if k < 2:
        return pv.PolyData()
    bottom = np.column_stack([coords, np.full(k, z0)])
    top = np.column_stack([coords, np.full(k, z1)])
    pts = np.vstack([bottom, top])
    idx = np.arange(k - 1)
    faces = np.column_stack([np.full(k - 1, 4), idx, idx + 1, idx + 1 + k, idx + k]).ravel()
    return pv.PolyData(pts, faces)


def extrude(geom: BaseGeometry, z0: float, z1: float) -> pv.PolyData:
    """A closed prism of a (multi)polygon between heights ``z0`` and ``z1`` (m)."""
    parts = [triangulate(geom, z1)]
    for poly in _polygons(geom):
        for ring in [poly.exterior, *poly.interiors]:
            parts.append(_walls(np.asarray(ring.coords)[:, :2], z0, z1))
    parts = [p for p in parts if p.n_points]
    return pv.merge(parts) if parts else pv.PolyData()


def _merge(meshes: list[pv.PolyData]) -> pv.PolyData:
    meshes = [m for m in meshes if m.n_points]
    return pv.merge(meshes) if meshes else pv.PolyData()


def _equipment_mesh(eq) -> pv.PolyData:
    """The solid of one piece of equipment (m)."""
    kind = eq.kind.value
    g = eq.geometry
    if kind == "pressurised_sphere" and g.geom_type == "Point":
        r = (eq.diameter_m or 10.0) / 2
        return pv.Sphere(radius=r, center=(g.x, g.y, max(eq.height_m - r, r)), theta_resolution=16, phi_resolution=12)
    if g.geom_type == "Point" and kind in ("atmospheric_tank", "pressure_vessel", "column", "refrigeration_unit"):
        d = eq.diameter_m or 3.0
        return pv.Cylinder(center=(g.x, g.y, eq.height_m / 2), direction=(0, 0, 1), radius=d / 2,
                           height=eq.height_m, resolution=16)
    if g.geom_type == "Point":  # pumps and other small items
        d = eq.diameter_m or 2.0
        return pv.Box(bounds=(g.x - d / 2, g.x + d / 2, g.y - d / 2, g.y + d / 2, 0, eq.height_m))
    if kind == "pipe_rack":
        # a rack: a deck at its height on a narrow footprint, drawn as a flat slab 1 m thick
        return extrude(eq.footprint, max(eq.height_m - 1.0, 0.0), eq.height_m)
    if kind == "bund":
        fp = eq.footprint
        wall = fp.difference(fp.buffer(-1.0))
        return extrude(wall, 0.0, eq.bund_wall_height_m or eq.height_m)
    return extrude(eq.footprint, 0.0, eq.height_m)


def _shrink_lookup_tables(pl: pv.Plotter) -> None:
    """Give every solid-colour actor a two-entry lookup table (the serialiser needs ≥ 2).

    Panel's VTK serialiser converts each mapper's lookup table (256 entries by default) to a colour
    transfer function value by value on *every* ``synchronize()``; with ~20 static actors that was
    most of the server time of a control-room update. Solid-colour actors never use the table.
    """
    for actor in pl.renderer.actors.values():
        mapper = actor.GetMapper()
        if mapper is None or (mapper.GetScalarVisibility() and mapper.GetColorMode() != 2):  # 2: direct RGB
            continue
        lut = vtkLookupTable()
        lut.SetNumberOfTableValues(2)
        lut.Build()
        mapper.SetLookupTable(lut)


def _coloured_merge(parts: list[tuple[pv.PolyData, str]]) -> pv.PolyData:
    """One mesh of (mesh, CSS colour) parts with a per-cell ``rgb`` (uint8) array."""
    meshes: list[pv.PolyData] = []
    for mesh, colour in parts:
        if not mesh.n_cells:
            continue
        mesh = mesh.copy(deep=False)
        mesh.clear_data()
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)
        mesh.cell_data["rgb"] = np.tile(rgb, (mesh.n_cells, 1))
        meshes.append(mesh)
    if not meshes:
        return pv.PolyData()
    return pv.merge(meshes) if len(meshes) > 1 else meshes[0]


class PlantScene:
    """A PyVista plotter holding one plant's 3D scene (see the module docstring).

    Args:
        plant: the plant (geometry in the local frame, m).
        window_size: server-side render window (px). The browser renders with vtk.js at its own
            size; the server window is only used when Panel serialises, so keep it tiny.
    """

    def __init__(self, plant: Plant, window_size: tuple[int, int] = (64, 64)) -> None:
        self.plant = plant
        self.plotter = pl = pv.Plotter(off_screen=True, window_size=list(window_size))
        pl.set_background("#dfe6ea", top="#9fb3c8")
        self._incident_version = -1
        minx, miny, maxx, maxy = plant.boundary.bounds
        self.extent = (minx, miny, maxx, maxy)
        # Static geometry is merged into three actors (flat-shaded, smooth-shaded, translucent fences)
        # coloured per cell: Panel re-serialises every actor's description on each update, so the
        # number of actors, not their size, sets most of the server time of a control-room tick.
        flat: list[tuple[pv.PolyData, str]] = [
            (triangulate(plant.boundary.buffer(20.0, join_style="mitre"), -0.2), "#c5d1b7")]
        smooth: list[tuple[pv.PolyData, str]] = []
        roads = shapely.union_all([LineString(r.geometry.coords).buffer(r.width_m / 2, cap_style="flat")
                                   if r.geometry.geom_type == "LineString" else r.geometry.buffer(r.width_m / 2)
                                   for r in plant.roads.values()]) if plant.roads else Polygon()
        if not roads.is_empty:
            flat.append((triangulate(roads, 0.05), "#616161"))
        for b in plant.buildings.values():
            flat.append((extrude(b.geometry, 0.0, b.height_m), BUILDING_COLOUR))
        for eq in plant.equipment.values():
            kind = eq.kind.value
            part = (_equipment_mesh(eq), EQUIPMENT_COLOURS.get(kind, "#90a4ae"))
            (smooth if kind in SMOOTH_KINDS else flat).append(part)
        rings = [shapely.Point(m.position).buffer(m.radius_m).difference(shapely.Point(m.position).buffer(m.radius_m - 2))
                 for m in plant.mustering_points]
        approaches = assembly_approaches(plant)
        if not approaches.is_empty:   # off-site assembly points: their discs and approaches as ground
            flat.append((triangulate(approaches, -0.2), "#c5d1b7"))
        if rings:
            flat.append((triangulate(shapely.union_all(rings), 0.15), "#404040"))
        for name, parts in (("static-flat", flat), ("static-smooth", smooth)):
            mesh = _coloured_merge(parts)
            if mesh.n_points:
                pl.add_mesh(mesh, scalars="rgb", rgb=True, name=name, smooth_shading=name == "static-smooth")
        fences = [_walls(np.asarray(line.coords)[:, :2], 0.0, f.height_m)
                  for f in plant.fences.values()
                  for line in (getattr(f.geometry, "geoms", None) or [f.geometry])]
        if fences:
            pl.add_mesh(_merge(fences), color="#37474f", opacity=0.6, name="fences")
        # incident layers ---------------------------------------------------------------
        self.zones: dict[str, pv.PolyData] = {}
        self._zone_actors = {}
        for level, (colour, _h) in ZONE_STYLE.items():
            mesh = pv.PolyData(np.zeros((1, 3)))
            self.zones[level] = mesh
            actor = pl.add_mesh(mesh, color=colour, opacity=0.35, name=f"zone-{level}")
            actor.SetVisibility(False)
            self._zone_actors[level] = actor
        self.routes = pv.PolyData(np.zeros((1, 3)))
        self._route_actor = pl.add_mesh(self.routes, color=ROUTE_COLOUR, line_width=5, name="routes")
        self._route_actor.SetVisibility(False)
        _shrink_lookup_tables(pl)
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        span = max(maxx - minx, maxy - miny)
        pl.camera.focal_point = (cx, cy, 0.0)
        pl.camera.position = (cx - 0.1 * span, cy - 1.15 * span, 0.95 * span)
        pl.camera.up = (0.0, 0.0, 1.0)
        pl.camera.view_angle = 30.0

    def update(self, snap: Snapshot) -> bool:
        """Copy a snapshot's incident (zones, routes) into the scene's meshes (in place); True when
        they changed (the VTK pane must then be synchronised)."""
        return self._set_incident(snap.incident)

    def _set_incident(self, incident: IncidentView | None) -> bool:
        version = -1 if incident is None else incident.version
        if version == self._incident_version:
            return False
        self._incident_version = version
        minx, miny, maxx, maxy = self.extent
        window = shapely.box(minx - ZONE_MARGIN_M, miny - ZONE_MARGIN_M, maxx + ZONE_MARGIN_M, maxy + ZONE_MARGIN_M)
        zones = {z.level: z for z in (incident.zones if incident else ())}
        for level, (_colour, height) in ZONE_STYLE.items():
            z = zones.get(level)
            geom = z.geometry.intersection(window).simplify(1.0) if z is not None else None
            mesh = extrude(geom, 0.0, height) if geom is not None and not geom.is_empty else pv.PolyData()
            visible = mesh.n_points > 0
            self.zones[level].copy_from(mesh if visible else pv.PolyData(np.zeros((1, 3))))
            self._zone_actors[level].SetVisibility(visible)
        routes = incident.routes if incident else ()
        if routes:
            lines = _merge([pv.lines_from_points(np.column_stack([r, np.full(len(r), 1.5)]))
                            for r in routes if len(r) >= 2])
            self.routes.copy_from(lines)
        self._route_actor.SetVisibility(bool(routes))
        return True
