"""The four-colour risk map on the plant plan (Bokeh, plant frame in metres, no tiles).

Core function: :func:`risk_figure` builds a Bokeh figure with the plant plan, the risk-register
units (``WorkflowService.risk_map()``), consequence zones, QRA individual-risk contours
(:func:`load_qra_contours` reads a ``run_qra`` output folder) and a legend; each layer is a named
renderer so pages can toggle it. :func:`zone_features` turns both zone kinds into
one GeoJSON FeatureCollection (plant frame) for download and for the click details.

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> fig, layers = risk_figure(load_plant(bundled_plant_path("small_plant")), [], "en")
    >>> sorted(layers)
    ['consequence', 'plant', 'qra', 'register']
"""
from __future__ import annotations

import json
from pathlib import Path
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
#: colours of the individual-risk contours (/yr), darkest = highest risk
QRA_COLOURS = {1e-4: "#4a148c", 1e-5: "#7b1fa2", 1e-6: "#ab47bc", 1e-7: "#ce93d8", 1e-8: "#f3e5f5"}
QRA_FILL_ALPHA = 0.0  # outlines only: a fill would tint the four-colour zones underneath
#: the contours file that ``run_qra`` writes into its output folder (plant frame, m)
QRA_CONTOURS_FILE = "risk_contours_local.geojson"


def qra_label(level: float) -> str:
    """Legend text of one contour level, e.g. ``IR ≥ 1e-6 /yr``."""
    mant, exp = f"{level:.0e}".split("e")
    return f"IR ≥ {'' if mant == '1' else mant + '×'}1e{int(exp)} /yr"


def qra_contours_from_geojson(fc: dict) -> dict[float, BaseGeometry]:
    """Contours level (/yr) → geometry from a contours FeatureCollection (``risk_contours_local.geojson``)."""
    out: dict[float, BaseGeometry] = {}
    for f in fc.get("features", []):
        lv = f.get("properties", {}).get("individual_risk_per_year")
        if lv is None or not f.get("geometry"):
            continue
        out[float(lv)] = shape(f["geometry"])
    return dict(sorted(out.items(), reverse=True))


def load_qra_contours(path: str | Path) -> dict[float, BaseGeometry]:
    """Contours of a QRA output folder (or the GeoJSON file itself); ``FileNotFoundError`` if absent."""
    p = Path(path)
    if p.is_dir():
        p = p / QRA_CONTOURS_FILE
    return qra_contours_from_geojson(json.loads(p.read_text(encoding="utf-8")))


def qra_source(contours: dict[float, BaseGeometry] | None) -> ColumnDataSource:
    """The data of the contour layer: largest region (lowest risk) first, so higher levels draw on top."""
    data: dict[str, list] = {"xs": [], "ys": [], "colour": [], "level": [], "name": [], "detail": [], "props": []}
    for lv, geom in sorted((contours or {}).items()):
        if geom is None or geom.is_empty:
            continue
        xs, ys = multipolygon_coords(geom)
        data["xs"].append(xs)
        data["ys"].append(ys)
        data["colour"].append(QRA_COLOURS.get(lv, "#9575cd"))
        data["level"].append(qra_label(lv))
        data["name"].append("individual risk")
        data["detail"].append(f"{geom.area:,.0f} m²")
        data["props"].append(json.dumps({"individual_risk_per_year": lv, "label": qra_label(lv),
                                         "area_m2": round(float(geom.area), 1), "source": "qra"}))
    return ColumnDataSource(data)


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
                height: int = 600, qra: dict[float, BaseGeometry] | None = None) -> tuple[Any, dict[str, list]]:
    """The map and its layers (name → renderers): ``plant``, ``register``, ``consequence``, ``qra``.

    ``features`` is the ``features`` list of :func:`zone_features`; consequence zones are drawn
    largest first so RED stays on top. ``qra`` are individual-risk contours (level /yr → polygon,
    plant frame, ``QraResult.contours``), drawn under the zones with one legend entry per level.
    """
    minx, miny, maxx, maxy = plant.boundary.bounds
    pad = 0.05 * max(maxx - minx, maxy - miny)
    fig = figure(width=width, height=height, match_aspect=True, tools="pan,wheel_zoom,box_zoom,reset,save",
                 x_axis_label=tr("easting", lang), y_axis_label=tr("northing", lang), title=tr("risk_map", lang),
                 x_range=Range1d(minx - pad, maxx + pad), y_range=Range1d(miny - pad, maxy + pad),
                 background_fill_color="#f5f5f0", name="risk-map")
    fig.xaxis.formatter.use_scientific = False
    fig.yaxis.formatter.use_scientific = False
    layers: dict[str, list] = {"plant": [], "register": [], "consequence": [], "qra": []}

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
    qsrc = qra_source(qra)
    qr = fig.multi_polygons(xs="xs", ys="ys", source=qsrc, fill_color="colour", fill_alpha=QRA_FILL_ALPHA,
                            line_color="colour", line_width=2.5, name="qra", selection_fill_alpha=0.15,
                            nonselection_fill_alpha=QRA_FILL_ALPHA)
    layers["qra"].append(qr)
    reg = [f for f in features if f["properties"].get("source") == "register"]
    con = sorted((f for f in features if f["properties"].get("source") == "consequence"),
                 key=lambda f: -shape(f["geometry"]).area)
    hover_targets = [qr]
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
        swatch = fig.scatter([float("nan")], [float("nan")], marker="square", size=14, fill_color=COLOURS[level],
                             line_color="#333333")
        items.append(LegendItem(label=tr(f"risk_{level}", lang), renderers=[swatch]))
    for lv in sorted(qra or {}, reverse=True):
        line = fig.line([float("nan")], [float("nan")], line_color=QRA_COLOURS.get(lv, "#9575cd"), line_width=3)
        items.append(LegendItem(label=qra_label(lv), renderers=[line]))
        layers["qra"].append(line)
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
