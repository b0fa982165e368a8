"""One tank, one LOC event, a uniform wind rose: circular IR contours whose radii match the hand
calculation IR(r) = f × P_death(r) within 2 %.

Method: TNO Purple Book CPR 18E (1999), location-specific individual risk; heat-radiation lethality
by the Purple Book (Tsao & Perry) probit Pr = −36.38 + 2.56·ln(t·q^{4/3}) with t = 20 s
(q in W/m²), P = 1 above 35 kW/m²; the flux q(r) of the pool fire is the physics solid-flame model.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from scipy.optimize import brentq
from scipy.stats import norm

from safetwin.emergency_planner.physics.fire import pool_fire
from safetwin.substances import get_substance
from safetwin.emergency_planner.qra import run_qra

from plants import one_tank

F_EVENT = 1.0e-4        # /y, set in the plant's qra.yaml
POOL_D_M = 20.0
WIND_M_S = 1.0          # low enough that the flame is not tilted (AGA u* < 1): a symmetric field


@pytest.fixture(scope="module")
def one_tank_plant(tmp_path_factory):
    return one_tank(tmp_path_factory.mktemp("one_tank"), "one_tank", pool_d_m=POOL_D_M, f_per_year=F_EVENT,
                    wind_m_s=WIND_M_S)


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
