"""Site files made in the tests from a plant: a DXF site plan (millimetres, a site grid turned from
east, layers, hatches, circles, blocks with attributes, label blocks), a GDS tag list (CSV/XLSX),
a GeoPackage in another CRS and an OpenStreetMap extract — and the mapping file that imports them.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from shapely.geometry import LineString, Point, Polygon

#: the drawing's site grid is turned this far counter-clockwise from east (degrees)
ROTATION_DEG = 28.0
#: drawing coordinates (mm) of the plant frame's origin
DRAWING_ORIGIN_MM = (412_345.0, 87_654.0)
MM = 0.001
#: point equipment drawn as circles (the rest as TANK blocks)
CIRCLE_KINDS = {"pump"}


def to_drawing(xy) -> np.ndarray:
    """Plant-frame points (m) → drawing coordinates (mm): ``p = p0 + R(−θ)·local/0.001``."""
    a = np.radians(-ROTATION_DEG)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.asarray(DRAWING_ORIGIN_MM) + (np.asarray(xy, float).reshape(-1, 2) / MM) @ rot.T


def _attrs(model, exclude: tuple[str, ...] = ()) -> dict[str, str]:
    """A model's properties as block attributes (TAG holds the id; the others by their name)."""
    out = {}
    for k, v in model.model_dump(mode="json", exclude_none=True).items():
        if k in exclude:
            continue
        out["TAG" if k == "id" else k.upper()] = str(v)
    return out


def _label(msp, block: str, layer: str, xy, attrs: dict[str, str]) -> None:
    ref = msp.add_blockref(block, tuple(to_drawing(xy)[0]), dxfattribs={"layer": layer, "rotation": ROTATION_DEG})
    for k, (tag, text) in enumerate(attrs.items()):
        ref.add_attrib(tag, text, insert=tuple(to_drawing(xy)[0] + (0, -300 * k)), dxfattribs={"layer": layer})


def _ring(poly: Polygon) -> list[tuple[float, float]]:
    return [tuple(p) for p in to_drawing(list(poly.exterior.coords)[:-1])]


def write_dxf(plant, path: Path, *, noise: bool = True) -> Path:
    """The plant as a CAD site plan in millimetres on a turned site grid (see the module docstring)."""
    import ezdxf

    doc = ezdxf.new("R2018", units=4)
    for name in ("TAG", "TANK", "GATE", "MUSTER", "RES", "DET"):
        blk = doc.blocks.new(name)
        blk.add_circle((0, 0), 0.5)
    msp = doc.modelspace()
    msp.add_lwpolyline(_ring(plant.boundary), close=True, dxfattribs={"layer": "SITE"})
    for a in plant.areas.values():
        msp.add_lwpolyline(_ring(a.geometry), close=True, dxfattribs={"layer": "AREAS"})
        _label(msp, "TAG", "AREAS", a.geometry.representative_point().coords[0], _attrs(a))
    for b in plant.buildings.values():
        hatch = msp.add_hatch(dxfattribs={"layer": "BUILDINGS"})
        hatch.paths.add_polyline_path(_ring(b.geometry), is_closed=True)
        attrs = _attrs(b)
        attrs["HGT"] = attrs.pop("HEIGHT_M")  # mapped explicitly in the mapping file
        _label(msp, "TAG", "BUILDINGS", b.geometry.representative_point().coords[0], attrs)
    for e in plant.equipment.values():
        g = e.geometry
        if g.geom_type == "Polygon":
            msp.add_lwpolyline(_ring(g), close=True, dxfattribs={"layer": "PLOTS"})
            _label(msp, "TAG", "PLOTS", g.representative_point().coords[0], _attrs(e))
        elif g.geom_type == "LineString":
            msp.add_lwpolyline([tuple(p) for p in to_drawing(list(g.coords))], dxfattribs={"layer": "RACKS"})
            _label(msp, "TAG", "RACKS", g.interpolate(0.5, normalized=True).coords[0], _attrs(e))
        elif e.kind.value in CIRCLE_KINDS:
            msp.add_circle(tuple(to_drawing(g.coords[0])[0]), e.diameter_m / 2 / MM, dxfattribs={"layer": "PUMPS"})
            _label(msp, "TAG", "PUMPS", g.coords[0], _attrs(e, exclude=("diameter_m", "kind")))
        else:
            _label(msp, "TANK", "VESSELS", g.coords[0], _attrs(e))
    for layer, items in (("ROADS", plant.roads), ("FENCES", plant.fences)):
        for r in items.values():
            msp.add_lwpolyline([tuple(p) for p in to_drawing(list(r.geometry.coords))], dxfattribs={"layer": layer})
            _label(msp, "TAG", layer, r.geometry.interpolate(0.5, normalized=True).coords[0], _attrs(r))
    for g in plant.gates.values():
        _label(msp, "GATE", "GATES", g.geometry.coords[0], _attrs(g))
    for m in plant.meta.muster_points:
        _label(msp, "MUSTER", "MUSTER", m.position, _attrs(m, exclude=("position",)))
    for r in plant.meta.resources:
        _label(msp, "RES", "RESOURCES", r.position, _attrs(r, exclude=("position",)))
    for s in plant.meta.sensors:
        _label(msp, "DET", "DETECTORS", s.position, {"TAG": s.id})
    if noise:  # a drawing has more than the plant: these must be reported, not dropped in silence
        msp.add_text("NORTH", dxfattribs={"layer": "NOTES"}).set_placement(tuple(to_drawing((10, 10))[0]))
        msp.add_line(tuple(to_drawing((0, -20))[0]), tuple(to_drawing((900, -20))[0]), dxfattribs={"layer": "GRID"})
    doc.saveas(path)
    return path


def dxf_source(plant, file: str = "site.dxf") -> dict[str, Any]:
    """The DXF part of the mapping: control points at the site corners, in the plant's projected CRS."""
    o = plant.meta.origin
    corners = list(plant.boundary.exterior.coords)[:3]
    points = [{"drawing": [float(v) for v in to_drawing(c)[0]], "projected": [o.easting + c[0], o.northing + c[1]]}
              for c in corners]
    tag = {"block": "TAG"}
    return {"type": "dxf", "file": file, "frame": {"control_points": points},
            "layers": [
                {"layer": "SITE", "to": "site_boundary"},
                {"layer": "AREAS", "to": "areas", "labels": tag, "attributes": {"TAG": "id"}},
                {"layer": "BUILDINGS", "to": "buildings", "entities": ["HATCH"], "labels": tag,
                 "attributes": {"TAG": "id", "HGT": "height_m"}},
                {"layer": "PLOTS", "to": "equipment", "labels": tag, "attributes": {"TAG": "id"}},
                {"layer": "RACKS", "to": "equipment", "labels": tag, "attributes": {"TAG": "id"}},
                {"layer": "PUMPS", "to": "equipment", "entities": ["CIRCLE"], "labels": tag,
                 "attributes": {"TAG": "id"}, "defaults": {"kind": "pump"}},
                {"layer": "VESSELS", "to": "equipment", "blocks": ["TANK"], "attributes": {"TAG": "id"}},
                {"layer": "ROADS", "to": "roads", "labels": tag, "attributes": {"TAG": "id"}},
                {"layer": "FENCES", "to": "fences", "labels": tag, "attributes": {"TAG": "id"}},
                {"layer": "GATES", "to": "gates", "blocks": ["GATE"], "attributes": {"TAG": "id"}},
                {"layer": "MUSTER", "to": "muster_points", "blocks": ["MUSTER"], "attributes": {"TAG": "id"}},
                {"layer": "RESOURCES", "to": "resources", "blocks": ["RES"], "attributes": {"TAG": "id"}},
                {"layer": "DETECTORS", "to": "sensors", "blocks": ["DET"], "attributes": {"TAG": "id"}},
            ]}


#: the GDS export's columns → sensor fields
TAG_COLUMNS = {"Tag": "id", "Service": "type", "Gas": "gas", "Units": "unit", "Range Lo": "range_min",
               "Range Hi": "range_max", "AL1": "warning", "AL2": "high", "AL3": "high_high", "Elev (m)": "height_m",
               "Area": "area_id", "Scan (s)": "period_s", "X": "x", "Y": "y", "At equipment": "equipment",
               "Measures": "measures", "Cal due": "calibration_due"}
#: the GDS's own spellings of sensor types
SERVICE = {"flammable_gas": "Combustible", "toxic_gas": "Toxic", "flame": "Flame", "weather": "Met"}


def tag_rows(plant, *, positions: bool = False) -> list[dict[str, Any]]:
    """One row per detector of ``plant`` as a GDS export writes it (x/y only with ``positions``)."""
    rows = []
    for s in plant.meta.sensors:
        row = {"Tag": s.id, "Service": SERVICE[s.type.value], "Gas": s.gas or "", "Units": s.unit,
               "Range Lo": s.range_min, "Range Hi": s.range_max,
               "AL1": s.alarm.warning if s.alarm else "", "AL2": s.alarm.high if s.alarm else "",
               "AL3": s.alarm.high_high if s.alarm else "", "Elev (m)": s.height_m, "Area": s.area_id or "",
               "Scan (s)": s.period_s, "X": "", "Y": "", "At equipment": "",
               "Measures": ", ".join(q.value for q in s.measures),
               "Cal due": s.calibration_due.isoformat() if s.calibration_due else ""}
        if positions:
            row["X"], row["Y"] = s.position
        rows.append(row)
    return rows


def write_tag_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        w = csv.DictWriter(f, fieldnames=list(TAG_COLUMNS))
        w.writeheader()
        w.writerows(rows)
    return path


def write_tag_xlsx(rows: list[dict[str, Any]], path: Path, sheet: str = "GDS") -> Path:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(["Gas detection system — tag list export"])  # a title row above the header, as DCS exports have
    ws.append(list(TAG_COLUMNS))
    for r in rows:
        ws.append([r[c] if r[c] != "" else None for c in TAG_COLUMNS])
    book.save(path)
    return path


def tags_source(file: str, **extra: Any) -> dict[str, Any]:
    return {"type": "tags", "file": file, "columns": TAG_COLUMNS,
            "values": {"type": {"Combustible": "flammable_gas"}}, **extra}


def write_metadata(plant, path: Path) -> Path:
    """What drawings do not carry, in plant.yaml's own format: inventories, shifts, description."""
    meta = plant.meta.model_dump(mode="json", include={"description", "inventories", "shifts", "weather_station"})
    path.write_text(yaml.safe_dump(meta, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def write_spec(path: Path, plant, sources: list[dict[str, Any]], **extra: Any) -> Path:
    o = plant.meta.origin
    spec = {"plant": {"id": plant.id, "name": plant.name, "crs": plant.crs,
                      "origin": {"easting": o.easting, "northing": o.northing}},
            "sources": sources, **extra}
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def hausdorff(a, b) -> float:
    return float(a.hausdorff_distance(b))


def plant_differences(expected, actual, tol_m: float) -> list[str]:
    """Every way ``actual`` differs from ``expected``: ids, properties, geometry beyond ``tol_m``."""
    out: list[str] = []
    if hausdorff(expected.boundary, actual.boundary) > tol_m:
        out.append("site boundary moved")
    for layer in ("buildings", "equipment", "roads", "fences", "gates", "areas", "surroundings"):
        want, got = expected.layer(layer), actual.layer(layer)
        if set(want) != set(got):
            out.append(f"{layer}: missing {sorted(set(want) - set(got))[:5]}, extra {sorted(set(got) - set(want))[:5]}")
        for fid in set(want) & set(got):
            if want[fid].model_dump() != got[fid].model_dump():
                out.append(f"{layer} {fid}: {want[fid].model_dump()} != {got[fid].model_dump()}")
            d = hausdorff(want[fid].geometry, got[fid].geometry)
            if want[fid].geometry.geom_type != got[fid].geometry.geom_type or d > tol_m:
                out.append(f"{layer} {fid}: geometry {got[fid].geometry.geom_type} off by {d:.3f} m")
    for name in ("sensors", "muster_points", "resources"):
        want = {i.id: i for i in getattr(expected.meta, name)}
        got = {i.id: i for i in getattr(actual.meta, name)}
        if set(want) != set(got):
            out.append(f"{name}: missing {sorted(set(want) - set(got))[:5]}, extra {sorted(set(got) - set(want))[:5]}")
        for k in set(want) & set(got):
            a, b = want[k].model_dump(exclude={"position"}), got[k].model_dump(exclude={"position"})
            if a != b:
                out.append(f"{name} {k}: {a} != {b}")
            if Point(want[k].position).distance(Point(got[k].position)) > tol_m:
                out.append(f"{name} {k}: position {got[k].position} != {want[k].position}")
    for key in ("inventories", "shifts", "weather_station", "crs", "origin", "id", "name"):
        if getattr(expected.meta, key) != getattr(actual.meta, key):
            out.append(f"{key} differs")
    return out


__all__ = ["LineString", "write_dxf", "dxf_source", "tag_rows", "write_tag_csv", "write_tag_xlsx", "tags_source",
           "write_metadata", "write_spec", "plant_differences", "to_drawing"]
