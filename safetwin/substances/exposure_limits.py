"""Occupational exposure limits (mg/m³) by substance, per regulation.

These are the limits a gas test before work compares against (GB 30871-2022 6.4 b: toxic
substances within GBZ 2.1 limits), not emergency levels (AEGL/ERPG are in
:mod:`safetwin.substances.properties`).

* ``GBZ 2.1-2019`` — 工作场所有害因素职业接触限值 第1部分：化学有害因素, Table 1: MAC (最高容许浓度),
  PC-TWA (8 h time-weighted average) and PC-STEL (15 min short-term) in mg/m³. H2S, CO, NH3, Cl2, SO2,
  benzene and HCN as reproduced in GB/T 50493-2019 Table 5.3; n-hexane, solvent gasoline and
  liquefied petroleum gas (applied to propane and butane) from GBZ 2.1-2019 Table 1 [from memory of
  the standard: verify against the published table before relying on them].
* ``OSHA PEL`` — 29 CFR 1910.1000 Tables Z-1 and Z-2 (ceiling where one is set, else the 8 h TWA),
  converted from ppm at 25 °C, 1 atm [from memory of the tables].

>>> gbz = LIMITS["GBZ 2.1-2019"]
>>> gbz["ammonia"].pass_limit(("MAC", "PC-TWA"))
(20.0, 'PC-TWA')
>>> gbz["hydrogen sulfide"].pass_limit(("MAC", "PC-TWA"))
(10.0, 'MAC')
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LimitKind = Literal["MAC", "PC-TWA", "PC-STEL"]


@dataclass(frozen=True)
class ExposureLimits:
    """Occupational limits of one substance in one regulation (mg/m³, 25 °C, 1 atm)."""

    mac_mg_m3: float | None = None
    pc_twa_mg_m3: float | None = None
    pc_stel_mg_m3: float | None = None

    def value(self, kind: LimitKind) -> float | None:
        return {"MAC": self.mac_mg_m3, "PC-TWA": self.pc_twa_mg_m3, "PC-STEL": self.pc_stel_mg_m3}[kind]

    def pass_limit(self, basis: tuple[LimitKind, ...]) -> tuple[float, LimitKind] | None:
        """The first limit of ``basis`` this substance has, with its kind; None when it has none of them."""
        for kind in basis:
            v = self.value(kind)
            if v is not None:
                return v, kind
        return None


def _ppm(ppm: float, mw_g_mol: float) -> float:
    return round(ppm * mw_g_mol / 24.45, 3)


LIMITS: dict[str, dict[str, ExposureLimits]] = {
    "GBZ 2.1-2019": {
        "hydrogen sulfide": ExposureLimits(mac_mg_m3=10.0),
        "chlorine": ExposureLimits(mac_mg_m3=1.0),
        "hydrogen cyanide": ExposureLimits(mac_mg_m3=1.0),
        "ammonia": ExposureLimits(pc_twa_mg_m3=20.0, pc_stel_mg_m3=30.0),
        "carbon monoxide": ExposureLimits(pc_twa_mg_m3=20.0, pc_stel_mg_m3=30.0),
        "sulfur dioxide": ExposureLimits(pc_twa_mg_m3=5.0, pc_stel_mg_m3=10.0),
        "benzene": ExposureLimits(pc_twa_mg_m3=6.0, pc_stel_mg_m3=10.0),
        "n-hexane": ExposureLimits(pc_twa_mg_m3=100.0, pc_stel_mg_m3=180.0),
        "gasoline": ExposureLimits(pc_twa_mg_m3=300.0),
        "propane": ExposureLimits(pc_twa_mg_m3=1000.0, pc_stel_mg_m3=1500.0),
        "n-butane": ExposureLimits(pc_twa_mg_m3=1000.0, pc_stel_mg_m3=1500.0),
    },
    "OSHA PEL": {
        "hydrogen sulfide": ExposureLimits(mac_mg_m3=_ppm(20, 34.08)),
        "chlorine": ExposureLimits(mac_mg_m3=_ppm(1, 70.90)),
        "ammonia": ExposureLimits(pc_twa_mg_m3=_ppm(50, 17.03)),
        "carbon monoxide": ExposureLimits(pc_twa_mg_m3=_ppm(50, 28.01)),
        "sulfur dioxide": ExposureLimits(pc_twa_mg_m3=_ppm(5, 64.07)),
        "benzene": ExposureLimits(pc_twa_mg_m3=_ppm(1, 78.11)),
        "hydrogen cyanide": ExposureLimits(pc_twa_mg_m3=_ppm(10, 27.03)),
        "n-hexane": ExposureLimits(pc_twa_mg_m3=_ppm(500, 86.18)),
        "propane": ExposureLimits(pc_twa_mg_m3=_ppm(1000, 44.10)),
    },
}
"""Regulation → canonical substance name → limits."""

ALWAYS_TOXIC: frozenset[str] = frozenset({"chlorine", "ammonia", "hydrogen sulfide", "carbon monoxide",
                                          "sulfur dioxide", "hydrogen cyanide", "benzene"})
"""Acutely toxic or carcinogenic gases: every gas test judges them against an occupational limit
(a pack without one refuses the test rather than judge flammability alone). Gases with only chronic
limits (hexane, gasoline, LPG) are judged against them where the pack asks (confined spaces)."""
