"""Effects: probit checks, LC50s, thermal probits (AEGL, TNO Purple Book, CCPS, Eisenberg 1975), path dose."""
from __future__ import annotations

import numpy as np
import pytest

from safetwin.emergency_planner.physics.effects import (
    flammable_thresholds, lc50_mg_m3, probit_to_probability, thermal_dose_w_m2_s, thermal_exposure_along_path,
    thermal_probit_eisenberg_w_m2_s, thermal_probit_purple_book_kw_m2_s, thermal_probit_purple_book_w_m2_s,
    thermal_probit_tno_green_w_m2_s, toxic_exposure_along_path, toxic_probit_constant_exposure, toxic_thresholds)
from safetwin.substances import get_substance, mg_m3_to_ppm, ppm_to_mg_m3

REL = 0.02

PROBIT_CASES = [  # substance, ppm, minutes, TNO (Pr, P), CCPS (Pr, P) — [CALC] from the published probits
    ("chlorine", 20.0, 60, (1.279, 9.9e-5), (0.989, 3.0e-5)),
    ("chlorine", 1000.0, 10, (5.763, 0.777), (6.539, 0.938)),
    ("ammonia", 1100.0, 60, (1.776, 6.3e-4), (-2.41, None)),
    ("ammonia", 10000.0, 10, (4.399, 0.274), (2.438, 0.0052)),
    ("hydrogen sulfide", 50.0, 60, (0.657, 7.0e-6), (-2.28, None)),
    ("hydrogen sulfide", 1000.0, 10, (4.557, 0.329), (5.219, 0.587)),
]


@pytest.mark.parametrize("name,ppm,minutes,tno,ccps", PROBIT_CASES)
def test_toxic_probit_checks(name, ppm, minutes, tno, ccps) -> None:
    """Source: [CALC] probit checks (TNO Purple Book mg/m³·min; CCPS ppm·min)."""
    s = get_substance(name)
    c = ppm_to_mg_m3(ppm, s.molar_mass_g_mol)
    for key, (pr_e, p_e) in (("tno", tno), ("ccps", ccps)):
        pr = float(toxic_probit_constant_exposure(c, minutes * 60.0, s.probits[key], s.molar_mass_g_mol))
        assert pr == pytest.approx(pr_e, abs=0.01)
        if p_e is not None:
            assert float(probit_to_probability(pr)) == pytest.approx(p_e, rel=0.05 if p_e < 1e-3 else REL)


@pytest.mark.parametrize("name,lc50_ppm", [("chlorine", 574.0), ("ammonia", 13507.0), ("hydrogen sulfide", 1262.0)])
def test_lc50_10min_tno(name: str, lc50_ppm: float) -> None:
    """Source: [CALC] 10-min LC50 of the TNO Purple Book probits: Cl2 574 ppm, NH3 13 507 ppm, H2S 1262 ppm."""
    s = get_substance(name)
    c = lc50_mg_m3(s.probits["tno"], 600.0, s.molar_mass_g_mol)
    assert mg_m3_to_ppm(c, s.molar_mass_g_mol) == pytest.approx(lc50_ppm, rel=REL)


@pytest.mark.parametrize("q_kw,t,eis,pb,green", [
    (5.0, 60, 4.3e-5, 0.034, 0.0037), (12.5, 20, 1.5e-4, 0.065, 0.0091), (12.5, 60, 0.213, 0.903, 0.674),
    (25.0, 20, 0.107, 0.804, 0.502), (37.5, 20, 0.556, 0.987, 0.918)])
def test_thermal_probits(q_kw, t, eis, pb, green) -> None:
    """Source: [CALC] thermal probit table (Eisenberg −38.48, Purple Book −36.38, Green −37.23)."""
    q = q_kw * 1e3
    assert float(probit_to_probability(thermal_probit_eisenberg_w_m2_s(q, t))) == pytest.approx(eis, rel=0.05)
    assert float(probit_to_probability(thermal_probit_purple_book_w_m2_s(q, t))) == pytest.approx(pb, rel=REL)
    assert float(probit_to_probability(thermal_probit_tno_green_w_m2_s(q, t))) == pytest.approx(green, rel=0.05)
    # unit trap: the kW/m² form must agree with the W/m² form
    assert float(thermal_probit_purple_book_kw_m2_s(q_kw, t)) == pytest.approx(float(thermal_probit_purple_book_w_m2_s(q, t)))


def test_aegl_per_duration_and_conversions() -> None:
    """Source: US EPA/NRC AEGL table [PUB-mem] and conversions (Cl2 20 ppm = 57.96 mg/m³; NH3 1100 ppm = 765.7 mg/m³;
    H2S 50 ppm = 69.65 mg/m³); AEGLs stored per duration, ERPG/IDLH kept."""
    cl2, nh3, h2s = get_substance("chlorine"), get_substance("ammonia"), get_substance("hydrogen sulfide")
    assert toxic_thresholds(cl2, 3600).levels["RED"] == pytest.approx(57.96, rel=1e-3)
    assert toxic_thresholds(nh3, 3600).levels["RED"] == pytest.approx(765.7, rel=1e-3)
    assert toxic_thresholds(h2s, 3600).levels["RED"] == pytest.approx(69.65, rel=1e-3)
    assert cl2.toxic.aegl_at(3, 600) == pytest.approx(50.0) and cl2.toxic.aegl_at(3, 1800) == pytest.approx(28.0)
    assert toxic_thresholds(cl2, 600).labels["RED"] == "AEGL-3 (10 min)"
    assert 20.0 < cl2.toxic.aegl_at(3, 2700) < 28.0  # log-log interpolation between 30 and 60 min
    assert toxic_thresholds(nh3, 3600, "erpg").labels["RED"] == "ERPG-3"
    assert mg_m3_to_ppm(toxic_thresholds(h2s, 3600, "idlh").levels["RED"], h2s.molar_mass_g_mol) == pytest.approx(100.0)


def test_flammable_thresholds_nfpa() -> None:
    """Source: NFPA 497 via chemicals (methane 5.0 %, propane 2.1 %); ALOHA 60 %/10 % LEL."""
    ch4 = get_substance("methane")
    assert ch4.lfl_vol_frac == pytest.approx(0.05) and ch4.lfl_method == "NFPA 497 (2008)"
    assert get_substance("propane").lfl_vol_frac == pytest.approx(0.021)
    a = flammable_thresholds(ch4, "aloha")
    lfl = ppm_to_mg_m3(5e4, ch4.molar_mass_g_mol)
    assert a.levels["RED"] == pytest.approx(0.6 * lfl) and a.levels["YELLOW"] == pytest.approx(0.1 * lfl)
    b = flammable_thresholds(ch4, "lfl")
    assert b.levels["ORANGE"] == pytest.approx(0.5 * lfl)


def test_path_exposure_batch_and_max_duration() -> None:
    """Source: [CALC] TNO Purple Book probit (Cl2 1000 ppm for 10 min → P = 0.777) and Purple Book practice (exposure ≤ 30 min):
    a batch of agents, one standing in the cloud for 10 min, one outside it."""
    cl2 = get_substance("chlorine")
    c_in = ppm_to_mg_m3(1000.0, cl2.molar_mass_g_mol)

    def conc(x, y, t):
        return np.where((x < 50) & (t <= 600), c_in, 0.0)

    t = np.linspace(0, 1200, 241)
    pos = np.zeros((2, t.size, 2))
    pos[1, :, 0] = 100.0
    ex = toxic_exposure_along_path(pos, t, conc, cl2)
    assert ex.probability[0] == pytest.approx(0.777, rel=REL) and ex.probability[1] == 0.0
    assert ex.dose_mg_s_m3[0] == pytest.approx(c_in * 600, rel=0.01)
    short = toxic_exposure_along_path(pos, t, conc, cl2, max_exposure_s=300.0)
    assert short.probability[0] < ex.probability[0]
    ccps = toxic_exposure_along_path(pos[0], t, conc, cl2, probit_set="ccps")
    assert float(ccps.probability) == pytest.approx(0.938, rel=REL)


def test_thermal_dose_path() -> None:
    """Source: [CALC] 12.5 kW/m² for 60 s → Purple Book P = 0.903; dose = t·q^{4/3}."""
    t = np.linspace(0, 60, 61)
    assert float(thermal_dose_w_m2_s(np.full(61, 12.5e3), t)) == pytest.approx(60 * 12.5e3 ** (4 / 3))
    dose, p = thermal_exposure_along_path(np.zeros((61, 2)), t, lambda x, y, tt: np.full(np.shape(x), 12.5e3))
    assert float(p) == pytest.approx(0.903, rel=REL)
