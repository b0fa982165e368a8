"""One tank, one LOC event, a uniform wind rose: circular IR contours whose radii match the hand
calculation IR(r) = f × P_death(r) within 2 %.

Method: TNO Purple Book CPR 18E (1999), location-specific individual risk; heat-radiation lethality
by the Purple Book (Tsao & Perry) probit Pr = −36.38 + 2.56·ln(t·q^{4/3}) with t = 20 s
(q in W/m²), P = 1 above 35 kW/m²; the flux q(r) of the pool fire is the physics solid-flame model.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import shapely
import yaml
from scipy.optimize import brentq
from scipy.stats import norm

from safetwin.emergency_planner.physics.fire import pool_fire
from safetwin.substances import get_substance
from safetwin.emergency_planner.qra import run_qra

F_EVENT = 1.0e-4        # /y, set in the plant's qra.yaml
POOL_D_M = 20.0
WIND_M_S = 1.0          # low enough that the flame is not tilted (AGA u* < 1): a symmetric field


def _fc(features=()):
    return {"type": "FeatureCollection", "features": list(features)}


@pytest.fixture(scope="module")
def one_tank_plant(tmp_path_factory):
    d = tmp_path_factory.mktemp("one_tank")
    gas = get_substance("gasoline")
    mass = math.pi * POOL_D_M**2 / 4 * 0.01 * gas.liquid_density_kg_m3  # spreads to 10 mm: D = 20 m
    (d / "plant.yaml").write_text(yaml.safe_dump({
        "schema_version": 1, "id": "one_tank", "name": "One tank", "crs": "EPSG:32650",
        "origin": {"easting": 672000.0, "northing": 3570000.0},
        "site_boundary": [[0, 0], [40, 0], [40, 40], [0, 40], [0, 0]],
        "inventories": [{"equipment_id": "TK-1", "substance": "gasoline", "mass_kg": mass, "phase": "liquid"}]}))
    tank = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [20.0, 20.0]},
            "properties": {"id": "TK-1", "kind": "atmospheric_tank", "height_m": 5.0, "diameter_m": 4.0}}
    (d / "equipment.geojson").write_text(json.dumps(_fc([tank])))
    for layer in ("buildings", "roads", "fences", "gates", "areas"):
        (d / f"{layer}.geojson").write_text(json.dumps(_fc()))
    (d / "qra.yaml").write_text(yaml.safe_dump({
        "loc_events": {"TK-1": [{"id": "INST", "type": "instantaneous", "frequency_per_year": F_EVENT,
                                 "source": "test"}]},
        "ignition": {"categories": {"liquid_k1": {"immediate": {"continuous": [1, 1, 1], "instantaneous": [1, 1, 1]},
                                                  "delayed_given_no_immediate": 0.0}}},
        "weather": {"period_fraction": {"day": 0.5, "night": 0.5},
                    "classes": [{"name": "D1", "stability": "D", "wind_speed_m_s": WIND_M_S, "p_day": 1.0, "p_night": 1.0}],
                    "rose": {"p": [1 / 12] * 12}, "sector_smear": True, "angular_resolution_deg": 0.5}}))
    return d


def test_uniform_rose_gives_circles_matching_hand_calculation(one_tank_plant, tmp_path):
    res = run_qra(one_tank_plant, grid_m=0.5, margin_m=60.0, out_dir=tmp_path, scheduler="serial", progress=False)
    fire = pool_fire(get_substance("gasoline"), POOL_D_M, wind_speed_m_s=WIND_M_S)
    assert fire.tilt_deg == 0.0

    def ir_hand(r: float) -> float:
        q = float(fire.flux_w_m2(r, 0.0))
        if q >= 35e3:
            return F_EVENT
        pr = -36.38 + 2.56 * math.log(20.0 * q ** (4 / 3))
        return F_EVENT * float(norm.cdf(pr - 5.0))

    for level in (1e-5, 1e-6, 1e-7):
        r_hand = brentq(lambda r: ir_hand(r) - level, POOL_D_M / 2 + 1e-3, 200.0)
        geom = res.contours[level]
        r_eq = math.sqrt(geom.area / math.pi)
        pts = shapely.get_coordinates(geom.exterior if geom.geom_type == "Polygon" else geom.convex_hull.exterior)
        d = np.hypot(pts[:, 0] - 20.0, pts[:, 1] - 20.0)
        err = abs(r_eq - r_hand) / r_hand
        print(f"IR {level:.0e}: hand r = {r_hand:.2f} m, contour r_eq = {r_eq:.2f} m "
              f"(min {d.min():.2f}, max {d.max():.2f}), error {100 * err:.2f} %")
        assert err < 0.02
        assert d.min() > 0.98 * r_hand and d.max() < 1.02 * r_hand  # circular
    assert res.ir.max() == pytest.approx(F_EVENT, rel=1e-6)  # inside the pool P = 1
