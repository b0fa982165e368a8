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
    ['consequence', 'plant', 'qra', 'register', 'surroundings']
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


#: threshold units shown as people read them (field units → factor, shown units)
SHOWN_UNITS = {"W/m2": (1e-3, "kW/m²"), "Pa": (1e-3, "kPa"), "mg/m3": (1.0, "mg/m³")}


def threshold_text(value: float, units: str) -> str:
    """A zone threshold as people read it.

    >>> threshold_text(12500.0, "W/m2"), threshold_text(6900.0, "Pa"), threshold_text(5.8, "mg/m3")
    ('≥ 12.5 kW/m²', '≥ 6.9 kPa', '≥ 5.8 mg/m³')
    """
    factor, shown = SHOWN_UNITS.get(units, (1.0, units))
    return f"≥ {float(value) * factor:.3g} {shown}".rstrip()


def threshold_label(props: dict[str, Any], lang: str) -> str:
    """A threat zone's legend text: what it is and where it starts, e.g. ``AEGL-2 (60 min): ≥ 5.8 mg/m³``
    (the label alone when it already states the threshold, e.g. ``10 kW/m2``)."""
    value = props.get("threshold")
    label = str(props.get("label") or tr(f"risk_{props.get('level', 'BLUE')}", lang))
    if value is None:
        return label
    limit = threshold_text(value, str(props.get("units", "")))
    return limit if label.replace("m2", "m²") in limit else f"{label}: {limit}"


def _source_for(features: list[dict], lang: str) -> ColumnDataSource:
    data: dict[str, list] = {"xs": [], "ys": [], "level": [], "colour": [], "name": [], "detail": [], "props": []}
    for f in features:
        geom = shape(f["geometry"])
        xs, ys = multipolygon_coords(geom)
        p = f["properties"]
        level = p.get("level", "BLUE")
        data["xs"].append(xs)
        data["ys"].append(ys)
        data["level"].append(threshold_label(p, lang) if p.get("source") == "consequence" else tr(f"risk_{level}", lang))
        data["colour"].append(COLOURS.get(level, "#9e9e9e"))
        data["name"].append(str(p.get("name") or p.get("label") or p.get("id") or ""))
        data["detail"].append(f"{geom.area:,.0f} m²")
        data["props"].append(json.dumps({k: v for k, v in p.items() if k != "colour"}, default=str))
    return ColumnDataSource(data)


def fit_bounds(bounds: list[tuple[float, float, float, float]], width: int, height: int,
               pad_frac: float = 0.05) -> tuple[tuple[float, float], tuple[float, float]]:
    """x and y ranges (m) that show every box in ``bounds`` with a margin, in the plot's proportions
    (one metre as long across as up), so the map zooms to fit what it draws.

    >>> fit_bounds([(0, 0, 900, 600), (-1500, -200, 300, 400)], 800, 600)
    ((-1620.0, 1020.0), (-790.0, 1190.0))
    """
    minx = min(b[0] for b in bounds)
    miny = min(b[1] for b in bounds)
    maxx = max(b[2] for b in bounds)
    maxy = max(b[3] for b in bounds)
    pad = pad_frac * max(maxx - minx, maxy - miny)
    x0, x1, y0, y1 = minx - pad, maxx + pad, miny - pad, maxy + pad
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w, half_h = (x1 - x0) / 2, (y1 - y0) / 2
    if half_w / half_h < width / height:
        half_w = half_h * width / height
    else:
        half_h = half_w * height / width
    return (round(cx - half_w, 3), round(cx + half_w, 3)), (round(cy - half_h, 3), round(cy + half_h, 3))


#: candidate distance-ring radii (m) around a release; those up to the largest zone are drawn
RING_STEPS_M = (50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000)


def ring_radii(reach_m: float, n: int = 4) -> list[float]:
    """About ``n`` round ring radii (m) up to ``reach_m`` and one beyond it.

    >>> ring_radii(830.0)
    [250.0, 500.0, 1000.0]
    >>> ring_radii(0.0)
    []
    """
    if reach_m <= 0:
        return []
    step = next((r for r in RING_STEPS_M if reach_m / r <= n), RING_STEPS_M[-1])
    radii = [r for r in RING_STEPS_M if step <= r <= reach_m]
    beyond = next((r for r in RING_STEPS_M if r > reach_m), None)
    return [float(r) for r in radii + ([beyond] if beyond else [])][-n:]


def risk_figure(plant: Plant, features: list[dict], lang: str, *, width: int = 860,
                height: int = 600, qra: dict[float, BaseGeometry] | None = None,
                source_xy: tuple[float, float] | None = None,
                receptors: list[dict[str, Any]] | None = None, basemap_url: str | None = None,
                basemap_attribution: str = "") -> tuple[Any, dict[str, list]]:
    """The map and its layers (name → renderers): ``plant``, ``register``, ``consequence``, ``qra``,
    ``surroundings``.

    ``features`` is the ``features`` list of :func:`zone_features`; consequence zones are drawn
    largest first so RED stays on top, with their thresholds in a legend of their own (threat zones
    are not risk-register grades). ``qra`` are individual-risk contours (level /yr → polygon, plant
    frame, ``QraResult.contours``), drawn under the zones with one legend entry per level.
    ``source_xy``: the release point (m); distance rings are drawn around it. ``receptors``: off-site
    receptors (id, name, polygon in the plant frame) drawn with the plant's surroundings. The view
    fits the plant and the zones (reset returns to it); a scale bar shows distances. ``basemap_url``:
    tiles of the local grid of :mod:`.basemap` (``{Z}/{X}/{Y}``), drawn beneath everything as the
    ``basemap`` layer (the site's ground is then see-through); without it the map has no tiles.
    """
    from bokeh.models import ScaleBar

    con_geoms = [shape(f["geometry"]) for f in features if f["properties"].get("source") == "consequence"]
    off_geoms = [Polygon(r["polygon"]) for r in receptors or [] if len(r.get("polygon") or []) >= 3]
    boxes = [plant.boundary.bounds] + [g.bounds for g in con_geoms if not g.is_empty]
    boxes += [s.geometry.bounds for s in plant.surroundings.values()]
    (x0, x1), (y0, y1) = fit_bounds(boxes, width - 260, height - 80)
    fig = figure(width=width, height=height, match_aspect=True, tools="pan,wheel_zoom,box_zoom,reset,save",
                 x_axis_label=tr("easting", lang), y_axis_label=tr("northing", lang), title=tr("risk_map", lang),
                 x_range=Range1d(x0, x1), y_range=Range1d(y0, y1),
                 background_fill_color="#f5f5f0", name="risk-map")
    fig.xaxis.formatter.use_scientific = False
    fig.yaxis.formatter.use_scientific = False
    fig.add_layout(ScaleBar(range=fig.x_range, unit="m", location="bottom_left", name="scale-bar",
                            background_fill_alpha=0.8))
    layers: dict[str, list] = {"plant": [], "register": [], "consequence": [], "qra": [], "surroundings": []}
    if basemap_url:
        from .basemap import tile_source

        layers["basemap"] = [fig.add_tile(tile_source(basemap_url, basemap_attribution), name="basemap")]
    for s_feat in plant.surroundings.values():
        g = s_feat.geometry
        if g.geom_type in ("Polygon", "MultiPolygon"):
            sx, sy = multipolygon_coords(g)
            layers["surroundings"].append(fig.multi_polygons(xs=[sx], ys=[sy], fill_color="#d7ccc8", fill_alpha=0.5,
                                                             line_color="#8d6e63"))
        elif g.geom_type in ("LineString", "MultiLineString"):
            for line in getattr(g, "geoms", None) or [g]:
                lx, ly = line.coords.xy
                layers["surroundings"].append(fig.line(list(lx), list(ly), line_color="#8d6e63", line_width=2))
    for r, g in zip([r for r in receptors or [] if len(r.get("polygon") or []) >= 3], off_geoms):
        rx, ry = multipolygon_coords(g)
        layers["surroundings"].append(fig.multi_polygons(xs=[rx], ys=[ry], fill_color="#bcaaa4", fill_alpha=0.6,
                                                         line_color="#5d4037", line_width=1.5, name="receptor"))
        c = g.representative_point()
        layers["surroundings"].append(fig.text([c.x], [c.y], text=[str(r.get("name") or r.get("id"))],
                                               text_font_size="8pt", text_color="#3e2723", text_align="center"))

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

    plan([plant.boundary], fill_color="#e8eddf", fill_alpha=0.3 if basemap_url else 1.0, line_color="#607d8b",
         line_width=1.5)
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
    zone_items = []
    for name, feats in (("register", reg), ("consequence", con)):
        src = _source_for(feats, lang)
        r = fig.multi_polygons(xs="xs", ys="ys", source=src, fill_color="colour", fill_alpha=ZONE_ALPHA[name],
                               line_color="colour", line_width=2, name=name, line_dash="solid" if name == "register"
                               else "dashed", selection_fill_alpha=0.85, nonselection_fill_alpha=ZONE_ALPHA[name])
        layers[name].append(r)
        hover_targets.append(r)
    # the threat zones' own legend: each zone's threshold, smallest zone (highest level) first
    for f in sorted(con, key=lambda f: shape(f["geometry"]).area):
        p = f["properties"]
        swatch = fig.scatter([float("nan")], [float("nan")], marker="square", size=14,
                             fill_color=COLOURS.get(p.get("level", "BLUE"), "#9e9e9e"), fill_alpha=ZONE_ALPHA["consequence"],
                             line_color=COLOURS.get(p.get("level", "BLUE"), "#9e9e9e"), line_dash="dashed")
        zone_items.append(LegendItem(label=threshold_label(p, lang), renderers=[swatch]))
        layers["consequence"].append(swatch)
    if source_xy is not None and con_geoms:
        sx0, sy0 = source_xy
        reach = max(float(max(abs(b[0] - sx0), abs(b[2] - sx0), abs(b[1] - sy0), abs(b[3] - sy0)))
                    for b in (g.bounds for g in con_geoms if not g.is_empty))
        for radius in ring_radii(reach):
            ring = fig.circle(x=[sx0], y=[sy0], radius=radius, fill_alpha=0, line_color="#455a64", line_dash="dotted",
                              line_width=1.2, name="distance-ring")
            label = fig.text([sx0], [sy0 + radius], text=[f"{radius / 1000:g} km" if radius >= 1000 else f"{radius:g} m"],
                             text_font_size="8pt", text_color="#37474f", text_baseline="bottom", text_align="center")
            layers["consequence"] += [ring, label]
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
    if layers["surroundings"]:
        items.append(LegendItem(label=tr("offsite_receptors", lang), renderers=[layers["surroundings"][0]]))
    legend = Legend(items=items, title=tr("legend", lang), location="top_left", label_text_font_size="9pt",
                    background_fill_alpha=0.85, name="risk-legend")
    fig.add_layout(legend, "right")
    if zone_items:
        fig.add_layout(Legend(items=zone_items, title=tr("threat_zones", lang), location="bottom_left",
                              label_text_font_size="9pt", background_fill_alpha=0.85, name="threat-legend"), "right")
    fig.add_tools(HoverTool(renderers=hover_targets, tooltips=[("", "@level"), ("", "@name"), ("", "@detail")]),
                  TapTool(renderers=hover_targets))
    return fig, layers
