"""GIS and OpenStreetMap import: a GeoPackage in CGCS2000 / 3-degree Gauss-Kruger CM 117E
(EPSG:4548, not the plant's UTM 50N) and an OSM XML extract in WGS84 land in the plant frame
within 0.5 m of the true positions, computed here with pyproj independently of the importer."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon

from importing.site_files import plant_differences
from safetwin.plant_models.export import plant_frames, reproject_frame
from safetwin.plant_models.importers import ImportSpec, import_plant
from safetwin.plant_models.loader import load_plant

OTHER_CRS = "EPSG:4548"
#: off-site features in the plant frame (m): the truth the imports must reproduce
TRUTH = {
    "osm-way-100": LineString([(-400, -60), (300, -65), (1300, -80)]),                       # primary road
    "osm-way-101": Polygon([(1000, 100), (1300, 100), (1300, 420), (1000, 420)]),            # village
    "osm-way-102": Polygon([(300, -380), (460, -380), (460, -260), (300, -260)]),            # school
    "osm-relation-900": Polygon([(-500, 0), (-150, 0), (-150, 500), (-500, 500)],
                                [[(-400, 100), (-300, 100), (-300, 200), (-400, 200)]]),     # industrial park
    "osm-node-50": Point(1150, 700),                                                         # hospital
    "N-1": Polygon([(950, -200), (990, -200), (990, -150), (950, -150)]),                    # GIS building
    "N-2": LineString([(950, 650), (1400, 900)]),                                            # GIS road
}


def _lonlat(plant, xy):
    o = plant.meta.origin
    tr = Transformer.from_crs(plant.crs, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(np.asarray(xy)[:, 0] + o.easting, np.asarray(xy)[:, 1] + o.northing)
    return list(zip(lon, lat))


def _osm_xml(plant) -> str:
    nodes, ways, rel = [], [], []
    ids = iter(range(1000, 100_000))

    def ring_nodes(coords):
        refs = []
        for lon, lat in _lonlat(plant, coords):
            nid = next(ids)
            nodes.append(f'<node id="{nid}" lat="{lat:.9f}" lon="{lon:.9f}"/>')
            refs.append(nid)
        return refs

    def way(wid, coords, tags, close=False):
        refs = ring_nodes(coords)
        if close:
            refs.append(refs[0])
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tag = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        ways.append(f'<way id="{wid}">{nds}{tag}</way>')

    way(100, TRUTH["osm-way-100"].coords, {"highway": "primary", "name": "Binjiang Road"})
    way(101, list(TRUTH["osm-way-101"].exterior.coords)[:-1], {"landuse": "residential", "name": "Xigang"}, close=True)
    way(102, list(TRUTH["osm-way-102"].exterior.coords)[:-1], {"building": "school", "amenity": "school",
                                                                "building:levels": "3"}, close=True)
    shell = list(TRUTH["osm-relation-900"].exterior.coords)[:-1]
    way(201, shell[:3], {})                 # the outer ring in two untagged ways, as OSM often has it
    way(202, shell[2:] + shell[:1], {})
    way(203, list(TRUTH["osm-relation-900"].interiors[0].coords)[:-1], {}, close=True)
    rel.append('<relation id="900"><member type="way" ref="201" role="outer"/><member type="way" ref="202" '
               'role="outer"/><member type="way" ref="203" role="inner"/><tag k="type" v="multipolygon"/>'
               '<tag k="landuse" v="industrial"/></relation>')
    way(300, [(2000, 0), (2100, 0)], {"power": "line"})  # a key nobody mapped: reported
    (lon, lat), = _lonlat(plant, [TRUTH["osm-node-50"].coords[0]])
    nodes.append(f'<node id="50" lat="{lat:.9f}" lon="{lon:.9f}"><tag k="amenity" v="hospital"/></node>')
    nodes.append(f'<node id="51" lat="{lat:.9f}" lon="{lon:.9f}"><tag k="highway" v="crossing"/></node>')
    ways.append('<way id="400"><nd ref="50"/><nd ref="999999"/><tag k="highway" v="service"/></way>')  # cut
    return '<?xml version="1.0"?><osm version="0.6">' + "".join(nodes + ways + rel) + "</osm>"


@pytest.fixture(scope="module")
def gis_site(tmp_path_factory, demo_plant):
    folder = tmp_path_factory.mktemp("gis_site")
    gpkg = folder / "survey.gpkg"
    for name, frame in plant_frames(demo_plant).items():
        if len(frame):
            reproject_frame(frame, OTHER_CRS).to_file(gpkg, layer=name, driver="GPKG")
    o = demo_plant.meta.origin
    nearby = gpd.GeoDataFrame(
        {"FID_NO": ["N-1", "N-2"], "NAME_CN": ["仓库", "园区路"], "CLASS": ["warehouse", "secondary"],
         "KIND": ["building", "road"], "OWNER": ["x", "y"]},
        geometry=[g for g in (TRUTH["N-1"], TRUTH["N-2"])], crs=demo_plant.crs)
    nearby.geometry = nearby.geometry.translate(o.easting, o.northing)
    nearby.to_crs(OTHER_CRS).to_file(gpkg, layer="nearby", driver="GPKG")
    (folder / "around.osm").write_text(_osm_xml(demo_plant), encoding="utf-8")
    rules = [{"layer": name, "to": to} for name, to in (
        ("boundary", "site_boundary"), ("buildings", "buildings"), ("equipment", "equipment"), ("roads", "roads"),
        ("fences", "fences"), ("gates", "gates"), ("areas", "areas"), ("sensors", "sensors"),
        ("muster_points", "muster_points"), ("resources", "resources"))]
    rules.append({"layer": "nearby", "to": "surroundings",
                  "fields": {"FID_NO": "id", "NAME_CN": "name", "CLASS": "category", "KIND": "kind"}})
    spec = ImportSpec.model_validate({"sources": [{"type": "gis", "file": "survey.gpkg", "layers": rules},
                                                  {"type": "osm", "file": "around.osm"}]})
    return folder, import_plant(spec, folder / "plant", base_dir=folder)


def test_gpkg_in_another_crs_gives_the_demo_plant(gis_site, demo_plant):
    folder, outcome = gis_site
    assert outcome.replaced and not outcome.errors and not outcome.validation, outcome.summary_lines()
    diffs = [d for d in plant_differences(demo_plant, load_plant(folder / "plant"), tol_m=0.5)
             if not d.startswith("surroundings")]
    assert diffs == []


def test_surroundings_within_half_a_metre_of_the_truth(gis_site):
    folder, _ = gis_site
    got = load_plant(folder / "plant").surroundings
    assert set(TRUTH) <= set(got)
    for fid, truth in TRUTH.items():
        geom = got[fid].geometry
        assert geom.geom_type == truth.geom_type, fid
        assert geom.hausdorff_distance(truth) < 0.5, (fid, geom.hausdorff_distance(truth))
    assert got["osm-relation-900"].geometry.area == pytest.approx(TRUTH["osm-relation-900"].area, rel=1e-3)
    assert (got["osm-way-102"].kind.value, got["osm-way-102"].category, got["osm-way-102"].levels) == \
        ("building", "school", 3)
    assert (got["N-1"].name, got["N-1"].category, got["N-2"].kind.value) == ("仓库", "warehouse", "road")


def test_what_the_extract_and_the_geopackage_leave_over_is_reported(gis_site):
    _, outcome = gis_site
    where = {(u.file, u.feature, u.field) for u in outcome.unmapped}
    assert ("around.osm", "way/400", "nd") in where           # cut at the extract's edge
    assert ("around.osm", "way/300", "tags") in where         # power=line: no mapped key
    assert any(u.feature == "tagged nodes" and "highway: 1" in u.message for u in outcome.unmapped)
    assert ("survey.gpkg", "layer nearby", "OWNER") in where  # a field that maps to nothing
