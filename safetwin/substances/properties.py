"""Substance property data for consequence models, with sources.

Pure-component constants come from the ``chemicals`` package (Caleb Bell, ChEDL, MIT) where it
has them: molar mass, normal boiling point, critical constants, acentric factor, flammability
limits (**method pinned to "NFPA 497 (2008)"**, the basis ALOHA/CAMEO use; the package default
is IEC 60079-20-1), Antoine coefficients (Poling et al. table), heat of vaporisation at Tb (CRC
table), lower heating value (``combustion_data`` from the ideal-gas heat of formation) and
saturated-liquid density at Tb (COSTALD). The rest is a cited table in this module:

* pool burning: mass burning rate m''∞ and kβ — Babrauskas, SFPE Handbook, "Heat release rates"
  (table of large-pool burning data) [PUB-mem] (marks explained in docs/sources.md);
* liquid heat capacity near Tb and the ideal-gas heat-capacity ratio — Perry's Chemical Engineers'
  Handbook / NIST Chemistry WebBook [PUB-mem];
* AEGL-1/2/3 per duration (10 min, 30 min, 60 min, 4 h, 8 h) — US EPA / NRC final AEGL values
  [PUB-mem]; ERPG (AIHA) and IDLH (NIOSH) likewise;
* lethality probits — TNO Purple Book CPR 18E (C in mg/m³, t in min) and CCPS / Crowl & Louvar
  (C in ppm, t in min) [PUB-mem].

Gasoline is represented by an n-hexane surrogate for volatility, molar mass and flammability
(CAS 110-54-3) with gasoline's own pool-burning data (Babrauskas; ΔHc 43.7 MJ/kg, the F1 case of
tests/physics/test_fire.py). Kerosene (n-dodecane surrogate) is included for the F2 case.

Concentration conversion at 25 °C and 1 atm: ``mg/m³ = ppm · M[g/mol] / 24.45``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Literal

import numpy as np

from .names import CANONICAL, canonical_name

MOLAR_VOLUME_L_25C = 24.45  # L/mol at 25 °C, 101.325 kPa
LFL_METHOD = "NFPA 497 (2008)"


def ppm_to_mg_m3(ppm: np.ndarray | float, molar_mass_g_mol: float) -> np.ndarray | float:
    """ppm (by volume) → mg/m³ at 25 °C, 1 atm.

    >>> round(ppm_to_mg_m3(20.0, 70.906), 2)   # chlorine AEGL-3 60 min
    58.0
    """
    return ppm * molar_mass_g_mol / MOLAR_VOLUME_L_25C


def mg_m3_to_ppm(mg_m3: np.ndarray | float, molar_mass_g_mol: float) -> np.ndarray | float:
    """mg/m³ → ppm (by volume) at 25 °C, 1 atm."""
    return mg_m3 * MOLAR_VOLUME_L_25C / molar_mass_g_mol


@dataclass(frozen=True)
class ProbitConstants:
    """Toxic lethality probit ``Pr = a + b·ln(∫ Cⁿ dt)`` with C in ``concentration_unit`` and t in minutes."""

    a: float
    b: float
    n: float
    concentration_unit: Literal["mg/m3", "ppm"]
    source: str
    time_unit: Literal["min"] = "min"


DURATIONS_S: tuple[float, ...] = (600.0, 1800.0, 3600.0, 14400.0, 28800.0)


@dataclass(frozen=True)
class ToxicLevels:
    """Toxic levels in ppm. ``aegl[level]`` is a tuple over :data:`DURATIONS_S` (10, 30, 60 min, 4 h, 8 h)."""

    aegl_ppm: dict[int, tuple[float, ...]]
    erpg_ppm: tuple[float, float, float] | None
    idlh_ppm: float | None
    sources: dict[str, str]

    def aegl_at(self, level: int, duration_s: float) -> float:
        """AEGL-``level`` (ppm) for an exposure duration (s), interpolated log–log between the
        tabulated durations (ten Berge Cⁿt = k form) and held constant outside 10 min – 8 h."""
        vals = np.asarray(self.aegl_ppm[level], dtype=float)
        d = float(np.clip(duration_s, DURATIONS_S[0], DURATIONS_S[-1]))
        for dur, v in zip(DURATIONS_S, vals):
            if abs(d - dur) < 1e-9 * dur:
                return float(v)
        return float(np.exp(np.interp(np.log(d), np.log(DURATIONS_S), np.log(vals))))


@dataclass(frozen=True)
class Substance:
    """Properties in SI units. ``None`` where a property does not apply (e.g. heat of combustion of chlorine)."""

    name: str
    cas: str
    molar_mass_kg_mol: float
    boiling_point_k: float
    critical_temperature_k: float
    critical_pressure_pa: float
    antoine_log10_pa: tuple[float, float, float] | None  # log10(P/Pa) = A − B/(T + C), T in K
    lfl_vol_frac: float | None
    ufl_vol_frac: float | None
    heat_of_combustion_j_kg: float | None  # lower heating value
    heat_of_vaporization_j_kg: float  # at the normal boiling point
    liquid_density_kg_m3: float  # saturated liquid at Tb (or 15 °C for fuels that boil above ambient)
    liquid_heat_capacity_j_kg_k: float
    gamma: float  # ideal-gas cp/cv
    burning_rate_kg_m2_s: float | None = None  # m''∞
    k_beta_1_m: float | None = None
    toxic: ToxicLevels | None = None
    probits: dict[str, ProbitConstants] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    lfl_method: str = LFL_METHOD
    laminar_burning_velocity_m_s: float | None = None  # stoichiometric mixture with air, ambient conditions
    reactivity: Literal["low", "medium", "high"] | None = None  # fuel reactivity class of the BST method

    @property
    def molar_mass_g_mol(self) -> float:
        return self.molar_mass_kg_mol * 1000.0

    def vapour_pressure_pa(self, temperature_k: np.ndarray | float) -> np.ndarray:
        """Saturation pressure (Pa) from the Antoine coefficients (clipped to the critical pressure)."""
        if self.antoine_log10_pa is None:
            raise ValueError(f"no vapour-pressure data for {self.name}")
        a, b, c = self.antoine_log10_pa
        return np.minimum(10.0 ** (a - b / (np.asarray(temperature_k, dtype=float) + c)), self.critical_pressure_pa)

    @property
    def vapour_heat_capacity_j_kg_k(self) -> float:
        """Ideal-gas cp (J/kg/K) from the heat-capacity ratio: ``cp = R/M·γ/(γ − 1)``."""
        return 8.314462618 / self.molar_mass_kg_mol * self.gamma / (self.gamma - 1.0)

    def heat_of_vaporization_at(self, temperature_k: float) -> float:
        """Latent heat (J/kg) at T by Watson's (1943) correlation from the value at the normal
        boiling point, ``ΔHv(T) = ΔHv(Tb)·((Tc − T)/(Tc − Tb))^0.38``; 0 at and above Tc."""
        tc, tb = self.critical_temperature_k, self.boiling_point_k
        if temperature_k >= tc:
            return 0.0
        return float(self.heat_of_vaporization_j_kg * ((tc - temperature_k) / (tc - tb)) ** 0.38)

    @property
    def liquid_density_reference_k(self) -> float:
        """Temperature (K) at which ``liquid_density_kg_m3`` is tabulated (Tb, or 15 °C above 300 K)."""
        return self.boiling_point_k if self.boiling_point_k < 300.0 else 288.15

    def liquid_density_at(self, temperature_k: float) -> float:
        """Saturated-liquid density (kg/m³) at T, scaled from the tabulated value with the Rackett
        (1970) temperature dependence ``ρ ∝ Z_RA^{−(1 − T/Tc)^{2/7}}`` (Z_RA = 0.27, typical of
        small molecules; Spencer & Danner 1972)."""
        tc = self.critical_temperature_k
        t = min(temperature_k, 0.999 * tc)
        t_ref = self.liquid_density_reference_k
        z_ra = 0.27
        exponent = (1.0 - t_ref / tc) ** (2.0 / 7.0) - (1.0 - t / tc) ** (2.0 / 7.0)
        return float(self.liquid_density_kg_m3 * z_ra ** exponent)

    def ppm_to_mg_m3(self, ppm: np.ndarray | float) -> np.ndarray | float:
        return ppm_to_mg_m3(ppm, self.molar_mass_g_mol)

    def mg_m3_to_ppm(self, mg_m3: np.ndarray | float) -> np.ndarray | float:
        return mg_m3_to_ppm(mg_m3, self.molar_mass_g_mol)

    @property
    def lfl_mg_m3(self) -> float | None:
        """LFL as a mass concentration (mg/m³) at 25 °C, 1 atm."""
        return None if self.lfl_vol_frac is None else float(self.ppm_to_mg_m3(self.lfl_vol_frac * 1e6))

    def gas_density_kg_m3(self, temperature_k: float, pressure_pa: float = 101325.0) -> float:
        return pressure_pa * self.molar_mass_kg_mol / (8.314462618 * temperature_k)


# ----------------------------------------------------------------------------------------------
# cited tables
# ----------------------------------------------------------------------------------------------
_SRC_AEGL = "US EPA/NRC final AEGLs (ppm) [PUB-mem: check the EPA AEGL table]"
_SRC_ERPG = "AIHA ERPG handbook (ppm) [PUB-mem]"
_SRC_IDLH = "NIOSH IDLH (ppm)"
_SRC_TNO = "TNO Purple Book CPR 18E (C mg/m³, t min) [PUB-mem]"
_SRC_CCPS = "CCPS / Crowl & Louvar (C ppm, t min) [PUB-mem]"
_SRC_BURN = "Babrauskas, SFPE Handbook, large-pool burning-rate table [PUB-mem]"
_SRC_FUEL = "Babrauskas, SFPE Handbook, large-pool burning-rate table (ΔHc, density) [PUB-mem]"
_SRC_FUEL_LIMITS = "NFPA 497 (2008) flammability limits of the fuel [PUB-mem]"
_SRC_COMBUSTION = ("laminar burning velocity (stoichiometric, ambient): Yellow Book CPR 14E ch. 5 table / Lewis & von "
                   "Elbe [PUB-mem]; BST reactivity class: CCPS 2010 ch. 5 (high: hydrogen, acetylene, ethylene, "
                   "ethylene and propylene oxide; low: methane, carbon monoxide; medium: the rest) [PUB-mem]")
_SRC_CP = "Perry's Chemical Engineers' Handbook / NIST WebBook, liquid near Tb [PUB-mem]"

_TOXIC: dict[str, ToxicLevels] = {
    "chlorine": ToxicLevels(
        aegl_ppm={1: (0.5, 0.5, 0.5, 0.5, 0.5), 2: (2.8, 2.8, 2.0, 1.0, 0.71), 3: (50.0, 28.0, 20.0, 10.0, 7.1)},
        erpg_ppm=(1.0, 3.0, 20.0), idlh_ppm=10.0,
        sources={"aegl": _SRC_AEGL, "erpg": _SRC_ERPG, "idlh": _SRC_IDLH}),
    "ammonia": ToxicLevels(
        aegl_ppm={1: (30.0,) * 5, 2: (220.0, 220.0, 160.0, 110.0, 110.0), 3: (2700.0, 1600.0, 1100.0, 550.0, 390.0)},
        erpg_ppm=(25.0, 150.0, 1500.0), idlh_ppm=300.0,
        sources={"aegl": _SRC_AEGL, "erpg": _SRC_ERPG + "; ERPG-3 1500 ppm in recent editions (750 in older) [UNVERIFIED]",
                 "idlh": _SRC_IDLH}),
    "hydrogen sulfide": ToxicLevels(
        aegl_ppm={1: (0.75, 0.60, 0.51, 0.36, 0.33), 2: (41.0, 32.0, 27.0, 20.0, 17.0), 3: (76.0, 59.0, 50.0, 37.0, 31.0)},
        erpg_ppm=(0.1, 30.0, 100.0), idlh_ppm=100.0,
        sources={"aegl": _SRC_AEGL, "erpg": _SRC_ERPG, "idlh": _SRC_IDLH}),
}

_PROBITS: dict[str, dict[str, ProbitConstants]] = {
    "chlorine": {"tno": ProbitConstants(-6.35, 0.5, 2.75, "mg/m3", _SRC_TNO),
                 "ccps": ProbitConstants(-8.29, 0.92, 2.0, "ppm", _SRC_CCPS)},
    "ammonia": {"tno": ProbitConstants(-15.6, 1.0, 2.0, "mg/m3", _SRC_TNO),
                "ccps": ProbitConstants(-35.9, 1.85, 2.0, "ppm", _SRC_CCPS)},
    "hydrogen sulfide": {"tno": ProbitConstants(-11.5, 1.0, 1.9, "mg/m3", _SRC_TNO),
                         "ccps": ProbitConstants(-31.42, 3.008, 1.43, "ppm", _SRC_CCPS)},
}

# name: (laminar burning velocity m/s, BST reactivity) for fuels that form explosive clouds
_COMBUSTION: dict[str, tuple[float, Literal["low", "medium", "high"]]] = {
    "methane": (0.448, "low"),
    "propane": (0.464, "medium"),
    "n-butane": (0.449, "medium"),
    "n-hexane": (0.46, "medium"),
    "gasoline": (0.46, "medium"),  # n-hexane surrogate
    "kerosene": (0.45, "medium"),
    "ethylene": (0.735, "high"),
    "hydrogen": (3.5, "high"),
    "benzene": (0.48, "medium"),
    "carbon monoxide": (0.17, "low"),
    "hydrogen sulfide": (0.41, "medium"),
    "ammonia": (0.07, "low"),
}

# name: (CAS, formula for combustion or None, m''∞ kg/m²s, kβ 1/m, liquid cp J/kgK, gamma, overrides)
_TABLE: dict[str, tuple[str, str | None, float | None, float | None, float, float, dict[str, float]]] = {
    "chlorine": ("7782-50-5", None, None, None, 926.0, 1.33, {}),
    "ammonia": ("7664-41-7", "NH3", None, None, 4440.0, 1.31, {}),
    "hydrogen sulfide": ("7783-06-4", "H2S", None, None, 2000.0, 1.32, {}),
    "methane": ("74-82-8", "CH4", 0.078, 1.1, 3480.0, 1.31, {}),  # LNG on land (Babrauskas)
    "propane": ("74-98-6", "C3H8", 0.099, 1.4, 2240.0, 1.13, {}),  # LPG (Babrauskas)
    "n-hexane": ("110-54-3", "C6H14", 0.074, 1.9, 2270.0, 1.06, {}),
    # gasoline: n-hexane surrogate for volatility/flammability; burning data and ΔHc of gasoline
    "gasoline": ("110-54-3", "C6H14", 0.055, 2.1, 2220.0, 1.06,
                 {"heat_of_combustion_j_kg": 43.7e6, "liquid_density_kg_m3": 740.0,
                  "lfl_vol_frac": 0.014, "ufl_vol_frac": 0.076}),
    # kerosene: n-dodecane surrogate; burning data and ΔHc of kerosene (the F2 case of tests/physics/test_fire.py)
    "kerosene": ("112-40-3", "C12H26", 0.039, 3.5, 2100.0, 1.03,
                 {"heat_of_combustion_j_kg": 43.2e6, "liquid_density_kg_m3": 820.0,
                  "lfl_vol_frac": 0.007, "ufl_vol_frac": 0.05}),
    "n-butane": ("106-97-8", "C4H10", 0.078, 2.7, 2390.0, 1.10, {}),
    "hydrogen": ("1333-74-0", "H2", 0.017, 6.1, 9690.0, 1.41, {}),  # liquid hydrogen pool (Babrauskas)
    "ethylene": ("74-85-1", "C2H4", None, None, 2420.0, 1.24, {}),
    "benzene": ("71-43-2", "C6H6", 0.085, 2.7, 1740.0, 1.10, {}),
    "carbon monoxide": ("630-08-0", "CO", None, None, 2150.0, 1.40, {}),
    "sulfur dioxide": ("7446-09-5", None, None, None, 1360.0, 1.29, {}),
    "hydrogen cyanide": ("74-90-8", "HCN", None, None, 2610.0, 1.31, {}),
}
assert set(_TABLE) == set(CANONICAL), "the property table and the canonical names must list the same substances"


def substance_names() -> list[str]:
    """Names accepted by :func:`get_substance` (aliases excluded)."""
    return sorted(_TABLE)


@cache
def get_substance(name: str) -> Substance:
    """Property record for a substance by name or alias (case-insensitive).

    Raises :class:`~safetwin.substances.names.UnknownSubstance` (a ``KeyError``) naming the closest
    known names.

    >>> s = get_substance("Chlorine")
    >>> round(s.molar_mass_g_mol, 2), s.toxic.aegl_at(3, 3600.0)
    (70.91, 20.0)
    """
    key = canonical_name(name)
    import chemicals
    from chemicals.combustion import combustion_data
    from chemicals.phase_change import Hvap_data_CRC, Riedel
    from chemicals.vapor_pressure import Psat_data_AntoinePoling
    from chemicals.volume import COSTALD

    cas, formula, mburn, kbeta, cp_l, gamma, over = _TABLE[key]
    mw_g = float(chemicals.MW(cas))
    mw = mw_g / 1000.0
    tb, tc, pc, om = float(chemicals.Tb(cas)), float(chemicals.Tc(cas)), float(chemicals.Pc(cas)), float(chemicals.omega(cas))
    sources = {
        "molar_mass, boiling_point, critical constants": "chemicals (ChEDL) default data",
        "lfl/ufl": f"chemicals.safety.LFL/UFL, method '{LFL_METHOD}'",
        "heat_of_vaporization": "chemicals Hvap_data_CRC (CRC Handbook) at Tb, else Riedel",
        "liquid_density": "chemicals COSTALD at Tb",
        "antoine": "chemicals Psat_data_AntoinePoling (Poling, Prausnitz & O'Connell)",
        "liquid_heat_capacity, gamma": _SRC_CP,
    }
    antoine = None
    if cas in Psat_data_AntoinePoling.index:
        row = Psat_data_AntoinePoling.loc[cas]
        antoine = (float(row["A"]), float(row["B"]), float(row["C"]))
    lfl = ufl = None
    lfl_method = LFL_METHOD
    methods = chemicals.safety.LFL_methods(CASRN=cas)
    if LFL_METHOD not in methods and methods:
        lfl_method = methods[0]  # e.g. IEC 60079-20-1 when NFPA 497 has no entry
        sources["lfl/ufl"] = f"chemicals.safety.LFL/UFL, method '{lfl_method}' (no NFPA 497 entry)"
    if methods:
        lfl = float(chemicals.safety.LFL(CASRN=cas, method=lfl_method))
        ufl_m = chemicals.safety.UFL_methods(CASRN=cas)
        ufl = float(chemicals.safety.UFL(CASRN=cas, method=lfl_method if lfl_method in ufl_m else ufl_m[0])) if ufl_m else None
    if cas in Hvap_data_CRC.index and np.isfinite(Hvap_data_CRC.loc[cas, "HvapTb"]):
        hvap = float(Hvap_data_CRC.loc[cas, "HvapTb"]) / mw
    else:
        hvap = float(Riedel(tb, tc, pc)) / mw
    rho_l = mw / float(COSTALD(tb if tb < 300 else 288.15, tc, float(chemicals.Vc(cas)), om))
    hc = None
    if formula is not None:
        hc = -float(combustion_data(formula, Hf=float(chemicals.Hfg(cas))).LHV) / mw
        sources["heat_of_combustion"] = "chemicals.combustion.combustion_data (LHV from Hf,gas)"
    values = dict(heat_of_combustion_j_kg=hc, liquid_density_kg_m3=rho_l, lfl_vol_frac=lfl, ufl_vol_frac=ufl)
    for k, v in over.items():
        values[k] = v
        sources[k] = (_SRC_FUEL_LIMITS if k.endswith("fl_vol_frac") else _SRC_FUEL) + " (the fuel's value, not the surrogate's)"
    if mburn is not None:
        sources["burning_rate, k_beta"] = _SRC_BURN
    s_l, reactivity = _COMBUSTION.get(key, (None, None))
    if s_l is not None:
        sources["laminar_burning_velocity, reactivity"] = _SRC_COMBUSTION
    return Substance(
        name=key, cas=cas, molar_mass_kg_mol=mw, boiling_point_k=tb, critical_temperature_k=tc, critical_pressure_pa=pc,
        antoine_log10_pa=antoine, lfl_vol_frac=values["lfl_vol_frac"], ufl_vol_frac=values["ufl_vol_frac"],
        heat_of_combustion_j_kg=values["heat_of_combustion_j_kg"],
        heat_of_vaporization_j_kg=hvap, liquid_density_kg_m3=float(values["liquid_density_kg_m3"] or rho_l),
        liquid_heat_capacity_j_kg_k=cp_l, gamma=gamma, burning_rate_kg_m2_s=mburn, k_beta_1_m=kbeta,
        toxic=_TOXIC.get(key), probits=_PROBITS.get(key, {}), sources=sources, lfl_method=lfl_method,
        laminar_burning_velocity_m_s=s_l, reactivity=reactivity,
    )
