"""The wheel, installed in a clean venv without extras, validates and runs the bundled demo plant
from outside the repository (``tools/package_check.py``; ~2-3 min, most of it pip)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "package_check.py"


def _tool():
    spec = importlib.util.spec_from_file_location("package_check", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_core_wheel_in_a_clean_venv_runs_the_demo_plant(tmp_path):
    tool = _tool()
    wheel = tool.build_wheel(tmp_path)
    tool.make_venv(tmp_path / "core", wheel)
    outside = tmp_path / "outside"
    outside.mkdir()
    seen = tool.smoke(tmp_path / "core", outside)
    assert seen["extra_packages_installed"] == "[]", "the core install pulled in an extra's package"
    assert str(seen["validate"]).startswith("OK demo_plant")
    assert seen["zone_levels"] == ["RED", "ORANGE", "YELLOW"]
    facade = seen["facade"]
    assert facade["alarm_s"] is not None and facade["people"] == 10 and facade["dose_column"]
    assert "site-packages" in facade["plant_path"]           # the bundled plant, found through package resources
    assert seen["import_failures"] == [], "a module imports an extra's package at module level"
    assert "pip install 'safetwin[cluster]'" in seen["cluster_error"]
    assert "pip install 'safetwin[ui]'" in seen["plant_check_report_error"][0]
    assert seen["demo_ui_line"] and "pip install 'safetwin[ui]'" in seen["demo_ui_line"][0]  # the API ran without it
    assert tool.site_packages_mb(tmp_path / "core") > 100
