"""Export a plant to GIS formats: GeoJSON in WGS84 (RFC 7946) and GeoPackage in the plant CRS.

An export carries the whole plant, so importing it gives the same plant back
(:mod:`safetwin.plant_models.importers`): equipment is drawn as footprints (one geometry type
per layer, as QGIS wants) with its own geometry as WKT in ``source_wkt`` (same CRS as the
layer), and the ``boundary`` layer's ``plant_meta`` holds what has no geometry (CRS, origin,
inventories, shifts, weather station) as JSON.

Example::

    >>> from safetwin.plant_models.loader import load_plant, bundled_plant_path
    >>> from safetwin.plant_models.export import plant_frames, write_geopackage
    >>> plant = load_plant(bundled_plant_path("small_plant"))
    >>> frames = plant_frames(plant)          # layer name -> GeoDataFrame in the plant CRS
    >>> sorted(frames)[:3]
    ['areas', 'boundary', 'buildings']
"""
from __future__ import annotations

from pathlib import Path

import json

import geopandas as gpd
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from .loader import Plant
from .schema import LAYERS

WGS84 = "EPSG:4326"
#: column of the equipment layer holding each item's own geometry (point, centreline or polygon) as WKT
SOURCE_WKT = "source_wkt"
#: column of the boundary layer holding the plant's non-geometric metadata as JSON
PLANT_META = "plant_meta"
#: plant.yaml keys with no geometry, carried in ``PLANT_META``
META_KEYS = ("schema_version", "description", "crs", "origin", "inventories", "shifts", "weather_station",
             "ignition_sources")


def to_projected(plant: Plant, geom: BaseGeometry) -> BaseGeometry:
    """Shift a local-frame geometry (m) to the plant's projected CRS (m)."""
    o = plant.meta.origin
    return shapely.transform(geom, lambda xy: xy + (o.easting, o.northing))


_LATLON: dict[tuple, tuple[float, float]] = {}


def site_latlon_deg(plant: Plant) -> tuple[float, float]:
    """Latitude and longitude (degrees, WGS84) of the centre of the site's boundary box: where the
    sun's position is taken for the plant (the day/night of the stability methods). Cached."""
    o = plant.meta.origin
    key = (plant.crs, o.easting, o.northing, plant.boundary.bounds)
    if key not in _LATLON:
        from pyproj import Transformer

        c = to_projected(plant, plant.boundary.envelope.centroid)
        lon, lat = Transformer.from_crs(plant.crs, WGS84, always_xy=True).transform(c.x, c.y)
        _LATLON[key] = (float(lat), float(lon))
    return _LATLON[key]


def to_local(plant: Plant, geom: BaseGeometry) -> BaseGeometry:
    """Shift a geometry in the plant's projected CRS back to the local frame (m)."""
    o = plant.meta.origin
    return shapely.transform(geom, lambda xy: xy - (o.easting, o.northing))


def _layer_frame(plant: Plant, name: str) -> gpd.GeoDataFrame:
    rows, geoms = [], []
    for obj in plant.layer(name).values():
        rows.append({k: (v.value if hasattr(v, "value") else v) for k, v in obj.model_dump().items()})
        # equipment is written as footprints so the layer has one geometry type (QGIS)
        geom = obj.footprint if name == "equipment" else obj.geometry
        if name == "equipment":
            rows[-1][SOURCE_WKT] = shapely.to_wkt(to_projected(plant, obj.geometry), rounding_precision=-1)
        geoms.append(to_projected(plant, geom))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=plant.crs)


def reproject_frame(frame: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    """A layer of :func:`plant_frames` in ``crs``, its ``source_wkt`` column reprojected alongside the geometry."""
    out = frame.to_crs(crs)
    if SOURCE_WKT in frame.columns:
        own = gpd.GeoSeries.from_wkt(frame[SOURCE_WKT], crs=frame.crs).to_crs(crs)
        out[SOURCE_WKT] = shapely.to_wkt(own.values, rounding_precision=-1)
    return out


def _point_frame(plant: Plant, items, drop: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
    rows, geoms = [], []
    for obj in items:
        d = obj.model_dump(mode="json")
        x, y = d.pop("position")
        alarm = d.pop("alarm", None)
        if alarm:
            d.update({f"alarm_{k}": v for k, v in alarm.items()})
        for k in drop:
            d.pop(k, None)
        # a GIS column holds no lists: a station's ``measures`` as text (the schema reads it back)
        d = {k: ", ".join(map(str, v)) if isinstance(v, list) else v for k, v in d.items()}
        rows.append(d)
        geoms.append(to_projected(plant, Point(x, y)))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=plant.crs)


def plant_frames(plant: Plant) -> dict[str, gpd.GeoDataFrame]:
    """Every plant layer as a GeoDataFrame in the plant's projected CRS."""
    frames = {name: _layer_frame(plant, name) for name in LAYERS}
    meta = plant.meta.model_dump(mode="json", include=set(META_KEYS))
    frames["boundary"] = gpd.GeoDataFrame(
        [{"id": plant.id, "name": plant.name, PLANT_META: json.dumps(meta, ensure_ascii=False)}],
        geometry=[to_projected(plant, plant.boundary)], crs=plant.crs,
    )
    frames["sensors"] = _point_frame(plant, plant.meta.sensors)
    frames["muster_points"] = _point_frame(plant, plant.meta.muster_points)
    frames["resources"] = _point_frame(plant, plant.meta.resources)
    return frames


def write_geopackage(plant: Plant, path: str | Path) -> Path:
    """Write all layers to one GeoPackage in the plant CRS (QGIS reads the CRS from it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    for name, frame in plant_frames(plant).items():
        if len(frame):
            frame.to_file(path, layer=name, driver="GPKG")
    return path


def write_geojson(plant: Plant, folder: str | Path) -> list[Path]:
    """Write one RFC 7946 GeoJSON file per layer, in WGS84 lon/lat, into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in plant_frames(plant).items():
        if not len(frame):
            continue
        out = folder / f"{plant.id}_{name}.geojson"
        reproject_frame(frame, WGS84).to_file(out, driver="GeoJSON", RFC7946="YES", WRITE_NAME="YES")
        written.append(out)
    return written


def local_geojson_to_wgs84(plant: Plant, collection: dict) -> dict:
    """Reproject a FeatureCollection in the plant's local frame to WGS84 lon/lat (RFC 7946)."""
    from shapely.geometry import mapping, shape

    frame = gpd.GeoDataFrame(
        [f.get("properties", {}) for f in collection["features"]],
        geometry=[to_projected(plant, shape(f["geometry"])) for f in collection["features"]],
        crs=plant.crs,
    ).to_crs(WGS84)
    features = [{"type": "Feature", "properties": f.get("properties", {}), "geometry": mapping(g)}
                for f, g in zip(collection["features"], frame.geometry)]
    return {"type": "FeatureCollection", "features": features}
