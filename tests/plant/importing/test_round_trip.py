"""Round trip: the existing exports (GeoPackage in the plant CRS, GeoJSON in WGS84) import back to
the same plant; a GeoPackage whose equipment geometry went stale is reported, not trusted."""
from __future__ import annotations

import geopandas as gpd

from importing.site_files import plant_differences
from safetwin.plant_models.export import write_geojson, write_geopackage
from safetwin.plant_models.importers import ImportSpec, import_plant
from safetwin.plant_models.loader import load_plant



def _spec(file: str) -> ImportSpec:
    return ImportSpec.model_validate({"sources": [{"type": "gis", "file": file}]})


def test_geopackage_export_imports_to_the_same_plant(tmp_path, demo_plant):
    write_geopackage(demo_plant, tmp_path / "export.gpkg")
    outcome = import_plant(_spec("export.gpkg"), tmp_path / "plant", base_dir=tmp_path)
    assert outcome.replaced and not outcome.errors and not outcome.unmapped
    assert plant_differences(demo_plant, load_plant(tmp_path / "plant"), tol_m=0.001) == []


def test_geojson_export_imports_to_the_same_plant(tmp_path, demo_plant):
    write_geojson(demo_plant, tmp_path / "export")   # WGS84, 7 decimals (RFC 7946): about 1 cm
    outcome = import_plant(_spec("export"), tmp_path / "plant", base_dir=tmp_path)
    assert outcome.replaced and not outcome.errors and not outcome.unmapped
    assert plant_differences(demo_plant, load_plant(tmp_path / "plant"), tol_m=0.02) == []


def test_stale_equipment_geometry_is_reported(tmp_path, small_plant):
    """Reprojected in a GIS without its source_wkt column: the footprints are used, and it is said."""
    gpkg = write_geopackage(small_plant, tmp_path / "export.gpkg")
    frame = gpd.read_file(gpkg, layer="equipment").to_crs("EPSG:4548")
    frame.to_file(gpkg, layer="equipment", driver="GPKG")
    outcome = import_plant(_spec("export.gpkg"), tmp_path / "plant", base_dir=tmp_path)
    stale = [e for e in outcome.errors if e.field == "source_wkt"]
    assert len(stale) == len(small_plant.equipment)
