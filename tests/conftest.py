"""Shared fixtures: the bundled plants, loaded once per session."""
from __future__ import annotations

import pytest

from safetwin.plant_models.loader import bundled_plant_path, load_plant


@pytest.fixture(scope="session")
def small_plant():
    return load_plant(bundled_plant_path("small_plant"))


@pytest.fixture(scope="session")
def demo_plant():
    return load_plant(bundled_plant_path("demo_plant"))
