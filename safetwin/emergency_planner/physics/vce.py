"""Vapour cloud explosion: TNO multi-energy and Baker–Strehlow–Tang, with the blast strength taken
from the congestion and confinement of the plant region the cloud fills.

Energy (Yellow Book CPR 14E ch. 5; CCPS 2010 ch. 5): only the part of the flammable cloud inside
a congested region explodes strongly; its combustion energy is ``E = min(M·ΔHc, E_v·V_free)``
(M the flammable mass inside the region, :func:`~.flammable_cloud.flammable_mass` with
``within=``; ``E_v = 3.5 MJ/m³`` for a stoichiometric hydrocarbon–air mixture, V_free the region's
free volume). The cloud lies on the ground: the blast of a hemispherical charge of energy E is
that of a free sphere of energy 2E (perfect ground reflection — the convention of both methods).

Blast curves (:class:`CurveFamily`): both methods describe the blast of a charge burnt by a flame of
constant speed (van den Berg 1985; Tang & Baker 1999). The curves are built here from the model's
two physical limits — the acoustic solution of a constant-velocity spherical flame (weak
deflagrations) and the computed detonation of the charge (:mod:`.flame_blast`, checked against the
TNT curve of equal energy) — not digitised from the published charts; how closely they follow the
charts in between is stated in docs/consequence.md. Beyond the last station (R̄ = 10) the acoustic
decay ``P̄, ī ∝ 1/R̄`` is used; inside the first station the nearest value is held.

* **TNO multi-energy** (van den Berg 1985): curve n has the source overpressure 0.01, 0.02, 0.05,
  0.1, 0.2, 0.5, 1, 2, 5 bar (n = 1…9) and n = 10 is a detonation. The source overpressure comes
  from the GAME correlations (Eggen 1998, *GAME: development of guidance for the application of
  the multi-energy method*, TNO PML 1998-C53; Mercx, van den Berg & van Leeuwen 2000, as given in the
  Yellow Book ch. 5) — the chosen method here:
  3D expansion ``ΔP0 = 0.84·(VBR·Lp/D)^2.75·S_L^2.7·D^0.7`` (bar; S_L in m/s, Lp and D in m),
  2D (and 2.5D) expansion ``ΔP0 = 3.38·(VBR·Lp/D)^2.25·S_L^2.7·D^0.7``, capped at 10 bar. A curve of
  the family is found for ΔP0 by interpolating the computed curves in their source overpressure.
  Kinsella's (1993) table of curve ranges from ignition energy, obstacle density and confinement
  (Yellow Book ch. 5; CCPS 2010 ch. 5 [PUB-mem]) is available as :func:`kinsella_curve_range`.
* **Baker–Strehlow–Tang** (Tang & Baker 1999; flame speeds of Pierorazio, Thomas, Baker & Ketchum
  2005, *Process Safety Progress* 24:59–65, "An update to the Baker–Strehlow–Tang vapor cloud
  explosion prediction methodology flame speed table" [PUB-mem]): the flame Mach number from
  confinement (2D / 2.5D / 3D), congestion (low / medium / high) and fuel reactivity, then the
  curve of that Mach number.

Units: Pa, Pa·s, J, kg, m.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np

from .blast import P_AMBIENT_PA, SOUND_SPEED_M_S, BlastWave
from .congestion import Confinement, Congestion, CongestionLevel
from .flame_blast import ENERGY_DENSITY_J_M3
from safetwin.substances import Substance

Reactivity = Literal["low", "medium", "high"]
Method = Literal["multi_energy", "bst"]

DATA_FILE = Path(__file__).with_name("data") / "blast_curves.json"
GROUND_REFLECTION = 2.0
ME_SOURCE_OVERPRESSURE_BAR: dict[int, float] = {1: 0.01, 2: 0.02, 3: 0.05, 4: 0.1, 5: 0.2, 6: 0.5, 7: 1.0, 8: 2.0,
                                                9: 5.0}
"""Source overpressure of the multi-energy curves 1–9 (bar); curve 10 is a detonation."""
DETONATION_FLAME_MACH = 5.2
GAME_MAX_BAR = 10.0

# Pierorazio et al. (2005) flame Mach numbers: confinement → reactivity → (low, medium, high congestion);
# DDT (deflagration-to-detonation transition) is the detonation curve, M_f = 5.2 [PUB-mem]
BST_FLAME_MACH: dict[str, dict[str, tuple[float, float, float]]] = {
    "2D": {"high": (0.59, DETONATION_FLAME_MACH, DETONATION_FLAME_MACH), "medium": (0.47, 0.66, 1.6),
           "low": (0.079, 0.47, 0.66)},
    "2.5D": {"high": (0.47, DETONATION_FLAME_MACH, DETONATION_FLAME_MACH), "medium": (0.29, 0.55, 1.0),
             "low": (0.053, 0.35, 0.50)},
    "3D": {"high": (0.36, DETONATION_FLAME_MACH, DETONATION_FLAME_MACH), "medium": (0.11, 0.44, 0.50),
           "low": (0.026, 0.23, 0.34)},
}
_CONGESTION_INDEX = {"low": 0, "medium": 1, "high": 2}

# Kinsella (1993): (ignition energy, obstacle density, confined) → multi-energy curve range [PUB-mem]
KINSELLA_CURVES: dict[tuple[str, str, bool], tuple[int, int]] = {
    ("high", "high", True): (7, 10), ("high", "high", False): (7, 10), ("low", "high", True): (5, 7),
    ("high", "low", True): (5, 7), ("high", "low", False): (4, 6), ("high", "none", True): (4, 6),
    ("low", "high", False): (4, 5), ("high", "none", False): (4, 5), ("low", "low", True): (3, 5),
    ("low", "low", False): (2, 3), ("low", "none", True): (1, 2), ("low", "none", False): (1, 1),
}


# ----------------------------------------------------------------------------------------------
# blast-curve family
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScaledCurve:
    """One Sachs-scaled blast curve of a free spherical charge: R̄ → (P̄, ī)."""

    name: str
    scaled_distance: np.ndarray
    scaled_overpressure: np.ndarray
    scaled_impulse: np.ndarray
    source_overpressure: float

    def scaled(self, r_bar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = np.maximum(np.asarray(r_bar, dtype=float), 1e-9)
        lr = np.log(r)
        lx = np.log(self.scaled_distance)
        p = np.exp(np.interp(lr, lx, np.log(self.scaled_overpressure)))
        i = np.exp(np.interp(lr, lx, np.log(self.scaled_impulse)))
        far = r > self.scaled_distance[-1]
        decay = self.scaled_distance[-1] / r  # acoustic far field
        return (np.where(far, self.scaled_overpressure[-1] * decay, p),
                np.where(far, self.scaled_impulse[-1] * decay, i))


@dataclass(frozen=True)
class GroundCloudCurve:
    """A :class:`ScaledCurve` applied to a ground-level cloud of energy E (the free sphere of 2E):
    the :class:`~.blast.BlastCurve` protocol."""

    curve: ScaledCurve
    name: str

    def __call__(self, distance_m: np.ndarray, energy_j: float, ambient_pa: float = P_AMBIENT_PA
                 ) -> tuple[np.ndarray, np.ndarray]:
        e = GROUND_REFLECTION * energy_j
        r_bar = np.asarray(distance_m, dtype=float) * np.cbrt(ambient_pa / e)
        p_bar, i_bar = self.curve.scaled(r_bar)
        return p_bar * ambient_pa, i_bar * np.cbrt(e) * ambient_pa ** (2.0 / 3.0) / SOUND_SPEED_M_S


EXPANSION_RATIO = 8.0
"""Density ratio unburnt/burnt of a stoichiometric hydrocarbon–air flame (about 7.5–8; Lewis & von Elbe)
[PUB-mem]."""
GAMMA_AIR = 1.4


@dataclass(frozen=True)
class CurveFamily:
    """The blast curves of constant-velocity flames, from their two physical limits (module docstring):

    * acoustic limit (Taylor 1946; Deshaies & Clavin 1979): a spherical flame of constant speed
      ``V_f = M_f·c0`` is a monopole source of volume rate ``4π r_f²·V_f·(1 − 1/σ)``; the overpressure
      is ``P̄0 = 2γ·M_f²·(1 − 1/σ)`` wherever the flame passes (out to its final radius
      ``R̄_f = R̄_0·σ^{1/3}``, R̄_0 the charge radius) and ``P̄0·R̄_f/R̄`` beyond; the positive impulse
      ``ī = γ·M_f·(1 − 1/σ)·R̄_f²/R̄`` (the volume rate at its largest, ρ0·q_v/(4πr));
    * detonation limit: the computed blast of the detonated charge (:mod:`.flame_blast`,
      ``data/blast_curves.json``), which no slower flame of the same energy exceeds.

    A curve is the lower of the two (and of its source overpressure). Weak curves are acoustic
    everywhere; strong curves follow the detonation curve beyond a plateau — the shape of the
    published multi-energy and BST charts, which this family reconstructs from physics rather than
    digitises.
    """

    scaled_distance: np.ndarray
    detonation_overpressure: np.ndarray
    detonation_impulse: np.ndarray
    charge_scaled_radius: float
    expansion_ratio: float = EXPANSION_RATIO

    @property
    def flame_scaled_radius(self) -> float:
        """Final flame radius R̄_f = R̄_0·σ^{1/3} (the burnt charge has expanded σ times)."""
        return self.charge_scaled_radius * self.expansion_ratio ** (1.0 / 3.0)

    def acoustic_source_overpressure(self, flame_mach: float) -> float:
        """``P̄0 = 2γ·M_f²·(1 − 1/σ)``."""
        return 2.0 * GAMMA_AIR * flame_mach**2 * (1.0 - 1.0 / self.expansion_ratio)

    def flame_mach_for(self, scaled_source_overpressure: float) -> float:
        """Inverse of :meth:`acoustic_source_overpressure`."""
        return float(np.sqrt(scaled_source_overpressure / (2.0 * GAMMA_AIR * (1.0 - 1.0 / self.expansion_ratio))))

    def detonation(self) -> ScaledCurve:
        return ScaledCurve("detonation", self.scaled_distance, self.detonation_overpressure, self.detonation_impulse,
                           float(self.detonation_overpressure[0]))

    def curve(self, *, flame_mach: float, source_overpressure: float | None = None, name: str = "") -> ScaledCurve:
        """The curve of a flame Mach number (source overpressure from the acoustic limit unless given)."""
        if flame_mach <= 0:
            raise ValueError("flame Mach number must be positive")
        if flame_mach >= DETONATION_FLAME_MACH:
            return replace_name(self.detonation(), name or f"M_f={flame_mach:g} (detonation)")
        p0 = self.acoustic_source_overpressure(flame_mach) if source_overpressure is None else source_overpressure
        r = self.scaled_distance
        rf = self.flame_scaled_radius
        p_ac = p0 * np.minimum(1.0, rf / r)
        i_ac = GAMMA_AIR * flame_mach * (1.0 - 1.0 / self.expansion_ratio) * rf * rf / np.maximum(r, rf)
        p = np.minimum(p_ac, self.detonation_overpressure)
        i = np.minimum(i_ac, self.detonation_impulse)
        return ScaledCurve(name or f"M_f={flame_mach:g}", r, p, i, float(min(p0, self.detonation_overpressure[0])))

    def by_flame_mach(self, flame_mach: float) -> ScaledCurve:
        """BST curve of a flame Mach number."""
        return self.curve(flame_mach=flame_mach, name=f"BST M_f={flame_mach:g}")

    def multi_energy_curve(self, number: float) -> ScaledCurve:
        """Multi-energy curve ``number`` (1–10; fractional numbers interpolate the source overpressure in log)."""
        if not 1 <= number <= 10:
            raise ValueError("multi-energy curve number must be within 1–10")
        if number >= 10:
            return replace_name(self.detonation(), "ME curve 10 (detonation)")
        lo = int(np.floor(number))
        hi = min(lo + 1, 9)
        w = number - lo
        bar = float(np.exp((1 - w) * np.log(ME_SOURCE_OVERPRESSURE_BAR[lo]) + w * np.log(ME_SOURCE_OVERPRESSURE_BAR[hi])))
        p0 = bar * 1e5 / P_AMBIENT_PA
        return self.curve(flame_mach=self.flame_mach_for(p0), source_overpressure=p0, name=f"ME curve {number:g}")


def replace_name(curve: ScaledCurve, name: str) -> ScaledCurve:
    return ScaledCurve(name, curve.scaled_distance, curve.scaled_overpressure, curve.scaled_impulse,
                       curve.source_overpressure)


@cache
def curve_family(path: Path = DATA_FILE) -> CurveFamily:
    """The curve family with the computed detonation curve of ``data/blast_curves.json``."""
    data = json.loads(Path(path).read_text())
    r = np.asarray(data["scaled_distance"], dtype=float)
    det = next(c for c in data["curves"] if c["flame_mach"] >= DETONATION_FLAME_MACH)
    p = np.array([np.nan if v is None else v for v in det["scaled_overpressure"]], dtype=float)
    i = np.array([np.nan if v is None else v for v in det["scaled_impulse"]], dtype=float)
    ok = np.isfinite(p) & np.isfinite(i) & (p > 0) & (i > 0)
    return CurveFamily(scaled_distance=r[ok], detonation_overpressure=p[ok], detonation_impulse=i[ok],
                       charge_scaled_radius=float(det["charge_scaled_radius"]))


# ----------------------------------------------------------------------------------------------
# strength
# ----------------------------------------------------------------------------------------------
def game_source_overpressure_pa(*, volume_blockage_ratio: float, flame_path_m: float, obstacle_diameter_m: float,
                                burning_velocity_m_s: float, confinement: Confinement) -> float:
    """GAME source overpressure (Pa), capped at 10 bar (module docstring).

    >>> round(game_source_overpressure_pa(volume_blockage_ratio=0.1, flame_path_m=20.0, obstacle_diameter_m=0.5,
    ...       burning_velocity_m_s=0.464, confinement="3D") / 1e5, 3)
    2.943
    """
    if obstacle_diameter_m <= 0 or flame_path_m <= 0 or volume_blockage_ratio <= 0:
        return 0.0
    x = volume_blockage_ratio * flame_path_m / obstacle_diameter_m
    if confinement == "3D":
        bar = 0.84 * x**2.75 * burning_velocity_m_s**2.7 * obstacle_diameter_m**0.7
    elif confinement in ("2D", "2.5D"):
        bar = 3.38 * x**2.25 * burning_velocity_m_s**2.7 * obstacle_diameter_m**0.7
    else:
        raise ValueError(f"unknown confinement {confinement!r}")
    return float(min(bar, GAME_MAX_BAR) * 1e5)


def multi_energy_curve_number(source_overpressure_pa: float) -> float:
    """Multi-energy curve number (fractional, 1–10) for a source overpressure (Pa), by log interpolation
    of the curves' source overpressures; above 5 bar towards 10 (detonation) at 10 bar.

    >>> multi_energy_curve_number(0.1e5), multi_energy_curve_number(5e5)
    (4.0, 9.0)
    """
    bar = source_overpressure_pa / 1e5
    nums = np.array(list(ME_SOURCE_OVERPRESSURE_BAR) + [10])
    vals = np.array(list(ME_SOURCE_OVERPRESSURE_BAR.values()) + [GAME_MAX_BAR])
    return float(np.interp(np.log(max(bar, 1e-6)), np.log(vals), nums))


def kinsella_curve_range(*, ignition_energy: Literal["low", "high"], obstacle_density: Literal["high", "low", "none"],
                         confined: bool) -> tuple[int, int]:
    """Kinsella (1993) multi-energy curve range (module docstring).

    >>> kinsella_curve_range(ignition_energy="low", obstacle_density="high", confined=False)
    (4, 5)
    """
    try:
        return KINSELLA_CURVES[(ignition_energy, obstacle_density, bool(confined))]
    except KeyError:
        raise ValueError("ignition_energy in {low, high}, obstacle_density in {high, low, none}") from None


def bst_flame_mach(*, confinement: Confinement, congestion: CongestionLevel, reactivity: Reactivity) -> float:
    """Pierorazio et al. (2005) BST flame Mach number (module docstring).

    >>> bst_flame_mach(confinement="3D", congestion="medium", reactivity="medium")
    0.44
    """
    try:
        return BST_FLAME_MACH[confinement][reactivity][_CONGESTION_INDEX[congestion]]
    except KeyError:
        raise ValueError(f"unknown BST class {confinement}/{congestion}/{reactivity}") from None


# ----------------------------------------------------------------------------------------------
# the explosion
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VceStrength:
    """How strong the explosion is and why: method, curve, and the numbers that chose it."""

    method: str
    curve: ScaledCurve
    source_overpressure_pa: float
    multi_energy_curve: float | None
    flame_mach: float | None
    basis: str


def explosion_strength(*, method: Method, congestion: Congestion, substance: Substance,
                       family: CurveFamily | None = None) -> VceStrength:
    """Blast strength from congestion and confinement (module docstring)."""
    fam = family or curve_family()
    if method == "multi_energy":
        s_l = substance.laminar_burning_velocity_m_s
        if s_l is None:
            raise ValueError(f"{substance.name} has no laminar burning velocity: GAME cannot rate its strength")
        p0 = game_source_overpressure_pa(volume_blockage_ratio=congestion.volume_blockage_ratio,
                                         flame_path_m=congestion.flame_path_m,
                                         obstacle_diameter_m=congestion.obstacle_diameter_m,
                                         burning_velocity_m_s=s_l, confinement=congestion.confinement)
        n = multi_energy_curve_number(max(p0, 1.0))
        curve = fam.multi_energy_curve(max(n, 1.0))
        basis = (f"GAME ({congestion.confinement}): VBR {congestion.volume_blockage_ratio:.3f}, "
                 f"Lp {congestion.flame_path_m:.1f} m, D {congestion.obstacle_diameter_m:.2f} m, S_L {s_l} m/s "
                 f"→ ΔP0 {p0 / 1e5:.3g} bar → multi-energy curve {n:.2f}")
        return VceStrength("multi_energy", curve, p0, n, None, basis)
    if method == "bst":
        if substance.reactivity is None:
            raise ValueError(f"{substance.name} has no BST reactivity class")
        mf = bst_flame_mach(confinement=congestion.confinement, congestion=congestion.congestion,
                            reactivity=substance.reactivity)
        curve = fam.by_flame_mach(mf)
        basis = (f"BST (Pierorazio 2005): {congestion.confinement}, {congestion.congestion} congestion, "
                 f"{substance.reactivity} reactivity → M_f {mf:g}")
        return VceStrength("bst", curve, curve.source_overpressure * P_AMBIENT_PA, None, mf, basis)
    raise ValueError(f"unknown VCE method {method!r}")


def explosion_energy_j(*, flammable_mass_kg: float, substance: Substance, congestion: Congestion) -> float:
    """Combustion energy (J) of the cloud inside the congested region: ``min(M·ΔHc, E_v·V_free)``."""
    if substance.heat_of_combustion_j_kg is None:
        raise ValueError(f"{substance.name} does not burn")
    return float(min(flammable_mass_kg * substance.heat_of_combustion_j_kg,
                     ENERGY_DENSITY_J_M3 * congestion.free_volume_m3))


def vapour_cloud_explosion(*, substance: Substance, flammable_mass_kg: float, congestion: Congestion,
                           method: Method = "multi_energy", centre_xy_m: tuple[float, float] | None = None,
                           ambient_pa: float = P_AMBIENT_PA, family: CurveFamily | None = None
                           ) -> tuple[BlastWave, VceStrength]:
    """The blast of a vapour cloud explosion in a congested region, centred on the region (or
    ``centre_xy_m``) at ground level; returns the :class:`~.blast.BlastWave` and the strength used.

    ``flammable_mass_kg`` is the fuel between LFL and UFL inside the region at ignition.
    """
    if flammable_mass_kg <= 0:
        raise ValueError("no flammable mass in the congested region: no vapour cloud explosion")
    strength = explosion_strength(method=method, congestion=congestion, substance=substance, family=family)
    energy = explosion_energy_j(flammable_mass_kg=flammable_mass_kg, substance=substance, congestion=congestion)
    c = congestion.region.centroid if centre_xy_m is None else None
    centre = (float(c.x), float(c.y), 0.0) if c is not None else (float(centre_xy_m[0]), float(centre_xy_m[1]), 0.0)  # type: ignore[index]
    wave = BlastWave(centre_xyz_m=centre, energy_j=energy, curve=GroundCloudCurve(strength.curve, strength.curve.name),
                     max_overpressure_pa=np.inf, ambient_pa=ambient_pa, kind=f"vce:{method}",
                     notes=(strength.basis, f"energy {energy / 1e6:.4g} MJ (ground reflection: free sphere of 2E)"))
    return wave, strength


__all__ = [
    "ScaledCurve", "GroundCloudCurve", "CurveFamily", "curve_family", "VceStrength", "game_source_overpressure_pa",
    "multi_energy_curve_number", "kinsella_curve_range", "bst_flame_mach", "explosion_strength", "explosion_energy_j",
    "vapour_cloud_explosion", "BST_FLAME_MACH", "ME_SOURCE_OVERPRESSURE_BAR", "KINSELLA_CURVES",
]
