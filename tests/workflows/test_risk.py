"""Risk grading (LEC, 5×5 LS) into RED/ORANGE/YELLOW/BLUE with the management layer; four-colour map GeoJSON."""
from __future__ import annotations

import itertools

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from shapely.affinity import translate
from shapely.geometry import Polygon, shape

from safetwin.twin.api.app import create_app
from safetwin.twin.state import TwinState
from safetwin.twin.workflows import risk
from safetwin.twin.workflows.errors import GuardFailed
from wfhelpers import PASSWORD


@pytest.mark.parametrize("l,e,c,d,level", [
    (6, 6, 15, 540, "RED"), (10, 2, 40, 800, "RED"), (3, 6, 15, 270, "ORANGE"), (10, 2, 15, 300, "ORANGE"),
    (10, 1, 7, 70, "YELLOW"),            # lower bound inclusive
    (3, 3, 15, 135, "YELLOW"), (1, 6, 7, 42, "BLUE"), (0.5, 1, 1, 0.5, "BLUE"),
])
def test_lec_grading(l, e, c, d, level):
    assert risk.grade_lec(l, e, c) == (float(d), level)


def test_lec_cut_points_over_the_whole_scale():
    for l, e, c in itertools.product(risk.LEC_L, risk.LEC_E, risk.LEC_C):
        d, level = risk.grade_lec(l, e, c)
        want = "RED" if d >= 320 else "ORANGE" if d >= 160 else "YELLOW" if d >= 70 else "BLUE"
        assert level == want, (l, e, c, d)


@pytest.mark.parametrize("l,s,level", [(5, 5, "RED"), (4, 5, "RED"), (4, 4, "ORANGE"), (3, 5, "ORANGE"),
                                       (3, 4, "YELLOW"), (3, 3, "YELLOW"), (2, 4, "BLUE"), (1, 1, "BLUE")])
def test_ls_matrix_grading(l, s, level):
    assert risk.grade_ls(l, s) == (float(l * s), level)


@pytest.mark.parametrize("args", [(2, 6, 15), (6, 6, 16), (6, 4, 15)])
def test_lec_off_scale_refused(args):
    with pytest.raises(GuardFailed, match="not on the scale"):
        risk.grade_lec(*args)


@pytest.mark.parametrize("args", [(0, 3), (6, 1), (2.5, 2)])
def test_ls_off_matrix_refused(args):
    with pytest.raises(GuardFailed):
        risk.grade_ls(*args)


def test_levels_map_to_colours_and_layers():
    assert [risk.LAYER[lv] for lv in risk.LEVELS] == ["company", "department", "workshop", "team"]
    assert risk.worst(["BLUE", "ORANGE", "YELLOW"]) == "ORANGE" and risk.worst([]) == "BLUE"


POLY = [(10.0, 10.0), (60.0, 10.0), (60.0, 40.0), (10.0, 40.0)]


def _units(svc, a):
    u = svc.create_risk_unit(a["sue"], name="LPG loading", polygon=POLY)
    svc.assess_risk(a["sue"], u.id, description="hose rupture", method="LS", factors={"L": 3, "S": 4})
    u = svc.assess_risk(a["sue"], u.id, description="BLEVE", method="LEC", factors={"L": 1, "E": 6, "C": 100})
    assert (u.level, u.layer, [e.level for e in u.events]) == ("RED", "company", ["YELLOW", "RED"])
    v = svc.create_risk_unit(a["sue"], name="office", area_id="A-OFFICE")
    v = svc.assess_risk(a["sue"], v.id, description="slips", method="LS", factors={"L": 2, "S": 2})
    assert (v.level, v.layer) == ("BLUE", "team")
    return u, v


def test_risk_map_in_wgs84_and_local_frame(svc, actors, small_plant):
    u, v = _units(svc, actors)
    local = svc.risk_map("local")
    by_id = {f["properties"]["id"]: f for f in local["features"]}
    assert shape(by_id[u.id]["geometry"]).equals(Polygon(POLY))
    assert by_id[u.id]["properties"] == {"id": u.id, "name": "LPG loading", "level": "RED",
                                         "colour": risk.COLOURS["RED"], "layer": "company"}
    assert shape(by_id[v.id]["geometry"]).equals(small_plant.areas["A-OFFICE"].geometry)
    wgs = svc.risk_map()                         # default: RFC 7946 WGS84 lon/lat
    assert "crs_note" not in wgs
    g = {f["properties"]["id"]: shape(f["geometry"]) for f in wgs["features"]}
    # independent path: geopandas shifts by the origin and reprojects the plant CRS (UTM 50N) to EPSG:4326
    o = small_plant.meta.origin
    want = gpd.GeoSeries([translate(Polygon(POLY), o.easting, o.northing)], crs=small_plant.crs).to_crs("EPSG:4326")
    assert g[u.id].equals_exact(want.iloc[0], 1e-9)
    lon, lat = g[u.id].exterior.coords[0]
    assert 118.0 < lon < 120.0 and 32.0 < lat < 33.0     # UTM 50N, easting 672 km, northing 3570 km
    with pytest.raises(GuardFailed):
        svc.risk_map("mercator")


def test_risk_map_route_frames(svc, actors, small_plant):
    _units(svc, actors)
    c = TestClient(create_app(TwinState(small_plant), workflows=svc))
    tok = c.post("/auth/token", data={"username": "bob", "password": PASSWORD}).json()["access_token"]
    h = {"Authorization": f"Bearer {tok}"}
    wgs = c.get("/risk/map", headers=h).json()
    local = c.get("/risk/map?frame=local", headers=h).json()
    assert len(wgs["features"]) == len(local["features"]) == 2
    assert abs(wgs["features"][0]["geometry"]["coordinates"][0][0][0]) < 180
    assert local["features"][0]["geometry"]["coordinates"][0][0][0] < 1000
    assert c.get("/risk/map?frame=nope", headers=h).status_code == 422


def test_risk_unit_guards(svc, actors):
    a = actors
    with pytest.raises(GuardFailed):
        svc.create_risk_unit(a["sue"], name="x")                       # neither area nor polygon
    with pytest.raises(GuardFailed):
        svc.create_risk_unit(a["sue"], name="x", area_id="A-NOPE")
    with pytest.raises(GuardFailed):
        svc.create_risk_unit(a["sue"], name="bow", polygon=[(0, 0), (10, 10), (10, 0), (0, 10)])
    from safetwin.twin.workflows.errors import Forbidden

    with pytest.raises(Forbidden):
        svc.create_risk_unit(a["bob"], name="x", area_id="A-STORE")
