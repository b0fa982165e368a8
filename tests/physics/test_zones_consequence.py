"""Zones (contours → shapely, GeoJSON) and the consequence entry point."""
from __future__ import annotations

import json

import numpy as np
import pytest
from shapely.geometry import Point

from safetwin.emergency_planner.physics.consequence import ReleaseSpec, Weather, compute_consequence_zones, estimate_source
from safetwin.emergency_planner.physics.grid import GridSpec
from safetwin.substances import get_substance
from safetwin.emergency_planner.physics.zones import zones_from_field, zones_to_geojson


def test_zones_of_radial_field() -> None:
    """Source: analytic check — for f = 100/r the zone f ≥ k is a disc of radius 100/k (area π(100/k)²)."""
    g = GridSpec.around(0, 0, 100, 1.0)
    X, Y = g.mesh()
    f = 100.0 / np.maximum(np.hypot(X, Y), 0.5)
    zs = zones_from_field(g, f, {"YELLOW": 2.0, "RED": 10.0}, units="u")
    assert [z.level for z in zs] == ["RED", "YELLOW"]
    assert zs[0].area_m2 == pytest.approx(np.pi * 100, rel=0.01)
    assert zs[1].area_m2 == pytest.approx(np.pi * 2500, rel=0.01)
    assert zs[1].geometry.contains(zs[0].geometry.buffer(-0.5))
    gj = zones_to_geojson(zs, scenario="x")
    json.dumps(gj)
    assert gj["features"][0]["properties"]["level"] == "RED" and gj["features"][0]["geometry"]["type"] == "Polygon"


def test_toxic_zones_point_downwind() -> None:
    """Source: DESIGN.md conventions (wind FROM θ; downwind (−sin θ, −cos θ)); AEGL thresholds (US EPA/NRC).
    Ammonia gas leak at (100, 50) with wind from the north: the zones lie south of the source, nested RED ⊂ ORANGE ⊂ YELLOW."""
    rel = ReleaseSpec(100.0, 50.0, "ammonia", "toxic_gas", inventory_kg=5000.0, hole_diameter_m=0.02, pressure_pa=8e5,
                      equipment_id="V-101")
    r = compute_consequence_zones(rel, Weather(3.0, 0.0, "D"), GridSpec.around(100, 50, 1000, 5))
    assert [z.level for z in r.zones] == ["RED", "ORANGE", "YELLOW"]
    assert r.zones[0].area_m2 < r.zones[1].area_m2 < r.zones[2].area_m2
    yel = r.zones[2].geometry
    c = yel.centroid
    assert c.y < 50.0 - 100 and abs(c.x - 100.0) < 20
    assert yel.contains(r.zones[1].geometry.buffer(-1.0))
    assert r.averaging_time_s == 3600.0 and r.model.startswith("gaussian_plume:briggs_rural:D")
    gj = r.to_geojson()
    assert gj["features"][0]["properties"]["equipment_id"] == "V-101"
    json.dumps(gj)


def test_chlorine_flagged_dense_and_flammable_zone() -> None:
    """Source: Britter–McQuaid check (chlorine is dense: the dense-gas model is chosen; forcing the
    Gaussian is flagged invalid); ALOHA 60 %/10 % LEL zones for methane (docs/consequence.md)."""
    rel = ReleaseSpec(0, 0, "chlorine", "toxic_gas", 2000.0, hole_diameter_m=0.01, pressure_pa=8e5)
    r = compute_consequence_zones(rel, Weather(3.0, 270.0, "D"), GridSpec.around(0, 0, 1500, 10))
    assert r.valid and r.regime.model == "dense" and r.model.startswith("dense_gas:slab")
    forced = compute_consequence_zones(rel, Weather(3.0, 270.0, "D"), GridSpec.around(0, 0, 1500, 10),
                                       dispersion_model="gaussian")
    assert not forced.valid and forced.model.startswith("gaussian_plume")
    m = compute_consequence_zones(ReleaseSpec(0, 0, "methane", "flammable_gas", 500.0, hole_diameter_m=0.05,
                                              pressure_pa=20e5), Weather(2.0, 90.0, "F"), GridSpec.around(0, 0, 300, 1))
    assert [z.level for z in m.zones] == ["RED", "YELLOW"] and m.zones[1].area_m2 > m.zones[0].area_m2 > 0
    assert m.zones[1].geometry.centroid.x < 0  # wind from the east → cloud to the west


def test_pool_and_jet_fire_zones() -> None:
    """Source: F1-type pool fire (tests/physics/test_fire.py) drawn as ALOHA 10/5/2 kW/m² zones; API 521 jet fire."""
    r = compute_consequence_zones(ReleaseSpec(0, 0, "gasoline", "pool_fire", 50000.0, pool_diameter_m=10.0),
                                  Weather(0.5, 0.0, "D"), GridSpec.around(0, 0, 60, 0.5))
    yellow = next(z for z in r.zones if z.level == "YELLOW")
    assert r.field_units == "W/m2" and yellow.geometry.contains(Point(0, 0))
    j = compute_consequence_zones(ReleaseSpec(0, 0, "propane", "jet_fire", 5000.0, rate_kg_s=5.0),
                                  Weather(3.0, 0.0, "D"), GridSpec.around(0, 0, 80, 1.0))
    red = j.zones[0]
    # vertical jet: radiating point 1 m + L/2 ≈ 17 m up; ground distance to 10 kW/m² below the slant radius (τ < 1)
    r10 = np.sqrt(0.3 * 5.0 * get_substance("propane").heat_of_combustion_j_kg / (4 * np.pi * 1e4))
    assert red.level == "RED" and 0.5 * np.sqrt(r10**2 - 17.05**2) < red.max_distance_m(0, 0) < np.sqrt(r10**2 - 17.0**2) + 1


def test_source_estimate_liquefied_chlorine() -> None:
    """Source: CCPS flash fraction cp(T−Tb)/ΔHv (≈0.17 for chlorine at 20 °C) and 2×flash airborne rule (on
    request; by default the flash-atomised liquid stays airborne)."""
    s = get_substance("chlorine")
    rel = ReleaseSpec(0, 0, "chlorine", "toxic_gas", 1000.0, hole_diameter_m=0.01, pressure_pa=8e5)
    st = estimate_source(rel, s, rainout="ccps_double_flash")
    assert st.phase == "two-phase" and st.airborne_fraction == pytest.approx(0.347, rel=0.02)
    assert estimate_source(rel, s).airborne_fraction == 1.0
