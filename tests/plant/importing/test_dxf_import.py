"""CAD import: the demo plant drawn in millimetres on a site grid turned 28° from east, with
layers, hatches, circles, attribute blocks and label blocks, imports to the demo plant (within
0.1 m), and the imported plant runs a scenario, an evacuation and the control room."""
from __future__ import annotations

import numpy as np
import pytest

from importing.site_files import ROTATION_DEG, dxf_source, plant_differences, write_dxf
from safetwin.plant_models.importers.dxf import read_dxf
from safetwin.plant_models.importers.frame import PlantFrame
from safetwin.plant_models.importers.mapping import DxfSource
from safetwin.plant_models.loader import load_plant


def test_dxf_imports_to_the_demo_plant(dxf_site, demo_plant):
    folder, outcome = dxf_site
    assert outcome.replaced and not outcome.validation and not outcome.errors, outcome.summary_lines()
    imported = load_plant(folder / "plant")
    assert plant_differences(demo_plant, imported, tol_m=0.1) == []
    # the drawing really is turned and in mm: its site's south edge runs at -28° and is 900 000 units long
    import ezdxf

    site = next(e for e in ezdxf.readfile(folder / "site.dxf").modelspace() if e.dxf.layer == "SITE")
    (x0, y0), (x1, y1) = [tuple(p[:2]) for p in site.get_points()[:2]]
    assert np.degrees(np.arctan2(y1 - y0, x1 - x0)) == pytest.approx(-ROTATION_DEG)
    assert np.hypot(x1 - x0, y1 - y0) == pytest.approx(900_000.0)
    pumps = [e for e in imported.equipment.values() if e.kind.value == "pump"]
    assert pumps and all(e.geometry.geom_type == "Point" and e.diameter_m for e in pumps)  # from CIRCLEs


def test_what_the_drawing_has_beyond_the_plant_is_reported(dxf_site):
    _, outcome = dxf_site
    unmapped = {(u.field, u.message.split(" (layer")[0]) for u in outcome.unmapped}
    assert ("layer", "a text that labels nothing") in unmapped
    assert ("layer", "no rule for layer 'GRID'") in unmapped


def test_units_and_turned_frame_without_control_points(tmp_path, demo_plant):
    """The same drawing read with units and rotation instead of control points lands in the same place."""
    from importing.site_files import DRAWING_ORIGIN_MM

    path = write_dxf(demo_plant, tmp_path / "site.dxf", noise=False)
    spec = dxf_source(demo_plant, file=path.name)
    spec["frame"] = {"units": "mm", "rotation_deg": ROTATION_DEG, "drawing_origin": list(DRAWING_ORIGIN_MM)}
    res = read_dxf(DxfSource.model_validate(spec), base_dir=tmp_path)
    gates = {f.properties["id"]: f.geometry for f in res.features if f.target == "gates"}
    for gid, gate in demo_plant.gates.items():
        assert gates[gid].distance(gate.geometry) < 1e-6
    # a wrong rotation is not silently accepted: control points that disagree are reported
    spec["frame"] = {"control_points": [dict(cp) for cp in dxf_source(demo_plant)["frame"]["control_points"]]}
    spec["frame"]["control_points"][2]["projected"][0] += 3.0
    res = read_dxf(DxfSource.model_validate(spec), base_dir=tmp_path,
                   plant=PlantFrame(demo_plant.crs, demo_plant.meta.origin.easting, demo_plant.meta.origin.northing))
    assert any(e.field == "frame.control_points" for e in res.errors)


def test_unlabelled_polygon_and_label_outside_are_reported(tmp_path):
    import ezdxf

    doc = ezdxf.new(units=6)
    doc.blocks.new("TAG")
    msp = doc.modelspace()
    msp.add_lwpolyline([(0, 0), (10, 0), (10, 10), (0, 10)], close=True, dxfattribs={"layer": "B"})
    ref = msp.add_blockref("TAG", (50, 50), dxfattribs={"layer": "B"})
    ref.add_attrib("TAG", "B-9")
    doc.saveas(tmp_path / "x.dxf")
    src = DxfSource.model_validate({"type": "dxf", "file": "x.dxf", "layers": [
        {"layer": "B", "to": "buildings", "labels": {"block": "TAG"}, "defaults": {"height_m": 5}}]})
    res = read_dxf(src, base_dir=tmp_path)
    assert not res.features
    assert {u.field for u in res.unmapped} == {"id", "label"}


@pytest.fixture(scope="module")
def imported(dxf_site):
    return load_plant(dxf_site[0] / "plant")


def test_imported_plant_runs_a_scenario_like_the_demo(dxf_site, imported, tmp_path):
    """The chlorine drill on the imported plant: the same detections, alarm and response as on the demo."""
    from importlib import resources
    from pathlib import Path

    from safetwin.emergency_planner.incident import run_incident
    from safetwin.scenarios.loader import load_scenario

    library = Path(str(resources.files("safetwin.scenarios").joinpath("library/chlorine_drum_leak_wind_shift.yaml")))
    mine = tmp_path / "drill.yaml"
    mine.write_text(library.read_text().replace("plant: demo_plant", f"plant: {dxf_site[0] / 'plant'}"))
    ours = run_incident(load_scenario(mine), evacuate=False)
    theirs = run_incident(load_scenario(library), evacuate=False)
    assert ours.events and [(e.kind, e.source) for e in ours.events] == [(e.kind, e.source) for e in theirs.events]
    assert np.allclose([e.time_s for e in ours.events], [e.time_s for e in theirs.events])
    assert any(e.kind == "alarm" for e in ours.events)


def test_imported_plant_evacuates(imported):
    from safetwin.emergency_planner.plant_evacuation import evacuate_plant, shift_positions

    res = evacuate_plant(imported, shift_positions(imported, "night", seed=1), seed=1)
    assert res.complete and not res.deadlock
    caps = imported.muster_points
    assert all(n <= caps[g].capacity for g, n in res.summary()["per_goal"].items())


def test_imported_plant_drives_the_control_room(imported):
    """The control room's snapshot source and 3D scene build from the imported plant."""
    pytest.importorskip("pyvista")
    import time

    from safetwin.twin.state import TwinState
    from safetwin.ui.common import UIContext
    from safetwin.ui.control_room import ControlRoom
    from safetwin.ui.snapshot import SnapshotSource

    state = TwinState(imported)
    source = SnapshotSource(state, min_interval_s=0.0)
    snap = source.latest()
    assert set(snap.sensor_ids) <= set(imported.sensors) and len(snap.sensor_ids) > 50
    room = ControlRoom(UIContext(source), lang="en")
    state.update_positions(["a"], [845.0], [55.0], ts=time.time())
    assert room.tick() is not None and len(room.plan.people_source.data["x"]) == 1


def test_arcs_become_polygons_within_the_chord_tolerance(tmp_path):
    """A bulged polyline (a 10 m x 20 m plot with a semicircular end, drawn in mm) keeps its area."""
    import ezdxf

    doc = ezdxf.new(units=4)
    msp = doc.modelspace()
    # (x, y, start width, end width, bulge): bulge 1 is a half circle from (20 m, 0) to (20 m, 10 m)
    msp.add_lwpolyline([(0, 0, 0, 0, 0), (20000, 0, 0, 0, 1), (20000, 10000, 0, 0, 0), (0, 10000, 0, 0, 0)],
                       format="xyseb", close=True, dxfattribs={"layer": "AREAS"})
    msp.add_text("A-1", dxfattribs={"layer": "AREAS"}).set_placement((5000, 5000))
    doc.saveas(tmp_path / "arc.dxf")
    src = DxfSource.model_validate({"type": "dxf", "file": "arc.dxf", "flatten_m": 0.01,
                                    "layers": [{"layer": "AREAS", "to": "areas", "labels": {"text": True}}]})
    res = read_dxf(src, base_dir=tmp_path)
    (area,) = res.features
    exact = 200.0 + np.pi * 5.0**2 / 2
    assert area.geometry.area == pytest.approx(exact, rel=2e-3) and area.geometry.bounds[2] == pytest.approx(25.0, abs=0.01)
    assert len(area.geometry.exterior.coords) < 200   # chords of about 1 cm error, not of 0.01 mm
