"""Fixtures of the import tests: the demo plant's site files (DXF in mm on a turned grid, tag list,
metadata) written once, and their import into a plant folder."""
from __future__ import annotations

import pytest

from importing.site_files import dxf_source, tag_rows, tags_source, write_dxf, write_metadata, write_spec, write_tag_csv
from safetwin.plant_models.importers import import_plant


@pytest.fixture(scope="session")
def dxf_site(tmp_path_factory, demo_plant):
    """(folder, import outcome) of the demo plant drawn as a DXF with its tag list and metadata."""
    folder = tmp_path_factory.mktemp("dxf_site")
    write_dxf(demo_plant, folder / "site.dxf")
    write_tag_csv(tag_rows(demo_plant), folder / "gds.csv")
    write_metadata(demo_plant, folder / "meta.yaml")
    spec = write_spec(folder / "import.yaml", demo_plant, [dxf_source(demo_plant), tags_source("gds.csv")],
                      metadata="meta.yaml")
    return folder, import_plant(spec, folder / "plant")
