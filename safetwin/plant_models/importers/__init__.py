"""Bring your own plant: import a site from CAD (DXF), GIS layers, an OpenStreetMap extract and the
detector tag list into a plant folder — pure functions from files to validated plant folders.

Modules, one job each: :mod:`.mapping` (the mapping file, typed), :mod:`.frame` (drawing and CRS
coordinates → the plant frame), :mod:`.dxf`, :mod:`.gis`, :mod:`.osm`, :mod:`.tags` (the
readers), :mod:`.targets` (raw features → validated plant content), :mod:`.diff` (what a
re-import changes), :mod:`.build` (the whole import, staged, validated and applied).

Example::

    from safetwin.plant_models.importers import import_plant
    outcome = import_plant("site_import.yaml", "plants/my_site")
    print("\\n".join(outcome.summary_lines()))
"""
from .build import REPORT_FILE, ImportOutcome, assemble, import_plant, write_folder
from .diff import Change, PlantDiff, diff_folders
from .mapping import ImportSpec, MappingError, load_spec

__all__ = ["REPORT_FILE", "Change", "ImportOutcome", "ImportSpec", "MappingError", "PlantDiff", "assemble",
           "diff_folders", "import_plant", "load_spec", "write_folder"]
