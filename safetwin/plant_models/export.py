"""Export a plant to GIS formats: GeoJSON in WGS84 (RFC 7946) and GeoPackage in the plant CRS.

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

import geopandas as gpd
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from .loader import Plant
from .schema import LAYERS

WGS84 = "EPSG:4326"


def to_projected(plant: Plant, geom: BaseGeometry) -> BaseGeometry:
    """Shift a local-frame geometry (m) to the plant's projected CRS (m)."""
    o = plant.meta.origin
    return shapely.transform(geom, lambda xy: xy + (o.easting, o.northing))


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
        geoms.append(to_projected(plant, geom))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=plant.crs)


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
        rows.append(d)
        geoms.append(to_projected(plant, Point(x, y)))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=plant.crs)


def plant_frames(plant: Plant) -> dict[str, gpd.GeoDataFrame]:
    """Every plant layer as a GeoDataFrame in the plant's projected CRS."""
    frames = {name: _layer_frame(plant, name) for name in LAYERS}
    frames["boundary"] = gpd.GeoDataFrame(
        [{"id": plant.id, "name": plant.name}], geometry=[to_projected(plant, plant.boundary)], crs=plant.crs
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
        frame.to_crs(WGS84).to_file(out, driver="GeoJSON", RFC7946="YES", WRITE_NAME="YES")
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
