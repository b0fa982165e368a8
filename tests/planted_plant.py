"""The demo plant with planted layout problems, written as a plant folder (for the plant-check tests):

* ``MP-CAGED`` — a muster point inside a fence ring without a gate (unreachable);
* ``MP-ONROOF`` — a muster point wholly on the roof of a building (nowhere to stand);
* ``A-CAGE`` — a staffed work area inside another gateless fence ring (no exit);
* ``V-PLANTED`` — an ammonia vessel in the LPG yard, 500 m from the ammonia detectors (uncovered).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from shapely.geometry import Point, box, mapping

PLANTED = {"unreachable_muster_point": {"MP-CAGED", "MP-ONROOF"}, "area_without_exit": {"A-CAGE"},
           "uncovered_equipment": {"V-PLANTED"}}


def _free_spot(plant, half_m: float, avoid: list) -> tuple[float, float]:
    """The first grid point (20 m steps) whose square of half-side ``half_m`` is open walkable ground."""
    from safetwin.plant_models.geometry import walkable_area

    walk = walkable_area(plant)
    for x in range(760, 100, -20):
        for y in range(560, 40, -20):
            sq = box(x - half_m, y - half_m, x + half_m, y + half_m)
            if walk.contains(sq.buffer(2)) and all(not sq.buffer(5).intersects(a) for a in avoid):
                return float(x), float(y)
    raise AssertionError("no free spot on the plant")


def write_planted_plant(folder: Path) -> Path:
    """Copy the demo plant to ``folder`` and plant the problems of the module docstring."""
    from safetwin.plant_models.loader import bundled_plant_path, load_plant

    shutil.copytree(bundled_plant_path("demo_plant"), folder)
    demo = load_plant(folder)
    avoid = [Point(m.position).buffer(m.radius_m) for m in demo.meta.muster_points]
    cage_xy = _free_spot(demo, 30, avoid)
    avoid.append(box(cage_xy[0] - 30, cage_xy[1] - 30, cage_xy[0] + 30, cage_xy[1] + 30))
    caged_xy = _free_spot(demo, 15, avoid)

    def ring(xy, half):
        return list(box(xy[0] - half, xy[1] - half, xy[0] + half, xy[1] + half).exterior.coords)

    def edit(name, fn):
        path = folder / f"{name}.geojson"
        data = json.loads(path.read_text())
        fn(data["features"])
        path.write_text(json.dumps(data))

    edit("fences", lambda fs: fs.extend([
        {"type": "Feature", "properties": {"id": "F-CAGE", "name": "cage around A-CAGE", "height_m": 2.5},
         "geometry": {"type": "LineString", "coordinates": ring(cage_xy, 28)}},
        {"type": "Feature", "properties": {"id": "F-MUSTER", "name": "fence around MP-CAGED", "height_m": 2.5},
         "geometry": {"type": "LineString", "coordinates": ring(caged_xy, 14)}}]))
    edit("areas", lambda fs: fs.append(
        {"type": "Feature", "properties": {"id": "A-CAGE", "name": "Fenced yard", "kind": "storage", "owner": ""},
         "geometry": mapping(box(cage_xy[0] - 20, cage_xy[1] - 20, cage_xy[0] + 20, cage_xy[1] + 20))}))
    edit("equipment", lambda fs: fs.append(
        {"type": "Feature", "properties": {"id": "V-PLANTED", "name": "Ammonia buffer vessel", "kind": "pressure_vessel",
                                           "height_m": 4.0, "diameter_m": 2.0, "area_id": "A-LPG"},
         "geometry": {"type": "Point", "coordinates": [30.0, 60.0]}}))
    roof = max(demo.buildings.values(), key=lambda b: b.geometry.area).geometry
    meta = yaml.safe_load((folder / "plant.yaml").read_text())
    meta["muster_points"] += [
        {"id": "MP-CAGED", "name": "Caged muster point", "position": list(caged_xy), "capacity": 50, "radius_m": 8.0},
        {"id": "MP-ONROOF", "name": "Roof muster point", "position": [roof.centroid.x, roof.centroid.y],
         "capacity": 50, "radius_m": 3.0}]
    meta["inventories"].append({"equipment_id": "V-PLANTED", "substance": "ammonia", "mass_kg": 2000.0,
                                "phase": "liquefied_gas", "temperature_k": 293.15, "pressure_pa": 860000.0})
    for shift in meta["shifts"]:
        shift["headcount"]["A-CAGE"] = 4
    (folder / "plant.yaml").write_text(yaml.safe_dump(meta, sort_keys=False, allow_unicode=True))
    load_plant(folder)  # still a valid plant: the problems are in its layout, not its format
    return folder
