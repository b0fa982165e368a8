"""Plant format and loader: the bundled plants validate; broken copies report every error located."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from shapely.geometry import Point

from safetwin.plant_models.loader import PlantValidationError, bundled_plant_path, load_plant, validate_plant


def _copy(tmp_path: Path, name: str) -> Path:
    dst = tmp_path / name
    shutil.copytree(bundled_plant_path(name), dst)
    return dst


def _edit_layer(folder: Path, layer: str, fid: str, edit) -> None:
    f = folder / f"{layer}.geojson"
    data = json.loads(f.read_text())
    hit = [feat for feat in data["features"] if feat["properties"]["id"] == fid]
    assert hit, f"{fid} not in {layer}"
    edit(hit[0])
    f.write_text(json.dumps(data))


def test_small_plant_loads_with_shapely_geometries(small_plant):
    assert small_plant.crs == "EPSG:32650"
    tank = small_plant.equipment["TK-1"]
    assert tank.geometry.equals(Point(40, 40))
    assert tank.footprint.area == pytest.approx(3.14159 * 7.5**2, rel=0.01)
    assert small_plant.shifts["day"].total == 20
    assert validate_plant(bundled_plant_path("small_plant")) == []


def test_demo_plant_meets_the_brief(demo_plant):
    """The demo plant's required content."""
    p = demo_plant
    minx, miny, maxx, maxy = p.boundary.bounds
    assert 800 <= maxx - minx <= 1000 and 500 <= maxy - miny <= 700
    kinds = [e.kind.value for e in p.equipment.values()]
    assert kinds.count("atmospheric_tank") >= 6
    assert kinds.count("pressurised_sphere") >= 2
    assert all(p.equipment[e.id].bund_id for e in p.equipment.values() if e.kind.value == "atmospheric_tank")
    assert kinds.count("process_unit") >= 3 and kinds.count("pipe_rack") >= 3
    gas = [s for s in p.meta.sensors if s.type.value in ("toxic_gas", "flammable_gas")]
    assert len(gas) >= 40
    assert {s.gas for s in gas} >= {"chlorine", "ammonia", "hydrogen_sulfide"}
    assert any(s.type.value == "weather" for s in p.meta.sensors)
    gates = [g.kind.value for g in p.gates.values()]
    assert gates.count("main") >= 1 and gates.count("emergency") >= 2
    assert len(p.meta.muster_points) >= 3
    engines = sum(r.count for r in p.meta.resources if r.kind.value == "fire_engine")
    assert engines >= 2
    assert any(r.kind.value == "hydrant" for r in p.meta.resources)
    assert any(r.kind.value == "scba_store" for r in p.meta.resources)
    assert p.shifts["day"].total >= 250 and p.shifts["night"].total >= 80
    subs = {i.substance for i in p.meta.inventories}
    assert {"chlorine", "ammonia", "propane"} <= subs


def test_three_planted_errors_are_all_reported(tmp_path):
    """Located errors: tank outside the boundary, unknown sensor type, negative building height."""
    src = bundled_plant_path("demo_plant")
    plant = load_plant(src)
    folder = _copy(tmp_path, "demo_plant")
    tank_id = next(e.id for e in plant.equipment.values() if e.kind.value == "atmospheric_tank")
    building_id = next(iter(plant.buildings))
    minx, miny, maxx, maxy = plant.boundary.bounds

    def move_out(feat):
        feat["geometry"] = {"type": "Point", "coordinates": [maxx + 200.0, maxy + 200.0]}

    def negative_height(feat):
        feat["properties"]["height_m"] = -5.0

    _edit_layer(folder, "equipment", tank_id, move_out)
    _edit_layer(folder, "buildings", building_id, negative_height)
    meta = yaml.safe_load((folder / "plant.yaml").read_text())
    sensor_id = meta["sensors"][0]["id"]
    meta["sensors"][0]["type"] = "telepathic"
    (folder / "plant.yaml").write_text(yaml.safe_dump(meta))

    with pytest.raises(PlantValidationError) as exc:
        load_plant(folder)
    issues = exc.value.issues
    located = {(i.file, i.feature) for i in issues}
    assert ("equipment.geojson", tank_id) in located
    assert ("buildings.geojson", building_id) in located
    assert ("plant.yaml", sensor_id) in located
    by_feature = {i.feature: i for i in issues}
    assert "height_m" in by_feature[building_id].field
    assert "type" in by_feature[sensor_id].field
    assert by_feature[tank_id].field == "geometry" and "outside" in by_feature[tank_id].message
    assert len(issues) == 3, [str(i) for i in issues]


def test_reference_errors_are_located(tmp_path):
    folder = _copy(tmp_path, "small_plant")
    meta = yaml.safe_load((folder / "plant.yaml").read_text())
    meta["inventories"].append({"equipment_id": "NOPE", "substance": "ammonia", "mass_kg": 10, "phase": "liquid"})
    meta["shifts"][0]["headcount"]["A-MISSING"] = 3
    meta["sensors"][0]["gas"] = None
    (folder / "plant.yaml").write_text(yaml.safe_dump(meta))
    issues = validate_plant(folder)
    msgs = [str(i) for i in issues]
    assert any("NOPE" in m and "unknown equipment" in m for m in msgs)
    assert any("A-MISSING" in m for m in msgs)
    assert any("GD-01" in m and "must name its gas" in m for m in msgs)


def test_broken_files_are_reported_not_raised(tmp_path):
    folder = _copy(tmp_path, "small_plant")
    (folder / "roads.geojson").write_text("{ not json")
    (folder / "gates.geojson").unlink()
    msgs = [str(i) for i in validate_plant(folder)]
    assert any(m.startswith("roads.geojson") and "JSON syntax" in m for m in msgs)
    assert any(m.startswith("gates.geojson") and "missing layer" in m for m in msgs)


def test_duplicate_ids_and_wrong_geometry_type(tmp_path):
    folder = _copy(tmp_path, "small_plant")
    f = folder / "buildings.geojson"
    data = json.loads(f.read_text())
    data["features"].append(dict(data["features"][0]))
    data["features"].append({"type": "Feature", "properties": {"id": "B-PT", "height_m": 3},
                             "geometry": {"type": "Point", "coordinates": [10, 10]}})
    f.write_text(json.dumps(data))
    msgs = [str(i) for i in validate_plant(folder)]
    assert any("duplicate feature id" in m for m in msgs)
    assert any("B-PT" in m and "expected Polygon" in m for m in msgs)
