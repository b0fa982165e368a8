"""The four-colour risk map on the plant plan (Bokeh, plant frame in metres, no tiles).

Core function: :func:`risk_figure` builds a Bokeh figure with the plant plan, the risk-register
units (``WorkflowService.risk_map()``), consequence zones and a legend of the four levels; each
layer is a named renderer so pages can toggle it. :func:`zone_features` turns both zone kinds into
one GeoJSON FeatureCollection (plant frame) for download and for the click details.

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> fig, layers = risk_figure(load_plant(bundled_plant_path("small_plant")), [], "en")
    >>> sorted(layers)
    ['consequence', 'plant', 'register']
"""
from __future__ import annotations

import json
from typing import Any

from bokeh.models import ColumnDataSource, HoverTool, Legend, LegendItem, Range1d, TapTool
from bokeh.plotting import figure
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from safetwin.plant_models.loader import Plant
from safetwin.twin.workflows.risk import COLOURS, LEVELS

from .i18n import tr

#: zone transparency on the map
ZONE_ALPHA = {"register": 0.55, "consequence": 0.35}


def _polys(geom: BaseGeometry) -> list[Polygon]:
    if isinstance(geom, Polygon):
        return [] if geom.is_empty else [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    return [p for g in getattr(geom, "geoms", []) for p in _polys(g)]


def multipolygon_coords(geom: BaseGeometry) -> tuple[list, list]:
    """Bokeh ``multi_polygons`` coordinates (xs, ys) of one geometry, holes kept."""
    xs, ys = [], []
    for p in _polys(geom):
        rings = [p.exterior, *p.interiors]
        xs.append([list(r.coords.xy[0]) for r in rings])
        ys.append([list(r.coords.xy[1]) for r in rings])
    return xs, ys


def zone_features(register: dict | None, consequence: list[Any], *, equipment_id: str = "") -> dict:
    """One FeatureCollection (plant frame, m) of register units and consequence zones.

    ``register`` is ``WorkflowService.risk_map()`` (or None); ``consequence`` the ``zones`` of a
    ``ConsequenceResult``. Every feature has ``source`` (``register``/``consequence``) and ``level``.
    """
    feats = []
    for f in (register or {}).get("features", []):
        props = dict(f.get("properties", {}))
        props["source"] = "register"
        feats.append({"type": "Feature", "geometry": f["geometry"], "properties": props})
    for z in consequence:
        if z.geometry.is_empty:
            continue
        feats.append(z.to_feature(source="consequence", equipment_id=equipment_id) if hasattr(z, "to_feature") else
                     {"type": "Feature", "geometry": z.geometry.__geo_interface__,
                      "properties": {"level": z.level, "label": z.label, "source": "consequence"}})
    return {"type": "FeatureCollection", "features": feats}


def _source_for(features: list[dict], lang: str) -> ColumnDataSource:
    data: dict[str, list] = {"xs": [], "ys": [], "level": [], "colour": [], "name": [], "detail": [], "props": []}
    for f in features:
        geom = shape(f["geometry"])
        xs, ys = multipolygon_coords(geom)
        p = f["properties"]
        level = p.get("level", "BLUE")
        data["xs"].append(xs)
        data["ys"].append(ys)
        data["level"].append(tr(f"risk_{level}", lang))
        data["colour"].append(COLOURS.get(level, "#9e9e9e"))
        data["name"].append(str(p.get("name") or p.get("label") or p.get("id") or ""))
        data["detail"].append(f"{geom.area:,.0f} m²")
        data["props"].append(json.dumps({k: v for k, v in p.items() if k != "colour"}, default=str))
    return ColumnDataSource(data)


def risk_figure(plant: Plant, features: list[dict], lang: str, *, width: int = 860,
                height: int = 600) -> tuple[Any, dict[str, list]]:
    """The map and its layers (name → renderers): ``plant``, ``register``, ``consequence``.

    ``features`` is the ``features`` list of :func:`zone_features`; consequence zones are drawn
    largest first so RED stays on top.
    """
    minx, miny, maxx, maxy = plant.boundary.bounds
    pad = 0.05 * max(maxx - minx, maxy - miny)
    fig = figure(width=width, height=height, match_aspect=True, tools="pan,wheel_zoom,box_zoom,reset,save",
                 x_axis_label=tr("easting", lang), y_axis_label=tr("northing", lang), title=tr("risk_map", lang),
                 x_range=Range1d(minx - pad, maxx + pad), y_range=Range1d(miny - pad, maxy + pad),
                 background_fill_color="#f5f5f0", name="risk-map")
    fig.xaxis.formatter.use_scientific = False
    fig.yaxis.formatter.use_scientific = False
    layers: dict[str, list] = {"plant": [], "register": [], "consequence": []}

    def plan(geoms: list[BaseGeometry], **style: Any) -> Any:
        xs, ys = [], []
        for g in geoms:
            gx, gy = multipolygon_coords(g)
            xs += gx
            ys += gy
        r = fig.multi_polygons(xs=[xs], ys=[ys], **style) if xs else None
        if r is not None:
            layers["plant"].append(r)
        return r

    plan([plant.boundary], fill_color="#e8eddf", line_color="#607d8b", line_width=1.5)
    plan([a.geometry for a in plant.areas.values()], fill_alpha=0, line_color="#90a4ae", line_dash="dashed")
    roads = plan([r.geometry.buffer(r.width_m / 2, cap_style="flat") for r in plant.roads.values()],
                 fill_color="#9e9e9e", line_alpha=0)
    buildings = plan([b.geometry for b in plant.buildings.values()], fill_color="#78909c", line_color="#455a64")
    plan([e.footprint for e in plant.equipment.values()], fill_color="#b0bec5", line_color="#546e7a")
    fences = []
    for f in plant.fences.values():
        for line in getattr(f.geometry, "geoms", None) or [f.geometry]:
            x, y = line.coords.xy
            fences.append(fig.line(list(x), list(y), line_color="#37474f", line_width=2))
    layers["plant"] += fences
    for a in plant.areas.values():
        c = a.geometry.representative_point()
        layers["plant"].append(fig.text([c.x], [c.y], text=[a.id], text_font_size="8pt", text_color="#455a64",
                                        text_align="center"))
    reg = [f for f in features if f["properties"].get("source") == "register"]
    con = sorted((f for f in features if f["properties"].get("source") == "consequence"),
                 key=lambda f: -shape(f["geometry"]).area)
    hover_targets = []
    for name, feats in (("register", reg), ("consequence", con)):
        src = _source_for(feats, lang)
        r = fig.multi_polygons(xs="xs", ys="ys", source=src, fill_color="colour", fill_alpha=ZONE_ALPHA[name],
                               line_color="colour", line_width=2, name=name,
                               selection_fill_alpha=0.85, nonselection_fill_alpha=ZONE_ALPHA[name])
        layers[name].append(r)
        hover_targets.append(r)
    # the legend: one swatch per level, always all four, plus the plan's symbols
    items = []
    for level in LEVELS:
        swatch = fig.scatter([float("nan")], [float("nan")], marker="square", size=14, fill_color=COLOURS[level], line_color="#333333")
        items.append(LegendItem(label=tr(f"risk_{level}", lang), renderers=[swatch]))
    if buildings is not None:
        items.append(LegendItem(label=tr("building", lang), renderers=[buildings]))
    if roads is not None:
        items.append(LegendItem(label=tr("road", lang), renderers=[roads]))
    if fences:
        items.append(LegendItem(label=tr("fence", lang), renderers=[fences[0]]))
    legend = Legend(items=items, title=tr("legend", lang), location="top_left", label_text_font_size="9pt",
                    background_fill_alpha=0.85, name="risk-legend")
    fig.add_layout(legend, "right")
    fig.add_tools(HoverTool(renderers=hover_targets, tooltips=[("", "@level"), ("", "@name"), ("", "@detail")]),
                  TapTool(renderers=hover_targets))
    return fig, layers
