"""GIS export: the GeoPackage carries the plant CRS and round-trips geometry; GeoJSON is WGS84."""
from __future__ import annotations

import json

import geopandas as gpd
import pyogrio
import pytest
from pyproj import CRS, Transformer

from safetwin.plant_models.export import to_local, write_geojson, write_geopackage


def test_geopackage_round_trip(small_plant, tmp_path):
    path = write_geopackage(small_plant, tmp_path / "plant.gpkg")
    layers = dict(pyogrio.list_layers(path))
    assert {"buildings", "equipment", "roads", "gates", "areas", "sensors", "boundary"} <= set(layers)
    # the CRS is written into the file (what QGIS reads), not only known to geopandas
    info = pyogrio.read_info(path, layer="buildings")
    assert CRS.from_user_input(info["crs"]).to_epsg() == 32650
    frame = gpd.read_file(path, layer="buildings")
    assert frame.crs.to_epsg() == 32650
    for _, row in frame.iterrows():
        original = small_plant.buildings[row["id"]]
        assert to_local(small_plant, row.geometry).equals_exact(original.geometry, 1e-6)
        assert row["height_m"] == original.height_m
    tanks = gpd.read_file(path, layer="equipment").set_index("id")
    assert to_local(small_plant, tanks.loc["TK-1"].geometry).symmetric_difference(
        small_plant.equipment["TK-1"].footprint).area < 1e-6


def test_geojson_is_wgs84_at_the_declared_origin(small_plant, tmp_path):
    files = write_geojson(small_plant, tmp_path)
    gates = next(f for f in files if f.name.endswith("_gates.geojson"))
    data = json.loads(gates.read_text())
    lon, lat = next(f for f in data["features"] if f["properties"]["id"] == "G-MAIN")["geometry"]["coordinates"]
    o = small_plant.meta.origin
    elon, elat = Transformer.from_crs(32650, 4326, always_xy=True).transform(o.easting + 100.0, o.northing + 0.5)
    assert lon == pytest.approx(elon, abs=1e-6) and lat == pytest.approx(elat, abs=1e-6)
    assert 117 < lon < 120 and 30 < lat < 34  # UTM 50N near Nanjing
