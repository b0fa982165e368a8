"""The typer sub-app writes every output file."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from safetwin.app.cli.qra import app
from safetwin.plant_models.loader import bundled_plant_path


def test_cli_run_writes_outputs(tmp_path):
    r = CliRunner().invoke(app, ["run", str(bundled_plant_path("small_plant")), "--grid-m", "10", "--margin-m", "150",
                                 "--out", str(tmp_path), "--scheduler", "serial", "--criteria", "UK_HSE"])
    assert r.exit_code == 0, r.output
    for name in ("ir_grid.npz", "risk_contours_local.geojson", "risk_contours_wgs84.geojson", "fn_curve.csv",
                 "criteria_report.json", "criteria_report.md"):
        assert (tmp_path / name).is_file(), name
    fc = json.loads((tmp_path / "risk_contours_wgs84.geojson").read_text())
    lon, lat = fc["features"][2]["geometry"]["coordinates"][0][0]
    assert 100 < lon < 130 and 20 < lat < 40  # EPSG:32650 → eastern China
    rep = json.loads((tmp_path / "criteria_report.json").read_text())
    assert rep["criteria"]["criteria"] == "UK_HSE"


def test_offsite_population_outside_the_grid_is_refused_not_dropped(tmp_path):
    """People of an off-site target the grid does not reach would silently vanish from the F-N curve."""
    r = CliRunner().invoke(app, ["run", str(bundled_plant_path("demo_plant")), "--grid-m", "10", "--margin-m", "100",
                                 "--scheduler", "serial", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "outside the risk grid" in r.output
