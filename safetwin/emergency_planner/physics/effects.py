"""Effects on people: toxic and flammable threat levels, toxic load and probit lethality along
a path, thermal probits and thermal dose.

Sources: AEGL (US EPA/NRC), ERPG (AIHA), IDLH (NIOSH); lethality probits of the TNO Purple Book
CPR 18E and CCPS / Crowl & Louvar; thermal probits of Eisenberg 1975, Tsao & Perry 1979 (= TNO
Purple Book), the TNO Green Book and Lees; ALOHA's levels of concern (docs/sources.md). Probit
functions carry their units in their names; probit ↔ probability uses ``P = Φ(Pr − 5)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from collections.abc import Callable

import numpy as np
from scipy.special import ndtr

from safetwin.substances import ProbitConstants, Substance, mg_m3_to_ppm, ppm_to_mg_m3

Level = Literal["RED", "ORANGE", "YELLOW", "BLUE"]
LEVELS: tuple[str, ...] = ("RED", "ORANGE", "YELLOW", "BLUE")


def probit_to_probability(probit: np.ndarray | float) -> np.ndarray:
    """``P = Φ(Pr − 5)`` (standard normal CDF)."""
    return ndtr(np.asarray(probit, dtype=float) - 5.0)


# ----------------------------------------------------------------------------------------------
# threat levels
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ThresholdSet:
    """Thresholds per risk level in ``units`` (``"mg/m3"`` for toxic and flammable clouds,
    ``"W/m2"`` for thermal flux, ``"Pa"`` for overpressure), with what they are and where they
    come from."""

    levels: dict[str, float]
    labels: dict[str, str]
    basis: str
    notes: tuple[str, ...] = ()
    units: str = "mg/m3"


def toxic_thresholds(substance: Substance, exposure_duration_s: float = 3600.0,
                     basis: Literal["aegl", "erpg", "idlh"] = "aegl") -> ThresholdSet:
    """Toxic levels of concern (ALOHA defaults): RED = AEGL-3, ORANGE = AEGL-2, YELLOW = AEGL-1 for the
    exposure duration (log–log interpolation between the tabulated 10/30/60 min, 4 h, 8 h values).

    ERPG-3/2/1 are used when the substance has no AEGLs (or when ``basis="erpg"``); ``basis="idlh"``
    gives RED = IDLH only. Values converted to mg/m³ at 25 °C, 1 atm.

    >>> from safetwin.substances import get_substance
    >>> t = toxic_thresholds(get_substance("chlorine"), 3600.0)
    >>> round(t.levels["RED"], 2), t.units, t.labels["RED"]
    (58.0, 'mg/m3', 'AEGL-3 (60 min)')
    """
    tox = substance.toxic
    if tox is None:
        raise ValueError(f"{substance.name} has no toxic levels")
    mw = substance.molar_mass_g_mol
    notes: list[str] = []
    if basis == "aegl" and not tox.aegl_ppm:
        basis = "erpg"
        notes.append("no AEGL: ERPG used")
    if basis == "aegl":
        mins = exposure_duration_s / 60.0
        lab = f"{mins:.0f} min" if mins < 120 else f"{mins / 60:.0f} h"
        lv = {"RED": 3, "ORANGE": 2, "YELLOW": 1}
        levels = {k: float(ppm_to_mg_m3(tox.aegl_at(v, exposure_duration_s), mw)) for k, v in lv.items()}
        labels = {k: f"AEGL-{v} ({lab})" for k, v in lv.items()}
        return ThresholdSet(levels, labels, f"AEGL, {lab}: {tox.sources.get('aegl', '')}", tuple(notes))
    if basis == "erpg":
        if tox.erpg_ppm is None:
            raise ValueError(f"{substance.name} has neither AEGL nor ERPG values")
        e1, e2, e3 = tox.erpg_ppm
        levels = {"RED": float(ppm_to_mg_m3(e3, mw)), "ORANGE": float(ppm_to_mg_m3(e2, mw)),
                  "YELLOW": float(ppm_to_mg_m3(e1, mw))}
        return ThresholdSet(levels, {"RED": "ERPG-3", "ORANGE": "ERPG-2", "YELLOW": "ERPG-1"},
                            f"ERPG: {tox.sources.get('erpg', '')}", tuple(notes))
    if tox.idlh_ppm is None:
        raise ValueError(f"{substance.name} has no IDLH")
    return ThresholdSet({"RED": float(ppm_to_mg_m3(tox.idlh_ppm, mw))}, {"RED": "IDLH"},
                        f"IDLH: {tox.sources.get('idlh', '')}", tuple(notes))


def flammable_thresholds(substance: Substance, scheme: Literal["aloha", "lfl"] = "aloha") -> ThresholdSet:
    """Flammable-area levels (mg/m³ at 25 °C, 1 atm).

    ``"aloha"``: RED = 60 % LEL, YELLOW = 10 % LEL (ALOHA's flash-fire LOCs; 60 % covers
    concentration patchiness of 10-min means). ``"lfl"``: RED = LFL, ORANGE = ½ LFL.
    """
    lfl = substance.lfl_mg_m3
    if lfl is None:
        raise ValueError(f"{substance.name} has no LFL")
    src = f"LFL {substance.lfl_vol_frac:.3%} vol ({substance.lfl_method})"
    if scheme == "aloha":
        return ThresholdSet({"RED": 0.6 * lfl, "YELLOW": 0.1 * lfl}, {"RED": "60% LEL", "YELLOW": "10% LEL"},
                            f"ALOHA flammable LOCs; {src}")
    return ThresholdSet({"RED": lfl, "ORANGE": 0.5 * lfl}, {"RED": "LFL", "ORANGE": "1/2 LFL"}, src)


# ----------------------------------------------------------------------------------------------
# toxic load and probits
# ----------------------------------------------------------------------------------------------
def _in_probit_units(conc_mg_m3: np.ndarray, probit: ProbitConstants, molar_mass_g_mol: float) -> np.ndarray:
    c = np.asarray(conc_mg_m3, dtype=float)
    return c if probit.concentration_unit == "mg/m3" else np.asarray(mg_m3_to_ppm(c, molar_mass_g_mol))


def toxic_load(conc_mg_m3: np.ndarray, times_s: np.ndarray, probit: ProbitConstants, molar_mass_g_mol: float) -> np.ndarray:
    """Toxic load ``∫ Cⁿ dt`` along the last axis, in the probit's units (C in mg/m³ or ppm, t in min).

    ``conc_mg_m3`` has shape (..., nt), ``times_s`` shape (nt,) or broadcastable (..., nt). Trapezoidal rule.
    """
    c = np.maximum(_in_probit_units(conc_mg_m3, probit, molar_mass_g_mol), 0.0)
    t_min = np.asarray(times_s, dtype=float) / 60.0
    return np.trapezoid(c**probit.n, t_min, axis=-1)


def toxic_probit(load: np.ndarray | float, probit: ProbitConstants) -> np.ndarray:
    """``Pr = a + b·ln(load)`` (−inf → probability 0 for zero load)."""
    with np.errstate(divide="ignore"):
        return probit.a + probit.b * np.log(np.asarray(load, dtype=float))


def toxic_probit_constant_exposure(conc_mg_m3: np.ndarray | float, duration_s: float, probit: ProbitConstants,
                                   molar_mass_g_mol: float) -> np.ndarray:
    """Probit for a constant concentration (mg/m³) held for ``duration_s``."""
    c = _in_probit_units(np.asarray(conc_mg_m3, dtype=float), probit, molar_mass_g_mol)
    return toxic_probit(c**probit.n * duration_s / 60.0, probit)


def lc50_mg_m3(probit: ProbitConstants, duration_s: float, molar_mass_g_mol: float) -> float:
    """Concentration (mg/m³) giving 50 % lethality (Pr = 5) for a constant exposure of ``duration_s``."""
    c = (np.exp((5.0 - probit.a) / probit.b) / (duration_s / 60.0)) ** (1.0 / probit.n)
    return float(c if probit.concentration_unit == "mg/m3" else ppm_to_mg_m3(c, molar_mass_g_mol))


@dataclass(frozen=True)
class PathExposure:
    """Exposure along one or more paths. Arrays have the leading shape of the path batch.

    ``concentration_mg_m3`` (…, nt) is what the person breathed; ``load`` is ∫Cⁿdt in the probit units;
    ``probability`` = Φ(Pr − 5).
    """

    concentration_mg_m3: np.ndarray
    dose_mg_s_m3: np.ndarray
    load: np.ndarray
    probit: np.ndarray
    probability: np.ndarray
    peak_mg_m3: np.ndarray
    probit_source: str


def toxic_exposure_along_path(
    positions_xy_m: np.ndarray,
    times_s: np.ndarray,
    concentration: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    substance: Substance,
    *,
    probit_set: str = "tno",
    max_exposure_s: float | None = None,
    indoor_factor: np.ndarray | float = 1.0,
) -> PathExposure:
    """Toxic dose, toxic load and probit lethality along paths — what the evacuation agents call.

    Parameters
    ----------
    positions_xy_m: (…, nt, 2) positions in the plant frame (m); a batch of agents is (n_agents, nt, 2).
    times_s: (nt,) or (…, nt) sample times (s from t0), increasing along the last axis.
    concentration: ``f(x_m, y_m, t_s) -> mg/m³`` on paired arrays (e.g. :meth:`PuffTrain.concentration_at`
        or :func:`~.dispersion.plume_as_function`).
    probit_set: ``"tno"`` (mg/m³, min) or ``"ccps"`` (ppm, min).
    max_exposure_s: integrate only the first ``max_exposure_s`` after the first non-zero
        concentration (Purple Book practice: 30 min = 1800 s).
    indoor_factor: multiplier on the outdoor concentration (1 outdoors; an indoor/outdoor ratio
        for sheltering), broadcast against (…, nt).

    >>> import numpy as np
    >>> from safetwin.substances import get_substance
    >>> cl2 = get_substance("chlorine")
    >>> f = lambda x, y, t: np.full(np.shape(x), cl2.ppm_to_mg_m3(1000.0))
    >>> t = np.linspace(0, 600, 61); p = np.zeros((61, 2))
    >>> round(float(toxic_exposure_along_path(p, t, f, cl2).probability), 3)   # TNO Purple Book probit [CALC]
    0.777
    """
    pos = np.asarray(positions_xy_m, dtype=float)
    if pos.shape[-1] != 2:
        raise ValueError("positions must have a trailing dimension of 2 (x, y)")
    t = np.broadcast_to(np.asarray(times_s, dtype=float), pos.shape[:-1])
    c = np.asarray(concentration(pos[..., 0], pos[..., 1], t), dtype=float) * indoor_factor
    if max_exposure_s is not None:
        started = np.cumsum(c > 0, axis=-1) > 0
        t_first = np.where(started.any(axis=-1), np.take_along_axis(t, np.argmax(started, axis=-1)[..., None], -1)[..., 0],
                           np.inf)
        c = np.where(t <= t_first[..., None] + max_exposure_s, c, 0.0)
    try:
        probit = substance.probits[probit_set]
    except KeyError:
        raise ValueError(f"{substance.name} has no '{probit_set}' probit; available: {sorted(substance.probits)}") from None
    load = toxic_load(c, t, probit, substance.molar_mass_g_mol)
    pr = toxic_probit(load, probit)
    return PathExposure(concentration_mg_m3=c, dose_mg_s_m3=np.trapezoid(c, t, axis=-1), load=load, probit=pr,
                        probability=probit_to_probability(pr), peak_mg_m3=c.max(axis=-1), probit_source=probit.source)


# ----------------------------------------------------------------------------------------------
# thermal radiation
# ----------------------------------------------------------------------------------------------
def thermal_dose_w_m2_s(flux_w_m2: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """Thermal dose ``∫ q^{4/3} dt`` ((W/m²)^{4/3}·s) along the last axis (trapezoidal)."""
    return np.trapezoid(np.maximum(np.asarray(flux_w_m2, dtype=float), 0.0) ** (4.0 / 3.0), times_s, axis=-1)


def _thermal_probit(a: float, b: float, dose: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return a + b * np.log(np.asarray(dose, dtype=float))


def thermal_probit_eisenberg_w_m2_s(flux_w_m2: np.ndarray | float, duration_s: np.ndarray | float) -> np.ndarray:
    """Eisenberg (1975): ``Pr = −38.48 + 2.56·ln(t·q^{4/3})``, q in W/m², t in s."""
    return _thermal_probit(-38.48, 2.56, np.asarray(duration_s) * np.asarray(flux_w_m2, dtype=float) ** (4 / 3))


def thermal_probit_purple_book_w_m2_s(flux_w_m2: np.ndarray | float, duration_s: np.ndarray | float) -> np.ndarray:
    """Tsao & Perry (1979) = TNO Purple Book: ``Pr = −36.38 + 2.56·ln(t·q^{4/3})``, q in W/m², t in s."""
    return _thermal_probit(-36.38, 2.56, np.asarray(duration_s) * np.asarray(flux_w_m2, dtype=float) ** (4 / 3))


def thermal_probit_purple_book_kw_m2_s(flux_kw_m2: np.ndarray | float, duration_s: np.ndarray | float) -> np.ndarray:
    """The Purple Book probit with q in kW/m²: constant −12.80 (= −36.38 + 2.56·(4/3)·ln 1000)."""
    return _thermal_probit(-36.38 + 2.56 * (4 / 3) * np.log(1000.0), 2.56,
                           np.asarray(duration_s) * np.asarray(flux_kw_m2, dtype=float) ** (4 / 3))


def thermal_probit_tno_green_w_m2_s(flux_w_m2: np.ndarray | float, duration_s: np.ndarray | float) -> np.ndarray:
    """TNO Green Book: ``Pr = −37.23 + 2.56·ln(t·q^{4/3})``, q in W/m², t in s."""
    return _thermal_probit(-37.23, 2.56, np.asarray(duration_s) * np.asarray(flux_w_m2, dtype=float) ** (4 / 3))


def thermal_probit_lees_w_m2_s(flux_w_m2: np.ndarray | float, duration_s: np.ndarray | float) -> np.ndarray:
    """Lees: ``Pr = −29.02 + 1.99·ln(0.5·t·q^{4/3})``, q in W/m², t in s."""
    return _thermal_probit(-29.02, 1.99, 0.5 * np.asarray(duration_s) * np.asarray(flux_w_m2, dtype=float) ** (4 / 3))


THERMAL_PROBITS_W_M2_S: dict[str, Callable[[np.ndarray, np.ndarray | float], np.ndarray]] = {
    "eisenberg": thermal_probit_eisenberg_w_m2_s,
    "purple_book": thermal_probit_purple_book_w_m2_s,
    "tno_green": thermal_probit_tno_green_w_m2_s,
    "lees": thermal_probit_lees_w_m2_s,
}


def thermal_lethality_from_dose(dose_w_m2_43_s: np.ndarray, model: str = "purple_book") -> np.ndarray:
    """Probability of death from a thermal dose ∫q^{4/3}dt ((W/m²)^{4/3}·s) for a named probit."""
    consts = {"eisenberg": (-38.48, 2.56), "purple_book": (-36.38, 2.56), "tno_green": (-37.23, 2.56)}
    a, b = consts[model]
    return probit_to_probability(_thermal_probit(a, b, dose_w_m2_43_s))


def thermal_exposure_along_path(positions_xy_m: np.ndarray, times_s: np.ndarray,
                                flux: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
                                model: str = "purple_book") -> tuple[np.ndarray, np.ndarray]:
    """Thermal dose ((W/m²)^{4/3}·s) and probability of death along paths (…, nt, 2);
    ``flux(x, y, t) -> W/m²``."""
    pos = np.asarray(positions_xy_m, dtype=float)
    t = np.broadcast_to(np.asarray(times_s, dtype=float), pos.shape[:-1])
    q = flux(pos[..., 0], pos[..., 1], t)
    dose = thermal_dose_w_m2_s(q, t)
    return dose, thermal_lethality_from_dose(dose, model)


THERMAL_LEVELS_KW_M2: dict[str, float] = {"RED": 10.0, "ORANGE": 5.0, "YELLOW": 2.0}
"""ALOHA thermal levels of concern (kW/m², 60 s): 10 potentially lethal, 5 second-degree burns, 2 pain."""
