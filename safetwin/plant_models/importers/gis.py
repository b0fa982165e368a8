"""GIS layers (GeoPackage, Shapefile, GeoJSON — a file or a folder of them, any CRS) → plant
features in the local frame, reprojected with pyproj through the plant's projected CRS.

Fields map to properties by the layer rule's ``fields`` (source → property) or by name (a field
called ``height_m`` is the property ``height_m``); every other field is reported once per layer.
A rule list left empty reads a SafeTwin export (:mod:`safetwin.plant_models.export`), whose
equipment carries its own geometry in ``source_wkt`` and whose boundary carries the plant's
metadata in ``plant_meta`` — so export → import gives the same plant.

Example::

    >>> from safetwin.plant_models.loader import load_plant
    >>> from safetwin.plant_models.export import write_geopackage
    >>> import tempfile, pathlib
    >>> plant = load_plant("small_plant")
    >>> gpkg = write_geopackage(plant, pathlib.Path(tempfile.mkdtemp()) / "small.gpkg")
    >>> from safetwin.plant_models.importers.mapping import GisSource
    >>> frame = PlantFrame(plant.crs, plant.meta.origin.easting, plant.meta.origin.northing)
    >>> res = read_gis(GisSource(type="gis", file=str(gpkg)), base_dir=gpkg.parent, plant=frame)
    >>> sorted({f.target for f in res.features})[:3], res.errors
    (['areas', 'buildings', 'equipment'], [])
"""
from __future__ import annotations

import fnmatch
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import shapely

from safetwin.plant_models.export import PLANT_META, SOURCE_WKT

from .features import SourceResult
from .frame import PlantFrame
from .mapping import GisLayerRule, GisSource
from .targets import known_fields

#: how a SafeTwin export's layers map back (layer patterns match ``buildings`` in a GeoPackage and
#: ``<plant id>_buildings`` in a GeoJSON export folder)
EXPORT_RULES = [GisLayerRule(layer=f"*{name}", to=to) for name, to in (
    ("boundary", "site_boundary"), ("buildings", "buildings"), ("equipment", "equipment"), ("roads", "roads"),
    ("fences", "fences"), ("gates", "gates"), ("areas", "areas"), ("surroundings", "surroundings"),
    ("sensors", "sensors"), ("muster_points", "muster_points"), ("resources", "resources"))]
GIS_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp")


def _layers(path: Path) -> list[tuple[Path, str]]:
    """(file, layer name) of every layer in a GIS file or a folder of GIS files."""
    import pyogrio

    files = sorted(p for p in path.iterdir() if p.suffix.lower() in GIS_SUFFIXES) if path.is_dir() else [path]
    out = []
    for f in files:
        for name, _ in pyogrio.list_layers(f):
            out.append((f, str(name) if f.suffix.lower() == ".gpkg" else f.stem))
    return out


def export_header(path: Path) -> dict[str, Any]:
    """The plant header of a SafeTwin export (``id``, ``name``, ``crs`` and ``plant_meta``'s keys), or {}."""
    import pyogrio

    try:
        layers = _layers(path)
    except Exception:  # unreadable: read_gis reports it
        return {}
    for file, layer in layers:
        if not fnmatch.fnmatchcase(layer.lower(), "*boundary"):
            continue
        frame = pyogrio.read_dataframe(file, layer=layer if file.suffix.lower() == ".gpkg" else None)
        if PLANT_META not in frame.columns or not len(frame):
            continue
        row = frame.iloc[0]
        return {"id": row.get("id"), "name": row.get("name"), **_json(row[PLANT_META])}
    return {}


def _json(value: Any) -> dict[str, Any]:
    """A JSON field's value (GDAL hands a GeoJSON file's JSON strings over already parsed)."""
    return value if isinstance(value, dict) else json.loads(value)


def _value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return v.item() if hasattr(v, "item") else v


def read_gis(source: GisSource, *, base_dir: Path, plant: PlantFrame | None) -> SourceResult:
    """Features of a GIS file or folder in the plant frame, with every layer and field accounted for."""
    import geopandas as gpd

    path = Path(base_dir) / source.file
    result = SourceResult(path.name)
    if plant is None:
        result.error("-", "crs", "GIS layers need the plant's crs and origin (plant header, metadata or base plant)")
        return result
    try:
        layers = _layers(path)
    except Exception as exc:  # unreadable file: reported, the other sources still import
        result.error("-", "-", f"cannot read {path}: {exc}")
        return result
    rules = source.layers or EXPORT_RULES
    for file, layer in layers:
        rule = next((r for r in rules if fnmatch.fnmatchcase(layer.lower(), r.layer.lower())), None)
        if rule is None:
            result.not_mapped(f"layer {layer}", "layer", "no rule for this layer")
            continue
        try:
            frame = gpd.read_file(file, layer=layer if file.suffix.lower() == ".gpkg" else None)
        except Exception as exc:
            result.error(f"layer {layer}", "-", f"cannot read: {exc}")
            continue
        crs = frame.crs or source.crs
        if crs is None:
            result.error(f"layer {layer}", "crs", "the layer declares no CRS; give 'crs' in the mapping")
            continue
        _read_layer(frame, crs, rule, layer, plant, result)
    return result


def _read_layer(frame, crs, rule: GisLayerRule, layer: str, plant: PlantFrame, result: SourceResult) -> None:
    fields = known_fields(rule.to)
    unknown: Counter[str] = Counter()
    columns = [c for c in frame.columns if c != frame.geometry.name]
    own = [None] * len(frame)
    if SOURCE_WKT in columns and rule.to == "equipment":
        own = [shapely.from_wkt(w) if isinstance(w, str) and w else None for w in frame[SOURCE_WKT]]
    for k, (o, g) in enumerate(zip(own, frame.geometry)):
        if o is not None and g is not None and o.distance(g) > 1e-6 * max(1.0, g.length):
            result.error(str(frame["id"].iloc[k]) if "id" in columns else f"{layer}:{k}", SOURCE_WKT,
                         "does not lie on the feature's footprint (reprojected without it?); the footprint is used")
            own[k] = None
    geoms = [o if o is not None else g for o, g in zip(own, frame.geometry)]
    present = [k for k, g in enumerate(geoms) if g is not None and not g.is_empty]
    moved = dict(zip(present, plant.from_crs([geoms[k] for k in present], crs)))
    for k, row in enumerate(frame[columns].itertuples(index=False, name=None)):
        ref = f"{layer}:{k}"
        props: dict[str, Any] = dict(rule.defaults)
        for col, raw in zip(columns, row):
            value = _value(raw)
            if col == SOURCE_WKT and rule.to == "equipment":
                continue
            if col == PLANT_META and rule.to == "site_boundary":
                if value:
                    result.meta.update(_json(value))
                continue
            prop = rule.fields.get(col) or (col if col in fields else None)
            if prop is None:
                unknown[col] += value is not None
            elif value is not None:
                props[prop] = value
        if k not in moved:
            result.error(props.get("id", ref), "geometry", f"no geometry (layer {layer})")
            continue
        result.feature(rule.to, moved[k], props, ref=ref)
    for col, n in sorted(unknown.items()):
        if n:
            result.not_mapped(f"layer {layer}", col, f"field {col!r} maps to no property of {rule.to} "
                              f"({n} features have a value); map it in 'fields'")
