"""The plant-check map: the plant's layers, the walkable network, muster points, detectors with
their reach, and the findings — one list of drawable layers, drawn by Bokeh (page, HTML report)
or matplotlib (PNG report).

Example::

    >>> from safetwin.plant_models.loader import load_plant
    >>> from safetwin.emergency_planner.plant_check import check_plant
    >>> plant = load_plant("small_plant")
    >>> layers = map_layers(plant, check_plant(plant))
    >>> [layer.name for layer in layers][:4]
    ['Site', 'Surroundings', 'Work areas', 'Roads and walkways']
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from safetwin.emergency_planner.plant_check import PlantCheck
from safetwin.plant_models.geometry import assembly_approaches
from safetwin.plant_models.loader import Plant

from .i18n import tr
from .risk_map import multipolygon_coords

#: colour of each finding's rule on the map and in the list
RULE_COLOURS = {"unreachable_muster_point": "#d7191c", "area_without_exit": "#d7191c", "enclosed_pocket": "#fd8d3c",
                "uncovered_equipment": "#e65100", "unknown_substance": "#fdae61"}
DETECTOR_COLOURS = {"toxic_gas": "#6a1b9a", "flammable_gas": "#ef6c00"}
#: a toxic detector's reach can be kilometres: drawn up to this (m) so the site stays readable
MAX_DRAWN_REACH_M = 150.0


@dataclass
class MapLayer:
    """One drawable layer: polygons, lines or points (with sizes in m for circles), a style and labels."""

    name: str
    kind: Literal["polygons", "lines", "points"]
    geoms: list[BaseGeometry]
    fill: str = "#cfd8dc"
    line: str = "#546e7a"
    alpha: float = 1.0
    labels: list[str] = field(default_factory=list)
    size_px: float = 8.0
    marker: str = "circle"


def map_layers(plant: Plant, check: PlantCheck, lang: str = "en") -> list[MapLayer]:
    """The layers of the check map, bottom first."""
    detectors = [s for s in plant.meta.sensors if s.id in check.reach_m]
    reach = []
    for s in detectors:
        r = min(check.reach_m[s.id], MAX_DRAWN_REACH_M)
        if r > 0:
            reach.append((s, Point(s.position).buffer(r, quad_segs=16)))
    layers = [
        MapLayer(tr("site", lang), "polygons", [plant.boundary], fill="#eef2e6", line="#607d8b"),
        MapLayer(tr("surroundings", lang), "polygons", [f.geometry for f in plant.surroundings.values()
                                                       if f.geometry.geom_type.endswith("Polygon")],
                 fill="#e0e0e0", line="#bdbdbd", alpha=0.6),
        MapLayer(tr("areas", lang), "polygons", [a.geometry for a in plant.areas.values()], fill="#ffffff",
                 line="#90a4ae", alpha=0.0, labels=list(plant.areas)),
        MapLayer(tr("walkable_network", lang), "polygons",
                 [r.geometry.buffer(r.width_m / 2, cap_style="flat") for r in plant.roads.values()],
                 fill="#b0bec5", line="#b0bec5", alpha=0.9),
        MapLayer(tr("cut_off_ground", lang), "polygons", [check.cut_off] if not check.cut_off.is_empty else [],
                 fill="#ef9a9a", line="#c62828", alpha=0.6),
        MapLayer(tr("building", lang), "polygons", [b.geometry for b in plant.buildings.values()],
                 fill="#78909c", line="#455a64"),
        MapLayer(tr("equipment", lang), "polygons", [e.footprint for e in plant.equipment.values()],
                 fill="#cfd8dc", line="#546e7a"),
        MapLayer(tr("fence", lang), "lines", [f.geometry for f in plant.fences.values()], line="#37474f"),
    ]
    for stype, colour in DETECTOR_COLOURS.items():
        mine = [(s, disc) for s, disc in reach if s.type.value == stype]
        layers.append(MapLayer(tr(f"reach_{stype}", lang), "polygons", [d for _, d in mine], fill=colour,
                               line=colour, alpha=0.08))
        layers.append(MapLayer(tr(f"detectors_{stype}", lang), "points",
                               [Point(s.position) for s in detectors if s.type.value == stype], fill=colour,
                               line="#ffffff", labels=[s.id for s in detectors if s.type.value == stype], size_px=7))
    layers.append(MapLayer(tr("gates", lang), "points", [g.geometry for g in plant.gates.values()], fill="#37474f",
                           labels=list(plant.gates), marker="square", size_px=9))
    layers.append(MapLayer(tr("muster_points", lang), "points", [Point(m.position) for m in plant.meta.muster_points],
                           fill="#2e7d32", line="#ffffff", labels=list(plant.muster_points), marker="triangle",
                           size_px=14))
    if plant.meta.assembly_points:
        assembly = plant.meta.assembly_points
        layers.append(MapLayer(tr("assembly_approaches", lang), "polygons", [assembly_approaches(plant)],
                               fill="#2e7d32", line="#2e7d32", alpha=0.15))
        layers.append(MapLayer(tr("assembly_points", lang), "points", [Point(m.position) for m in assembly],
                               fill="#a5d6a7", line="#2e7d32", labels=[f"{m.id} ({m.gate_id})" for m in assembly],
                               marker="triangle", size_px=14))
    layers.append(MapLayer(tr("findings", lang), "points", [Point(f.position) for f in check.findings],
                           fill="#ffffff", line="#d7191c", labels=[f.item for f in check.findings], marker="x",
                           size_px=18))
    return layers


def bokeh_map(plant: Plant, layers: list[MapLayer], *, title: str, width: int = 900, height: int = 620,
              lang: str = "en") -> Any:
    """A Bokeh figure of ``layers`` in the plant frame (m), one legend entry per layer; axis labels in ``lang``."""
    from bokeh.models import HoverTool, Legend, LegendItem, Range1d
    from bokeh.plotting import figure

    minx, miny, maxx, maxy = plant.boundary.bounds
    pad = 0.06 * max(maxx - minx, maxy - miny)
    # one metre is as long across as up: the plot frame takes the plant's proportions (circles stay round)
    span_x, span_y = maxx - minx + 2 * pad, maxy - miny + 2 * pad
    frame_w = int(min(width - 230, (height - 80) * span_x / span_y))
    fig = figure(frame_width=frame_w, frame_height=int(frame_w * span_y / span_x), title=title, name="plant-check-map",
                 x_range=Range1d(minx - pad, maxx + pad), y_range=Range1d(miny - pad, maxy + pad),
                 x_axis_label=tr("easting", lang), y_axis_label=tr("northing", lang), tools="pan,wheel_zoom,box_zoom,reset,save",
                 background_fill_color="#fafafa")
    items, hover = [], []
    for layer in layers:
        if not layer.geoms:
            continue
        if layer.kind == "polygons":
            xs, ys = [], []
            for g in layer.geoms:
                gx, gy = multipolygon_coords(g)
                xs += gx
                ys += gy
            r = fig.multi_polygons(xs=[xs], ys=[ys], fill_color=layer.fill, fill_alpha=layer.alpha,
                                   line_color=layer.line, line_alpha=max(layer.alpha, 0.6))
        elif layer.kind == "lines":
            xs, ys = [], []
            for g in layer.geoms:
                for part in getattr(g, "geoms", [g]):
                    x, y = part.coords.xy
                    xs.append(list(x))
                    ys.append(list(y))
            r = fig.multi_line(xs, ys, line_color=layer.line, line_width=2)
        else:
            data = {"x": [g.x for g in layer.geoms], "y": [g.y for g in layer.geoms],
                    "label": layer.labels or [""] * len(layer.geoms)}
            r = fig.scatter("x", "y", source=data, marker=layer.marker, size=layer.size_px, fill_color=layer.fill,
                            line_color=layer.line, line_width=2 if layer.marker == "x" else 1)
            hover.append(r)
        items.append(LegendItem(label=layer.name, renderers=[r]))
    fig.add_layout(Legend(items=items, location="top_left", label_text_font_size="9pt", click_policy="hide",
                          background_fill_alpha=0.85), "right")
    fig.add_tools(HoverTool(renderers=hover, tooltips=[("", "@label")]))
    return fig


def png_map(plant: Plant, layers: list[MapLayer], path, *, title: str, dpi: int = 120) -> None:
    """The same map as a PNG (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    fig, ax = plt.subplots(figsize=(12, 8.5))
    for layer in layers:
        if not layer.geoms:
            continue
        if layer.kind == "polygons":
            for g in layer.geoms:
                for poly in getattr(g, "geoms", [g]):
                    if poly.geom_type != "Polygon" or poly.is_empty:
                        continue
                    rings = [poly.exterior, *poly.interiors]
                    verts = [v for r in rings for v in r.coords]
                    codes = [c for r in rings for c in [MplPath.MOVETO] + [MplPath.LINETO] * (len(r.coords) - 1)]
                    ax.add_patch(PathPatch(MplPath(verts, codes), facecolor=layer.fill, edgecolor=layer.line,
                                           alpha=max(layer.alpha, 0.05), linewidth=0.6))
            ax.plot([], [], color=layer.fill, linewidth=6, label=layer.name)
        elif layer.kind == "lines":
            for g in layer.geoms:
                for part in getattr(g, "geoms", [g]):
                    x, y = part.coords.xy
                    ax.plot(x, y, color=layer.line, linewidth=1.5)
            ax.plot([], [], color=layer.line, label=layer.name)
        else:
            marker = {"circle": "o", "square": "s", "triangle": "^", "x": "x"}[layer.marker]
            style = ({"c": layer.line, "linewidths": 2} if layer.marker == "x" else
                     {"c": layer.fill, "edgecolors": layer.line, "linewidths": 0.5})
            ax.scatter([g.x for g in layer.geoms], [g.y for g in layer.geoms], marker=marker, s=layer.size_px ** 2,
                       label=layer.name, zorder=5, **style)
            if layer.marker in ("triangle", "x"):
                for g, text in zip(layer.geoms, layer.labels):
                    ax.annotate(text, (g.x, g.y), xytext=(6, 6), textcoords="offset points", fontsize=8, zorder=6)
    minx, miny, maxx, maxy = plant.boundary.bounds
    pad = 0.06 * max(maxx - minx, maxy - miny)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("x east [m]")
    ax.set_ylabel("y north [m]")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
