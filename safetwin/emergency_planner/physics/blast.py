"""Blast waves: Sachs scaling, the high-explosive (TNT) blast curve, blast from pressure-vessel
bursts and BLEVEs, and the :class:`BlastWave` every explosion model returns.

Scaling (Sachs; CCPS 2010 ch. 3, Yellow Book CPR 14E ch. 5 and 7): a blast of energy E (J) in
air at pressure p0 (Pa) with sound speed c0 (m/s) has scaled distance ``R̄ = R·(p0/E)^{1/3}``,
scaled side-on overpressure ``P̄ = ΔP/p0`` and scaled positive impulse
``ī = i·c0/(E^{1/3}·p0^{2/3})``.

High-explosive curve: the Kingery–Bulmash fits for a hemispherical TNT surface burst as
simplified by Swisdak (1994, *Simplified Kingery Airblast Calculations*, Minutes of the 26th DoD
Explosives Safety Seminar), metric form ``ln y = A + B·ln Z + C·(ln Z)² + D·(ln Z)³ + E·(ln Z)⁴``
with Z = R/W^{1/3} (m/kg^{1/3}); y is the side-on overpressure (kPa) or the scaled positive
impulse (kPa·ms/kg^{1/3}). Valid for 0.2 ≤ Z ≤ 198.5 (overpressure) and 0.2 ≤ Z ≤ 158.7
(impulse); closer in the values are held at Z = 0.2, further out the last segment (a power law)
is extended. The surface-burst curve contains the ground reflection, so energies of
ground-level explosions enter it as they are (no doubling). TNT's blast energy
4.686 MJ/kg (Crowl & Louvar, *Chemical Process Safety*, 3rd ed., ch. 6) converts an energy into a
TNT mass.

Vessel bursts (CCPS 2010 ch. 6–7; Yellow Book ch. 7):

* gas-filled vessel — Brode (1959) energy ``E = (p1 − p0)·V/(γ − 1)``;
* BLEVE of a liquefied gas — the work of the isentropic expansion of the vessel's liquid and
  vapour to ambient pressure, ``E = m_l·(u_l − u_l,2) + m_v·(u_v − u_v,2)`` with the states after
  expansion at p0 and the initial entropy (Yellow Book ch. 7; CCPS 2010 ch. 7, the "real gas /
  isentropic expansion" method), internal energies from CoolProp (reference equations of state).

The blast overpressure of a vessel burst is capped at the vessel's own overpressure ``p1 − p0``
(the shock at the vessel wall cannot exceed it; the TNT curve overstates the near field of
vessel bursts — CCPS 2010 ch. 6).

Units: Pa, Pa·s, J, m, kg. Plant frame x east, y north, z up.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .grid import GridSpec

P_AMBIENT_PA = 101_325.0
SOUND_SPEED_M_S = 340.0  # air at 15 °C (Sachs scaling, CCPS 2010)
TNT_BLAST_ENERGY_J_KG = 4.686e6
"""Blast energy of TNT (J/kg), Crowl & Louvar ch. 6."""

# Swisdak (1994) metric coefficients, hemispherical surface burst: (Z_max, A, B, C, D, E)
_KB_OVERPRESSURE_KPA: tuple[tuple[float, float, float, float, float, float], ...] = (
    (2.9, 7.2106, -2.1069, -0.3229, 0.1117, 0.0685),
    (23.8, 7.5938, -3.0523, 0.40977, 0.0261, -0.01267),
    (np.inf, 6.0536, -1.4066, 0.0, 0.0, 0.0),
)
_KB_IMPULSE_KPA_MS: tuple[tuple[float, float, float, float, float, float], ...] = (
    (0.96, 5.522, 1.117, 0.6, -0.292, -0.087),
    (2.38, 5.465, -0.308, -1.464, 1.362, -0.432),
    (33.7, 5.2749, -0.4677, -0.2499, 0.0588, -0.00554),
    (np.inf, 5.9825, -1.062, 0.0, 0.0, 0.0),
)
KB_Z_MIN = 0.2


def _kb_fit(z: np.ndarray, table: tuple[tuple[float, float, float, float, float, float], ...]) -> np.ndarray:
    lz = np.log(np.maximum(z, KB_Z_MIN))
    out = np.empty_like(lz)
    lo = -np.inf
    for z_max, a, b, c, d, e in table:
        sel = (lz > lo) & (lz <= np.log(z_max))
        x = lz[sel]
        out[sel] = np.exp(a + x * (b + x * (c + x * (d + x * e))))
        lo = np.log(z_max)
    return out


def tnt_surface_burst(distance_m: np.ndarray | float, tnt_mass_kg: float) -> tuple[np.ndarray, np.ndarray]:
    """Side-on overpressure (Pa) and positive impulse (Pa·s) of a hemispherical TNT surface burst
    (Kingery–Bulmash as simplified by Swisdak 1994).

    >>> p, i = tnt_surface_burst(500.0, 10_000.0)
    >>> round(float(p) / 1e3, 3), round(float(i), 1)   # 5.055 kPa, 295.9 kPa·ms
    (5.055, 295.9)
    """
    if tnt_mass_kg <= 0:
        raise ValueError("TNT mass must be positive (kg)")
    z = np.asarray(distance_m, dtype=float) / np.cbrt(tnt_mass_kg)
    p_kpa = _kb_fit(z, _KB_OVERPRESSURE_KPA)
    i_kpa_ms = _kb_fit(z, _KB_IMPULSE_KPA_MS) * np.cbrt(tnt_mass_kg)
    return p_kpa * 1e3, i_kpa_ms  # kPa·ms = Pa·s


# ----------------------------------------------------------------------------------------------
# Sachs scaling and blast curves
# ----------------------------------------------------------------------------------------------
def sachs_scaled_distance(distance_m: np.ndarray | float, energy_j: float,
                          ambient_pa: float = P_AMBIENT_PA) -> np.ndarray:
    """``R̄ = R·(p0/E)^{1/3}``."""
    return np.asarray(distance_m, dtype=float) * np.cbrt(ambient_pa / energy_j)


def sachs_impulse_pa_s(scaled_impulse: np.ndarray | float, energy_j: float, ambient_pa: float = P_AMBIENT_PA,
                       sound_speed_m_s: float = SOUND_SPEED_M_S) -> np.ndarray:
    """Positive impulse (Pa·s) from the scaled impulse ``ī``: ``i = ī·E^{1/3}·p0^{2/3}/c0``."""
    return np.asarray(scaled_impulse, dtype=float) * np.cbrt(energy_j) * ambient_pa ** (2.0 / 3.0) / sound_speed_m_s


class BlastCurve(Protocol):
    """A blast curve: distance (m) → (side-on overpressure Pa, positive impulse Pa·s) for an energy (J)."""

    @property
    def name(self) -> str: ...

    def __call__(self, distance_m: np.ndarray, energy_j: float, ambient_pa: float) -> tuple[np.ndarray, np.ndarray]:
        ...


@dataclass(frozen=True)
class TntCurve:
    """The TNT surface-burst curve applied to an energy through TNT's blast energy (4.686 MJ/kg)."""

    name: str = "tnt_surface_burst(Kingery-Bulmash/Swisdak 1994)"

    def __call__(self, distance_m: np.ndarray, energy_j: float, ambient_pa: float = P_AMBIENT_PA
                 ) -> tuple[np.ndarray, np.ndarray]:
        p, i = tnt_surface_burst(distance_m, energy_j / TNT_BLAST_ENERGY_J_KG)
        # Hopkinson–Sachs: at another ambient pressure, P̄ and the scaled distance carry over
        scale = ambient_pa / P_AMBIENT_PA
        return p * scale, i * scale ** (2.0 / 3.0)


@dataclass(frozen=True)
class BlastWave:
    """A blast centred at ``centre_xyz_m`` with energy ``energy_j`` propagated by ``curve``.

    ``overpressure_pa`` / ``impulse_pa_s`` at points (spherical distance from the centre);
    ``max_overpressure_pa`` caps the near field (a vessel's own overpressure, or the source
    overpressure of a deflagration).
    """

    centre_xyz_m: tuple[float, float, float]
    energy_j: float
    curve: BlastCurve
    max_overpressure_pa: float = np.inf
    ambient_pa: float = P_AMBIENT_PA
    kind: str = "blast"
    notes: tuple[str, ...] = field(default=())

    def _distance(self, x_m: np.ndarray | float, y_m: np.ndarray | float, z_m: np.ndarray | float) -> np.ndarray:
        cx, cy, cz = self.centre_xyz_m
        return np.sqrt((np.asarray(x_m, float) - cx) ** 2 + (np.asarray(y_m, float) - cy) ** 2
                       + (np.asarray(z_m, float) - cz) ** 2)

    def at_distance(self, distance_m: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """(overpressure Pa, impulse Pa·s) at distances (m) from the centre."""
        r = np.maximum(np.asarray(distance_m, dtype=float), 1e-6)
        p, i = self.curve(r, self.energy_j, self.ambient_pa)
        return np.minimum(p, self.max_overpressure_pa), i

    def overpressure_pa(self, x_m: np.ndarray | float, y_m: np.ndarray | float, z_m: np.ndarray | float = 0.0
                        ) -> np.ndarray:
        """Peak side-on overpressure (Pa) at points (plant frame)."""
        return self.at_distance(self._distance(x_m, y_m, z_m))[0]

    def impulse_pa_s(self, x_m: np.ndarray | float, y_m: np.ndarray | float, z_m: np.ndarray | float = 0.0
                     ) -> np.ndarray:
        """Positive-phase side-on impulse (Pa·s) at points (plant frame)."""
        return self.at_distance(self._distance(x_m, y_m, z_m))[1]

    def field_pa(self, grid: GridSpec, z_m: float = 0.0) -> np.ndarray:
        """Overpressure (Pa) on a grid, shape ``grid.shape``."""
        x, y = grid.mesh()
        return self.overpressure_pa(x, y, z_m)

    def distance_to_overpressure_m(self, overpressure_pa: float, *, max_distance_m: float = 50_000.0) -> float:
        """Largest distance (m) from the centre at which the overpressure is at least ``overpressure_pa``
        (0 when never reached). The curves decrease with distance."""
        r = np.geomspace(0.1, max_distance_m, 4001)
        p = self.at_distance(r)[0]
        above = np.nonzero(p >= overpressure_pa)[0]
        if above.size == 0:
            return 0.0
        k = int(above[-1])
        if k == r.size - 1:
            return float(max_distance_m)
        # log–log interpolation between the bracketing samples
        lp0, lp1 = np.log(p[k]), np.log(p[k + 1])
        w = (np.log(overpressure_pa) - lp0) / (lp1 - lp0) if lp1 != lp0 else 0.0
        return float(np.exp(np.log(r[k]) + w * (np.log(r[k + 1]) - np.log(r[k]))))


# ----------------------------------------------------------------------------------------------
# vessel bursts
# ----------------------------------------------------------------------------------------------
def brode_energy_j(*, pressure_pa: float, volume_m3: float, gamma: float, ambient_pa: float = P_AMBIENT_PA) -> float:
    """Brode (1959) burst energy of a gas-filled vessel, ``E = (p1 − p0)·V/(γ − 1)`` (J); p1 absolute (Pa).

    >>> round(brode_energy_j(pressure_pa=11e5, volume_m3=10.0, gamma=1.4) / 1e6, 2)   # 10 bar g, 10 m³ of air
    24.97
    """
    if pressure_pa <= ambient_pa:
        return 0.0
    if gamma <= 1:
        raise ValueError("gamma must be > 1")
    return float((pressure_pa - ambient_pa) * volume_m3 / (gamma - 1.0))


COOLPROP_NAMES: dict[str, str] = {
    "propane": "Propane", "n-butane": "n-Butane", "ammonia": "Ammonia", "methane": "Methane",
    "ethylene": "Ethylene", "hydrogen": "Hydrogen", "carbon monoxide": "CarbonMonoxide",
    "hydrogen sulfide": "HydrogenSulfide", "sulfur dioxide": "SulfurDioxide", "n-hexane": "n-Hexane",
    "benzene": "Benzene",
}
"""Substance names (:mod:`safetwin.substances`) → CoolProp fluid names."""


def isentropic_expansion_work_j_kg(substance_name: str, *, temperature_k: float, phase: str,
                                   ambient_pa: float = P_AMBIENT_PA) -> float:
    """Work (J/kg) of the isentropic expansion of saturated ``phase`` ("liquid" or "vapour") at
    ``temperature_k`` to ambient pressure: ``u1 − u2(p0, s1)`` (CoolProp reference equation of state).

    >>> round(isentropic_expansion_work_j_kg("propane", temperature_k=298.15, phase="liquid") / 1e3, 1)
    34.3
    """
    try:
        fluid = COOLPROP_NAMES[substance_name]
    except KeyError:
        raise ValueError(f"no equation of state for {substance_name!r} (CoolProp names known for: "
                         f"{sorted(COOLPROP_NAMES)})") from None
    from CoolProp.CoolProp import PropsSI

    quality = {"liquid": 0.0, "vapour": 1.0}[phase]
    p1 = PropsSI("P", "T", temperature_k, "Q", quality, fluid)
    if p1 <= ambient_pa:
        return 0.0
    u1 = PropsSI("U", "T", temperature_k, "Q", quality, fluid)
    s1 = PropsSI("S", "T", temperature_k, "Q", quality, fluid)
    u2 = PropsSI("U", "P", ambient_pa, "S", s1, fluid)
    return float(u1 - u2)


def bleve_expansion_energy_j(substance_name: str, *, temperature_k: float, liquid_mass_kg: float,
                             vapour_volume_m3: float = 0.0, ambient_pa: float = P_AMBIENT_PA) -> float:
    """Blast energy (J) of a BLEVE: isentropic expansion work of the liquid (kg) and of the saturated
    vapour filling ``vapour_volume_m3`` at ``temperature_k`` (module docstring)."""
    from CoolProp.CoolProp import PropsSI

    e = liquid_mass_kg * isentropic_expansion_work_j_kg(substance_name, temperature_k=temperature_k, phase="liquid",
                                                        ambient_pa=ambient_pa)
    if vapour_volume_m3 > 0:
        rho_v = PropsSI("D", "T", temperature_k, "Q", 1.0, COOLPROP_NAMES[substance_name])
        e += rho_v * vapour_volume_m3 * isentropic_expansion_work_j_kg(substance_name, temperature_k=temperature_k,
                                                                       phase="vapour", ambient_pa=ambient_pa)
    return float(e)


def vessel_burst_blast(*, energy_j: float, vessel_pressure_pa: float, centre_xyz_m: tuple[float, float, float],
                       ambient_pa: float = P_AMBIENT_PA, kind: str = "vessel_burst",
                       curve: BlastCurve | None = None) -> BlastWave:
    """Blast of a vessel burst of energy ``energy_j`` (J) at ``centre_xyz_m``: the TNT surface-burst
    curve, capped at the vessel's overpressure ``vessel_pressure_pa − ambient_pa``."""
    if energy_j <= 0:
        raise ValueError("burst energy must be positive (J)")
    return BlastWave(centre_xyz_m=tuple(float(v) for v in centre_xyz_m), energy_j=float(energy_j),  # type: ignore[arg-type]
                     curve=curve or TntCurve(), max_overpressure_pa=max(vessel_pressure_pa - ambient_pa, 0.0),
                     ambient_pa=ambient_pa, kind=kind,
                     notes=(f"blast energy {energy_j / 1e6:.3g} MJ = {energy_j / TNT_BLAST_ENERGY_J_KG:.3g} kg TNT; "
                            "TNT surface-burst curve (Kingery-Bulmash/Swisdak 1994); near field capped at the "
                            "vessel overpressure",))


__all__ = [
    "BlastCurve", "BlastWave", "TntCurve", "tnt_surface_burst", "sachs_scaled_distance", "sachs_impulse_pa_s",
    "brode_energy_j", "isentropic_expansion_work_j_kg", "bleve_expansion_energy_j", "vessel_burst_blast",
    "TNT_BLAST_ENERGY_J_KG", "P_AMBIENT_PA", "SOUND_SPEED_M_S", "COOLPROP_NAMES",
]
