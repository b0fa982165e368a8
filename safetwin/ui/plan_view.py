"""The control room's live plan: a 2D Bokeh map of the plant with people, detectors, the plume's
threshold zones, labelled routes, the wind arrow and a scale bar.

Core object: :class:`PlanView` (one per browser session). The plant's layout is drawn once; each
:meth:`PlanView.update` sends only what changed since the last one (people's positions and states,
detector states, the zones and routes when the incident or the recommendations change, the wind
when it changes), as typed arrays in one message, so the browser redraws a 2D canvas instead of
re-building a 3D scene. Colours come from :mod:`.hmi` (grey for normal, colour for abnormal).

Coordinates are plant-frame metres (x east, y north).

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.twin.state import TwinState
    >>> from safetwin.ui.snapshot import SnapshotSource
    >>> state = TwinState(load_plant(bundled_plant_path("small_plant")))
    >>> _ = state.update_position("P-1", 120.0, 20.0, ts=100.0)
    >>> plan = PlanView(state.plant)
    >>> sorted(plan.update(SnapshotSource(state, clock=lambda: 101.0).latest()))
    ['detectors', 'people', 'wind', 'zones']
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from bokeh.models import (Arrow, ColumnDataSource, Label, LabelSet, LinearColorMapper, Range1d, ScaleBar,
                          VeeHead)
from bokeh.plotting import figure
from shapely.geometry.base import BaseGeometry

from safetwin.plant_models.geometry import assembly_approaches
from safetwin.plant_models.loader import Plant

from .hmi import (BACKGROUND_COLOUR, BUILDING_COLOUR, DETECTOR_COLOURS, EQUIPMENT_COLOUR, GROUND_COLOUR,
                  OUTLINE_COLOUR, PERSON_COLOURS, ROAD_COLOUR, ROUTE_COLOUR, TEXT_COLOUR, WIND_COLOUR, ZONE_ALPHA,
                  ZONE_COLOURS)
from .i18n import tr
from .risk_map import multipolygon_coords
from .snapshot import IncidentView, Snapshot

#: margin (m) around the plant boundary shown at start
MARGIN_M = 40.0
#: length (m) of the wind arrow at 5 m/s (scaled with the speed, clipped)
WIND_ARROW_M = 60.0


def _empty_polys() -> dict[str, list]:
    return {"xs": [], "ys": []}


def _poly_data(geoms: list[BaseGeometry]) -> dict[str, list]:
    xs, ys = [], []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        gx, gy = multipolygon_coords(g)
        xs.append(gx)
        ys.append(gy)
    return {"xs": xs, "ys": ys}


def _code_mapper(colours: tuple[str, ...]) -> LinearColorMapper:
    """Integer code k → ``colours[k]`` exactly (one bin per code)."""
    return LinearColorMapper(palette=list(colours), low=-0.5, high=len(colours) - 0.5)


class PlanView:
    """A live 2D plan of one plant (see the module docstring).

    Args:
        plant: the plant (plant-frame geometry, m).
        lang: ``en`` or ``zh`` (the wind label).
        height: the plan's height in the page (px; it stretches to the page's width).
    """

    def __init__(self, plant: Plant, lang: str = "en", height: int = 560) -> None:
        self.plant = plant
        self.lang = lang
        minx, miny, maxx, maxy = plant.boundary.bounds
        self.extent = (minx, miny, maxx, maxy)
        if plant.meta.assembly_points:   # the view holds the off-site assembly points too
            minx, miny, maxx, maxy = plant.boundary.union(assembly_approaches(plant)).bounds
        fig = figure(x_range=Range1d(minx - MARGIN_M, maxx + MARGIN_M), y_range=Range1d(miny - MARGIN_M, maxy + MARGIN_M),
                     match_aspect=True, tools="pan,wheel_zoom,box_zoom,reset", active_scroll="wheel_zoom",
                     sizing_mode="stretch_width", height=height, toolbar_location="above",
                     background_fill_color=BACKGROUND_COLOUR, border_fill_color="#ffffff", name="plan-view",
                     output_backend="canvas")
        fig.axis.visible = False
        fig.grid.visible = False
        fig.outline_line_color = OUTLINE_COLOUR
        fig.toolbar.logo = None       # no colour that does not mean something abnormal: no logo, and
        fig.toolbar.autohide = True   # the tools (blue when active) only show while the mouse is on the plan
        self.figure = fig
        self._draw_layout(plant)
        # threshold zones, drawn as rings (each place under one fill only, so what the legend shows is
        # what a place looks like)
        self.zone_sources = {lvl: ColumnDataSource(_empty_polys(), name=f"zone-{lvl}-src") for lvl in ZONE_COLOURS}
        for lvl in ("YELLOW", "ORANGE", "RED"):
            fig.multi_polygons("xs", "ys", source=self.zone_sources[lvl], fill_color=ZONE_COLOURS[lvl],
                               fill_alpha=ZONE_ALPHA, line_color=None, name=f"zone-{lvl}")
        self.route_source = ColumnDataSource({"xs": [], "ys": []}, name="routes-src")
        fig.multi_line("xs", "ys", source=self.route_source, line_color=ROUTE_COLOUR, line_width=4, name="routes")
        self.route_labels = ColumnDataSource({"x": [], "y": [], "text": []}, name="route-labels")
        fig.add_layout(LabelSet(x="x", y="y", text="text", source=self.route_labels, text_font_size="12px",
                                text_color=ROUTE_COLOUR, text_font_style="bold", background_fill_color="#ffffff",
                                background_fill_alpha=0.85, x_offset=4, y_offset=4))
        self.people_source = ColumnDataSource({"x": np.zeros(0), "y": np.zeros(0), "code": np.zeros(0, np.int8)},
                                              name="people-src")
        fig.scatter("x", "y", source=self.people_source, size=8, marker="circle", line_color=None,
                    fill_color={"field": "code", "transform": _code_mapper(PERSON_COLOURS)}, name="people")
        self.detector_source = ColumnDataSource({"x": np.zeros(0), "y": np.zeros(0), "code": np.zeros(0, np.int8)},
                                                name="detectors-src")
        fig.scatter("x", "y", source=self.detector_source, size=13, marker="diamond", line_color="#1a1a1a",
                    line_width=1, fill_color={"field": "code", "transform": _code_mapper(DETECTOR_COLOURS)},
                    name="detectors")
        # wind arrow (pointing downwind) in the north-east corner, and the scale bar
        self._wind_anchor = (maxx + MARGIN_M * 0.2 - WIND_ARROW_M, maxy + MARGIN_M * 0.5)
        self.wind_arrow = Arrow(end=VeeHead(size=14, fill_color=WIND_COLOUR, line_color=WIND_COLOUR),
                                x_start=0, y_start=0, x_end=0, y_end=0, line_color=WIND_COLOUR, line_width=3,
                                visible=False, name="wind-arrow")
        self.wind_label = Label(x=self._wind_anchor[0], y=self._wind_anchor[1], text="", text_font_size="12px",
                                text_color=TEXT_COLOUR, x_offset=-10, y_offset=12, name="wind-label",
                                background_fill_color="#ffffff", background_fill_alpha=0.85)
        fig.add_layout(self.wind_arrow)
        fig.add_layout(self.wind_label)
        fig.add_layout(ScaleBar(range=fig.x_range, unit="m", location="bottom_left", bar_line_width=2,
                                background_fill_alpha=0.85))
        self._people_xy: np.ndarray | None = None
        self._people_code: np.ndarray | None = None
        self._det_code: np.ndarray | None = None
        self._zones_key: tuple[Any, ...] | None = None
        self._wind_key: tuple[Any, ...] | None = None

    def _draw_layout(self, plant: Plant) -> None:
        """The static plant: ground, roads, buildings, equipment, area outlines, muster points and the
        off-site assembly points with their approaches from the gates (labelled ``id via gate``)."""
        fig = self.figure
        roads = [r.geometry.buffer(r.width_m / 2, cap_style="flat") for r in plant.roads.values()]
        layers = [([plant.boundary], GROUND_COLOUR, OUTLINE_COLOUR, "ground"),
                  ([shapely.union_all(roads)] if roads else [], ROAD_COLOUR, None, "roads"),
                  ([b.geometry for b in plant.buildings.values()], BUILDING_COLOUR, OUTLINE_COLOUR, "buildings"),
                  ([e.footprint for e in plant.equipment.values()], EQUIPMENT_COLOUR, OUTLINE_COLOUR, "equipment"),
                  ([assembly_approaches(plant)] if plant.meta.assembly_points else [], GROUND_COLOUR, OUTLINE_COLOUR,
                   "assembly-approaches")]
        for geoms, fill, line, name in layers:
            fig.multi_polygons("xs", "ys", source=ColumnDataSource(_poly_data(geoms)), fill_color=fill,
                               line_color=line, line_width=1, name=name)
        areas = list(plant.areas.values())
        fig.multi_polygons("xs", "ys", source=ColumnDataSource(_poly_data([a.geometry for a in areas])),
                           fill_alpha=0.0, line_color=OUTLINE_COLOUR, line_dash="dashed", line_width=1, name="areas")
        cx = [a.geometry.representative_point().x for a in areas]
        cy = [a.geometry.representative_point().y for a in areas]
        fig.add_layout(LabelSet(x="x", y="y", text="text", text_font_size="10px", text_color="#666666",
                                source=ColumnDataSource({"x": cx, "y": cy, "text": [a.id for a in areas]})))
        mps = plant.mustering_points
        fig.circle(x=[m.position[0] for m in mps], y=[m.position[1] for m in mps], radius=[m.radius_m for m in mps],
                   fill_alpha=0.0, line_color="#404040", line_width=2, name="muster-points")
        fig.add_layout(LabelSet(x="x", y="y", text="text", text_font_size="11px", text_color=TEXT_COLOUR,
                                text_font_style="bold", y_offset=-18, text_align="center",
                                source=ColumnDataSource({"x": [m.position[0] for m in mps],
                                                         "y": [m.position[1] - m.radius_m for m in mps],
                                                         "text": [m.id if getattr(m, "gate_id", None) is None
                                                                  else f"{m.id} via {m.gate_id}" for m in mps]})))

    # ------------------------------------------------------------------ updates

    def update(self, snap: Snapshot) -> set[str]:
        """Send what changed in ``snap`` to the plan; returns the names of the layers sent."""
        sent: set[str] = set()
        xy = snap.people_xyz[:, :2]
        if self._people_xy is None or not np.array_equal(self._people_xy, xy) \
                or not np.array_equal(self._people_code, snap.people_code):
            self._people_xy, self._people_code = xy, snap.people_code
            self.people_source.data = {"x": np.ascontiguousarray(xy[:, 0], dtype=np.float32),
                                       "y": np.ascontiguousarray(xy[:, 1], dtype=np.float32),
                                       "code": snap.people_code.astype(np.int8)}
            sent.add("people")
        if self._det_code is None or not np.array_equal(self._det_code, snap.sensor_code):
            self._det_code = snap.sensor_code
            self.detector_source.data = {"x": snap.sensor_xyz[:, 0].astype(np.float32),
                                         "y": snap.sensor_xyz[:, 1].astype(np.float32),
                                         "code": snap.sensor_code.astype(np.int8)}
            sent.add("detectors")
        zones_key = (None if snap.incident is None else snap.incident.version,
                     None if snap.risk is None else snap.risk.evaluation_id, id(snap.risk))
        if zones_key != self._zones_key:
            self._zones_key = zones_key
            self._set_zones(snap.incident)
            self._set_routes(snap)
            sent.add("zones")
        w = snap.weather or {}
        speed, from_deg = w.get("wind_speed_m_s"), w.get("wind_from_deg")
        wind_key = (None if speed is None else round(speed, 1), None if from_deg is None else round(from_deg),
                    w.get("stability"), bool(w.get("fallback")))
        if wind_key != self._wind_key:
            self._wind_key = wind_key
            self._set_wind(w)
            sent.add("wind")
        return sent

    def _set_zones(self, incident: IncidentView | None) -> None:
        """Threshold zones as rings: YELLOW minus ORANGE, ORANGE minus RED, RED."""
        zones = {z.level: z.geometry for z in (incident.zones if incident else ())}
        inner: BaseGeometry | None = None
        for lvl in ("RED", "ORANGE", "YELLOW"):
            geom = zones.get(lvl)
            if geom is None or geom.is_empty:
                self.zone_sources[lvl].data = _empty_polys()
                continue
            geom = geom.simplify(1.0)
            ring = geom.difference(inner) if inner is not None else geom
            inner = geom if inner is None else shapely.union(inner, geom)
            self.zone_sources[lvl].data = _poly_data([ring])

    def _set_routes(self, snap: Snapshot) -> None:
        """The recommended routes, each labelled at its start with its area and muster point."""
        if snap.risk is not None and snap.risk.routes:
            labelled = list(snap.risk.routes)
        elif snap.incident is not None:
            labelled = [("", r) for r in snap.incident.routes]
        else:
            labelled = []
        labelled = [(label, r) for label, r in labelled if len(r) >= 2]
        self.route_source.data = {"xs": [r[:, 0].tolist() for _, r in labelled],
                                  "ys": [r[:, 1].tolist() for _, r in labelled]}
        self.route_labels.data = {"x": [float(r[0, 0]) for _, r in labelled],
                                  "y": [float(r[0, 1]) for _, r in labelled],
                                  "text": [label for label, _ in labelled]}

    def _set_wind(self, w: dict[str, Any]) -> None:
        """The wind arrow points downwind (the wind blows *from* ``wind_from_deg``), its length grows with speed."""
        speed, from_deg = w.get("wind_speed_m_s"), w.get("wind_from_deg")
        if speed is None or from_deg is None:
            self.wind_arrow.visible = False
            self.wind_label.text = ""
            return
        to = math.radians(float(from_deg) + 180.0)
        length = WIND_ARROW_M * min(1.5, max(0.4, float(speed) / 5.0))
        x0, y0 = self._wind_anchor
        dx, dy = length * math.sin(to), length * math.cos(to)
        self.wind_arrow.update(x_start=x0 - dx / 2, y_start=y0 - dy / 2, x_end=x0 + dx / 2, y_end=y0 + dy / 2,
                               visible=True)
        stab = w.get("stability") or ""
        self.wind_label.text = (tr("wind_label", self.lang, v=f"{float(speed):.1f}", d=f"{float(from_deg):.0f}")
                                + (f", {stab}" if stab else "")
                                + (f" ({tr('fallback', self.lang)})" if w.get("fallback") else ""))
