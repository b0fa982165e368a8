"""Societal risk with an off-site area at its declared indoor fraction, presence-weighted worker risk
and delayed ignition at the plant's ignition sources — each checked against a hand calculation.

One gasoline tank whose instantaneous release fills a 20 m pool that burns (ignition forced to 1),
1 m/s wind (an untilted, circular flame), a uniform wind rose: every wind direction kills the same
people. Lethality (TNO Purple Book CPR 18E, the QRA's data): heat-radiation probit
Pr = −36.38 + 2.56·ln(t·q^{4/3}) with t = 20 s (q in W/m²); outdoors P = 1 at ≥ 35 kW/m² or inside
the pool, else 0.14 × the probit; indoors 1 at ≥ 35 kW/m² or inside the pool, else 0. The flux q(r)
is the physics solid-flame model (the hand calculation evaluates it at each person's grid node).

* Off-site: 5000 people by day, 1200 by night in a block just east of the fence, 10.5–18 m from the
  pool's centre where the fire kills some outdoors and nobody indoors (dense on purpose, so that N
  spans several people), 60 % indoors (declared);
  N = Σ people × ((1 − 0.6)·P_out + 0.6·P_in), PLL = f·(f_day·N_day + f_night·N_night), F(≥N).
  The plant has no shifts (such a plant raised NameError before), then the same with an office
  shift (its 90 % indoors must not leak to the off-site block, as it did).
* Workers: 6 people of a 12 h day shift in a process area (30 % indoors) west of the tank, on site
  2000 h a year: IRPA = 2000/8760 × f × mean over the area's nodes of (0.7·P_out + 0.3·P_in).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import shapely
from scipy.stats import norm
from shapely.geometry import Polygon

from safetwin.emergency_planner.physics.fire import pool_fire
from safetwin.emergency_planner.qra import run_qra
from safetwin.emergency_planner.qra.engine import prepare
from safetwin.substances import get_substance

from plants import area, one_tank, uniform_weather

F_EVENT = 1.0e-4
POOL_D_M = 20.0
WIND_M_S = 1.0
DAY = 0.5
OFFSITE = [[30.5, 15.0], [37.0, 15.0], [37.0, 25.0], [30.5, 25.0]]     # 10.5–18 m from the pool's centre
OFFSITE_DAY, OFFSITE_NIGHT, OFFSITE_INDOOR = 5000.0, 1200.0, 0.6
WORK_AREA = [[2.0, 15.0], [9.5, 15.0], [9.5, 25.0], [2.0, 25.0], [2.0, 15.0]]        # west of the pool
WORKERS = 6
KW = {"grid_m": 0.5, "margin_m": 60.0, "scheduler": "serial", "progress": False}


def _plant(root, name: str, *, shifts: list[dict], areas: list[dict]):
    offsite = {"id": "OFF-E", "name": "Works east of the fence", "category": "general_class1",
               "population_day": OFFSITE_DAY, "population_night": OFFSITE_NIGHT, "indoor_fraction": OFFSITE_INDOOR,
               "polygon": OFFSITE}
    return one_tank(root, name, pool_d_m=POOL_D_M, f_per_year=F_EVENT, wind_m_s=WIND_M_S, shifts=shifts, areas=areas,
                    boundary=[[0, 0], [28, 0], [28, 40], [0, 40], [0, 0]],
                    qra={"weather": uniform_weather(WIND_M_S, day_fraction=DAY), "population": {"offsite": [offsite]}})


def _lethality(r_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(outdoors, indoors) probability of death at distances r (m) from the pool centre, by hand."""
    fire = pool_fire(get_substance("gasoline"), POOL_D_M, wind_speed_m_s=WIND_M_S)
    assert fire.tilt_deg == 0.0
    q = np.array([float(fire.flux_w_m2(float(r), 0.0)) for r in r_m])
    with np.errstate(divide="ignore"):
        p = norm.cdf(-36.38 + 2.56 * np.log(20.0 * q ** (4 / 3)) - 5.0)
    certain = (q >= 35e3) | (r_m <= POOL_D_M / 2)
    return np.where(certain, 1.0, 0.14 * p), certain.astype(float)


def _nodes(grid, ring) -> np.ndarray:
    X, Y = grid.mesh()
    inside = shapely.contains_xy(Polygon(ring), X, Y)
    return np.column_stack([X[inside], Y[inside]])


@pytest.fixture(scope="module")
def plants(tmp_path_factory):
    root = tmp_path_factory.mktemp("qra_pop")
    office = area("A-OFFICE", "office", [[0.0, 32.0], [10.0, 32.0], [10.0, 40.0], [0.0, 40.0], [0.0, 32.0]])
    work = area("A-WORK", "process", WORK_AREA)
    return {"no_shifts": _plant(root, "no_shifts", shifts=[], areas=[office, work]),
            "shifts": _plant(root, "with_shifts", areas=[office, work],
                             shifts=[{"name": "day", "start": "08:00", "end": "20:00",
                                      "headcount": {"A-WORK": WORKERS, "A-OFFICE": 3}}])}


def test_offsite_area_at_its_declared_indoor_fraction_fn_and_pll_by_hand(plants, tmp_path):
    res = run_qra(plants["no_shifts"], out_dir=tmp_path, **KW)     # no shifts: ran into a NameError before
    pts = _nodes(res.grid, OFFSITE)
    p_out, p_in = _lethality(np.hypot(pts[:, 0] - 20.0, pts[:, 1] - 20.0))
    per_person = np.mean((1 - OFFSITE_INDOOR) * p_out + OFFSITE_INDOOR * p_in)
    n_day, n_night = OFFSITE_DAY * per_person, OFFSITE_NIGHT * per_person
    pll = F_EVENT * (DAY * n_day + (1 - DAY) * n_night)
    print(f"N day {n_day:.2f}, night {n_night:.2f}; PLL hand {pll:.4e}, QRA {res.pll:.4e}")
    assert n_night > 3 and n_day > 1.2 * n_night + 2               # the two steps of the F-N curve are apart
    assert res.pll == pytest.approx(pll, rel=0.02)
    fn = dict(zip(res.fn_n.astype(int), res.fn_f))
    assert fn[math.floor(0.98 * n_night)] == pytest.approx(F_EVENT, rel=0.02)           # day and night cases
    assert fn[math.ceil(1.02 * n_night)] == pytest.approx(F_EVENT * DAY, rel=0.02)      # the day cases only
    assert fn[math.floor(0.98 * n_day)] == pytest.approx(F_EVENT * DAY, rel=0.02)
    assert fn.get(math.ceil(1.02 * n_day), 0.0) == 0.0
    assert res.workers == [] and res.criteria["workers_pass"] is None


def test_shifts_do_not_change_the_offsite_indoor_fraction(plants):
    """With an office shift (90 % indoors) the off-site block keeps its declared 60 %: before, it took
    the indoor fraction of the last on-site area counted."""
    _, _, _, ctx, pop, _ = prepare(plants["shifts"], grid_m=2.0, margin_m=60.0)
    (target,) = pop.targets
    assert target["indoor_fraction_day"] == target["indoor_fraction_night"] == OFFSITE_INDOOR
    off = pop.counts[:, -len(_nodes(ctx.grid, OFFSITE)):]           # off-site nodes come after the shift's
    assert off[1].sum() / (off[0].sum() + off[1].sum()) == pytest.approx(OFFSITE_INDOOR)
    assert off[3].sum() / (off[2].sum() + off[3].sum()) == pytest.approx(OFFSITE_INDOOR)
    assert off[0].sum() + off[1].sum() == pytest.approx(OFFSITE_DAY)


def test_presence_weighted_worker_risk_by_hand(plants, tmp_path):
    res = run_qra(plants["shifts"], out_dir=tmp_path, **KW)
    by_id = {w["id"]: w for w in res.workers}
    w = by_id["day:A-WORK"]
    presence = 2000.0 / 8760.0                                       # min(2000 h, 12 h × 365) of 8760 h
    assert w["presence_fraction"] == pytest.approx(presence) and w["indoor_fraction"] == 0.3
    pts = _nodes(res.grid, WORK_AREA)
    p_out, p_in = _lethality(np.hypot(pts[:, 0] - 20.0, pts[:, 1] - 20.0))
    irpa = presence * F_EVENT * np.mean(0.7 * p_out + 0.3 * p_in)
    print(f"IRPA hand {irpa:.4e} /y, QRA {w['irpa_per_year']:.4e} /y (upper {w['irpa_upper_per_year']:.3e})")
    assert w["irpa_per_year"] == pytest.approx(irpa, rel=0.02)
    # upper bound: the most exposed place of the area, unprotected outdoors (location-specific risk)
    fire = pool_fire(get_substance("gasoline"), POOL_D_M, wind_speed_m_s=WIND_M_S)
    q_edge = float(fire.flux_w_m2(20.0 - 9.5, 0.0))                 # the area's nearest edge, 10.5 m from the centre
    p_edge = norm.cdf(-36.38 + 2.56 * math.log(20.0 * q_edge ** (4 / 3)) - 5.0)
    assert w["irpa_upper_per_year"] == pytest.approx(presence * F_EVENT * p_edge, rel=0.02)
    assert w["irpa_upper_per_year"] >= w["irpa_per_year"]
    (row,) = [r for r in res.criteria["workers"] if r["id"] == "day:A-WORK"]
    assert row["limit_per_year"] == 1e-3 and row["pass"] and row["zone"] == "broadly acceptable"  # < 1e-6 /y
    office = by_id["day:A-OFFICE"]
    assert office["irpa_per_year"] < w["irpa_per_year"]
    rep = json.loads((tmp_path / "criteria_report.json").read_text())
    assert {x["id"] for x in rep["workers"]} == {"day:A-WORK", "day:A-OFFICE"}
    assert "IRPA" in (tmp_path / "criteria_report.md").read_text()
