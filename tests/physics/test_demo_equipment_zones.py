"""Every inventory of the demo plant runs through the consequence entry point as ``safetwin consequence
zones`` runs it (default grid, default release), and the cloud zones reach as far as the model's exact
centreline — within one cell diagonal (docs/consequence.md). The suite runs one inventory per substance
and phase; ``SAFETWIN_ALL_EQUIPMENT=1`` runs all of them."""
from __future__ import annotations

import math
import os

import pytest

from safetwin.emergency_planner.physics.consequence import Weather
from safetwin.emergency_planner.plant_consequence import default_grid, is_toxic, release_at_equipment, zones_at_equipment
from safetwin.plant_models.loader import bundled_plant_path, load_plant
from safetwin.substances import get_substance

PLANT = load_plant(bundled_plant_path("demo_plant"))
WEATHER = Weather(3.0, 270.0, "D")


def _kinds(equipment_id: str) -> list[str | None]:
    """The CLI's default outcome, and the cloud the leak gives before it ignites (a toxic inventory's
    default is its cloud)."""
    sub = get_substance(PLANT.inventories[equipment_id].substance)
    return [None] if is_toxic(sub.name) else [None, "flammable_gas"]


def _equipment() -> list[str]:
    """Every inventory with ``SAFETWIN_ALL_EQUIPMENT=1`` (47 cases, about 3 min on 2 cores; run for
    BENCHMARKS.md), else the first of each substance and phase (9 of 25: the suite's short form)."""
    if os.environ.get("SAFETWIN_ALL_EQUIPMENT") == "1":
        return sorted(PLANT.inventories)
    first: dict[tuple[str, str], str] = {}
    for eq in sorted(PLANT.inventories):
        inv = PLANT.inventories[eq]
        first.setdefault((inv.substance, inv.phase.value), eq)
    return sorted(first.values())


CASES = [(eq, kind) for eq in _equipment() for kind in _kinds(eq)]


@pytest.mark.parametrize(("equipment_id", "kind"), CASES, ids=[f"{e}-{k or 'default'}" for e, k in CASES])
def test_demo_equipment_through_the_entry_point(equipment_id: str, kind: str | None) -> None:
    """Source: the chosen model's point formula (its centreline reach by root finding)."""
    result = zones_at_equipment(PLANT, equipment_id, WEATHER, kind=kind)
    assert [z.level for z in result.zones], result.notes
    if result.cloud is None:
        return
    grid = default_grid(release_at_equipment(PLANT, equipment_id, result.kind))
    cell = math.hypot(grid.dx_m, grid.dy_m)
    half = grid.nx * grid.dx_m / 2 - 2 * grid.dx_m
    rel = result.release
    for z in result.zones:
        exact = result.cloud.reach_m(z.threshold)
        if z.geometry.is_empty:
            assert exact <= cell, (z.level, exact)
            continue
        if exact >= half:
            continue  # beyond the grid: the CLI notes that the zone reaches the edge
        assert abs(z.max_distance_m(rel.x_m, rel.y_m) - exact) <= cell, (z.level, exact, z.max_distance_m(rel.x_m, rel.y_m))
