"""Effects of blast overpressure and impulse on people, buildings and equipment.

People and buildings — probits of the TNO Green Book, CPR 16E (1992), ch. 2, as used by the
Yellow Book and CCPS 2010 ch. 3 [PUB-mem: the constants below are as widely reproduced (e.g.
Lees, *Loss Prevention in the Process Industries*, ch. 17); check them against CPR 16E before a
regulatory calculation]. ``Ps`` is the peak side-on overpressure (Pa), ``i`` the positive-phase
side-on impulse (Pa·s), ``p0`` the ambient pressure (Pa):

* death from lung damage: ``Pr = 5 − 5.74·ln(4.2/P̄ + 1.3/ī)`` with ``P̄ = P_eff/p0`` and
  ``ī = i_eff/(p0^{1/2}·m^{1/3})`` (m = body mass, 70 kg); P_eff is the side-on overpressure for a
  person whose body lies along the blast (``exposure="side_on"``), the normally reflected one
  ``P_r = 2Ps·(7p0 + 4Ps)/(7p0 + Ps)`` (Rankine–Hugoniot, γ = 1.4) for a person standing against a
  wall (``exposure="reflected"``, the impulse doubled);
* death from head impact (thrown against a rigid surface): ``Pr = 5 − 8.49·ln(2430/Ps + 4.0e8/(Ps·i))``;
* death from whole-body displacement: ``Pr = 5 − 2.44·ln(7380/Ps + 1.3e9/(Ps·i))``;
* eardrum rupture: ``Pr = −12.6 + 1.524·ln Ps``;
* buildings (Jarrett's pressure–impulse form): ``Pr = 5 − 0.26·ln V`` with
  ``V = (4600/Ps)^3.9 + (110/i)^5.0`` (minor damage: windows, doors, roofs),
  ``V = (17500/Ps)^8.4 + (290/i)^9.3`` (major structural damage, uninhabitable),
  ``V = (40000/Ps)^7.4 + (460/i)^11.3`` (collapse).

Equipment — domino escalation by overpressure (Cozzani & Salzano 2004, *J. Haz. Mat.* 107:67;
thresholds of Cozzani et al. 2005, *J. Haz. Mat.* 127:14 [PUB-mem]): damage probits
``Pr = a + b·ln Ps`` for atmospheric (−18.96, 2.44), pressurised (−42.44, 4.33), elongated
(−28.07, 3.16) and auxiliary (−17.79, 2.18) equipment; no escalation below 22, 16, 31 and 37 kPa.

Zones: ALOHA's overpressure levels of concern (8.0 / 3.5 / 1.0 psi) in :data:`OVERPRESSURE_LEVELS_PA`.
"""
from __future__ import annotations

from typing import Literal

import numpy as np

from .blast import P_AMBIENT_PA
from .effects import probit_to_probability

EquipmentKind = Literal["atmospheric", "pressurised", "elongated", "auxiliary"]

PSI_PA = 6894.757
OVERPRESSURE_LEVELS_PA: dict[str, float] = {"RED": 8.0 * PSI_PA, "ORANGE": 3.5 * PSI_PA, "YELLOW": 1.0 * PSI_PA}
"""ALOHA levels of concern for a vapour cloud explosion (Pa): 8.0 psi destruction of buildings, 3.5 psi
serious injury likely, 1.0 psi shatters glass."""
OVERPRESSURE_LABELS: dict[str, str] = {"RED": "8.0 psi (55 kPa): destruction of buildings",
                                       "ORANGE": "3.5 psi (24 kPa): serious injury likely",
                                       "YELLOW": "1.0 psi (6.9 kPa): shatters glass"}

EQUIPMENT_THRESHOLD_PA: dict[str, float] = {"atmospheric": 22e3, "pressurised": 16e3, "elongated": 31e3,
                                            "auxiliary": 37e3}
"""Overpressure below which equipment does not escalate (Cozzani et al. 2005) [PUB-mem]."""
_EQUIPMENT_PROBIT: dict[str, tuple[float, float]] = {"atmospheric": (-18.96, 2.44), "pressurised": (-42.44, 4.33),
                                                     "elongated": (-28.07, 3.16), "auxiliary": (-17.79, 2.18)}
BODY_MASS_KG = 70.0


def _pos(value: np.ndarray | float) -> np.ndarray:
    return np.maximum(np.asarray(value, dtype=float), 1e-12)


def reflected_overpressure_pa(overpressure_pa: np.ndarray | float, ambient_pa: float = P_AMBIENT_PA) -> np.ndarray:
    """Normally reflected overpressure of a shock (Rankine–Hugoniot, γ = 1.4), ``2Ps(7p0 + 4Ps)/(7p0 + Ps)``.

    >>> round(float(reflected_overpressure_pa(10e3)) / 1e3, 2)   # about twice a weak shock
    20.83
    """
    ps = np.asarray(overpressure_pa, dtype=float)
    return 2.0 * ps * (7.0 * ambient_pa + 4.0 * ps) / (7.0 * ambient_pa + ps)


def lung_damage_probit(overpressure_pa: np.ndarray | float, impulse_pa_s: np.ndarray | float, *,
                       exposure: Literal["side_on", "reflected"] = "side_on", ambient_pa: float = P_AMBIENT_PA,
                       body_mass_kg: float = BODY_MASS_KG) -> np.ndarray:
    """Green Book probit of death by lung damage (module docstring)."""
    ps, i = _pos(overpressure_pa), _pos(impulse_pa_s)
    if exposure == "reflected":
        ps, i = reflected_overpressure_pa(ps, ambient_pa), 2.0 * i
    elif exposure != "side_on":
        raise ValueError(f"unknown exposure {exposure!r}")
    p_scaled = ps / ambient_pa
    i_scaled = i / (np.sqrt(ambient_pa) * body_mass_kg ** (1.0 / 3.0))
    return 5.0 - 5.74 * np.log(4.2 / p_scaled + 1.3 / i_scaled)


def head_impact_probit(overpressure_pa: np.ndarray | float, impulse_pa_s: np.ndarray | float) -> np.ndarray:
    """Green Book probit of death by head impact: ``5 − 8.49·ln(2430/Ps + 4.0e8/(Ps·i))``."""
    ps, i = _pos(overpressure_pa), _pos(impulse_pa_s)
    return 5.0 - 8.49 * np.log(2430.0 / ps + 4.0e8 / (ps * i))


def body_displacement_probit(overpressure_pa: np.ndarray | float, impulse_pa_s: np.ndarray | float) -> np.ndarray:
    """Green Book probit of death by whole-body displacement: ``5 − 2.44·ln(7380/Ps + 1.3e9/(Ps·i))``."""
    ps, i = _pos(overpressure_pa), _pos(impulse_pa_s)
    return 5.0 - 2.44 * np.log(7380.0 / ps + 1.3e9 / (ps * i))


def eardrum_rupture_probit(overpressure_pa: np.ndarray | float) -> np.ndarray:
    """Green Book probit of eardrum rupture: ``−12.6 + 1.524·ln Ps``."""
    return -12.6 + 1.524 * np.log(_pos(overpressure_pa))


BUILDING_DAMAGE: dict[str, tuple[float, float, float, float]] = {
    "minor": (4600.0, 3.9, 110.0, 5.0),
    "major": (17500.0, 8.4, 290.0, 9.3),
    "collapse": (40000.0, 7.4, 460.0, 11.3),
}
"""Green Book building-damage levels: (P_ref Pa, exponent, i_ref Pa·s, exponent) of ``V``."""


def building_damage_probit(overpressure_pa: np.ndarray | float, impulse_pa_s: np.ndarray | float,
                           level: Literal["minor", "major", "collapse"]) -> np.ndarray:
    """Green Book probit of a building-damage level: ``5 − 0.26·ln[(P_ref/Ps)^a + (i_ref/i)^b]``."""
    try:
        p_ref, a, i_ref, b = BUILDING_DAMAGE[level]
    except KeyError:
        raise ValueError(f"unknown building damage level {level!r}; one of {sorted(BUILDING_DAMAGE)}") from None
    ps, i = _pos(overpressure_pa), _pos(impulse_pa_s)
    with np.errstate(over="ignore"):
        v = (p_ref / ps) ** a + (i_ref / i) ** b
    return 5.0 - 0.26 * np.log(v)


def people_lethality_outdoors(overpressure_pa: np.ndarray | float, impulse_pa_s: np.ndarray | float, *,
                              ambient_pa: float = P_AMBIENT_PA) -> np.ndarray:
    """Probability of death of a person in the open from the blast's direct and indirect effects: the
    largest of lung damage, head impact and whole-body displacement (Green Book)."""
    pr = np.maximum.reduce([lung_damage_probit(overpressure_pa, impulse_pa_s, ambient_pa=ambient_pa),
                            head_impact_probit(overpressure_pa, impulse_pa_s),
                            body_displacement_probit(overpressure_pa, impulse_pa_s)])
    return probit_to_probability(pr)


def overpressure_damage_probit(overpressure_pa: np.ndarray | float, kind: EquipmentKind) -> np.ndarray:
    """Cozzani & Salzano (2004) equipment-damage probit ``a + b·ln Ps`` (Ps in Pa)."""
    try:
        a, b = _EQUIPMENT_PROBIT[kind]
    except KeyError:
        raise ValueError(f"unknown equipment kind {kind!r}; one of {sorted(_EQUIPMENT_PROBIT)}") from None
    return a + b * np.log(_pos(overpressure_pa))


def equipment_escalation_probability(overpressure_pa: np.ndarray | float, kind: EquipmentKind) -> np.ndarray:
    """Probability that equipment of ``kind`` fails (domino escalation) under a peak overpressure (Pa):
    the Cozzani & Salzano probit above the Cozzani et al. (2005) threshold, 0 below it.

    >>> round(float(equipment_escalation_probability(30e3, "atmospheric")), 3)   # Cozzani et al. 2005 [CALC]
    0.884
    """
    ps = np.asarray(overpressure_pa, dtype=float)
    p = probit_to_probability(overpressure_damage_probit(ps, kind))
    return np.where(ps >= EQUIPMENT_THRESHOLD_PA[kind], p, 0.0)


__all__ = [
    "OVERPRESSURE_LEVELS_PA", "OVERPRESSURE_LABELS", "EQUIPMENT_THRESHOLD_PA", "BUILDING_DAMAGE", "PSI_PA",
    "reflected_overpressure_pa", "lung_damage_probit", "head_impact_probit", "body_displacement_probit",
    "eardrum_rupture_probit", "building_damage_probit", "people_lethality_outdoors", "overpressure_damage_probit",
    "equipment_escalation_probability",
]
